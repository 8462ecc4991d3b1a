import Foundation
import TriageCore
import TriageData
import TriageEngine
import TriageRuntime
#if canImport(Glibc)
import Glibc
#endif

/// `watch --model BUNDLE [--db DB]`: the engine loop over a long-format metrics file
/// (`timestamp,service,<metrics>`): bundle detectors per row, health states, recommendations
/// into the approval queue. With `--db` the read position is kept in the database, so the same
/// command resumes after the last row it committed.
///
/// The position (with the engine state) never passes a row whose requested outputs could still
/// be lost, so a rerun after any failure replays exactly the rows whose events were not kept:
/// - without `--follow`, `--events` and `--scores` are renamed into place only at the end, so the
///   position is committed in the same transaction as they are (`saveReadPosition(beforeCommit:)`),
///   and not before; without outputs it is also committed along the way (`checkpointsMidRun`);
/// - with `--follow` the outputs are live files: they are flushed and fsynced inside the
///   transaction of each checkpoint (along the way, and whenever the reader catches up);
/// - an error commits nothing (a bad row is read again by the next run), and a kill at any point
///   leaves the last committed position.
/// Recommendations enter the queue as they are raised (a person sees them at once, and a crash
/// loses none); replayed rows meet them again and report them again, with the same ids
/// (`RemediationEngine`), so the rerun's events equal those of a run that never failed.
final class EngineWatchSession: FollowedLineHandler {
    let options: Watch
    var follower: LineFollower
    var parser: MetricsRowParser?
    /// For each `ServiceMetric`, its index among the parser's metric columns (`headerParser`
    /// requires every one).
    var metricSlots: [Int] = []
    let engine: RemediationEngine
    let queue: ApprovalQueue?
    let scores: StreamingOutput?
    let events: StreamingOutput?
    var rows = 0, skipped = 0, unknownServices = Set<String>(), raised = 0, transitions = 0
    var resumed = false
    var rowsSinceSave = 0
    /// Monotonic time of the last committed checkpoint.
    var lastCommit = WatchSession.now()
    var lastHeartbeat = EngineWatchSession.wallClock
    var joiner: QuotedRecordJoiner
    /// Offset and line just after the last record fully handled: what a checkpoint may cover.
    var boundary: (offset: Int64, line: Int) = (0, 0)

    init(options: Watch, model: String) throws {
        self.options = options
        if let path = options.scores { try AtomicFile.validateDestination(path) }
        if let path = options.events { try AtomicFile.validateDestination(path) }
        let bundle = try ModelBundle.open(model)
        try Self.checkHeaderFirst(options)
        var settings = RemediationEngine.Settings()
        settings.ttlSeconds = options.ttl.seconds
        let setup = try EngineSetup(bundle: bundle, path: model, database: options.db, settings: settings)
        queue = setup.queue
        engine = try setup.makeEngine(now: Self.wallClock)
        follower = try LineFollower(path: options.metrics, follow: options.follow, maxLineBytes: options.maxLineBytes,
                                     stopRequested: { watchStopRequested })
        let mode: StreamingOutput.Mode = options.follow ? .live : .atomic
        scores = try options.scores.map { path throws(DataError) in try StreamingOutput(path: OutputPath.file(path), mode: mode) }
        events = try options.events.map { path throws(DataError) in try StreamingOutput(path: OutputPath.file(path), mode: mode) }
        joiner = QuotedRecordJoiner(maxBytes: options.maxLineBytes)
    }

    /// The header's parser, with every metric the bundle reads among its columns: a column
    /// missing from the file would be NaN in every row (scores and recommendations from nothing),
    /// so it is refused, named, at the header.
    static func headerParser(_ bytes: UnsafeBufferPointer<UInt8>, line: Int, options: Watch) throws(DataError) -> MetricsRowParser {
        let header = try MetricsRowParser(file: options.metrics, headerLine: bytes, lineNumber: line,
                                          timeColumn: options.timeColumn, serviceColumn: options.serviceColumn,
                                          excluded: Set(options.excluded + ["label"]))
        let missing = ServiceMetric.names.filter { !header.metricNames.contains($0) }
        guard missing.isEmpty else {
            throw DataError(.other("the bundle's detectors need the metric column\(missing.count == 1 ? "" : "s") "
                                   + missing.map { "'\($0)'" }.joined(separator: ", ") + ", not in the header "
                                   + "(expected \(ServiceMetric.names.joined(separator: ", ")))"),
                            file: options.metrics, line: line)
        }
        return header
    }

