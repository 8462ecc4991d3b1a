import ArgumentParser
import TriageCore
import TriageData
import TriageEngine
import TriageRuntime
import Foundation

/// `triage watch METRICS.csv [--scores OUT.csv] [--events OUT.jsonl] [--follow] ...`: the
/// unsupervised online detector over a metrics file (../shared/CLI.md "Online scoring").
struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a metrics file online: each row from the rows before it, scores in 0..1.",
        discussion: """
            Reads a timestamp,value[,more numeric columns] CSV row by row. Each row is scored using \
            only the rows before it and then learned; rows in warm-up score 0. With several metric \
            columns the row score is the largest column score and --events names that column. \
            Rows are taken in file order: timestamps that repeat or go back are accepted (and counted \
            in the summary). A missing value is a gap: that column is skipped for the row.
            """)

    @Argument(help: "Metrics CSV: a timestamp column and one or more numeric columns.") var metrics: String
    @Option(help: "Write timestamp,anomaly_score here (default: standard output).") var scores: String?
    @Option(help: "Write one JSON object per scored row here (JSON Lines).") var events: String?
    @Flag(help: "Keep reading as the file grows (tail -F: survives rotation and truncation); stop with SIGINT/SIGTERM.")
    var follow = false
    @Option(help: "Name of the timestamp column.") var timeColumn = "timestamp"
    @Option(help: "Checkpoint file: resume the detector (and the read position, for the same file) from it, save it on exit.")
    var state: String?
    @Flag(help: "Skip malformed rows with a warning instead of stopping (counted in the summary).")
    var skipBadRows = false
    @Option(help: "Seed for the detector's random choices.") var seed: UInt64 = 0
    @Option(name: .customLong("exclude"), help: "Column that is not a metric (repeatable); 'label' is always excluded.")
    var excluded: [String] = []
    @Option(help: "Seconds between checks for new data with --follow.") var pollInterval = 0.2
    @Option(help: "Longest accepted line (or record, when a quoted field spans lines) in bytes; longer ones are bad rows.")
    var maxLineBytes = 1 << 20
    @Option(help: "Bundle from 'triage train': score each service's rows with its detectors, track health, raise recommendations.")
    var model: String?
    @Option(help: "Approval queue database for recommendations and the read position (with --model): an SQLite file or postgres://USER[:PASS]@HOST[:PORT]/DB.")
    var db: String?
    @Option(help: "Name of the service column of a long-format file (with --model).") var serviceColumn = "service"
    @Option(help: "How long a recommendation waits for a decision: 90s, 30m, 2h, 1d or seconds (with --model).")
    var ttl = TimeToLive(seconds: 1_800)
    @Option(help: "With --model --follow: seconds between heartbeat events while waiting for data (0: none).")
    var heartbeat = 60
    @Option(help: "With --model: per-service targets and replica bounds of the HPA scaling rule (CSV: service,cpu,request_rate,min_replicas,max_replicas; default: from the bundle's baselines).")
    var scalingTargets: String?
    @Option(help: "With --model: how long (data time) an incident may stay open before it becomes critical: 30m, 2h or seconds (1m–7d).")
    var incidentLimit = TimeToLive(seconds: 1_800)
    @Flag(help: "Print the summary as one JSON object (on standard error).") var json = false
    @Flag(help: "No summary or warnings on standard error.") var quiet = false
    @OptionGroup(title: "Remediation guards (with --model --db)") var guards: GuardOptions

    func validate() throws {
        guard pollInterval > 0 && pollInterval <= 3600 else {
            throw ValidationError("--poll-interval must be in (0, 3600] seconds, got \(pollInterval)")
        }
        guard maxLineBytes >= 64 else { throw ValidationError("--max-line-bytes must be at least 64, got \(maxLineBytes)") }
        guard !timeColumn.isEmpty else { throw ValidationError("--time-column must not be empty") }
        guard (0...86_400).contains(heartbeat) else { throw ValidationError("--heartbeat must be 0–86400 seconds, got \(heartbeat)") }
        if model == nil && db != nil { throw ValidationError("--db needs --model: the queue holds the recommendations of a bundle") }
        if model != nil && state != nil { throw ValidationError("--state is for the model-free detector; with --model, --db keeps the position") }
        if model == nil && scalingTargets != nil { throw ValidationError("--scaling-targets needs --model: the engine scales services of a bundle") }
        guard (60...604_800).contains(incidentLimit.seconds) else {
            throw ValidationError("--incident-limit must be 1m–7d, got \(incidentLimit)")
        }
    }

    func run() throws {
        // First thing, so a stop request during start-up is not lost or fatal.
        installStopHandlers()
        var files = FileRoles()
        files.input("METRICS", metrics)
        files.inputFolder("--model", model)
        files.input("--scaling-targets", scalingTargets)
        if let db, !DatabaseAddress.isPostgres(db) { files.output("--db", db) }
        // Without --model, scores go to standard output unless --scores says otherwise.
        files.output(scores == nil ? "the scores (standard output without --scores)" : "--scores",
                     scores ?? (model == nil ? "-" : nil))
        files.output("--events", events)
        files.output("--state", state)
        try files.check()
        let quiet = quiet
        let warn = { (message: String) in
            guard !quiet else { return }
            var standardError = StandardError()
            print(Watch.namingFlags(message), to: &standardError)
        }
        do {
            if let model {
                let summary = try EngineWatch(bundle: model, configuration: configuration(engine: true),
                                              stopRequested: { watchStopRequested }, warn: warn).run()
                warn(json ? summary.json.serialized() : summary.text(metrics: metrics, database: db.map(StoreOpening.shown)))
                return
            }
            let summary = try DetectorWatch(configuration: configuration(engine: false),
                                            stopRequested: { watchStopRequested }, warn: warn).run()
            warn(json ? summary.jsonText : summary.text(stateName: "--state"))
        } catch let error as DataError {
            let message = Watch.namingFlags(error.description)
            guard message != error.description else { throw error }
            throw CLIFailure.failed(message)
        }
    }

    /// The library's settings from the flags. `-` is standard output; without `--scores` the
    /// model-free watch writes its scores there too (`DetectorWatch`), the engine watch none.
    func configuration(engine: Bool) -> WatchConfiguration {
        func output(_ path: String?) -> WatchConfiguration.Output {
            guard let path else { return .none }
            return path == "-" ? .standardOutput : .file(path)
        }
        var configuration = WatchConfiguration(metrics: metrics, scores: output(scores))
        configuration.events = output(events)
        configuration.follow = follow
        configuration.timeColumn = timeColumn
        configuration.serviceColumn = serviceColumn
        configuration.excluded = excluded
        configuration.pollInterval = pollInterval
        configuration.maxLineBytes = maxLineBytes
        configuration.skipBadRows = skipBadRows
        configuration.seed = seed
        configuration.state = engine ? nil : state
        configuration.database = engine ? db : nil
        configuration.ttlSeconds = ttl.seconds
        configuration.scalingTargets = scalingTargets
        configuration.incidentLimitSeconds = incidentLimit.seconds
        configuration.heartbeatSeconds = heartbeat
        configuration.guards = guards.settings
        return configuration
    }

    /// The library names settings; here they are named by their flags.
    static func namingFlags(_ message: String) -> String {
        message.replacingOccurrences(of: "(\(WatchConfiguration.maxLineBytesSetting))", with: "(--max-line-bytes)")
    }
}

/// `--ttl`: a duration with an optional unit (s, m, h, d); plain numbers are seconds.
struct TimeToLive: ExpressibleByArgument, CustomStringConvertible {
    let seconds: Int64

    init(seconds: Int64) { self.seconds = seconds }

    init?(argument: String) {
        guard let seconds = Self.seconds(argument), seconds > 0 else { return nil }
        self.seconds = seconds
    }

    /// Seconds of "N" or "N" with s, m, h or d, 0 to 366 days (bounded before multiplying), or nil.
    static func seconds(_ argument: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        var text = Substring(argument)
        var unit: Int64 = 1
        if let last = text.last, let u = units[last] {
            unit = u
            text = text.dropLast()
        }
        guard let n = Int64(text), n >= 0, n <= 366 * 86_400 / unit else { return nil }
        return n * unit
    }

    var description: String { seconds % 60 == 0 ? "\(seconds / 60)m" : "\(seconds)s" }
    static var defaultCompletionKind: CompletionKind { .default }
}
