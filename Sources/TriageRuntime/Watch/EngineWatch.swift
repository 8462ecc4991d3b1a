#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TriageCore
import TriageData
import TriageEngine

/// The engine watch over a long-format metrics file (`timestamp,service,<metrics>`): a bundle's
/// detectors per row, health states, recommendations into the approval queue. With a database
/// the read position is kept in it, so the same run resumes after the last row it committed.
///
/// The position (with the engine state) never passes a row whose requested outputs could still
/// be lost, so a rerun after any failure replays exactly the rows whose events were not kept:
/// - without following, the outputs are renamed into place only at the end, so the position is
///   committed in the same transaction as they are (`saveReadPosition(beforeCommit:)`), and not
///   before; without outputs it is also committed along the way (`CheckpointCadence`);
/// - while following, the outputs are live files: they are flushed and fsynced inside the
///   transaction of each checkpoint (along the way, and whenever the reader catches up);
/// - an error commits nothing (a bad row is read again by the next run), and a kill at any point
///   leaves the last committed position.
/// Recommendations enter the queue as they are raised (a person sees them at once, and a crash
/// loses none); replayed rows meet them again and report them again, with the same ids
/// (`RemediationEngine`), so the rerun's events equal those of a run that never failed.
public final class EngineWatch: FollowLoopHandler {
    public let configuration: WatchConfiguration
    let loop: FollowLoop
    var columns: ServiceMetricColumns?
    public let engine: RemediationEngine
    let queue: (any ApprovalStore)?
    let scores: StreamingOutput?
    let events: StreamingOutput?
    var counts = EngineWatchSummary()
    var unknownServices = Set<String>()
    /// Rows read but not yet processed (at most `batchRows`).
    var pending: [PendingRow] = []
    /// The batch being scored on the scoring thread, applied before the next one.
    var scoringBatch: ([PendingRow], BackgroundScoring.Job)?
    lazy var scorer = BackgroundScoring(detectors: engine.detectors)
    let cadence = CheckpointCadence()
    let checkpointsMidRun: Bool
    var rowsSinceCommit = 0
    /// Monotonic time of the last committed checkpoint.
    var lastCommit = WatchClock.monotonic()
    var lastHeartbeat = WatchClock.wall
    /// `writeScoreLine`'s buffer, reused row after row.
    var scoreLineBytes: [UInt8] = []
    let warn: (String) -> Void

    /// Checks the outputs, opens the bundle, checks the metrics file's header against it (a
    /// regular file only), then opens the queue and the metrics file: a file the bundle cannot
    /// watch is refused with nothing created or written.
    /// - Parameters:
    ///   - bundle: the folder written by `triage train`.
    ///   - stopRequested: asked between rows and while waiting; true finishes the run cleanly.
    ///   - warn: receives each warning (skipped rows, unknown services, file restarts).
    public init(bundle: String, configuration: WatchConfiguration, stopRequested: @escaping () -> Bool,
                warn: @escaping (String) -> Void) throws {
        self.configuration = configuration
        self.warn = warn
        try configuration.validateOutputs()
        let opened = try ModelBundle.open(bundle)
        try Self.checkHeaderFirst(configuration)
        var settings = RemediationEngine.Settings()
        settings.ttlSeconds = configuration.ttlSeconds
        settings.critical.incidentLimitSeconds = configuration.incidentLimitSeconds
        // Read before the queue is opened: a bad targets file leaves nothing created or written.
        if let path = configuration.scalingTargets { settings.scalingTargets = try ScalingTargets.load(path) }
        settings.guards = configuration.guards
        let setup = try EngineSetup(bundle: opened, path: bundle, database: configuration.database, settings: settings)
        queue = setup.store
        engine = try setup.makeEngine(now: WatchClock.wall)
        loop = try FollowLoop(path: configuration.metrics, follow: configuration.follow,
                              maxLineBytes: configuration.maxLineBytes, pollInterval: configuration.pollInterval,
                              stopRequested: stopRequested, warn: warn)
        scores = try configuration.open(configuration.scores)
        events = try configuration.open(configuration.events)
        checkpointsMidRun = CheckpointCadence.checkpointsMidRun(following: configuration.follow,
                                                                hasOutputs: scores != nil || events != nil)
    }

