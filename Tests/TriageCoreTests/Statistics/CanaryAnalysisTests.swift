import Testing
@testable import TriageCore

@Suite("Canary analysis")
struct CanaryAnalysisTests {
    /// `count` values around `level` with relative noise `spread` (seeded).
    static func series(_ level: Double, spread: Double = 0.05, count: Int = 60, seed: UInt64) -> [Double] {
        var random = RandomSource(seed: seed)
        return (0..<count).map { _ in level * (1 + spread * random.normal()) }
    }

    static func classify(_ name: String, _ baseline: [Double], _ canary: [Double],
                         relative: Double = 0.10) throws -> CanaryMetricResult {
        try CanaryMetricClassifier.classify(name: name, baseline: baseline, canary: canary,
                                            rule: .standard(for: name), confidence: 0.98, relativeMinimumEffect: relative)
    }

    @Test func higherLatencyFailsHigh() throws {
        let result = try Self.classify("latency_p99_ms", Self.series(80, seed: 1), Self.series(104, seed: 2))
        #expect(result.classification == .high)
        #expect(result.pValue < 0.02)
        #expect(result.effect > 20 && result.effect < 28)
    }

    @Test func errorsUpByPointsFailDespiteTinyBaseline() throws {
        let baseline = Self.series(0.003, spread: 0.2, seed: 3)
        let result = try Self.classify("error_rate", baseline, baseline.map { $0 + 0.03 })
        #expect(result.classification == .high)
        #expect(result.minimumEffect == 0.005) // the floor, not 10 % of 0.003
    }

    @Test func directionDecidesWhichShiftFails() throws {
        let low = Self.series(100, seed: 4), high = Self.series(150, seed: 5)
        // More traffic on the canary is no regression; less is.
        #expect(try Self.classify("request_rate", low, high).classification == .pass)
        #expect(try Self.classify("request_rate", high, low).classification == .low)
        // Lower latency or CPU passes.
        #expect(try Self.classify("latency_p99_ms", high, low).classification == .pass)
        #expect(try Self.classify("cpu", high, low).classification == .pass)
        // An unknown metric fails either way.
        #expect(try Self.classify("queue_depth", high, low).classification == .low)
        #expect(try Self.classify("queue_depth", low, high).classification == .high)
    }

    @Test func tinyButSignificantShiftPasses() throws {
        // 2 % higher p99 with 1 % noise: the test sees it, the minimum effect (10 %) lets it pass.
        let baseline = Self.series(80, spread: 0.01, seed: 6)
        let result = try Self.classify("latency_p99_ms", baseline, baseline.map { $0 * 1.02 })
        #expect(result.pValue < 0.001)
        #expect(result.classification == .pass)
        // With no minimum effect the same shift fails.
        #expect(try Self.classify("latency_p99_ms", baseline, baseline.map { $0 * 1.02 }, relative: 0).classification == .high)
    }

    @Test func constantMetricsPassWithoutNaN() throws {
        let zeros = [Double](repeating: 0, count: 30)
        let result = try Self.classify("error_rate", zeros, zeros)
        #expect(result.classification == .pass)
        #expect(result.pValue == 1 && result.effect == 0 && result.baselineMedian == 0)
        // Both constant but different: a real shift, judged as any other.
        let worse = try Self.classify("error_rate", zeros, [Double](repeating: 0.05, count: 30))
        #expect(worse.classification == .high)
        #expect(worse.effect == 0.05)
    }

    @Test func scoreIsTheShareOfPassingMetricsAndVerdictFollowsThresholds() throws {
        let base = Self.series(80, seed: 7), worse = Self.series(120, seed: 8)
        let same = Self.series(80, seed: 9)
        let names = ["latency_p99_ms", "cpu", "memory", "request_rate"]
        let baseline = Dictionary(uniqueKeysWithValues: names.map { ($0, base) })
        var canary = Dictionary(uniqueKeysWithValues: names.map { ($0, same) })
        #expect(try CanaryAnalysis.run(names: names, baseline: baseline, canary: canary).verdict == .pass)
        canary["cpu"] = worse
        let one = try CanaryAnalysis.run(names: names, baseline: baseline, canary: canary)
        #expect(one.score == 75)
        #expect(one.verdict == .marginal && one.failedCriticalMetrics.isEmpty)
        canary["memory"] = worse
        let two = try CanaryAnalysis.run(names: names, baseline: baseline, canary: canary)
        #expect(two.score == 50 && two.verdict == .fail)
        // A critical metric failing fails the canary at any score: p99 alone is 75, yet `fail`.
        canary = Dictionary(uniqueKeysWithValues: names.map { ($0, same) })
        canary["latency_p99_ms"] = worse
        let critical = try CanaryAnalysis.run(names: names, baseline: baseline, canary: canary)
        #expect(critical.score == 75 && critical.verdict == .fail && critical.failedCriticalMetrics == ["latency_p99_ms"])
        // The same with the rule's critical flag off: marginal by the score.
        let plain = try CanaryAnalysis.run(names: names, baseline: baseline, canary: canary, rules: { name in
            var rule = CanaryMetricRule.standard(for: name)
            rule.critical = false
            return rule
        })
        #expect(plain.score == 75 && plain.verdict == .marginal)
        #expect(two.metrics.map(\.name) == names)
        #expect(CanaryAnalysis.verdict(score: 95) == .pass)
        #expect(CanaryAnalysis.verdict(score: 94.9) == .marginal)
        #expect(CanaryAnalysis.verdict(score: 75) == .marginal)
        #expect(CanaryAnalysis.verdict(score: 74.9) == .fail)
    }

    @Test func tooFewRowsIsAnErrorNotAVerdict() {
        let short = Self.series(80, count: 19, seed: 10), long = Self.series(80, seed: 11)
        #expect(throws: EstimatorError.tooFewRows(needed: 20, got: 19)) {
            try CanaryAnalysis.run(names: ["cpu"], baseline: ["cpu": long], canary: ["cpu": short])
        }
        #expect(throws: EstimatorError.emptyData) { try CanaryAnalysis.run(names: [], baseline: [:], canary: [:]) }
    }

    @Test func settingsOutOfRangeAreRefused() {
        for settings in [CanaryAnalysis.Settings(confidence: 1), .init(confidence: 0), .init(confidence: .nan),
                         .init(relativeMinimumEffect: -0.1), .init(relativeMinimumEffect: .infinity), .init(minimumRows: 1)] {
            #expect(throws: EstimatorError.self) { try settings.validate() }
        }
        #expect(throws: Never.self) { try CanaryAnalysis.Settings().validate() }
    }
}
