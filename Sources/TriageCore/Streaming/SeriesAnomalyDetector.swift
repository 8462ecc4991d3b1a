#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Settings of the online detector. One default for every series: nothing here is tuned per
/// file, and nothing needs labels.
public struct OnlineDetectorConfiguration: Codable, Sendable, Equatable {
    /// Recent values in the shingle the forest sees (Guha et al. 2016 §5 shingling).
    public var shingleSize = 8
    /// First differences xₜ − xₜ₋₁, … appended to the shingle (axis-parallel cuts cannot see a
    /// change between two levels, a difference feature can).
    public var differences = 2
    /// Smoothing factor of the exponentially weighted mean and variance behind the z-score
    /// detector (0.1: about the last ten points, so a jump is judged against recent noise).
    public var statisticalAlpha = 0.1
    /// z at which the z-score detector's raw score reaches 1 − e⁻¹ (raw = 1 − exp(−z / zScale)).
    public var zScale = 4.0
    /// A value beyond the range seen so far (`RangeBreakDetector`, the "spatial anomaly" rule of
    /// NAB's HTM detector) scores at least `rangeBreakScore`, rising linearly to 1 at an excess of
    /// this fraction of the range; 0 disables the rule.
    public var rangeTolerance = 0.2
    /// Score of a value just outside the range. 0.5 is evidence 5 (p = 10⁻⁵), the level of the
    /// calibrated detectors' alarm: a record counts as much as a strong calibrated alarm and is
    /// ranked among them by its excess. 1 with `rangeTolerance` > 0 flags only breaks beyond the
    /// tolerance (the first version's rule). Chosen by leave-one-category-out CV over the 26
    /// visible NAB files (BENCHMARKS.md).
    public var rangeBreakScore = 0.5
    /// `RangeBreakDetector.decay`.
    public var rangeDecay = 0.0
    /// One alarm per event: after a score ≥ 0.5 the next points are capped (`AlarmHoldOff`).
    public var holdOff = AlarmHoldOff.Parameters()
    /// An alarm at the time of day of an alarm one day earlier is capped (`RecurringAlarmFilter`),
    /// and so is a record within `rangeTolerance` at such a time: a daily job alarms once. Needs
    /// the rows' times; `periods: []` disables it.
    public var recurrence = RecurringAlarmFilter.Parameters()
    /// Shingle values relative to the current value (shape, not level), with the current value's
    /// deviation from the running mean as the level feature.
    public var relativeShingle = false
    /// Which calibrated detectors take part (for ablation studies; all by default). The
    /// seasonal detector needs the rows' times; without them it stays silent.
    public var useForest = true
    public var useStatistical = true
    public var useSeasonal = true
    /// How raw scores become 0..1: "tail" (extreme-value tail of each raw score's own history,
    /// `TailCalibrator`) or "likelihood" (Ahmad et al. 2017, `AnomalyLikelihood`).
    public var calibration = Calibration.tail
    /// The forest's and the z-score's calibrators. The tail starts at the 99.5th percentile
    /// (the calibrator's own default is the 99th): the exponential tail then models only the
    /// rarest raw scores, so common spikes of a spiky series (EC2 CPU) stay in the histogram part
    /// and read as ordinary. Leave-one-category-out standard NAB score over the 26 visible files,
    /// seeds 0–2: 0.98 / 0.99 / 0.995 / 0.998 give 65.8 / 67.1 / 69.9 / 68.4 (seeds 0–4: 0.99 /
    /// 0.995 give 66.9 / 68.2); nested selection picked 0.995 in most folds (BENCHMARKS.md).
    public var tail: TailCalibrator.Parameters = {
        var parameters = TailCalibrator.Parameters()
        parameters.tailQuantile = 0.995
        return parameters
    }()
    /// Tail evidence (−log₁₀ p) above which the following points are capped at `suppressedEvidence`
    /// until the evidence drops: one alarm per excursion (the likelihood filter of Ahmad et al.).
    public var alarmEvidence = 4.0
    public var suppressedEvidence = 3.0
    /// What the z-score detector looks at: "level" (value against its running mean), "change"
    /// (first difference against the running spread of differences) or "both" (the larger z).
    public var statisticalTarget = StatisticalTarget.change
    /// How the calibrated detectors combine: "max" of their evidence, or "sum" (independent
    /// evidence adds, as −log₁₀ of a product of tail probabilities).
    public var combine = Combination.sum
    /// Calendar features for the forest when rows carry a time: time of day and day of week
    /// (UTC), scaled so one cut across them is as likely as across a value feature. They let the
    /// forest learn daily and weekly profiles: a value ordinary at noon can be isolated at 3 am.
    public var calendarFeatures = false
    public var forest = SlidingIsolationForest.Parameters()
    /// The forest's score is averaged over this many scored points (the current one and the
    /// ones before it) before the tail calibrator sees it. A forest's score is a Monte Carlo
    /// estimate of the expected path length (Liu et al. 2008, eq. 2) over a random sample of
    /// trees, so one point's score is noisy, and the tail calibrator turns the noise of its
    /// extreme quantile into false alarms that depend on the seed. Two points reduce that noise
    /// (halve its variance if the two were independent) for the price of one point of delay of
    /// the forest's part. Used by the tail calibration only (`calibration = .likelihood` averages
    /// on its own). Leave-one-category-out standard NAB score over the
    /// 26 visible files, seeds 0–4 (min / mean): 1 (no averaging) 67.7 / 70.80, 2 72.7 / 73.63,
    /// 3 72.2 / 73.59, 5 71.4 / 72.33 (BENCHMARKS.md, "Quality, fifth pass"). 1 turns it off.
    public var forestAveraging = 2
    public var seasonal = SeasonalDifferenceDetector.Parameters()
    public var likelihood = AnomalyLikelihood.Parameters()

