import Foundation
import TriageCore
import TriageData
import TriageEngine
#if canImport(Glibc)
import Glibc
#endif

/// `watch --model BUNDLE [--db DB]`: the engine loop over a long-format metrics file
/// (`timestamp,service,<metrics>`): bundle detectors per row, health states, recommendations
/// into the approval queue. With `--db` the read position is kept in the database, so the same
/// command resumes after the last row it committed.
final class EngineWatchSession: FollowedLineHandler {
    let options: Watch
    var follower: LineFollower
    var parser: MetricsRowParser?
    /// For each `ServiceMetric`, its index among the parser's metric columns (nil: not in the file).
    var metricSlots: [Int?] = []
    let engine: RemediationEngine
    let queue: ApprovalQueue?
    let scores: StreamingOutput?
    let events: StreamingOutput?
    var rows = 0, skipped = 0, unknownServices = Set<String>(), raised = 0, transitions = 0
    var resumed = false
    var rowsSinceSave = 0
    var lastHeartbeat = EngineWatchSession.wallClock

    init(options: Watch, model: String) throws {
        self.options = options
        if let path = options.scores { try AtomicFile.validateDestination(path) }
        if let path = options.events { try AtomicFile.validateDestination(path) }
        let bundle = try ModelBundle.open(model)
        guard let detectors = try BundleDetectors(bundle) else {
            throw CLIFailure.failed("\(model): the bundle has no detector features (retrain it with this version of 'triage train')")
        }
        let policy = try bundle.model(RemediationPolicy.self, role: "policy", kind: "remediation-policy")
        let source = bundle.manifest.models["policy"].flatMap { bundle.manifest.files[$0]?.sha256 } ?? "none"
        queue = try options.db.map { path throws in
            if let folder = path.range(of: "/", options: .backwards).map({ String(path[..<$0.lowerBound]) }), !folder.isEmpty {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                    throw CLIFailure.failed("\(path): folder \(folder) does not exist")
                }
            }
            return try ApprovalQueue(path: path)
        }
        var settings = RemediationEngine.Settings()
        settings.ttlSeconds = options.ttl.seconds
        engine = try RemediationEngine(detectors: detectors, policy: policy, policySource: source, queue: queue,
                                       settings: settings, now: Self.wallClock)
        follower = try LineFollower(path: options.metrics, follow: options.follow, maxLineBytes: options.maxLineBytes,
                                     stopRequested: { watchStopRequested })
        let mode: StreamingOutput.Mode = options.follow ? .live : .atomic
        scores = try options.scores.map { path throws(DataError) in try StreamingOutput(path: OutputPath.file(path), mode: mode) }
        events = try options.events.map { path throws(DataError) in try StreamingOutput(path: OutputPath.file(path), mode: mode) }
    }

    static var wallClock: Int64 { Int64(Date().timeIntervalSince1970) }

    func run() throws {
        do {
            try scores?.append("timestamp,anomaly_score,service,state\n")
            try loop()
            if parser == nil && !options.follow { throw DataError(.emptyFile, file: options.metrics) }
            try savePosition()
            try scores?.commit()
            try events?.commit()
        } catch {
            try? savePosition()
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
                try handleLine(follower.buffer[range], range: range, line: line, expectHeader: &expectHeader)
            case .tooLong(let line):
                try lineTooLong(line)
            case .end:
                return
            case .waiting:
                try heartbeatIfDue()
                try scores?.flush()
                try events?.flush()
                if rowsSinceSave > 0 { try savePosition() }
                if pollFollowedFile(&follower, options: options, warn: warn) { expectHeader = true }
            }
        }
    }

    func readHeader(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws {
        let header = try MetricsRowParser(file: options.metrics, headerLine: bytes, lineNumber: line,
                                          timeColumn: options.timeColumn, serviceColumn: options.serviceColumn,
                                          excluded: Set(options.excluded + ["label"]))
        if let parser {
            guard parser.header == header.header else {
                throw DataError(.other("header changed after the file was replaced"), file: options.metrics, line: line)
            }
            return
        }
        let names = header.metricNames
        metricSlots = ServiceMetric.allCases.map { names.firstIndex(of: $0.name) }
        guard metricSlots.contains(where: { $0 != nil }) else {
            throw DataError(.other("no metric column the bundle knows (expected some of \(ServiceMetric.names.joined(separator: ", ")))"),
                            file: options.metrics, line: line)
        }
        parser = header
        if let queue, let saved = try queue.readPosition(source: Self.sourceKey(options.metrics)) {
            resumed = follower.resume(device: saved.device, inode: saved.inode, offset: saved.offset, line: Int(saved.line))
            if resumed, let state = saved.engineState { try engine.restore(state) }
        }
    }

    func processRow(_ range: Range<Int>, line: Int) throws {
        guard let parser else { return }
        let row: MetricsRowParser.Row
        do {
            row = try follower.withBytes(range) { bytes throws(DataError) in try parser.parse(bytes, lineNumber: line) }
        } catch {
            try badRow(error)
            return
        }
        rows += 1
        rowsSinceSave += 1
        let values = metricSlots.map { slot in slot.map { row.values[$0] } ?? .nan }
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
                    warn("warning: \(options.metrics):\(line): service '\(service)' has no baseline in the bundle; its rows are not scored")
                }
            }
            if let events {
                try events.append(event.json.serialized() + "\n")
            }
        }
        if rowsSinceSave >= 1_000 { try savePosition() }
    }

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

    /// Commits the read position (after the last row processed) to the database.
    func savePosition() throws {
        guard let queue, parser != nil, let identity = follower.identity else { return }
        try events?.flush()
        try queue.saveReadPosition(.init(device: identity.device, inode: identity.inode, offset: follower.consumedOffset,
                                         line: Int64(follower.consumedLine), engineState: try engine.checkpoint()),
                                   source: Self.sourceKey(options.metrics), now: Self.wallClock)
        rowsSinceSave = 0
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
