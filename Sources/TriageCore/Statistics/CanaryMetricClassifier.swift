/// Which way a metric may move before a canary counts as worse than its baseline.
///
/// Kayenta calls this the metric's direction (`MetricDirection` Increase | Decrease | Either in
/// kayenta-judge): a change the other way is never a failure.
public enum MetricDirection: String, Codable, Sendable, CaseIterable {
    /// Higher is worse (errors, latency): only a significant rise fails.
    case increase
    /// Lower is worse (traffic served): only a significant fall fails.
    case decrease
    /// Either way is worse: a metric whose meaning is not known.
    case either
}

/// How one metric is judged: its direction and the smallest shift that counts at all.
public struct CanaryMetricRule: Codable, Sendable, Equatable {
    public var direction: MetricDirection
    /// The minimum effect in the metric's own unit, whatever the baseline. It keeps
    /// near-zero baselines (error rates of 0.2 %) from turning a shift of a few hundredths of a
    /// point into a failure, where the relative minimum alone would be almost nothing.
    public var absoluteFloor: Double
    /// A critical metric that fails fails the whole canary, whatever the score (Kayenta's
    /// critical metrics): with the score alone, one regressed signal among six scores 83.3,
    /// `marginal`, so a bad deploy that only raises errors would never be a `fail`.
    public var critical: Bool

    public init(direction: MetricDirection, absoluteFloor: Double = 0, critical: Bool = false) {
        self.direction = direction
        self.absoluteFloor = absoluteFloor
        self.critical = critical
    }

    /// The rule for a metric named as `triage simulate` names them; any other name is judged
    /// both ways with no floor.
    ///
    /// - `error_rate` (a fraction 0…1): increase, critical; floor 0.005, half a percentage point — the
    ///   simulated services' base rates are 0.1–0.5 % and vary by 20 % row to row, so a smaller
    ///   shift is within what a healthy build shows, while a bad deploy adds whole points.
    /// - `latency_p99_ms`: increase, critical; floor 1 ms, below which a p99 shift is measurement
    ///   grain. Errors and latency are what users see of a bad deploy (the golden signals), so
    ///   either one failing fails the canary.
    /// - `cpu`, `memory` (percent): increase; floor 1 point. A build that needs more CPU or
    ///   memory for the same traffic costs capacity (Kayenta's canary configs judge both); one
    ///   that needs less is no regression.
    /// - `heartbeat_age_s`: increase; floor 15 s, one heartbeat period: a shorter shift means no
    ///   heartbeat was missed.
    /// - `request_rate`: decrease; floor 1 request/s. More traffic on the canary is no fault of
    ///   the build (the "high request rate does not fail"); less means the load
    ///   balancer or clients are turning away from it.
    /// - `replicas`: either, floor 1; it is the deployment's size, set by the operator, so it is
    ///   judged only when asked for (`CanaryAnalysis.defaultExcludedMetrics`).
    public static func standard(for name: String) -> CanaryMetricRule {
        switch name {
        case "error_rate": return CanaryMetricRule(direction: .increase, absoluteFloor: 0.005, critical: true)
        case "latency_p99_ms": return CanaryMetricRule(direction: .increase, absoluteFloor: 1, critical: true)
        case "cpu", "memory": return CanaryMetricRule(direction: .increase, absoluteFloor: 1)
        case "heartbeat_age_s": return CanaryMetricRule(direction: .increase, absoluteFloor: 15)
        case "request_rate": return CanaryMetricRule(direction: .decrease, absoluteFloor: 1)
        case "replicas": return CanaryMetricRule(direction: .either, absoluteFloor: 1)
        default: return CanaryMetricRule(direction: .either)
        }
    }
}

/// A metric's verdict: `pass`, or significantly and materially `high` or `low` in a direction
/// that counts as a regression.
public enum CanaryClassification: String, Codable, Sendable, CaseIterable {
    case pass, high, low
}

/// The comparison of one metric between baseline and canary.
public struct CanaryMetricResult: Sendable, Equatable {
    public var name: String
    public var baselineMedian: Double
    public var canaryMedian: Double
    /// The Hodges–Lehmann shift, canary − baseline (`HodgesLehmannShift`).
    public var effect: Double
    /// The two-sided Mann–Whitney p-value (`MannWhitneyUTest`).
    public var pValue: Double
    /// The smallest |effect| that could fail this metric.
    public var minimumEffect: Double
    public var direction: MetricDirection
    public var classification: CanaryClassification
    /// Whether its failure fails the canary whatever the score (`CanaryMetricRule.critical`).
    public var critical = false
}

/// Classifies one metric of a canary against its baseline: the rule of Netflix's Kayenta
/// (kayenta-judge `MannWhitneyClassifier.classify`, Apache-2.0), with its confidence-interval
/// test replaced by the equivalent p-value and its tolerance band by an explicit minimum effect:
///
///     Δ̂ = Hodges–Lehmann shift (canary − baseline),  p = Mann–Whitney two-sided p-value
///     m = max(relative · |median(baseline)|, floor)
///     high  if p < 1 − confidence and Δ̂ ≥ m   and direction ∈ {increase, either}
///     low   if p < 1 − confidence and −Δ̂ ≥ m  and direction ∈ {decrease, either}
///     pass  otherwise
///
/// Kayenta calls a metric High when the whole confidence interval of the shift lies above a
/// band of ±¼|Δ̂|; the interval excludes 0 exactly when the test rejects at the same level, so
/// the significance half is the p-value test. Its band scales with the estimate itself, which
/// lets any significant shift through on long series (at 60 rows a side, a 2 % p99 shift is
/// already "significant"); a minimum relative to the baseline's level is what makes a tiny but
/// significant shift pass, as the issue asks. Kayenta also passes a metric whose two samples
/// are identical or all one value; here that falls out of the test (p = 1 when every value is
/// tied, Δ̂ = 0 for identical samples).
public enum CanaryMetricClassifier {
    /// - Parameters:
    ///   - confidence: in (0, 1); the test's level is 1 − confidence (default 0.98, Kayenta's).
    ///   - relativeMinimumEffect: ≥ 0, the share of |median(baseline)| a shift must reach.
    /// Both samples must be non-empty and finite (`EstimatorError` otherwise).
    public static func classify(name: String, baseline: [Double], canary: [Double], rule: CanaryMetricRule,
                                confidence: Double, relativeMinimumEffect: Double) throws(EstimatorError) -> CanaryMetricResult {
        let test = try MannWhitneyUTest(canary, baseline)
        let effect = try HodgesLehmannShift.estimate(baseline: baseline, canary: canary)
        let baselineMedian = median(baseline), canaryMedian = median(canary)
        let minimum = max(relativeMinimumEffect * abs(baselineMedian), rule.absoluteFloor)
        let significant = test.pValue < 1 - confidence
        var classification = CanaryClassification.pass
        if significant && effect > 0 && effect >= minimum && rule.direction != .decrease {
            classification = .high
        } else if significant && effect < 0 && -effect >= minimum && rule.direction != .increase {
            classification = .low
        }
        return CanaryMetricResult(name: name, baselineMedian: baselineMedian, canaryMedian: canaryMedian,
                                  effect: effect, pValue: test.pValue, minimumEffect: minimum,
                                  direction: rule.direction, classification: classification, critical: rule.critical)
    }

    /// The median, the mean of the two middle values for an even count (as `numpy.median`).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted(), n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}
