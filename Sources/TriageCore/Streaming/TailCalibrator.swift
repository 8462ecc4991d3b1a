#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Calibrates a raw score in 0..1 by its own long-run distribution using extreme-value theory:
/// below a high quantile u the tail probability is read from a histogram of past scores; above
/// it the excesses are modelled by an exponential tail, the shape-0 generalised Pareto
/// distribution of the peaks-over-threshold method (Pickands–Balkema–de Haan; used for streams
/// by Siffer, Fouque, Termier & Largouët, "Anomaly detection in streams with extreme value
/// theory", KDD 2017):  P(S > s) = (1 − q) · exp(−(s − u) / β),  β = mean excess over u.
///
/// The evidence −log₁₀ P(S > s) is comparable between series whatever their raw score's scale,
/// and ordered like the raw score within a series. Old history fades: when the histogram's
/// total passes `memory`, every count is halved (exponential forgetting, bounded memory).
///
/// - Complexity: O(bins) per quantile refresh (every `refreshEvery` points), O(1) otherwise.
public struct TailCalibrator: Codable, Sendable, Equatable {
    public struct Parameters: Codable, Sendable, Equatable {
        /// Histogram resolution over 0..1.
        public var bins = 1024
        /// q, the quantile where the exponential tail starts.
        public var tailQuantile = 0.99
        /// Points before the first calibrated output.
        public var learningPeriod = 100
        /// Effective memory in points (counts halve when the total passes it).
        public var memory = 100_000.0
        /// Points between refreshes of u and β (and of the histogram's tail fractions, a pass
        /// over every bin: 100 scores the same as 50 on the visible NAB files at half the cost).
        public var refreshEvery = 100
        /// Floor of β as a fraction of the score range (keeps a flat score from looking certain).
        public var minimumExcess = 0.03
        public init() {}
    }

    public let parameters: Parameters
    var counts: [Double]
    var total = 0.0
    var seen = 0
    var sinceRefresh = 0
    var threshold = 1.0
    var excessMean = 0.01
    /// Fraction of the history at or above each bin, as of the last refresh.
    var tailFraction: [Double]

    public init(parameters: Parameters = Parameters()) {
        self.parameters = parameters
        counts = [Double](repeating: 0, count: max(2, parameters.bins))
        tailFraction = [Double](repeating: 1, count: max(2, parameters.bins))
    }

    public var isReady: Bool { seen >= parameters.learningPeriod }

    /// Evidence −log₁₀ P(S ≥ raw) under the past distribution (0 while learning), then learns `raw`.
    public mutating func update(_ raw: Double) -> Double {
        let x = min(1, max(0, raw.isFinite ? raw : 0))
        var evidence = 0.0
        if isReady { evidence = -log10(max(tail(x), 1e-300)) }
        let bin = min(counts.count - 1, Int(x * Double(counts.count)))
        counts[bin] += 1
        total += 1
        seen += 1
        if total > parameters.memory {
            for i in counts.indices { counts[i] *= 0.5 }
            total *= 0.5
        }
        sinceRefresh += 1
        if seen == parameters.learningPeriod || sinceRefresh >= parameters.refreshEvery { refresh() }
        return evidence
    }

    func tail(_ x: Double) -> Double {
        let q = parameters.tailQuantile
        if x > threshold { return (1 - q) * exp(-(x - threshold) / excessMean) }
        // Histogram tail: the fraction of past scores at or above x's bin.
        let bin = min(counts.count - 1, Int(x * Double(counts.count)))
        return max(tailFraction[bin], 1 - q)
    }

    mutating func refresh() {
        sinceRefresh = 0
        let bins = counts.count
        let width = 1 / Double(bins)
        let target = total * (1 - parameters.tailQuantile)
        let norm = max(total, 1)
        // One pass from the top: the running count above each bin gives its tail fraction, and
        // u sits at the first bin (from the top) where that count reaches the target (bin 0 at most).
        var lowest = 0
        var found = false
        counts.withUnsafeBufferPointer { count in
            tailFraction.withUnsafeMutableBufferPointer { fraction in
                var running = 0.0
                for j in stride(from: bins - 1, through: 0, by: -1) {
                    running += count[j]
                    fraction[j] = running / norm
                    if !found && (running >= target || j == 0) {
                        lowest = j
                        found = true
                    }
                }
            }
        }
        threshold = Double(lowest + 1) * width
        var excess = 0.0, n = 0.0
        for j in (lowest + 1)..<bins where counts[j] > 0 {
            excess += counts[j] * ((Double(j) + 0.5) * width - threshold)
            n += counts[j]
        }
        excessMean = max(n > 0 ? excess / n : 0, parameters.minimumExcess)
    }
}