    /// The header's metric columns, every metric the bundle reads among them.
    static func columns(_ bytes: UnsafeBufferPointer<UInt8>, line: Int, _ configuration: WatchConfiguration) throws(DataError)
        -> ServiceMetricColumns {
        try ServiceMetricColumns(file: configuration.metrics, headerLine: bytes, lineNumber: line,
                                 timeColumn: configuration.timeColumn, serviceColumn: configuration.serviceColumn,
                                 excluded: Set(configuration.excluded + ["label"]))
    }

    /// Checks the header of a regular file before the queue is opened, so a file the bundle
    /// cannot watch is refused with nothing created or written. (A pipe is not read twice, and a
    /// followed file that has no header yet is checked when it arrives, by `readHeader`.)
    static func checkHeaderFirst(_ configuration: WatchConfiguration) throws {
        var info = stat()
        guard stat(configuration.metrics, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return }
        var reader = try LineFollower(path: configuration.metrics, follow: configuration.follow,
                                      maxLineBytes: configuration.maxLineBytes)
        while true {
            guard case .line(let range, let line) = try reader.next() else { return }
            let bytes = Array(reader.buffer[range])
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            switch bytes.withUnsafeBufferPointer({ buffer in
                Result { () throws(DataError) in try columns(buffer, line: line, configuration) }
            }) {
            case .success: return
            // A header with a quoted line break: the loop reads it whole.
            case .failure(let error) where error.kind == .unterminatedQuote: return
            case .failure(let error): throw error
            }
        }
    }

    /// Reads the file (to its end, or until the stop request while following) and commits.
    /// On error nothing is committed: the position stays at the last checkpoint, which the
    /// outputs (renamed into place, or synced live files) already cover.
    public func run() throws -> EngineWatchSummary {
        do {
            try scores?.append("timestamp,anomaly_score,service,state\n")
            try loop.run(self)
            if loop.parser == nil && !configuration.follow { throw DataError(.emptyFile, file: configuration.metrics) }
            try commit(final: true)
        } catch {
            if configuration.follow {
                try? scores?.flush()
                try? events?.flush()
            } else {
                scores?.discard()
                events?.discard()
            }
            throw error
        }
        return summary
    }

    /// The counts so far, with the services' states now.
    public var summary: EngineWatchSummary {
        var summary = counts
        let states = engine.states
        summary.services = states.count
        summary.notHealthy = states.filter { $0.value != .healthy }.keys.sorted()
        summary.unknownServices = unknownServices.sorted()
        return summary
    }

    public func readHeader(_ bytes: UnsafeBufferPointer<UInt8>, line: Int, previous: MetricsRowParser?) throws -> MetricsRowParser {
        let header = try Self.columns(bytes, line: line, configuration)
        if let previous {
            guard previous.header == header.parser.header else {
                throw DataError(.other("header changed after the file was replaced"), file: configuration.metrics, line: line)
            }
            return previous
        }
        columns = header
        if let queue, let saved = try queue.readPosition(source: Self.sourceKey(configuration.metrics)) {
            counts.resumed = loop.resume(device: saved.device, inode: saved.inode, offset: saved.offset, line: Int(saved.line))
            if counts.resumed, let state = saved.engineState { try engine.restore(state) }
        }
        return header.parser
    }

    /// A parsed row waiting in `pending` for its batch to be processed.
    struct PendingRow {
        var timestampText: String
        var service: String
        var time: Int64
        var values: [Double]
        var line: Int
    }

    /// Rows processed as one batch: the detectors score a batch in one forest walk (about 8×
    /// fewer instructions a row than one call per row), and the engine reads the queue's
    /// decisions and policy revision once per batch instead of once per row of an incident.
    static let batchRows = 1_024