    public enum Calibration: String, Codable, Sendable { case tail, likelihood }
    public enum StatisticalTarget: String, Codable, Sendable { case level, change, both }
    public enum Combination: String, Codable, Sendable { case max, sum }

    public init() {}

    public func validate() throws(EstimatorError) {
        guard shingleSize >= 1 && shingleSize + differences <= 124 && differences >= 0 && differences < shingleSize + 1 else {
            throw .invalidParameter(name: "shingleSize/differences", value: "\(shingleSize)/\(differences)",
                                    expected: "shingleSize ≥ 1, 0 ≤ differences ≤ shingleSize, sum ≤ 124 (the forest takes 126 features, 2 of them calendar)")
        }
        guard statisticalAlpha > 0 && statisticalAlpha < 1 else {
            throw .invalidParameter(name: "statisticalAlpha", value: "\(statisticalAlpha)", expected: "0 < α < 1")
        }
        guard zScale > 0, rangeTolerance >= 0 else {
            throw .invalidParameter(name: "zScale/rangeTolerance", value: "\(zScale)/\(rangeTolerance)", expected: "> 0 / ≥ 0")
        }
        guard rangeBreakScore >= 0 && rangeBreakScore <= 1, rangeDecay >= 0 && rangeDecay < 1 else {
            throw .invalidParameter(name: "rangeBreakScore/rangeDecay", value: "\(rangeBreakScore)/\(rangeDecay)",
                                    expected: "0 ≤ score ≤ 1 / 0 ≤ decay < 1")
        }
        guard likelihood.averagingWindow >= 1, likelihood.historyWindow >= 2, likelihood.learningPeriod >= 2,
              likelihood.reestimationPeriod >= 1 else {
            throw .invalidParameter(name: "likelihood", value: "\(likelihood)", expected: "positive windows")
        }
        guard (1...64).contains(forestAveraging) else {
            throw .invalidParameter(name: "forestAveraging", value: "\(forestAveraging)", expected: "1...64")
        }
        try forest.validate()
        try seasonal.validate()
        try holdOff.validate()
        try recurrence.validate()
    }
}

