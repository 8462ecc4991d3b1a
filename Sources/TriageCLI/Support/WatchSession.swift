import Foundation
import TriageCore
import TriageData
import TriageRuntime
#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT/SIGTERM; the watch loop checks it between rows and while waiting.
nonisolated(unsafe) private var stopRequested: sig_atomic_t = 0
var watchStopRequested: Bool { stopRequested != 0 }

func installStopHandlers() {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in stopRequested = 1 }
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0 // no SA_RESTART: a sleep ends at once when a signal arrives
    sigaction(SIGINT, &action, nil)
    sigaction(SIGTERM, &action, nil)
    // A parent may have spawned us with these blocked (Foundation's Process does): unblock them,
    // or a stop request would stay pending forever.
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
}

/// What both watch sessions do with each line of the followed file.
protocol FollowedLineHandler: AnyObject {
    var options: Watch { get }
    /// The record being joined when a quoted field holds a line break.
    var joiner: QuotedRecordJoiner { get set }
    func readHeader(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws
    func processRow(_ bytes: ArraySlice<UInt8>, line: Int) throws
    func badRow(_ error: DataError) throws
}

extension FollowedLineHandler {
    /// Handles one physical line. Lines of blanks only (spaces, tabs, a stray `\r`) are skipped;
    /// the first other record is the header, the rest are rows. Returns false while the line
    /// belongs to a record still open (a quoted line break): the read position must then stay
    /// before that record's first line, so a checkpoint never passes a row not yet processed.
    func handleLine(_ bytes: ArraySlice<UInt8>, line: Int, expectHeader: inout Bool) throws -> Bool {
        if joiner.isOpen {
            guard joiner.append(bytes) else { return false }
            let first = joiner.firstLine!
            if joiner.overflowed {
                joiner.reset()
                try recordTooLong(first)
                return true
            }
            let record = joiner.bytes
            joiner.reset()
            try handleRecord(record[...], line: first, expectHeader: &expectHeader)
            return !joiner.isOpen
        }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return true }
        try handleRecord(bytes, line: line, expectHeader: &expectHeader)
        return !joiner.isOpen
    }

    private func handleRecord(_ bytes: ArraySlice<UInt8>, line: Int, expectHeader: inout Bool) throws {
        guard expectHeader else {
            try processRow(bytes, line: line)
            return
        }
        // Copied out: reading the header may reposition the follower (resume).
        let header = Array(bytes)
        do {
            try header.withUnsafeBufferPointer { bytes in try readHeader(bytes, line: line) }
        } catch let error as DataError where error.kind == .unterminatedQuote {
            joiner.start(header[...], lineNumber: line)
            return
        }
        expectHeader = false
    }

    /// Parses a row: nil when it was skipped as bad (`--skip-bad-rows`), or when its line ends
    /// inside a quoted field (the record goes on on the next line: the lines are joined first).
    /// The one-line record, the usual case, costs no more than the parse.
    func parseRow(_ parser: MetricsRowParser, _ bytes: ArraySlice<UInt8>, line: Int) throws -> MetricsRowParser.Row? {
        do {
            return try bytes.withUnsafeBufferPointer { buffer throws(DataError) in try parser.parse(buffer, lineNumber: line) }
        } catch {
            if error.kind == .unterminatedQuote {
                // Parsed whole once its quotes close; reported where the file ends if they never do.
                joiner.start(bytes, lineNumber: line)
                return nil
            }
            try badRow(error)
            return nil
        }
    }

    /// A record still open where its file ends (or is replaced): its quote never closed.
    func abandonOpenRecord(header: [String]?) throws {
        guard let first = joiner.firstLine else { return }
        let overflowed = joiner.overflowed, field = joiner.field
        joiner.reset()
        if overflowed { try recordTooLong(first); return }
        try badRow(DataError(.unterminatedQuote, file: options.metrics, line: first, column: field + 1,
                             columnName: header.flatMap { field < $0.count ? $0[field] : nil }))
    }

    /// A line over the limit (dropped unread by the follower): reported as itself, or as the
    /// record it was part of.
    func overlongLine(_ line: Int) throws {
        guard let first = joiner.firstLine else { return try lineTooLong(line) }
        joiner.reset()
        try recordTooLong(first)
    }

    func lineTooLong(_ line: Int) throws {
        try badRow(DataError(.other("line is longer than \(options.maxLineBytes) bytes (--max-line-bytes)"),
                             file: options.metrics, line: line))
    }

    func recordTooLong(_ line: Int) throws {
        try badRow(DataError(.other("record (a quoted field spanning lines) is longer than \(options.maxLineBytes) bytes "
                                    + "(--max-line-bytes)"), file: options.metrics, line: line))
    }
}

