#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Compares the recent level of a series with the level one season ago (a day, a week) and
/// says how unusual the difference is, weighted by how seasonal the series has proved to be.
///
/// For each period P (seconds, found by timestamp, so irregular sampling and gaps are fine):
/// - dₜ = m̄ₜ − m̄ₜ₋ₚ, with m̄ the mean of the last `smoothing` values (the seasonal-naive
///   forecast error of the smoothed series, Hyndman & Athanasopoulos, "Forecasting: Principles
///   and Practice", §5.2);
/// - zₜ = |dₜ − μ_d| / σ_d against the exponentially weighted mean and variance of past d
///   (smoothing factor `alpha`), raw = 1 − exp(−z / `zScale`), turned into tail evidence
///   −log₁₀ p by its own `TailCalibrator`;
/// - the seasonal strength F = max(0, 1 − Var(d) / (2 Var(m̄))) over a long memory
///   (`strengthAlpha`): for a series without that season m̄ₜ and m̄ₜ₋ₚ are nearly independent
///   and Var(d) ≈ 2 Var(m̄), so F ≈ 0; for a series that repeats every P, F → 1 (the same idea
///   as the "strength of seasonality" of Wang, Smith & Hyndman, Data Min. Knowl. Disc. 2006).
/// The output is maxₚ F^`strengthPower` · evidenceₚ: a period the series does not follow
/// contributes nothing, so the detector is inert on non-seasonal series and needs no per-file
/// setting. A holiday, an outage at the busy hour or a missing weekly peak — values ordinary for
/// the series but not for the time — is what it catches, and what a shingle of recent values
/// cannot see.
///
/// Everything here is deterministic (no sampling), which also steadies the combined detector.
///
/// - Complexity: O(smoothing + periods) amortised per value (each period's cursor only moves
///   forward); memory O(capacity), constant in the stream's length. A period spanning more
///   than `capacity` points is never matched (inert).
public struct SeasonalDifferenceDetector: Codable, Sendable, Equatable {
    public struct Parameters: Codable, Sendable, Equatable {
        /// Season lengths in seconds: a day and a week, the cycles of human-driven metrics.
        public var periods: [Double] = [86_400, 604_800]
        /// Values averaged on each side of the difference (the shingle's length: a single
        /// point's week-on-week difference is mostly noise).
        public var smoothing = 8
        /// Smoothing factor of the mean and variance of d behind the z-score: about the last 500
        /// differences, several days of points, so the spread is judged over whole seasons and an
        /// anomalous day does not inflate it for itself (0.001–0.003 score alike on the visible
        /// NAB files; 0.01 gave up a third of the gain, BENCHMARKS.md).
        public var alpha = 0.002
        /// z at which raw reaches 1 − e⁻¹.
        public var zScale = 4.0
        /// Smoothing factor of the variances behind the seasonal strength (a long memory, about
        /// 2 000 points, so one anomaly does not switch the detector off).
        public var strengthAlpha = 0.0005
        /// Power of F in the weight: a weakly seasonal series (F ≈ 0.5) counts a quarter.
        public var strengthPower = 2.0
        /// Matched differences before the strength is trusted (a day of 5-minute data).
        public var minimumPoints = 288
        /// How far from exactly P ago the matched point may lie, as a fraction of P.
        public var tolerance = 0.02
        /// Points of history kept: a week of 1-minute data fits in 16 384. A power of two, so a
        /// ring position is a mask rather than a division.
        public var capacity = 16_384
        public var tail = TailCalibrator.Parameters()

        public init() {}

        public func validate() throws(EstimatorError) {
            guard periods.allSatisfy({ $0 > 0 && $0.isFinite }), periods.count <= 8 else {
                throw .invalidParameter(name: "seasonal.periods", value: "\(periods)", expected: "at most 8 positive seconds")
            }
            guard smoothing >= 1, capacity >= 2, capacity & (capacity - 1) == 0, minimumPoints >= 2, alpha > 0, alpha < 1, strengthAlpha > 0,
                  strengthAlpha < 1, zScale > 0, strengthPower > 0, tolerance >= 0, tolerance < 0.5 else {
                throw .invalidParameter(name: "seasonal", value: "\(self)",
                                        expected: "smoothing ≥ 1, capacity a power of two ≥ 2, 0 < α < 1, zScale > 0, 0 ≤ tolerance < 0.5")
            }
        }
    }