/// What the detector said about one value.
public struct SeriesScore: Sendable, Equatable {
    /// Calibrated anomaly score in 0..1 (0 during warm-up and for missing values).
    public var score: Double
    /// Raw isolation-forest score s(x, ψ) of the shingle.
    public var forest: Double
    /// Raw z-score of the value against its exponentially weighted mean and variance.
    public var zScore: Double
    /// True while the detector is still warming up.
    public var warmingUp: Bool
    /// Each calibrated detector's tail evidence −log₁₀ p before combination and the alarm
    /// filter (0 while it warms up): what drove the score, and what ablation studies read.
    public var forestEvidence = 0.0
    public var statisticalEvidence = 0.0
    public var seasonalEvidence = 0.0
}

/// Online anomaly detector for one metric series: each value is scored from the values before
/// it, then learned.
///
/// Three raw detectors look at every point:
/// - a sliding isolation forest (Liu et al. 2008; Guha et al. 2016) over the shingle of the last
///   `shingleSize` values and `differences` first differences: it catches changes of shape;
/// - a z-score of the first difference (or the level, `statisticalTarget`) against its
///   exponentially weighted mean and variance: it catches jumps the forest may dilute;
/// - a `SeasonalDifferenceDetector` (needs the rows' times): the recent level against the level a
///   day and a week ago, weighted by how seasonal the series is: it catches values ordinary for
///   the series but not for the time (a holiday, a missing peak).
/// The forest's and the z-score's raw scores are turned into tail evidence −log₁₀ p by their own
/// `TailCalibrator` (or by Ahmad et al.'s `AnomalyLikelihood`; the seasonal detector calibrates
/// itself), the evidence of the three is added (`combine`), an excursion
/// alarms once (`alarmEvidence` / `suppressedEvidence`, the likelihood filter of Ahmad et al.
/// 2017), an alarm that recurs at yesterday's alarm time is capped (`RecurringAlarmFilter`), and
/// t ↦ t / (t + 5) maps it into 0..1. A value outside the range seen so far
/// (`RangeBreakDetector`, NAB's HTM "spatial anomaly" rule, graded) scores at least
/// `rangeBreakScore`, and after an alarm (score ≥ 0.5) the next points are held below it
/// (`AlarmHoldOff`): one alarm per event.
///
/// One configuration for every series. The defaults were chosen on the 26 visible NAB files
/// (all 7 categories), by score over seeds and cross-validated by leaving one category out
/// (BENCHMARKS.md, "Online detector").
///
/// - Complexity: O(trees · log ψ + shingle) per value; memory bounded by the windows, constant
///   in the stream's length.
public struct SeriesAnomalyDetector: Codable, Sendable, Equatable {
    public let configuration: OnlineDetectorConfiguration
    var forest: SlidingIsolationForest
    var forestLikelihood: AnomalyLikelihood
    var statisticalLikelihood: AnomalyLikelihood
    var forestTail: TailCalibrator
    /// The last `forestAveraging` raw forest scores, oldest first (what the tail calibrator sees
    /// is their mean).
    var recentForestScores: [Double] = []
    var statisticalTail: TailCalibrator
    var seasonal: SeasonalDifferenceDetector
    /// Last evidence of the forest, the z-score and the seasonal detector (for the alarm filter).
    var previousEvidence = [0.0, 0.0, 0.0]
    /// Scratch feature vector, reused for every value (no allocation per point).
    var features: [Float] = []
    /// The last shingleSize + 1 values, oldest first once full.
    var recent: [Double]
    var recentCount = 0
    /// Subtracted before values become Float features, so large offsets keep their precision.
    var anchor = 0.0
    var mean = 0.0
    var variance = 0.0
    var changeMean = 0.0
    var changeVariance = 0.0
    var learned = 0
    var range: RangeBreakDetector
    var hold: AlarmHoldOff
    var recurring: RecurringAlarmFilter