/// While waiting for data: checks the followed path, sleeping one poll interval when nothing
/// changed. Returns true when reading restarts from the start of a new file (expect a header).
func pollFollowedFile(_ follower: inout LineFollower, options: Watch, warn: (String) -> Void) -> Bool {
    switch follower.poll() {
    case .none:
        usleep(UInt32(options.pollInterval * 1_000_000))
        return false
    case .disappeared:
        warn("\(options.metrics): file disappeared; waiting for it to come back")
        return false
    case .rotated, .truncated, .reappeared:
        warn("\(options.metrics): file was replaced or truncated; reading it from the start")
        return true
    }
}

/// What `--state FILE` holds: the detector and where reading stopped.
struct WatchState: Codable {
    static let kind = "watch-state"
    /// Layout of the detector inside; raised whenever it changes. 1 (no field): before the
    /// seasonal detector; 2: with it.
    static let currentVersion = 2
    var version = WatchState.currentVersion
    var timeColumn: String
    var metrics: [String]
    /// Identity and byte offset (just after the last row processed) of the file read.
    var device: UInt64?
    var inode: UInt64?
    var offset: Int64
    var line: Int
    var lastTime: Double?
    var detector: MetricStreamDetector
}

extension WatchState {
    /// Only the version, read first so an older layout gets a clear message rather than a
    /// decoding error about some field.
    private struct Version: Decodable { var version: Int? }

    static func read(from path: String) throws(DataError) -> WatchState {
        let version = try ModelFile.read(Version.self, kind: kind, from: path).version ?? 1
        guard version == currentVersion else {
            let age = version < currentVersion ? "an older" : "a newer"
            throw DataError(.invalidModel("state file was written by \(age) triage (state version \(version), this one "
                                          + "reads \(currentVersion)); delete it to start learning afresh"), file: path)
        }
        return try ModelFile.read(WatchState.self, kind: kind, from: path)
    }
}

/// Counts shown in the summary line.
struct WatchSummary: Codable {
    var rows = 0
    var scored = 0
    var warmup = 0
    var gaps = 0
    var skipped = 0
    var outOfOrder = 0
    var repeatedTimestamps = 0
    var restarts = 0
    var resumed = false
    var maxScore = 0.0

    enum CodingKeys: String, CodingKey {
        case rows, scored, warmup, gaps, skipped, resumed
        case outOfOrder = "out_of_order_timestamps"
        case repeatedTimestamps = "repeated_timestamps"
        case restarts = "file_restarts"
        case maxScore = "max_score"
    }
}

/// The `watch` loop: reads lines as they come, scores rows, writes results, checkpoints.
final class WatchSession: FollowedLineHandler {
    let options: Watch
    var follower: LineFollower
    var parser: MetricsRowParser?
    var detector: MetricStreamDetector?
    var savedState: WatchState?
    let scores: StreamingOutput
    let events: StreamingOutput?
    var summary = WatchSummary()
    var lastTime: Double?
    let service: String
    var warnings = 0
    var lastSave = WatchSession.now()
    var joiner: QuotedRecordJoiner
    /// Offset and line just after the last record fully handled: what a checkpoint may cover.
    var boundary: (offset: Int64, line: Int) = (0, 0)

    init(options: Watch) throws {
        self.options = options
        // Outputs are checked before any work starts (CLI contract).
        if let path = options.scores { try AtomicFile.validateDestination(path) }
        if let path = options.events { try AtomicFile.validateDestination(path) }
        if let path = options.state {
            var info = stat()
            if stat(path, &info) == 0 {
                savedState = try WatchState.read(from: path)
            } else {
                try AtomicFile.validateDestination(path)
            }
        }
        follower = try LineFollower(path: options.metrics, follow: options.follow, maxLineBytes: options.maxLineBytes,
                                     stopRequested: { watchStopRequested })
        let mode: StreamingOutput.Mode = options.follow ? .live : .atomic
        scores = try StreamingOutput(path: OutputPath.file(options.scores), mode: options.scores == nil ? .standardOutput : mode)
        events = try options.events.map { path throws(DataError) in try StreamingOutput(path: OutputPath.file(path), mode: mode) }
        let name = options.metrics.split(separator: "/").last.map(String.init) ?? options.metrics
        service = name.hasSuffix(".csv") ? String(name.dropLast(4)) : name
        joiner = QuotedRecordJoiner(maxBytes: options.maxLineBytes)
    }

    func run() throws {
        installStopHandlers()
        do {
            try scores.append("timestamp,anomaly_score\n")
            try loop()
            if parser == nil && !options.follow {
                throw DataError(.emptyFile, file: options.metrics)
            }
            try scores.commit()
            try events?.commit()
            try saveState()
        } catch {
            if options.follow {
                try? scores.flush()
                try? events?.flush()
            } else {
                scores.discard()
                events?.discard()
            }
            throw error
        }
        report()
    }

