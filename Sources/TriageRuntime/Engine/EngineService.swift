import Foundation
import TriageCore
import TriageData
import TriageEngine

/// A metrics row for the engine: one service at one data time, values in `ServiceMetric` order
/// (NaN = missing).
public struct MetricRow: Sendable, Equatable {
    public var service: String
    public var time: Int64
    public var values: [Double]

    public init(service: String, time: Int64, values: [Double]) {
        self.service = service
        self.time = time
        self.values = values
    }
}

/// What `GET /v1/services` shows of one service.
public struct ServiceStatus: Sendable, Equatable {
    public var service: String
    public var state: HealthState
    /// Data time of its last processed row.
    public var lastRow: Int64?
    /// Data time at which its open incident began.
    public var incidentStart: Int64?
    /// Why it is critical (nil unless `state` is critical).
    public var escalation: CriticalEscalation.Escalation?

    public init(service: String, state: HealthState, lastRow: Int64?, incidentStart: Int64?,
                escalation: CriticalEscalation.Escalation? = nil) {
        self.service = service
        self.state = state
        self.lastRow = lastRow
        self.incidentStart = incidentStart
        self.escalation = escalation
    }

    public var json: JSONValue {
        .object([
            "service": .string(service), "state": .string(state.rawValue),
            "last_row": lastRow.map { .string(Timestamp.iso($0)) } ?? .null,
            "open_incident": incidentStart.map { .string("since " + Timestamp.iso($0)) } ?? .null,
            "critical": escalation.map {
                .object(["cause": .string($0.cause.rawValue), "observed": .string($0.observed), "threshold": .string($0.threshold)])
            } ?? .null,
        ])
    }
}

extension RemediationEngine {
    /// Each service's state as `GET /v1/services` shows it, by name.
    var serviceStatuses: [ServiceStatus] {
        let states = self.states, last = lastRowTimes, incidents = openIncidents, escalations = self.escalations
        return states.keys.sorted().map {
            ServiceStatus(service: $0, state: states[$0]!, lastRow: last[$0], incidentStart: incidents[$0],
                          escalation: escalations[$0])
        }
    }
}

/// Why a batch of rows was refused before any of it was processed.
public enum IngestRefusal: Error, Equatable, CustomStringConvertible {
    /// A row older than the last processed row of its service (rows of a service must arrive
    /// in time order); `row` is its 0-based index in the batch.
    case outOfOrder(service: String, row: Int, time: Int64, last: Int64)

    public var description: String {
        switch self {
        case .outOfOrder(let service, let row, let time, let last):
            return "row \(row): service \(JSONValue.quote(service)) is at \(Timestamp.iso(last)); "
                + "a row at \(Timestamp.iso(time)) is older (rows of a service must arrive in time order)"
        }
    }
}

/// Counts of one accepted batch.
public struct IngestSummary: Sendable, Equatable {
    public var accepted = 0
    public var unknownServices: [String] = []
    public var recommendations = 0
    public var stateChanges = 0
    /// Each service's state after the batch (what `services()` returns), so a caller need not
    /// ask the actor a second time.
    public var services: [ServiceStatus] = []

    public init(accepted: Int = 0) { self.accepted = accepted }
}