    /// Checks the header of a regular file before the queue is opened, so a file the bundle
    /// cannot watch is refused with nothing created or written. (A pipe is not read twice, and a
    /// followed file that has no header yet is checked when it arrives, by `readHeader`.)
    static func checkHeaderFirst(_ options: Watch) throws {
        var info = stat()
        guard stat(options.metrics, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return }
        var reader = try LineFollower(path: options.metrics, follow: options.follow, maxLineBytes: options.maxLineBytes)
        while true {
            guard case .line(let range, let line) = try reader.next() else { return }
            let bytes = Array(reader.buffer[range])
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            switch bytes.withUnsafeBufferPointer({ buffer in
                Result { () throws(DataError) in try headerParser(buffer, line: line, options: options) }
            }) {
            case .success: return
            // A header with a quoted line break: the loop reads it whole.
            case .failure(let error) where error.kind == .unterminatedQuote: return
            case .failure(let error): throw error
            }
        }
    }

    static var wallClock: Int64 { Int64(Date().timeIntervalSince1970) }

    func run() throws {
        do {
            try scores?.append("timestamp,anomaly_score,service,state\n")
            try loop()
            if parser == nil && !options.follow { throw DataError(.emptyFile, file: options.metrics) }
            try commit(final: true)
        } catch {
            // Nothing is committed: the position stays at the last checkpoint, which the outputs
            // (renamed into place, or synced live files) already cover.
            if options.follow {
                try? scores?.flush()
                try? events?.flush()
            } else {
                scores?.discard()
                events?.discard()
            }
            throw error
        }
        report()
    }

    func loop() throws {
        var expectHeader = true
        while !watchStopRequested {
            switch try follower.next() {
            case .line(let range, let line):
                guard try handleLine(follower.buffer[range], line: line, expectHeader: &expectHeader) else { continue }
                markBoundary()
                // After the boundary moved: the engine state saved must be that of the rows before it.
                if rowsSinceSave >= 1_000 && checkpointsMidRun && WatchSession.now() - lastCommit >= 1 {
                    try commit(final: false)
                }
            case .tooLong(let line):
                try overlongLine(line)
                markBoundary()
            case .end:
                try abandonOpenRecord(header: parser?.header)
                markBoundary()
                return
            case .waiting:
                try heartbeatIfDue()
                try scores?.flush()
                try events?.flush()
                if rowsSinceSave > 0 { try commit(final: false) }
                if pollFollowedFile(&follower, options: options, warn: warn) {
                    try abandonOpenRecord(header: parser?.header)
                    expectHeader = true
                    markBoundary()
                }
            }
        }
    }

    func markBoundary() {
        boundary = (follower.consumedOffset, follower.consumedLine)
    }