    /// Running statistics of one period.
    struct Season: Codable, Sendable, Equatable {
        var period: Double
        /// Absolute index of the newest stored point at or before t − P.
        var cursor = 0
        var differenceMean = 0.0
        var differenceVariance = 0.0
        var differences = 0
        var strengthLevelMean = 0.0
        var strengthLevelVariance = 0.0
        var strengthDifferenceMean = 0.0
        var strengthDifferenceVariance = 0.0
        var tail: TailCalibrator
    }

    public let parameters: Parameters
    var seasons: [Season]
    /// Ring buffers of the stored points' times and smoothed levels (a point is stored once
    /// `smoothing` values have been seen).
    var times: [Double]
    var levels: [Double]
    var stored = 0
    /// The last `smoothing` values, ring-ordered.
    var recent: [Double]
    var recentCount = 0
    var recentHead = 0

    public init(parameters: Parameters = Parameters()) throws(EstimatorError) {
        try parameters.validate()
        self.parameters = parameters
        seasons = parameters.periods.map { Season(period: $0, tail: TailCalibrator(parameters: parameters.tail)) }
        times = [Double](repeating: 0, count: parameters.capacity)
        levels = [Double](repeating: 0, count: parameters.capacity)
        recent = [Double](repeating: 0, count: parameters.smoothing)
    }

    /// Evidence −log₁₀ p (weighted by seasonal strength, 0 when no period has matched) that
    /// `value` at `time` departs from its seasons, judged from the past; then learns it.
    public mutating func update(_ value: Double, time: Double) -> Double {
        let k = parameters.smoothing
        recent[recentHead] = value
        recentHead = recentHead + 1 == k ? 0 : recentHead + 1
        recentCount = min(recentCount + 1, k)
        guard recentCount >= k, time.isFinite else { return 0 }
        var sum = 0.0
        for v in recent { sum += v }  // re-summed, so no drift accumulates
        let level = sum / Double(k)
        var best = 0.0
        // Moved out while compared, so the seasons are mutated in place (no copy-on-write of
        // their calibrators) while `compare` reads the history.
        var all = seasons
        seasons = []
        for s in all.indices {
            best = max(best, compare(level, at: time, season: &all[s]))
        }
        seasons = all
        let slot = stored & (parameters.capacity - 1)
        times[slot] = time
        levels[slot] = level
        stored += 1
        return best
    }

    /// Weighted evidence of one period, then that period's statistics learn the difference.
    func compare(_ level: Double, at time: Double, season: inout Season) -> Double {
        let target = time - season.period
        let oldest = max(0, stored - parameters.capacity)
        let mask = parameters.capacity - 1
        if season.cursor < oldest { season.cursor = oldest }
        while season.cursor + 1 < stored && times[(season.cursor + 1) & mask] <= target { season.cursor += 1 }
        guard season.cursor < stored else { return 0 }
        // The stored point nearest to t − P: the cursor or the one after it.
        var match = season.cursor
        if match + 1 < stored && abs(times[(match + 1) & mask] - target) < abs(times[match & mask] - target) {
            match += 1
        }
        let past = levels[match & mask]
        guard abs(times[match & mask] - target) <= parameters.tolerance * season.period else { return 0 }
        let d = level - past

        var strength = 0.0
        if season.differences >= parameters.minimumPoints && season.strengthLevelVariance > 0 {
            strength = max(0, 1 - season.strengthDifferenceVariance / (2 * season.strengthLevelVariance))
        }
        var evidence = 0.0
        if season.differences >= 2 {
            let spread = max(season.differenceVariance.squareRoot(), 1e-9 * max(1, abs(season.differenceMean)))
            let z = abs(d - season.differenceMean) / spread
            evidence = season.tail.update(1 - exp(-z / parameters.zScale))
        }
        let n = Double(season.differences)
        if season.differences == 0 {
            season.differenceMean = d
            season.strengthLevelMean = level
            season.strengthDifferenceMean = d
        } else {
            let a = max(parameters.alpha, 1 / (n + 1))
            let delta = d - season.differenceMean
            season.differenceMean += a * delta
            season.differenceVariance = (1 - a) * (season.differenceVariance + a * delta * delta)
            let b = max(parameters.strengthAlpha, 1 / (n + 1))
            let dl = level - season.strengthLevelMean
            season.strengthLevelMean += b * dl
            season.strengthLevelVariance = (1 - b) * (season.strengthLevelVariance + b * dl * dl)
            let dd = d - season.strengthDifferenceMean
            season.strengthDifferenceMean += b * dd
            season.strengthDifferenceVariance = (1 - b) * (season.strengthDifferenceVariance + b * dd * dd)
        }
        season.differences += 1
        let weight = parameters.strengthPower == 2 ? strength * strength : pow(strength, parameters.strengthPower)
        return weight * evidence
    }
}
