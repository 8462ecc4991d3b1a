import ArgumentParser
import TriageCore
import TriageData
import TriageRuntime

/// `triage train --metrics METRICS.csv --incidents INCIDENTS.csv --output BUNDLE [--seed 0]`.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a bundle (baselines, remediation policy) from metrics and an incident log.",
        discussion: """
            The bundle is a new folder with manifest.json (format version, features, thresholds, \
            SHA-256 of every file), baselines.json, features.json, the detectors iforest.model and \
            autoencoder.model (on per-service robust z-scores of the metrics, rows outside incidents), \
            the action classifier forest.model (symptoms → the action that fixed the incident), \
            policy.model and symptoms.csv. It is written to a temporary folder and renamed into place \
            when complete. An incident log with no incidents trains the detectors only (a note says so).
            """)

    @Option(help: "Long-format metrics CSV (timestamp,service,cpu,memory,…).") var metrics: String
    @Option(help: "Incident log CSV (incident_id,service,start,end,fault,action,outcome,recovery_seconds).")
    var incidents: String
    @Option(help: "Bundle folder to create (must not exist; its parent must).") var output: String
    @Option(help: "Learning rule: q-learning, sarsa or expected-sarsa.") var rule: QLearning.Parameters.Rule = .qLearning
    @OptionGroup var options: RunOptions

    func run() throws {
        var files = FileRoles()
        files.input("--metrics", metrics)
        files.input("--incidents", incidents)
        files.output("--output", output)
        try files.check()
        try OutputPath.refuseStandardOutput(output, option: "--output")
        try AtomicFolder.validateDestination(output)
        let reporter = options.reporter
        reporter.report("reading \(metrics) …")
        let history = try MetricsHistory.read(metrics, threads: options.threads)
        reporter.report("reading \(incidents) …")
        let records = try IncidentLogReader.read(incidents, services: Set(history.services), metricsFile: metrics)
        reporter.report("training detectors, action classifier and policy …")
        let trained = try BundleTraining.train(history: history, records: records, seed: options.seed, rule: rule,
                                               threads: options.threadCount)
        for note in trained.manifest.notes { StandardErrorNote.print("note: " + note) }
        try trained.write(to: output)
        reporter.report("wrote \(output)")
    }
}

extension QLearning.Parameters.Rule: ExpressibleByArgument {}

/// A line on stderr that is not progress (notes the user should see even when not a terminal).
enum StandardErrorNote {
    static func print(_ line: String) {
        var standardError = StandardError()
        Swift.print(line, to: &standardError)
    }
}