    public func processRow(_ row: MetricsRowParser.Row, line: Int) throws {
        guard let columns else { return }
        counts.rows += 1
        rowsSinceCommit += 1
        pending.append(PendingRow(timestampText: row.timestampText, service: row.service, time: Int64(row.time.rounded(.down)),
                                  values: columns.values(of: row), line: line))
        guard pending.count >= Self.batchRows else { return }
        // Pipelined: this batch is scored on the scoring thread while this thread applies the
        // batch before it and reads the next (scores depend on nothing but their rows; batches
        // are applied in order, so the engine sees the rows in file order as before).
        let batch = takePending()
        let scoring = scorer.start(batch.map { ($0.service, $0.values) }, formatsScores: scores != nil)
        try applyScoring()
        scoringBatch = (batch, scoring)
    }

    /// Processes the rows waiting, in order, and writes their outputs. Called before anything
    /// that must see every row read so far: a checkpoint (the engine state saved must cover the
    /// rows before the boundary), a bad row's warning or error (so messages keep file order),
    /// waiting for data, and the end.
    func processPending() throws {
        try applyScoring()
        guard !pending.isEmpty else { return }
        let rows = takePending()
        let scores: [BundleDetectors.RowScore?]
        do { scores = try engine.detectors.scores(rows.map { ($0.service, $0.values) }) } catch {
            throw EngineError.invalid("\(error)")
        }
        try apply(rows, scores, texts: self.scores == nil ? ReportedScoreTexts()
                                   : ReportedScoreTexts(scores[...], detectors: engine.detectors))
    }

    func takePending() -> [PendingRow] {
        let rows = pending
        pending.removeAll(keepingCapacity: true)
        return rows
    }

    /// Applies the batch being scored, once its scores are ready.
    func applyScoring() throws {
        guard let (rows, scoring) = scoringBatch else { return }
        scoringBatch = nil
        let scored: (scores: [BundleDetectors.RowScore?], texts: ReportedScoreTexts)
        do { scored = try scoring.wait() } catch { throw EngineError.invalid("\(error)") }
        try apply(rows, scored.scores, texts: scored.texts)
    }

    /// Runs scored rows through the engine in order and writes their outputs; `texts` holds the
    /// rows' `anomaly_score` texts when there is a scores file.
    func apply(_ rows: [PendingRow], _ scores: [BundleDetectors.RowScore?], texts: ReportedScoreTexts) throws {
        let batch = rows.map { (service: $0.service, time: $0.time, values: $0.values) }
        let processed = try engine.process(batch: batch, scored: scores, now: WatchClock.wall,
                                           scoreEvents: self.scores != nil || events != nil)
        for (index, (row, rowEvents)) in zip(rows, processed).enumerated() {
            for event in rowEvents {
                switch event {
                case .score(let e):
                    if let scores = self.scores {
                        try writeScoreLine(row, scoreText: index, of: texts, state: e.state, to: scores)
                    }
                case .state: counts.stateChanges += 1
                case .recommendation: counts.recommendations += 1
                case .unknownService(let service, _):
                    if unknownServices.insert(service).inserted {
                        // Quoted and escaped: a name may hold a line break (quoted field) or control bytes.
                        warn("warning: \(configuration.metrics):\(row.line): service \(JSONValue.quote(service)) has no baseline "
                             + "in the bundle; its rows are not scored")
                    }
                }
                if let events {
                    try events.append(event.json.serialized() + "\n")
                }
            }
        }
    }