/// The one owner of a running remediation engine (issue 15): rows from any number of requests
/// reach it one batch at a time, so the engine, which is not thread-safe, never sees two callers
/// at once, and no lock is spread through it.
///
/// The engine state is checkpointed into the queue (under the source key `checkpointSource`),
/// at most once a second while rows arrive and when `close()` is called, and restored from there
/// at start: a restart resumes open incidents instead of declaring them again. Recommendations,
/// decisions and state changes go to the queue's event journal in the transactions that make
/// them, which is what the event stream reads.
///
/// **Its own thread.** The actor runs on a `ThreadExecutor`, not on the cooperative pool: the
/// engine calls its store synchronously (`ApprovalStore`), and a PostgreSQL store answers by
/// blocking the calling thread until postgres-nio replies, which must never be a cooperative
/// thread. With SQLite it is the same hop (one per batch, not per row) and keeps the queue's
/// disk I/O off the pool as well.
public actor EngineService {
    /// The store of recommendations the engine raises into (SQLite or PostgreSQL).
    public nonisolated let store: any ApprovalStore
    /// The store when it is an SQLite queue.
    public nonisolated var queue: ApprovalQueue? { store as? ApprovalQueue }
    private nonisolated let executor: ThreadExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    public nonisolated let detectors: BundleDetectors
    let engine: RemediationEngine
    let clock: @Sendable () -> Int64
    var rowsSinceCheckpoint = 0
    var lastCheckpoint: ContinuousClock.Instant
    /// Counters since start, for metrics.
    public private(set) var totals = IngestSummary()

    /// Where the engine state is kept in the queue (beside `watch`'s per-file read positions).
    public static let checkpointSource = "serve:engine"

    /// Builds the engine of `setup` (which must have a queue) and restores its last checkpoint.
    public init(setup: EngineSetup, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws {
        guard let store = setup.store else { throw EngineError.invalid("the engine service needs an approval queue") }
        self.store = store
        executor = ThreadExecutor(name: "triage-engine")
        self.detectors = setup.detectors
        self.clock = clock
        engine = try setup.makeEngine(now: clock())
        if let saved = try store.readPosition(source: Self.checkpointSource), let state = saved.engineState {
            try engine.restore(state)
        }
        lastCheckpoint = ContinuousClock.now
    }

    /// The detector scores of `rows`, for `ingest(_:scored:)`. Not isolated: callers score their
    /// batches at the same time (one per request, on any core), and the actor only applies them.
    public nonisolated func score(_ rows: [MetricRow]) throws -> ScoredRows {
        ScoredRows(scores: try RemediationEngine.score(rows.map { ($0.service, $0.time, $0.values) }, detectors))
    }

    /// Detector scores of a batch, made by `score(_:)` of this service.
    public struct ScoredRows: Sendable {
        let scores: [BundleDetectors.RowScore?]
    }

    /// Processes `rows` in order. The whole batch is checked first: a row older than its
    /// service's last (already processed, or earlier in the batch) refuses the batch, with
    /// nothing processed. `scored` is `score(rows)` when the caller computed it already.
    public func ingest(_ rows: [MetricRow], scored: ScoredRows? = nil) throws -> IngestSummary {
        var last = engine.lastRowTimes
        for (index, row) in rows.enumerated() {
            if let previous = last[row.service], row.time < previous {
                throw IngestRefusal.outOfOrder(service: row.service, row: index, time: row.time, last: previous)
            }
            last[row.service] = row.time
        }
        let now = clock()
        var summary = IngestSummary()
        var transitions: [(type: String, json: JSONValue)] = []
        var unknown = Set<String>()
        // Scored as one batch (one forest walk and one autoencoder pass for all rows), then each
        // row through the engine's state in order.
        let batch = rows.map { ($0.service, $0.time, $0.values) }
        // `process` refuses scores of another batch (a count that differs) before anything changes.
        let scores = try scored?.scores ?? RemediationEngine.score(batch, detectors)
        let events = try engine.process(batch: batch, scored: scores, now: now, scoreEvents: false)
        for rowEvents in events {
            for event in rowEvents {
                switch event {
                case .score: break
                case .state:
                    summary.stateChanges += 1
                    transitions.append((event.type, event.json))
                case .recommendation: summary.recommendations += 1
                case .unknownService(let service, _): unknown.insert(service)
                }
            }
            summary.accepted += 1
        }
        summary.unknownServices = unknown.sorted()
        summary.services = services()
        try store.appendEvents(transitions, now: now)
        rowsSinceCheckpoint += rows.count
        totals.accepted += summary.accepted
        totals.recommendations += summary.recommendations
        totals.stateChanges += summary.stateChanges
        if rowsSinceCheckpoint > 0, ContinuousClock.now - lastCheckpoint >= .seconds(1) { try checkpoint() }
        return summary
    }

    /// Each service's state, by name.
    public func services() -> [ServiceStatus] { engine.serviceStatuses }

    /// Stores the engine state in the queue now.
    public func checkpoint() throws {
        let position = ApprovalQueue.ReadPosition(device: 0, inode: 0, offset: 0, line: 0, engineState: try engine.checkpoint())
        try store.saveReadPosition(position, source: Self.checkpointSource, now: clock())
        rowsSinceCheckpoint = 0
        lastCheckpoint = ContinuousClock.now
    }

    /// Saves what is not saved yet; call when the service stops.
    public func close() throws {
        if rowsSinceCheckpoint > 0 { try checkpoint() }
    }
}