    public init(configuration: OnlineDetectorConfiguration = OnlineDetectorConfiguration(), seed: UInt64 = 0)
        throws(EstimatorError)
    {
        try configuration.validate()
        self.configuration = configuration
        forest = try SlidingIsolationForest(dimension: configuration.shingleSize + configuration.differences
                                                + (configuration.calendarFeatures ? 2 : 0),
                                            parameters: configuration.forest, seed: seed)
        forestLikelihood = AnomalyLikelihood(parameters: configuration.likelihood)
        statisticalLikelihood = AnomalyLikelihood(parameters: configuration.likelihood)
        forestTail = TailCalibrator(parameters: configuration.tail)
        statisticalTail = TailCalibrator(parameters: configuration.tail)
        seasonal = try SeasonalDifferenceDetector(parameters: configuration.seasonal)
        range = RangeBreakDetector(decay: configuration.rangeDecay)
        hold = AlarmHoldOff(parameters: configuration.holdOff)
        recurring = RecurringAlarmFilter(parameters: configuration.recurrence)
        recent = []
        recent.reserveCapacity(configuration.shingleSize + 1)
        recentForestScores.reserveCapacity(configuration.forestAveraging)
    }

    /// Values learned so far.
    public var count: Int { learned }

    /// Scores `value` from the past, then learns it. A non-finite value (a gap) is neither
    /// scored nor learned: it returns score 0 and leaves the state unchanged.
    /// - Parameter time: seconds since the epoch (UTC) of the value, used by the calendar features.
    public mutating func process(_ value: Double, time: Double? = nil) -> SeriesScore {
        guard value.isFinite else { return SeriesScore(score: 0, forest: 0, zScore: 0, warmingUp: !isReady) }
        if learned == 0 { anchor = value }
        let shingle = configuration.shingleSize
        if recent.count == shingle + 1 { recent.removeFirst() }
        recent.append(value)

        // Z-score against the past (before this value is folded in).
        var z = 0.0
        if learned >= 2 {
            let sd = max(variance.squareRoot(), 1e-9 * max(1, abs(mean)))
            z = abs(value - mean) / sd
        }
        var changeZ = 0.0
        if learned >= 3 && recent.count >= 2 {
            let change = value - recent[recent.count - 2]
            let sd = max(changeVariance.squareRoot(), 1e-9 * max(1, abs(mean)))
            changeZ = abs(change - changeMean) / sd
        }
        if learned >= 1 && recent.count >= 2 {
            let change = value - recent[recent.count - 2]
            let alpha = max(configuration.statisticalAlpha, 1 / Double(learned))
            let d = change - changeMean
            changeMean += alpha * d
            changeVariance = (1 - alpha) * (changeVariance + alpha * d * d)
        }
        let zUsed: Double
        switch configuration.statisticalTarget {
        case .change: zUsed = changeZ
        case .both: zUsed = max(z, changeZ)
        case .level: zUsed = z
        }
        let statisticalRaw = learned >= 2 ? 1 - exp(-zUsed / configuration.zScale) : 0
        let delta = value - mean
        if learned == 0 {
            mean = value
        } else {
            let alpha = max(configuration.statisticalAlpha, 1 / Double(learned + 1))
            mean += alpha * delta
            variance = (1 - alpha) * (variance + alpha * delta * delta)
        }

        var forestRaw = 0.0
        var scored = false
        if recent.count == shingle + 1 || (configuration.differences == 0 && recent.count == shingle) {
            let dimension = forest.dimension
            if features.count != dimension { features = [Float](repeating: 0, count: dimension) }
            features.withUnsafeMutableBufferPointer { buffer in
                let last = recent.count - 1
                if configuration.relativeShingle {
                    buffer[0] = Float(recent[last] - mean)
                    for k in 1..<max(1, shingle) { buffer[k] = Float(recent[last - k] - recent[last]) }
                } else {
                    for k in 0..<shingle { buffer[k] = Float(recent[last - k] - anchor) }
                }
                for k in 0..<configuration.differences {
                    buffer[shingle + k] = Float(recent[last - k] - recent[last - k - 1])
                }
                if configuration.calendarFeatures {
                    let t = time ?? 0
                    let day = 86_400.0
                    let dayFraction = (t.truncatingRemainder(dividingBy: day) + day).truncatingRemainder(dividingBy: day) / day
                    // 1970-01-01 was a Thursday; weekday 0 = Monday.
                    let days = (t / day).rounded(.down)
                    let weekday = ((days + 3).truncatingRemainder(dividingBy: 7) + 7).truncatingRemainder(dividingBy: 7)
                    buffer[shingle + configuration.differences] = Float(dayFraction)
                    buffer[shingle + configuration.differences + 1] = Float(weekday / 7)
                }
            }
            features.withUnsafeBufferPointer { x in
                if forest.isReady {
                    forestRaw = forest.score(x.baseAddress!)
                    scored = true
                }
                forest.learn(x.baseAddress!)
            }
        }

        // The seasonal detector learns every value (its history must stay in step with time).
        let seasonalEvidence = configuration.useSeasonal && time != nil ? seasonal.update(value, time: time!) : 0

        var score = 0.0
        var forestEvidence = 0.0, statisticalEvidence = 0.0
        if scored && configuration.calibration == .tail {
            if recentForestScores.count == configuration.forestAveraging { recentForestScores.removeFirst() }
            recentForestScores.append(forestRaw)
            // Summed oldest first, as benchmarks/nab_post.py does, so the two agree exactly.
            var sum = 0.0
            for s in recentForestScores { sum += s }
            forestEvidence = forestTail.update(sum / Double(recentForestScores.count))
            statisticalEvidence = statisticalTail.update(statisticalRaw)
            var best = 0.0
            func add(_ evidence: Double, _ k: Int, _ use: Bool) {
                guard use else { return }
                let e = previousEvidence[k] > configuration.alarmEvidence
                    ? min(evidence, configuration.suppressedEvidence) : evidence
                best = configuration.combine == .sum ? best + e : max(best, e)
            }
            add(forestEvidence, 0, configuration.useForest)
            add(statisticalEvidence, 1, configuration.useStatistical)
            add(seasonalEvidence, 2, configuration.useSeasonal)
            previousEvidence[0] = forestEvidence
            previousEvidence[1] = statisticalEvidence
            previousEvidence[2] = seasonalEvidence
            if let time { best = recurring.filter(best, time: time) }
            if forestTail.isReady { score = AnomalyLikelihood.score(evidence: best) }
        } else if scored {
            let a = forestLikelihood.update(forestRaw)
            let b = statisticalLikelihood.update(statisticalRaw)
            if forestLikelihood.isReady && statisticalLikelihood.isReady {
                score = max(configuration.useForest ? a : 0, configuration.useStatistical ? b : 0)
            }
        }
        let excess = range.update(value)
        if configuration.rangeTolerance > 0 && isReady && excess > 0 {
            let floor = configuration.rangeBreakScore
            var rangeScore = floor + (1 - floor) * min(1, excess / configuration.rangeTolerance)
            // A small record at yesterday's alarm time is the daily event grown a little.
            if excess < configuration.rangeTolerance, let time, recurring.recurs(at: time) {
                rangeScore = min(rangeScore, AnomalyLikelihood.score(evidence: configuration.recurrence.cap))
            }
            // A break within the tolerance only counts when the graded rule is on (floor < 1).
            if floor < 1 || excess > configuration.rangeTolerance { score = max(score, rangeScore) }
        }
        score = hold.filter(score)
        learned += 1
        return SeriesScore(score: score, forest: forestRaw, zScore: z, warmingUp: !isReady,
                           forestEvidence: forestEvidence, statisticalEvidence: statisticalEvidence,
                           seasonalEvidence: seasonalEvidence)
    }

    /// True once both calibrations have estimated their distributions.
    public var isReady: Bool {
        configuration.calibration == .tail ? forestTail.isReady
            : forestLikelihood.isReady && statisticalLikelihood.isReady
    }
}
