import Foundation
import PostgresNIO
import Synchronization
import TriageEngine

/// What an owner saved of one service, so that whoever owns it next resumes there: the engine's
/// state for it (detectors, health; opaque bytes), the open incident (opaque text, JSON say) and
/// `inboxPosition`, the sequence number of the last inbox row processed.
public struct ServiceCheckpoint: Sendable, Equatable {
    public var service: String
    public var inboxPosition: Int64
    public var state: Data?
    public var openIncident: String?
    /// The lease epoch that saved it (nil: never saved).
    public internal(set) var savedEpoch: Int64?
    /// The position stored when this checkpoint was read or last saved: a save must find it
    /// unchanged (compare-and-set), so two consumers under one lease never both consume a row.
    public internal(set) var savedPosition: Int64 = 0

    public init(service: String, inboxPosition: Int64 = 0, state: Data? = nil, openIncident: String? = nil) {
        self.service = service
        self.inboxPosition = inboxPosition
        self.state = state
        self.openIncident = openIncident
        self.savedEpoch = nil
    }

    /// The checkpoint of a service as stored.
    init(service: String, savedEpoch: Int64, inboxPosition: Int64, state: Data?, openIncident: String?) {
        self.init(service: service, inboxPosition: inboxPosition, state: state, openIncident: openIncident)
        self.savedEpoch = savedEpoch
        self.savedPosition = inboxPosition
    }
}

/// The writes of a service's owner, each carrying its `Lease` (service, epoch) and checked on the
/// server in the same statement (issue 18's fencing): a write under an epoch that is no longer
/// the service's current, unexpired one is refused with `ReplicaError.fenced`, naming the
/// current owner and epoch, and changes nothing.
///
/// **The fencing rule** (`triage_lease_check_v1`): the lease row is locked `FOR SHARE` for the
/// write's transaction and must show the writer's epoch and an expiry after `clock_timestamp()`.
/// A takeover locks the row `FOR UPDATE`, so it is ordered strictly before the write (which is
/// then refused) or after it (and the new owner's checkpoint read sees it). Each write is one
/// server function call, one round trip: `triage_raise_fenced_v1` (the unchanged
/// `triage_raise_v1` behind the check) and `triage_checkpoint_v1` (the checkpoint, and the inbox
/// rows up to its position consumed, in one transaction). Other writes in a transaction of their
/// own call `SELECT triage_fence_v1(service, epoch)` first (SQLSTATE TF001 when fenced).
public final class FencedWrites: Sendable {
    let store: PostgresRecommendationStore
    /// The number the next raise expects to give, as in `PostgresRecommendationStore.raise`; the
    /// server answers a stale guess with the count, so the first raise may take two calls.
    private let nextNumberGuess = Mutex(1)

    public init(store: PostgresRecommendationStore) {
        self.store = store
    }

    /// Raises `recommendation` for its service under `lease` (the service must be the lease's):
    /// the same numbering, idempotency and journal as `PostgresRecommendationStore.raise`, or
    /// `fenced`. A recommendation raised before a takeover for the same (service, created) is
    /// found, not raised twice, when the new owner replays the row.
    public func raise(_ recommendation: Recommendation, under lease: Lease) async throws(ReplicaError)
        -> (recommendation: Recommendation, isNew: Bool) {
        // The checks of `PostgresRecommendationStore.raise`, before any round trip.
        guard recommendation.confidence.isFinite, (0...1).contains(recommendation.confidence) else {
            throw .store(.invalid("confidence must lie in 0...1, got \(recommendation.confidence)"))
        }
        guard recommendation.expires >= recommendation.raisedAt else {
            throw .store(.invalid("a recommendation cannot expire before it is raised"))
        }
        guard recommendation.service == lease.service else {
            throw .store(.invalid("a recommendation for '\(recommendation.service)' cannot be raised under the lease of '\(lease.service)'"))
        }
        var number = nextNumberGuess.withLock { $0 }
        for _ in 0..<PostgresRecommendationStore.raiseAttempts {
            let record = recommendation.raised(id: Recommendation.id(number: number), instance: store.instance)
            let row: String
            do { row = try PostgresRecommendationStore.json(of: record) } catch { throw .store(error) }
            let event = record.journalJSON("recommendation", now: record.raisedAt)?.serialized() ?? "{}"
            let (service, epoch, expected) = (lease.service, lease.epoch, Int64(number))
            let answer = try await statement { connection in
                try await self.store.rows("""
                    SELECT result_kind, found_id, raised_count, lease_owner, lease_epoch
                    FROM \(unescaped: ReplicaSchema.fencedRaiseFunction)(\(service), \(epoch), \(expected), \(row)::json,
                        'recommendation', \(record.raisedAt), \(event), \(ApprovalQueue.journalCapacity))
                    """, on: connection).first.map {
                    (kind: try $0["result_kind"].decode(String.self), found: try $0["found_id"].decode(String?.self),
                     count: try $0["raised_count"].decode(Int64?.self), owner: try $0["lease_owner"].decode(String?.self),
                     epoch: try $0["lease_epoch"].decode(Int64?.self))
                }
            }
            switch answer?.kind {
            case "raised"?:
                nextNumberGuess.withLock { $0 = max($0, number + 1) }
                return (record, true)
            case "existing"?:
                let id = answer?.found ?? ""
                let found = try await statement { connection in
                    try await self.store.fetch(where: "id = $1", binds: { $0.append(id) }, on: connection).first
                }
                guard let found else { throw .store(.database(path: store.location, reason: "the recommendation raised for this row vanished")) }
                return (found, false)
            case "renumber"?:
                number = Int(answer?.count ?? 0) + 1
                nextNumberGuess.withLock { $0 = number }
            case "fenced"?:
                throw .fenced(service: service, epoch: epoch, currentOwner: answer?.owner, currentEpoch: answer?.epoch ?? 0)
            default:
                throw .store(.database(path: store.location, reason: "\(ReplicaSchema.fencedRaiseFunction) answered \(answer?.kind ?? "nothing")"))
            }
        }
        throw .store(.database(path: store.location, reason: "other writers raised before this one \(PostgresRecommendationStore.raiseAttempts) times in a row"))
    }

