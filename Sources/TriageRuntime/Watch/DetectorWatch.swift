#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TriageCore
import TriageData

/// The model-free watch: an unsupervised online detector over a metrics file
/// (`timestamp,<metrics>`), each row scored from the rows before it, then learned. Scores go
/// to `scores` (`timestamp,anomaly_score`), score events to `events`; with a `state` file the
/// detector and the read position are resumed at start and saved at the end.
public final class DetectorWatch: FollowLoopHandler {
    public let configuration: WatchConfiguration
    let loop: FollowLoop
    var detector: MetricStreamDetector?
    var savedState: WatchState?
    let scores: StreamingOutput
    let events: StreamingOutput?
    public private(set) var summary = WatchSummary()
    var lastTime: Double?
    /// The metric columns' names, kept from the header: a row's event names its columns, and
    /// `MetricsRowParser.metricNames` builds a new array at each call.
    var metricNames: [String] = []
    /// The `service` of score events: the file's name without `.csv`.
    let service: String
    var warnings = 0
    var lastSave = WatchClock.monotonic()
    let warn: (String) -> Void

    /// Checks the outputs and the state file and opens the metrics file, before any work.
    /// - Parameters:
    ///   - stopRequested: asked between rows and while waiting; true finishes the run cleanly.
    ///   - warn: receives each warning (skipped rows, file restarts), one line without `\n`.
    public init(configuration: WatchConfiguration, stopRequested: @escaping () -> Bool,
                warn: @escaping (String) -> Void) throws {
        self.configuration = configuration
        self.warn = warn
        try configuration.validateOutputs()
        if let path = configuration.state {
            var info = stat()
            if stat(path, &info) == 0 {
                savedState = try WatchState.read(from: path)
            } else {
                try AtomicFile.validateDestination(path)
            }
        }
        loop = try FollowLoop(path: configuration.metrics, follow: configuration.follow,
                              maxLineBytes: configuration.maxLineBytes, pollInterval: configuration.pollInterval,
                              stopRequested: stopRequested, warn: warn)
        // Without a destination the scores go to standard output.
        scores = try configuration.open(configuration.scores == .none ? .standardOutput : configuration.scores)!
        events = try configuration.open(configuration.events)
        let name = configuration.metrics.split(separator: "/").last.map(String.init) ?? configuration.metrics
        service = name.hasSuffix(".csv") ? String(name.dropLast(4)) : name
    }

    /// Reads the file (to its end, or until the stop request while following), commits the
    /// outputs and saves the state. On error, outputs renamed into place are discarded (live
    /// ones are flushed) and nothing is saved.
    public func run() throws -> WatchSummary {
        do {
            try scores.append("timestamp,anomaly_score\n")
            try loop.run(self)
            if loop.parser == nil && !configuration.follow {
                throw DataError(.emptyFile, file: configuration.metrics)
            }
            try scores.commit()
            try events?.commit()
            try saveState()
        } catch {
            if configuration.follow {
                try? scores.flush()
                try? events?.flush()
            } else {
                scores.discard()
                events?.discard()
            }
            throw error
        }
        return summary
    }

    public func caughtUp() throws {
        try scores.flush()
        try events?.flush()
        if configuration.state != nil && WatchClock.monotonic() - lastSave > 30 {
            // The state's position must not pass output a crash could still lose.
            try scores.sync()
            try events?.sync()
            try saveState()
        }
    }

    public func fileRestarted() {
        summary.restarts += 1
    }

    public func readHeader(_ bytes: UnsafeBufferPointer<UInt8>, line: Int, previous: MetricsRowParser?) throws -> MetricsRowParser {
        let header = try MetricsRowParser(file: configuration.metrics, headerLine: bytes, lineNumber: line,
                                          timeColumn: configuration.timeColumn, excluded: Set(configuration.excluded + ["label"]))
        if let previous {
            // A new file after rotation or truncation must have the same columns.
            guard previous.header == header.header else {
                throw DataError(.other("header changed after the file was replaced: expected "
                                       + "\(previous.header.joined(separator: ",")), got \(header.header.joined(separator: ","))"),
                                file: configuration.metrics, line: line)
            }
            return previous
        }
        metricNames = header.metricNames
        if let saved = savedState {
            guard saved.metrics == header.metricNames, saved.timeColumn == configuration.timeColumn else {
                throw DataError(.other("state file \(configuration.state!) is for columns \(saved.metrics.joined(separator: ",")), "
                                       + "this file has \(header.metricNames.joined(separator: ","))"),
                                file: configuration.metrics, line: line)
            }
            detector = saved.detector
            lastTime = saved.lastTime
            if let device = saved.device, let inode = saved.inode {
                summary.resumed = loop.resume(device: device, inode: inode, offset: saved.offset, line: saved.line)
            }
        } else {
            do {
                detector = try MetricStreamDetector(columns: header.metricFields.count, seed: configuration.seed)
            } catch {
                throw DataError(.other("\(error)"), file: configuration.metrics)
            }
        }
        return header
    }