    func loop() throws {
        var expectHeader = true
        while stopRequested == 0 {
            switch try follower.next() {
            case .line(let range, let line):
                if try handleLine(follower.buffer[range], line: line, expectHeader: &expectHeader) { markBoundary() }
            case .tooLong(let line):
                try overlongLine(line)
                markBoundary()
            case .end:
                try abandonOpenRecord(header: parser?.header)
                markBoundary()
                return
            case .waiting:
                try scores.flush()
                try events?.flush()
                if options.state != nil && WatchSession.now() - lastSave > 30 {
                    // The state's position must not pass output a crash could still lose.
                    try scores.sync()
                    try events?.sync()
                    try saveState()
                }
                if pollFollowedFile(&follower, options: options, warn: warn) {
                    try abandonOpenRecord(header: parser?.header)
                    summary.restarts += 1
                    expectHeader = true
                    markBoundary()
                }
            }
        }
    }

    func markBoundary() {
        boundary = (follower.consumedOffset, follower.consumedLine)
    }

    func readHeader(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws(DataError) {
        let header = try MetricsRowParser(file: options.metrics, headerLine: bytes, lineNumber: line,
                                          timeColumn: options.timeColumn, excluded: Set(options.excluded + ["label"]))
        if let parser {
            // A new file after rotation or truncation must have the same columns.
            guard parser.header == header.header else {
                throw DataError(.other("header changed after the file was replaced: expected "
                                       + "\(parser.header.joined(separator: ",")), got \(header.header.joined(separator: ","))"),
                                file: options.metrics, line: line)
            }
            return
        }
        parser = header
        if let saved = savedState {
            guard saved.metrics == header.metricNames, saved.timeColumn == options.timeColumn else {
                throw DataError(.other("state file \(options.state!) is for columns \(saved.metrics.joined(separator: ",")), "
                                       + "this file has \(header.metricNames.joined(separator: ","))"),
                                file: options.metrics, line: line)
            }
            detector = saved.detector
            lastTime = saved.lastTime
            if let device = saved.device, let inode = saved.inode {
                summary.resumed = follower.resume(device: device, inode: inode, offset: saved.offset, line: saved.line)
            }
        } else {
            do {
                detector = try MetricStreamDetector(columns: header.metricFields.count, seed: options.seed)
            } catch {
                throw DataError(.other("\(error)"), file: options.metrics)
            }
        }
    }

    func processRow(_ bytes: ArraySlice<UInt8>, line: Int) throws {
        guard let parser, let row = try parseRow(parser, bytes, line: line) else { return }
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
            throw DataError(.other("\(error)"), file: options.metrics, line: line)
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
            let column = parser.metricNames[result.drivingColumn]
            var line = "{\"timestamp\":\(JSONValue.quote(row.timestampText)),\"service\":\(JSONValue.quote(service)),\"type\":\"score\","
            line += "\"anomaly_score\":\(scoreText),\"column\":\(JSONValue.quote(column)),"
            line += "\"value\":\(jsonNumber(row.values[result.drivingColumn]))"
            if parser.metricFields.count > 1 {
                line += ",\"column_scores\":{"
                line += zip(parser.metricNames, result.perColumn).map { "\(JSONValue.quote($0.0)):\(OutputTable.format($0.1.score))" }
                    .joined(separator: ",")
                line += "}"
            }
            line += "}\n"
            try events.append(line)
        }
    }

    func badRow(_ error: DataError) throws {
        guard options.skipBadRows else { throw error }
        summary.skipped += 1
        warnings += 1
        if warnings <= 20 {
            warn("warning: \(error.description) (row skipped)")
        } else if warnings == 21 {
            warn("warning: further skipped rows are only counted")
        }
    }

    func saveState() throws {
        guard let path = options.state, let detector, let parser else { return }
        let identity = follower.identity
        let state = WatchState(timeColumn: options.timeColumn, metrics: parser.metricNames, device: identity?.device,
                               inode: identity?.inode, offset: boundary.offset, line: boundary.line,
                               lastTime: lastTime, detector: detector)
        try ModelFile.write(state, kind: WatchState.kind, to: path)
        lastSave = WatchSession.now()
    }

    func report() {
        guard !options.quiet else { return }
        if options.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            if let data = try? encoder.encode(summary) { warn(String(decoding: data, as: UTF8.self)) }
            return
        }
        var text = "watch: \(summary.rows) rows (\(summary.warmup) in warm-up, \(summary.scored) scored)"
        text += ", \(summary.skipped) skipped, \(summary.gaps) with gaps"
        text += ", \(summary.outOfOrder) out-of-order and \(summary.repeatedTimestamps) repeated timestamps"
        if summary.restarts > 0 { text += ", \(summary.restarts) file restarts" }
        if summary.resumed { text += ", resumed from --state" }
        text += ", max score \(OutputTable.format(summary.maxScore))"
        warn(text)
    }

    func warn(_ message: String) {
        guard !options.quiet else { return }
        var standardError = StandardError()
        print(message, to: &standardError)
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// A JSON number (null for NaN and infinities, which JSON cannot express).
func jsonNumber(_ value: Double) -> String { value.isFinite ? "\(value)" : "null" }