    /// Saves `checkpoint` under `lease` and consumes the service's inbox rows after its
    /// `savedPosition` up to its `inboxPosition`, in one transaction; returns how many rows it
    /// consumed and updates `checkpoint` as saved. The position may stay (state saved, nothing
    /// consumed), never go back; a checkpoint saved meanwhile by another consumer (same lease)
    /// is refused with `checkpointMoved`.
    ///
    /// `events` (type and JSON body, journaled at wall time `now`) are journaled in the same
    /// transaction when the checkpoint is saved, and not at all when it is refused.
    @discardableResult
    public func saveCheckpoint(_ checkpoint: inout ServiceCheckpoint, under lease: Lease,
                               events: [(type: String, body: String)] = [], now: Int64 = 0) async throws(ReplicaError) -> Int {
        guard checkpoint.service == lease.service else {
            throw .store(.invalid("the checkpoint of '\(checkpoint.service)' cannot be saved under the lease of '\(lease.service)'"))
        }
        let (service, epoch) = (lease.service, lease.epoch)
        let (expected, position) = (checkpoint.savedPosition, checkpoint.inboxPosition)
        let (state, incident) = (checkpoint.state, checkpoint.openIncident)
        let (types, bodies) = (events.map(\.type), events.map(\.body))
        let answer = try await statement { connection in
            try await self.store.rows("""
                SELECT result_kind, lease_owner, lease_epoch, at_position, consumed
                FROM \(unescaped: ReplicaSchema.checkpointWithEventsFunction)(\(service), \(epoch), \(expected), \(position), \(state),
                    \(incident), \(types)::TEXT[], \(bodies)::TEXT[], \(now), \(ApprovalQueue.journalCapacity))
                """, on: connection).first.map {
                (kind: try $0["result_kind"].decode(String.self), owner: try $0["lease_owner"].decode(String?.self),
                 epoch: try $0["lease_epoch"].decode(Int64?.self), position: try $0["at_position"].decode(Int64?.self),
                 consumed: try $0["consumed"].decode(Int64?.self))
            }
        }
        switch answer?.kind {
        case "saved"?:
            checkpoint.savedPosition = position
            checkpoint.savedEpoch = epoch
            return Int(answer?.consumed ?? 0)
        case "fenced"?: throw .fenced(service: service, epoch: epoch, currentOwner: answer?.owner, currentEpoch: answer?.epoch ?? 0)
        case "moved"?: throw .checkpointMoved(service: service, expectedPosition: expected, storedPosition: answer?.position ?? 0)
        case "behind"?: throw .checkpointOutOfRange(service: service, position: position, lowest: answer?.position, highest: nil)
        case "ahead"?: throw .checkpointOutOfRange(service: service, position: position, lowest: nil, highest: answer?.position)
        default:
            throw .store(.database(path: store.location, reason: "\(ReplicaSchema.checkpointFunction) answered \(answer?.kind ?? "nothing")"))
        }
    }

    /// The checkpoint last saved for `service` (a new one at position 0 when none was).
    public func checkpoint(for service: String) async throws(ReplicaError) -> ServiceCheckpoint {
        let found = try await statement { connection in
            try await self.store.rows("""
                SELECT epoch, inbox_position, state, open_incident FROM service_checkpoint WHERE service = \(service)
                """, on: connection).first.map { row in
                ServiceCheckpoint(service: service, savedEpoch: try row["epoch"].decode(Int64.self),
                                  inboxPosition: try row["inbox_position"].decode(Int64.self), state: try row["state"].decode(Data?.self),
                                  openIncident: try row["open_incident"].decode(String?.self))
            }
        }
        return found ?? ServiceCheckpoint(service: service)
    }

    /// Processes `service`'s pending inbox rows once under `lease`: loads the checkpoint, reads
    /// up to `limit` rows after its position, lets `process` update the checkpoint's state for
    /// them, and saves it at the last row's position (consuming them) behind the fence. Returns
    /// how many rows it processed (0: none pending). `process` runs before anything is saved: if
    /// it throws, nothing is consumed and the rows come again.
    public func consumeInbox(under lease: Lease, limit: Int = 500,
                             process: (inout ServiceCheckpoint, [InboxEntry]) async throws -> Void) async throws -> Int {
        var checkpoint = try await self.checkpoint(for: lease.service)
        let entries = try await MetricsInbox(store: store).pending(service: lease.service, after: checkpoint.inboxPosition, limit: limit)
        guard let last = entries.last else { return 0 }
        try await process(&checkpoint, entries)
        checkpoint.inboxPosition = last.seq
        try await saveCheckpoint(&checkpoint, under: lease)
        return entries.count
    }

    func statement<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws(ReplicaError) -> T {
        do {
            return try await store.read(body)
        } catch {
            throw .store(error)
        }
    }
}
