/// Flags a value that breaks the range seen so far: a new maximum or minimum, scored by how far
/// beyond the old range it lies, in units of that range.
///
/// excessₜ = (xₜ − maxₛ₍ₜ xₛ) / (max − min) above the range, (min − xₜ) / (max − min) below it,
/// 0 inside. This is the "spatial anomaly" rule of NAB's HTM detector (numenta/NAB,
/// `nab/detectors/numenta/numenta_detector.py`, `spatialTolerance`: a value more than 5 % of the
/// range outside it scores 1), kept as a graded score instead of a flag so that a calibrated
/// threshold can rank breaks against the other detectors' evidence.
///
/// Why it is worth its place: a record is rare by construction. Among n exchangeable values the
/// expected number of records (new maxima) is the harmonic number Hₙ ≈ ln n + 0.577 (Glick,
/// "Breaking records and breaking boards", Amer. Math. Monthly 85, 1978), so on a stationary
/// series it fires about ten times in 10 000 points and mostly early, in the warm-up, whatever
/// the noise level; on a metric that leaves its usual band (a saturation, an outage at zero, a
/// runaway) it fires at the first point that does. Alone it scores 59.9 on the 26 visible NAB
/// files (BENCHMARKS.md, "Online detector"), above every component of the calibrated ensemble.
///
/// - `decay` shrinks the range towards the last value by that fraction of its width per point
///   (0: plain records). A decaying range forgets a regime the series has left, at the price of
///   more breaks; it stays an option for studies, the default is plain records.
///
/// - Complexity: O(1) per value, two numbers of state.
public struct RangeBreakDetector: Codable, Sendable, Equatable {
    /// Fraction of the range's width it shrinks by per value (0 = never forgets).
    public let decay: Double
    // Finite sentinels (not ±inf) so the state encodes as plain JSON.
    public private(set) var minimum = Double.greatestFiniteMagnitude
    public private(set) var maximum = -Double.greatestFiniteMagnitude

    public init(decay: Double = 0) {
        self.decay = decay
    }

    /// True once two distinct values have been seen (before that every excess is 0).
    public var hasRange: Bool { minimum < maximum }

    /// How far `value` lies outside the range of the values before it, in units of that range
    /// (0 inside it or while the range is empty).
    public func excess(_ value: Double) -> Double {
        guard hasRange else { return 0 }
        let width = maximum - minimum
        if value > maximum { return (value - maximum) / width }
        if value < minimum { return (minimum - value) / width }
        return 0
    }

    /// Returns `excess(value)`, then widens the range to include `value` (and decays it).
    public mutating func update(_ value: Double) -> Double {
        let e = excess(value)
        minimum = min(minimum, value)
        maximum = max(maximum, value)
        if decay > 0 && hasRange {
            let shrink = (maximum - minimum) * decay * 0.5
            maximum = max(maximum - shrink, value)
            minimum = min(minimum + shrink, value)
        }
        return e
    }
}