    public func processRow(_ row: MetricsRowParser.Row, line: Int) throws {
        if let lastTime {
            if row.time < lastTime { summary.outOfOrder += 1 } else if row.time == lastTime { summary.repeatedTimestamps += 1 }
        }
        lastTime = row.time
        summary.rows += 1
        if row.values.contains(where: { !$0.isFinite }) { summary.gaps += 1 }
        let result: MetricStreamDetector.RowScore
        do { result = try detector!.process(row.values, time: row.time) } catch {
            // The row parser yields one value per metric column, so this is a broken invariant,
            // reported with its place rather than trapped.
            throw DataError(.other("\(error)"), file: configuration.metrics, line: line)
        }
        let warming = result.perColumn.allSatisfy(\.warmingUp)
        if warming { summary.warmup += 1 } else { summary.scored += 1 }
        summary.maxScore = max(summary.maxScore, result.score)
        let scoreText = OutputTable.format(result.score)
        // Over the String's contiguous bytes: through the UTF-8 view it took ≈ 600 instructions a row.
        let special = { (byte: UInt8) -> Bool in byte == 0x2C || byte == 0x22 || byte == 0x0A || byte == 0x0D }
        let needsQuotes = row.timestampText.utf8.withContiguousStorageIfAvailable { $0.contains(where: special) }
            ?? row.timestampText.utf8.contains(where: special)
        try scores.append(needsQuotes ? OutputTable.escape(row.timestampText) : row.timestampText)
        try scores.append(",")
        try scores.append(scoreText)
        try scores.append("\n")
        if let events, !warming {
            try events.append(DetectorScoreEvent.line(row: row, service: service, scoreText: scoreText, result: result,
                                                      metricNames: metricNames))
        }
    }

    public func badRow(_ error: DataError) throws {
        guard configuration.skipBadRows else { throw error }
        summary.skipped += 1
        warnings += 1
        if warnings <= 20 {
            warn("warning: \(error.description) (row skipped)")
        } else if warnings == 21 {
            warn("warning: further skipped rows are only counted")
        }
    }

    func saveState() throws {
        guard let path = configuration.state, let detector, let parser = loop.parser else { return }
        let identity = loop.identity
        let state = WatchState(timeColumn: configuration.timeColumn, metrics: parser.metricNames, device: identity?.device,
                               inode: identity?.inode, offset: loop.boundary.offset, line: loop.boundary.line,
                               lastTime: lastTime, detector: detector)
        try state.write(to: path)
        lastSave = WatchClock.monotonic()
    }
}

/// The model-free watch's `score` event (../shared/CLI.md: `timestamp`, `service`, `type`, then
/// the type's fields). Built as text, not through `JSONValue`: its keys keep this published
/// order (a `JSONValue` object sorts them), and a row's event costs no dictionary.
public enum DetectorScoreEvent {
    /// One JSON line (with its `\n`) for a scored row; `scoreText` is the row score as written
    /// to the scores file.
    public static func line(row: MetricsRowParser.Row, service: String, scoreText: String,
                            result: MetricStreamDetector.RowScore, metricNames: [String]) -> String {
        let column = metricNames[result.drivingColumn]
        var line = "{\"timestamp\":\(JSONValue.quote(row.timestampText)),\"service\":\(JSONValue.quote(service)),\"type\":\"score\","
        line += "\"anomaly_score\":\(scoreText),\"column\":\(JSONValue.quote(column)),"
        line += "\"value\":\(jsonNumber(row.values[result.drivingColumn]))"
        if metricNames.count > 1 {
            line += ",\"column_scores\":{"
            line += zip(metricNames, result.perColumn).map { "\(JSONValue.quote($0.0)):\(OutputTable.format($0.1.score))" }
                .joined(separator: ",")
            line += "}"
        }
        line += "}\n"
        return line
    }

    /// A JSON number (null for NaN and infinities, which JSON cannot express).
    static func jsonNumber(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }
}
