/// A canary judged metric by metric and scored as a whole, as Kayenta's judge does.
///
/// The score is the share of judged metrics that pass, 0–100 (Kayenta's `WeightedSumScorer`
/// with one group and no weights: numPass / numTotal · 100). The verdict follows the usual
/// Spinnaker canary thresholds: `pass` at 95 or more ("pass" threshold), `marginal` at 75 or
/// more ("marginal" threshold), `fail` below; and `fail` whatever the score when a critical
/// metric fails (Kayenta's critical metrics; `CanaryMetricRule.critical`: errors and p99
/// latency by default).
///
/// Settings (defaults and why):
/// - `confidence` 0.98: Kayenta's judge runs the Mann–Whitney test at 98 %.
/// - `relativeMinimumEffect` 0.10: a shift smaller than 10 % of the baseline's median passes
///   even when significant. At 60 one-minute rows a side the test finds p99 shifts of ~2 %,
///   well inside what two healthy instances differ by; the regressions a canary exists for
///   (a p99 30 % up, errors up by points) are far beyond it.
/// - `minimumRows` 20: below it the normal approximation of U is rough and a verdict would be
///   noise; fewer rows a side is refused rather than judged.
public struct CanaryAnalysis: Sendable, Equatable {
    public struct Settings: Codable, Sendable, Equatable {
        public var confidence = 0.98
        public var relativeMinimumEffect = 0.10
        public var minimumRows = 20

        public init(confidence: Double = 0.98, relativeMinimumEffect: Double = 0.10, minimumRows: Int = 20) {
            self.confidence = confidence
            self.relativeMinimumEffect = relativeMinimumEffect
            self.minimumRows = minimumRows
        }

        /// Checks settings from outside (named as settings; the CLI maps them to its flags).
        public func validate() throws(EstimatorError) {
            guard confidence.isFinite, confidence > 0, confidence < 1 else {
                throw .invalidParameter(name: "confidence", value: "\(confidence)", expected: "a number strictly between 0 and 1")
            }
            guard relativeMinimumEffect.isFinite, relativeMinimumEffect >= 0 else {
                throw .invalidParameter(name: "minimum effect", value: "\(relativeMinimumEffect)",
                                        expected: "a finite fraction of the baseline median, 0 or more")
            }
            guard minimumRows >= 2 else {
                throw .invalidParameter(name: "minimum rows", value: "\(minimumRows)", expected: "2 or more")
            }
        }
    }

    public enum Verdict: String, Codable, Sendable, CaseIterable {
        case pass, marginal, fail
    }

    /// Metrics a default run leaves out: `replicas` is the deployment's size, chosen by the
    /// operator, not behaviour of the build.
    public static let defaultExcludedMetrics: Set<String> = ["replicas"]

    public var metrics: [CanaryMetricResult]
    /// 100 × passing / judged.
    public var score: Double
    public var verdict: Verdict

    /// Judges each metric of `baseline` against the same metric of `canary`, in `names` order.
    /// Every name must have at least `settings.minimumRows` finite values on each side
    /// (`EstimatorError.tooFewRows` / `.nonFinite` otherwise; callers that read files check
    /// first and say where).
    public static func run(names: [String], baseline: [String: [Double]], canary: [String: [Double]],
                           rules: (String) -> CanaryMetricRule = CanaryMetricRule.standard(for:),
                           settings: Settings = Settings()) throws(EstimatorError) -> CanaryAnalysis {
        try settings.validate()
        guard !names.isEmpty else { throw .emptyData }
        var results = [CanaryMetricResult]()
        for name in names {
            let b = baseline[name] ?? [], c = canary[name] ?? []
            let rows = min(b.count, c.count)
            guard rows >= settings.minimumRows else { throw .tooFewRows(needed: settings.minimumRows, got: rows) }
            results.append(try CanaryMetricClassifier.classify(
                name: name, baseline: b, canary: c, rule: rules(name),
                confidence: settings.confidence, relativeMinimumEffect: settings.relativeMinimumEffect))
        }
        let passing = results.filter { $0.classification == .pass }.count
        let score = 100 * Double(passing) / Double(results.count)
        let criticalFailed = results.contains { $0.critical && $0.classification != .pass }
        return CanaryAnalysis(metrics: results, score: score, verdict: criticalFailed ? .fail : verdict(score: score))
    }

    /// The critical metrics that failed (each one alone makes the verdict `fail`).
    public var failedCriticalMetrics: [String] {
        metrics.filter { $0.critical && $0.classification != .pass }.map(\.name)
    }

    /// `pass` ≥ 95, `marginal` ≥ 75, else `fail`.
    public static func verdict(score: Double) -> Verdict {
        score >= 95 ? .pass : score >= 75 ? .marginal : .fail
    }
}
