#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns a stream of raw anomaly scores into a calibrated 0..1 score: how unusual the recent
/// raw scores are against their own long-run distribution (the "anomaly likelihood" of Ahmad,
/// Lavin, Purdy & Agha, "Unsupervised real-time anomaly detection for streaming data",
/// Neurocomputing 2017, §4.3).
///
/// - The raw scores' short-term mean μ̃ₜ over the last W′ scores is compared with the mean μₜ
///   and standard deviation σₜ of such short-term means over a long history of W scores
///   (eq. 5–6, re-estimated every `reestimationPeriod` points).
/// - Lₜ = 1 − Q((μ̃ₜ − μₜ) / σₜ), Q the Gaussian tail (eq. 7). Like the reference
///   implementation the deviation is folded (|z|), and μ, σ² have floors so that a flat raw
///   score does not turn its own noise into certainty.
/// - After a point with Lₜ above `red`, the next points are capped at `yellow` until Lₜ drops:
///   one alarm per excursion rather than a run of alarms (the reference's likelihood filter).
/// - The reported score is t / (t + 5) with t = −log₁₀(1 − Lₜ) computed in log space: the
///   reference clamps log(1 − Lₜ) / log(10⁻¹⁰) at 1, which ties every strong anomaly at 1; this keeps
///   them ordered and still gives 0.5 at Lₜ = 1 − 10⁻⁵ like the reference.
///
/// - Complexity: O(1) per point (running sums over a ring buffer), memory O(W).
public struct AnomalyLikelihood: Codable, Sendable, Equatable {
    public struct Parameters: Codable, Sendable, Equatable {
        /// W′, the short averaging window (the paper's 10).
        public var averagingWindow = 10
        /// W, the long history (the reference's 8640 points, a month of 5-minute data).
        public var historyWindow = 8640
        /// Averaged scores needed before the first estimate; scores are 0 until then.
        public var learningPeriod = 100
        /// Points between re-estimations of μ and σ (the reference's 100).
        public var reestimationPeriod = 100
        /// Floor of μ (the reference's 0.03).
        public var minimumMean = 0.03
        /// Floor of σ² (the reference's 0.0003).
        public var minimumVariance = 0.0003
        /// Likelihood above which the next points are capped (the reference's 1 − 10⁻⁵).
        public var red = 0.99999
        /// The cap (the reference's 1 − 10⁻³).
        public var yellow = 0.999

        public init() {}
    }

    public let parameters: Parameters
    var recent: [Double]
    var recentSum = 0.0
    var recentCount = 0
    var recentHead = 0
    var history: [Double]
    var historySum = 0.0
    var historySquares = 0.0
    var historyCount = 0
    var historyHead = 0
    var sinceEstimate = 0
    var mean = 0.0
    var deviation = 1.0
    var estimated = false
    var previousEvidence = 0.0

    public init(parameters: Parameters = Parameters()) {
        self.parameters = parameters
        recent = [Double](repeating: 0, count: max(1, parameters.averagingWindow))
        history = [Double](repeating: 0, count: max(1, parameters.historyWindow))
    }

    /// True once μ and σ have been estimated (scores before that are 0).
    public var isReady: Bool { estimated }

    /// Feeds one raw score and returns the calibrated score in 0..1.
    public mutating func update(_ raw: Double) -> Double {
        let w = recent.count
        if recentCount == w { recentSum -= recent[recentHead] } else { recentCount += 1 }
        recent[recentHead] = raw
        recentSum += raw
        recentHead = (recentHead + 1) % w
        let average = recentSum / Double(recentCount)

        // Tail evidence t = −log₁₀ Q(z), i.e. Lₜ = 1 − 10⁻ᵗ, kept in log space so that very
        // unusual points stay ordered instead of all rounding to L = 1.
        var evidence = 0.0
        if estimated {
            evidence = Self.tailEvidence(abs(average - mean) / deviation)
        }
        // Record the averaged score in the long history, then re-estimate when due.
        let h = history.count
        if historyCount == h {
            let old = history[historyHead]
            historySum -= old
            historySquares -= old * old
        } else {
            historyCount += 1
        }
        history[historyHead] = average
        historySum += average
        historySquares += average * average
        historyHead = (historyHead + 1) % h
        sinceEstimate += 1
        if (!estimated && historyCount >= parameters.learningPeriod)
            || (estimated && sinceEstimate >= parameters.reestimationPeriod) {
            estimate()
        }

        let red = -log10(max(1e-300, 1 - parameters.red)), yellow = -log10(max(1e-300, 1 - parameters.yellow))
        let filtered = previousEvidence > red ? min(evidence, yellow) : evidence
        previousEvidence = evidence
        return Self.score(evidence: filtered)
    }

    /// Re-derives μ and σ from the history; the running sums are recomputed exactly here so
    /// floating-point drift never accumulates beyond one estimation period.
    mutating func estimate() {
        sinceEstimate = 0
        var sum = 0.0, squares = 0.0
        for i in 0..<historyCount {
            let v = history[i]
            sum += v
            squares += v * v
        }
        historySum = sum
        historySquares = squares
        let n = Double(historyCount)
        let m = sum / n
        let variance = max(0, squares / n - m * m)
        mean = max(m, parameters.minimumMean)
        deviation = max(variance, parameters.minimumVariance).squareRoot()
        estimated = true
    }

    /// −log₁₀ Q(z), Q(z) = P(Z > z) for a standard normal Z. Beyond z = 30 erfc underflows, so
    /// the asymptotic Q(z) ≈ φ(z)/z (Abramowitz & Stegun 26.2.12) is used in log space.
    @inline(__always)
    static func tailEvidence(_ z: Double) -> Double {
        if z < 30 { return -log10(max(0.5 * erfc(z / 2.0.squareRoot()), 1e-300)) }
        return (z * z / 2 + log(z * (2 * Double.pi).squareRoot())) / log(10.0)
    }

    /// Maps evidence t ≥ 0 to t / (t + 5) in 0..<1: monotone, never saturating, and 0.5 at
    /// t = 5, i.e. at the reference's "red" likelihood 1 − 10⁻⁵, where its log score is 0.5 too.
    @inline(__always)
    public static func score(evidence: Double) -> Double { evidence / (evidence + 5) }
}
