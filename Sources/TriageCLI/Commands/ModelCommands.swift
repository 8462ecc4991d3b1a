import ArgumentParser
import TriageCore
import TriageData
import TriageRuntime

/// `triage fit <kind>`: one subcommand per estimator.
struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a model on a CSV file and save it.",
        subcommands: [FitIsolationForest.self, FitTree.self, FitForest.self, FitAutoencoder.self]
    )
}

/// `triage score MODEL DATA.csv [--output OUT.csv]`.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score rows with a saved model; one output row per input row, in order.")

    @Argument(help: "Model file written by 'triage fit'.") var model: String
    @Argument(help: "CSV with the model's feature columns (any order; extra columns ignored).") var data: String
    @Option(help: "Write scores here (default: standard output).") var output: String?
    @Option(help: "Fill missing values: 'median' uses the training medians stored in the model.")
    var impute: Imputation?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(inversion: .prefixedNo, help: "Add the top_feature column for detectors that explain (the isolation forest); --no-explain skips that work.")
    var explain = true

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        var files = FileRoles()
        files.input("MODEL", model)
        files.input("DATA", data)
        files.output("--output", output)
        try files.check()
        try OutputPath.validate(output)
        let loaded = try ModelRegistry.load(model)
        let table = try readFeatures(data, features: loaded.features, threads: threads)
        let result = try namingTheImputeFlag {
            try loaded.score(table, settings: ScoreSettings(threads: Parallel.threadCount(threads),
                                                            imputeMedian: impute == .median, explain: explain))
        }
        try result.write(to: OutputPath.file(output), threads: Parallel.threadCount(threads))
    }
}

enum Imputation: String, ExpressibleByArgument, CaseIterable { case median }

/// Runs `body`, turning the library's `MissingFeatureValue` (which names the imputation
/// setting) into the message that names this command's flag.
func namingTheImputeFlag<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let missing as MissingFeatureValue {
        throw CLIFailure.failed(missing.location.description + " (use --impute median to fill missing values)")
    }
}

/// `triage evaluate MODEL DATA.csv --target COL [--json]`.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a saved model against labelled data, or raised recommendations against known faults.",
        discussion: """
            triage evaluate MODEL DATA.csv --target COL [--json]
            triage evaluate --events EVENTS.jsonl --truth truth.json [--interval SECONDS] [--json]
            triage evaluate --incidents INCIDENTS.csv [--json]

            The second form matches the recommendation events of 'watch --model' with the faults \
            of a simulation's truth.json: a recommendation matches a fault of the same service when \
            its created time lies in [start, end + 10 intervals]. The interval defaults to the \
            spacing of the score events.

            The third form gives per service of an incident log: incidents, MTTR (mean seconds             from an incident's first attempt start to its last attempt end: detection to             recovery), MTBF (mean seconds from a recovery to the next incident's start) and             availability = MTBF / (MTBF + MTTR).
            """)

    @Argument(help: "Model file written by 'triage fit'.") var model: String?
    @Argument(help: "CSV with the model's feature columns and the target column.") var data: String?
    @Option(help: "Column with the true labels (detectors: non-zero = anomaly).") var target: String?
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Fill missing values: 'median' uses the training medians stored in the model.")
    var impute: Imputation?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "Events (JSON lines) written by 'watch --model … --events'.") var events: String?
    @Option(help: "truth.json written by 'triage simulate'.") var truth: String?
    @Option(help: "Seconds between metric rows (default: inferred from the score events).") var interval: Int?
    @Option(help: "Incident log (incidents.csv of 'simulate', or your own): availability, MTBF and MTTR per service.")
    var incidents: String?

    func validate() throws {
        if incidents != nil {
            guard model == nil, data == nil, target == nil, impute == nil, events == nil, truth == nil, interval == nil else {
                throw ValidationError("--incidents evaluates an incident log; it takes no MODEL, DATA, --target, --events, --truth or --interval")
            }
        } else if events != nil || truth != nil {
            guard events != nil, truth != nil else { throw ValidationError("--events and --truth go together") }
            guard model == nil, data == nil, target == nil, impute == nil else {
                throw ValidationError("--events/--truth evaluate recommendations; they take no MODEL, DATA or --target")
            }
            if let interval, interval < 1 { throw ValidationError("--interval must be at least 1 second, got \(interval)") }
        } else {
            guard model != nil, data != nil else { throw ValidationError("expected MODEL DATA.csv --target COL, or --events and --truth") }
            guard target != nil else { throw ValidationError("Missing expected argument '--target <target>'") }
        }
    }

    func run() throws {
        if let incidents {
            var files = FileRoles()
            files.input("--incidents", incidents)
            try files.check()
            try StandardOutput.write(try AvailabilityReport.evaluate(incidents: incidents).render(json: json) + "\n")
            return
        }
        if let events, let truth {
            let report: Report
            do {
                report = try RecommendationReport.evaluate(events: events, truth: truth, interval: interval)
            } catch let unknown as RecommendationReport.UnknownInterval {
                throw CLIFailure.failed("\(unknown.events): no score events to infer the row interval from; pass --interval SECONDS")
            }
            try StandardOutput.write(report.render(json: json) + "\n")
            return
        }
        guard let model, let data, let target else { return }
        let loaded = try ModelRegistry.load(model)
        let table = try readFeatures(data, features: loaded.features, threads: threads, text: [target])
        let report = try namingTheImputeFlag {
            try loaded.evaluate(table, target: target, settings: ScoreSettings(
                threads: Parallel.threadCount(threads), imputeMedian: impute == .median))
        }
        try StandardOutput.write(report.render(json: json) + "\n")
    }
}

/// `triage inspect MODEL [--json]`.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's kind, format version, features, hyperparameters and training summary.")

    @Argument(help: "Model file written by 'triage fit'.") var model: String
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let loaded = try ModelRegistry.load(model)
        try StandardOutput.write(loaded.inspection().render(json: json) + "\n")
    }
}

/// Reads only what a saved model needs: its features as numbers, `text` columns as text;
/// every other column is checked for structure but not parsed.
func readFeatures(_ path: String, features: [String], threads: Int?, text: [String] = []) throws -> CSVTable<Float> {
    var roles = [String: ColumnRole]()
    for name in features { roles[name] = .numeric }
    for name in text { roles[name] = .text }
    let table = try CSVReader.read(path, options: CSVOptions(roles: roles, defaultRole: .skip, threads: threads))
    for name in features + text where table.fieldNumber(of: name) == nil {
        throw DataError(.missingColumn, file: path, line: 1, columnName: name)
    }
    return table
}