    func readHeader(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws {
        let header = try Self.headerParser(bytes, line: line, options: options)
        if let parser {
            guard parser.header == header.header else {
                throw DataError(.other("header changed after the file was replaced"), file: options.metrics, line: line)
            }
            return
        }
        metricSlots = ServiceMetric.allCases.map { header.metricNames.firstIndex(of: $0.name)! }
        parser = header
        if let queue, let saved = try queue.readPosition(source: Self.sourceKey(options.metrics)) {
            resumed = follower.resume(device: saved.device, inode: saved.inode, offset: saved.offset, line: Int(saved.line))
            if resumed, let state = saved.engineState { try engine.restore(state) }
        }
    }

    func processRow(_ bytes: ArraySlice<UInt8>, line: Int) throws {
        guard let parser, let row = try parseRow(parser, bytes, line: line) else { return }
        rows += 1
        rowsSinceSave += 1
        let values = metricSlots.map { row.values[$0] }
        let time = Int64(row.time.rounded(.down))
        for event in try engine.process(service: row.service, time: time, values: values, now: Self.wallClock) {
            switch event {
            case .score(let e):
                let s = e.score.isolationForest?.score
                    ?? e.score.autoencoder.map { a in a.score / (a.score + (engine.detectors.autoencoder?.threshold ?? 1)) } ?? 0
                try scores?.append("\(OutputTable.escape(row.timestampText)),\(OutputTable.format(s)),\(OutputTable.escape(row.service)),\(e.state.rawValue)\n")
            case .state: transitions += 1
            case .recommendation: raised += 1
            case .unknownService(let service, _):
                if unknownServices.insert(service).inserted {
                    // Quoted and escaped: a name may hold a line break (quoted field) or control bytes.
                    warn("warning: \(options.metrics):\(line): service \(JSONValue.quote(service)) has no baseline in the bundle; "
                         + "its rows are not scored")
                }
            }
            if let events {
                try events.append(event.json.serialized() + "\n")
            }
        }
    }

    /// Whether the position may be committed before the end: not while outputs are temporary
    /// files renamed into place at the end (a position past their rows would outlive them).
    /// While reading a backlog, a checkpoint comes after at least 1 000 rows and 1 s: each one
    /// fsyncs the outputs and the database (≈ 5 ms here), which every 1 000 rows (≈ 50 ms of
    /// work) would cost 10 %; a crash replays at most about a second of rows.
    var checkpointsMidRun: Bool { options.follow || (scores == nil && events == nil) }

    /// While following, one `heartbeat` event per service every `--heartbeat` seconds of wall
    /// time: the engine is alive, with each service's last row and state (a consumer can tell a
    /// quiet service from a stalled pipeline).
    func heartbeatIfDue() throws {
        guard let events, options.heartbeat > 0 else { return }
        let now = Self.wallClock
        guard now - lastHeartbeat >= Int64(options.heartbeat) else { return }
        lastHeartbeat = now
        for (service, last) in engine.lastRowTimes.sorted(by: { $0.key < $1.key }) {
            let state = engine.states[service] ?? .healthy
            let json: JSONValue = .object([
                "timestamp": .string(Timestamp.iso(now)), "service": .string(service), "type": .string("heartbeat"),
                "last_row": .string(Timestamp.iso(last)), "state": .string(state.rawValue), "rows": .integer(rows),
            ])
            try events.append(json.serialized() + "\n")
        }
    }

    /// Commits the outputs and, with `--db`, the read position after the last record handled
    /// (with the engine state) in one step: the position's transaction commits only once the
    /// outputs are durable — synced live files, or at the end (`final`) files renamed into place.
    func commit(final: Bool) throws {
        let outputs = { [scores, events] () throws in
            if final {
                try scores?.commit()
                try events?.commit()
            } else {
                try scores?.sync()
                try events?.sync()
            }
        }
        guard let queue, parser != nil, let identity = follower.identity else {
            try outputs()
            return
        }
        let position = ApprovalQueue.ReadPosition(device: identity.device, inode: identity.inode, offset: boundary.offset,
                                                  line: Int64(boundary.line), engineState: try engine.checkpoint())
        try queue.saveReadPosition(position, source: Self.sourceKey(options.metrics), now: Self.wallClock,
                                   beforeCommit: outputs)
        rowsSinceSave = 0
        lastCommit = WatchSession.now()
    }

    static func sourceKey(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    func badRow(_ error: DataError) throws {
        guard options.skipBadRows else { throw error }
        skipped += 1
        if skipped <= 20 { warn("warning: \(error.description) (row skipped)") }
    }

    func warn(_ message: String) {
        guard !options.quiet else { return }
        var standardError = StandardError()
        print(message, to: &standardError)
    }

    func report() {
        guard !options.quiet else { return }
        let states = engine.states
        let unhealthy = states.filter { $0.value != .healthy }.keys.sorted()
        if options.json {
            let json: [String: JSONValue] = [
                "rows": .integer(rows), "skipped": .integer(skipped), "services": .integer(states.count),
                "state_changes": .integer(transitions), "recommendations": .integer(raised), "resumed": .bool(resumed),
                "not_healthy": .strings(unhealthy), "unknown_services": .strings(unknownServices.sorted()),
            ]
            warn(JSONValue.object(json).serialized())
        } else {
            var text = "\(options.metrics): \(rows) rows of \(states.count) services, \(transitions) state changes, "
                + "\(raised) recommendations raised"
            if let db = options.db { text += " into \(db)" }
            if skipped > 0 { text += ", \(skipped) rows skipped" }
            if resumed { text += " (resumed)" }
            if !unhealthy.isEmpty { text += "; not healthy now: \(unhealthy.joined(separator: ", "))" }
            warn(text)
        }
    }
}
