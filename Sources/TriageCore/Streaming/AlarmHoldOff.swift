/// After an alarm, holds the following scores below the alarm level for a fixed number of
/// points: one alarm per event instead of a burst.
///
/// NAB's scoring (Lavin & Ahmad, "Evaluating real-time anomaly detection algorithms — the
/// Numenta Anomaly Benchmark", ICMLA 2015, §III-B) credits only the earliest detection inside a
/// labelled window and charges every detection outside one (A_FP = 0.11 each in the standard
/// profile), and an operator paged twice for one event is no better served. Numenta's detector
/// does the same with its likelihood filter (after a "red" point the next ones are capped at
/// "yellow"), and ARTime keeps an alarm quiet for a probation after it fires. Here:
///
///     sₜ′ = min(sₜ, `suppressed`) if an alarm (sₛ′ ≥ `alarm`) fired at s ∈ [t − `points`, t − 1],
///     sₜ′ = sₜ otherwise.
///
/// The alarm level is the score of evidence 5 (p = 10⁻⁵), where the calibrated detectors and
/// the range rule (`RangeBreakDetector`, floor 0.5) meet; the cap is evidence 3. A point held
/// down does not restart the hold. 10–30 points gave the same NAB score in leave-one-category-out
/// cross-validation over the 26 visible NAB files; 100 lost (BENCHMARKS.md).
///
/// - Complexity: O(1) per point, one counter of state.
public struct AlarmHoldOff: Codable, Sendable, Equatable {
    public struct Parameters: Codable, Sendable, Equatable {
        /// Points held after an alarm (0 disables the hold).
        public var points = 20
        /// Score at or above which a point is an alarm: evidence 5, t / (t + 5) = 0.5.
        public var alarm = 0.5
        /// Cap of held points: evidence 3, 3 / 8.
        public var suppressed = 0.375

        public init() {}

        public func validate() throws(EstimatorError) {
            guard points >= 0, alarm > 0 && alarm <= 1, suppressed >= 0 && suppressed < alarm else {
                throw .invalidParameter(name: "holdOff", value: "\(self)", expected: "points ≥ 0, 0 ≤ suppressed < alarm ≤ 1")
            }
        }
    }

    public let parameters: Parameters
    /// Points still to hold (0: not holding).
    var remaining = 0

    public init(parameters: Parameters = Parameters()) {
        self.parameters = parameters
    }

    /// The score to report for `score`, given the alarms before it.
    public mutating func filter(_ score: Double) -> Double {
        if remaining > 0 {
            remaining -= 1
            return min(score, parameters.suppressed)
        }
        if score >= parameters.alarm { remaining = parameters.points }
        return score
    }
}
