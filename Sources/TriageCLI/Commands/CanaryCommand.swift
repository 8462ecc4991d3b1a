import ArgumentParser
import Foundation
import TriageCore
import TriageData
import TriageEngine
import TriageRuntime

/// `triage canary --baseline BASE.csv --canary CANARY.csv [--metrics a,b,…] [--confidence 0.98]
/// [--min-effect 0.1] [--json] [--db DB --service S [--ttl 30m]]`.
struct Canary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a canary's metrics with its baseline's and give a verdict a deploy pipeline can gate on.",
        discussion: """
            Each metric is compared with the Mann-Whitney U test (two-sided) and the Hodges-Lehmann \
            shift (canary - baseline). A metric fails ('high' or 'low') when the shift is significant \
            at --confidence, at least --min-effect times the baseline median (and at least the metric's \
            floor), and in the direction that hurts: error_rate, latency_p99_ms, cpu, memory and \
            heartbeat_age_s fail when high, request_rate when low, other metrics either way. \
            Score = 100 x the share of metrics that pass; verdict pass (>= 95), marginal (>= 75), \
            fail; and fail whatever the score when a critical metric (error_rate, latency_p99_ms) \
            fails. Exit 0 pass, 2 marginal, 3 fail, 1 bad input, 64 usage. With --db and --service, \
            a failed canary raises a 'rollback' recommendation into the approval queue.
            """)

    @Option(help: "Metrics of the baseline (CSV: timestamp plus metric columns, the names of 'simulate').") var baseline: String
    @Option(help: "Metrics of the canary, same columns as the baseline.") var canary: String
    @Option(help: "Comma-separated metrics to judge (default: every metric column but replicas).") var metrics: String?
    @Option(help: "Confidence of the test, strictly between 0 and 1.") var confidence = 0.98
    @Option(name: .customLong("min-effect"), help: "Smallest shift that can fail a metric, as a fraction of the baseline median.")
    var minEffect = 0.10
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Approval queue database (SQLite file or postgres:// URL): a failed canary raises a rollback recommendation there (needs --service).") var db: String?
    @Option(help: "Service the rollback is for (with --db).") var service: String?
    @Option(help: "With --db: how long the rollback recommendation stays approvable (e.g. 30m, 2h).")
    var ttl = TimeToLive(seconds: 1_800)

    func validate() throws {
        guard confidence.isFinite, confidence > 0, confidence < 1 else {
            throw ValidationError("--confidence must be strictly between 0 and 1, got \(confidence)")
        }
        guard minEffect.isFinite, minEffect >= 0 else { throw ValidationError("--min-effect must be 0 or more, got \(minEffect)") }
        guard (db == nil) == (service == nil) else { throw ValidationError("--db and --service go together") }
        if let service, service.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--service must not be empty")
        }
        if let metrics, metricList(metrics).contains(where: \.isEmpty) {
            throw ValidationError("--metrics must be metric names separated by commas, got '\(metrics)'")
        }
    }

    func metricList(_ text: String) -> [String] {
        text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    func run() throws {
        var files = FileRoles()
        files.input("--baseline", baseline)
        files.input("--canary", canary)
        if let db, !DatabaseAddress.isPostgres(db) { files.output("--db", db) }
        try files.check()
        let settings = CanaryAnalysis.Settings(confidence: confidence, relativeMinimumEffect: minEffect)
        let input = try CanaryInput.read(baseline: baseline, canary: canary, metrics: metrics.map(metricList),
                                         minimumRows: settings.minimumRows)
        let analysis = try CanaryAnalysis.run(names: input.names, baseline: input.baseline, canary: input.canary,
                                              settings: settings)
        if let db, let service, analysis.verdict == .fail {
            let now = QueueOptions.now
            let recommendation = analysis.rollbackRecommendation(
                service: service, baselineFile: baseline, canaryFile: canary, created: input.lastCanaryTime ?? now,
                now: now, ttlSeconds: ttl.seconds)
            let raised = try StoreOpening.open(db, access: .readWrite).raise(recommendation)
            var standardError = StandardError()
            print("\(raised.isNew ? "raised" : "already raised"): \(raised.recommendation.id) rollback for "
                  + TerminalText.escaped(service), to: &standardError)
        }
        try StandardOutput.write(analysis.report.render(json: json) + "\n")
        switch analysis.verdict {
        case .pass: return
        case .marginal: throw ExitStatus(code: 2)
        case .fail: throw ExitStatus(code: 3)
        }
    }
}