    /// Writes the scores file's line of a row, `timestamp,anomaly_score,service,state`, built as
    /// bytes in one reused buffer: the same bytes as interpolating the four texts, which cost
    /// 5.3 k instructions a row (nine String appends) in `triage watch --scores`. The buffer is
    /// taken out of the object while it is filled (each access to a stored property of a class
    /// is an exclusivity check, ~110 instructions). The score's text was formatted with the
    /// batch's scores (`ReportedScoreTexts`, row `scoreText` of `texts`).
    func writeScoreLine(_ row: PendingRow, scoreText: Int, of texts: ReportedScoreTexts, state: HealthState,
                        to output: StreamingOutput) throws(DataError) {
        var line: [UInt8] = []
        swap(&line, &scoreLineBytes)
        defer { swap(&line, &scoreLineBytes) }
        line.removeAll(keepingCapacity: true)
        Self.appendEscaped(row.timestampText, to: &line)
        line.append(0x2C)
        texts.appendText(row: scoreText, to: &line)  // a number: never quoted
        line.append(0x2C)
        Self.appendEscaped(row.service, to: &line)
        line.append(0x2C)
        Self.appendEscaped(state.rawValue, to: &line)  // a lowercase word: never quoted
        line.append(0x0A)
        try line.withUnsafeBufferPointer { bytes throws(DataError) in try output.append(bytes: bytes) }
    }

    /// `OutputTable.escape(text)`'s bytes. Scanned and copied from the text's contiguous UTF-8
    /// (iterating `String.UTF8View` cost ~440 instructions a field, copying from it ~240).
    static func appendEscaped(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        let plain = text.withUTF8 { utf8 in
            guard !utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if !plain { bytes.append(contentsOf: OutputTable.escape(text).utf8) }
    }

    public func recordCompleted() throws {
        // After the boundary moved: the engine state saved must be that of the rows before it
        // (`commit` processes the rows waiting first).
        guard checkpointsMidRun, rowsSinceCommit >= cadence.minimumRows else { return }
        if cadence.isDue(rowsSinceCommit: rowsSinceCommit, secondsSinceCommit: WatchClock.monotonic() - lastCommit) {
            try commit(final: false)
        }
    }

    public func caughtUp() throws {
        try processPending()
        try heartbeatIfDue()
        try scores?.flush()
        try events?.flush()
        if rowsSinceCommit > 0 { try commit(final: false) }
    }

    public func badRow(_ error: DataError) throws {
        try processPending()
        guard configuration.skipBadRows else { throw error }
        counts.skipped += 1
        if counts.skipped <= 20 { warn("warning: \(error.description) (row skipped)") }
    }

    /// While following, one `heartbeat` event per service every `heartbeatSeconds` of wall time.
    func heartbeatIfDue() throws {
        guard let events, configuration.heartbeatSeconds > 0 else { return }
        let now = WatchClock.wall
        guard now - lastHeartbeat >= Int64(configuration.heartbeatSeconds) else { return }
        lastHeartbeat = now
        let states = engine.states
        for (service, last) in engine.lastRowTimes.sorted(by: { $0.key < $1.key }) {
            let event = EngineEvent.heartbeat(service: service, time: now, lastRow: last, state: states[service] ?? .healthy,
                                              rows: counts.rows)
            try events.append(event.serialized() + "\n")
        }
    }

    /// Commits the outputs and, with a database, the read position after the last record
    /// handled (with the engine state) in one step: the position's transaction commits only
    /// once the outputs are durable — synced live files, or at the end (`final`) files renamed
    /// into place.
    func commit(final: Bool) throws {
        try processPending()
        let outputs = { [scores, events] () throws in
            if final {
                try scores?.commit()
                try events?.commit()
            } else {
                try scores?.sync()
                try events?.sync()
            }
        }
        guard let queue, loop.parser != nil, let identity = loop.identity else {
            try outputs()
            return
        }
        let boundary = loop.boundary
        let position = ApprovalQueue.ReadPosition(device: identity.device, inode: identity.inode, offset: boundary.offset,
                                                  line: Int64(boundary.line), engineState: try engine.checkpoint())
        try queue.saveReadPosition(position, source: Self.sourceKey(configuration.metrics), now: WatchClock.wall,
                                   beforeCommit: outputs)
        rowsSinceCommit = 0
        lastCommit = WatchClock.monotonic()
    }

    /// The key of a metrics file's read position in the queue: its absolute, standardised path.
    public static func sourceKey(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
