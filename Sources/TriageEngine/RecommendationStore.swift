import Foundation
import TriageData

/// What the front doors (`watch`, `approvals`, `outcome`, `serve`) need of the store of
/// recommendations, whichever database holds it: SQLite (`ApprovalQueue`, through
/// `SQLiteRecommendationStore`) or PostgreSQL (`PostgresRecommendationStore` in the
/// TriageStorePostgres target). One conformance suite (Tests/TriageStorePostgresTests) runs the
/// same assertions against both, so the two cannot drift.
///
/// This is the core of issue 18, phase 1: schema and versioned migrations (done when a store is
/// opened), raising, reading, paged lists, the decision taken exactly once, outcomes, the events
/// journal and the engine checkpoint. The engine and the commands call the synchronous
/// `ApprovalStore` (guards, breakers, the learned policy…), which both databases implement too;
/// the hand-off hook's runner calls `HandoffStore`, which both implement as well.
///
/// Methods are `async` because PostgreSQL is reached over the network; the SQLite store answers
/// synchronously, as `ApprovalQueue` always has. Every error is an `EngineError` naming the
/// store's `location`, so a front door reports both stores the same way.
public protocol RecommendationStore: Sendable {
    /// Where the store is, as errors name it: the SQLite file's path, or the PostgreSQL URL
    /// without its password.
    var location: String { get }

    /// Random per database, so idempotency keys of two databases never collide.
    var instance: String { get }

    /// The identifiers of the schema migrations the database has applied, in the order this
    /// build knows them (`v1`, `v2-decider`, …). Both stores share one list.
    func appliedMigrations() async throws(EngineError) -> [String]

    /// Adds `recommendation` as pending with the next id (`rec-000001`, …); when its service
    /// already has one for the same data row (`created`), returns that one with `isNew` false.
    func raise(_ recommendation: Recommendation) async throws(EngineError) -> (recommendation: Recommendation, isNew: Bool)

    /// The recommendation `id` as of `now` (a pending one past its expiry shows as expired);
    /// `EngineError.notFound` when there is none.
    func recommendation(_ id: String, now: Int64) async throws(EngineError) -> Recommendation

    /// At most `limit` recommendations with `status` (all when nil) after `cursor`, in
    /// (raised_at, id) order: a long list read a page at a time misses none and repeats none.
    func list(status: Recommendation.Status?, now: Int64, after cursor: ApprovalQueue.ListCursor?,
              limit: Int) async throws(EngineError) -> [Recommendation]

    /// Marks pending recommendations whose expiry is ≤ `now` as expired (each journalled);
    /// returns how many.
    func expireOverdue(now: Int64) async throws(EngineError) -> Int

    /// Approves a pending recommendation once: approving it again returns `.alreadyApproved`
    /// with nothing changed and no second outbox line; a rejected or expired one is refused
    /// (`notPending`). The decider must be on the allowlist. The outbox line is appended after
    /// the decision commits.
    func approve(_ id: String, by decider: Decider, comment: String?, approvers: Approvers, outbox: Outbox,
                 now: Int64) async throws(EngineError) -> ApprovalQueue.Approval

    /// Rejects a pending recommendation; rejecting it again is a no-op, an approved or expired
    /// one is refused (`notPending`).
    func reject(_ id: String, by decider: Decider, reason: String?, approvers: Approvers,
                now: Int64) async throws(EngineError) -> Recommendation

    /// Records once how an approved action went (`outcomeNotAllowed` when not approved,
    /// `outcomeAlreadyRecorded` the second time).
    func recordOutcome(_ id: String, result: Recommendation.OutcomeResult, recoverySeconds: Double?,
                       now: Int64) async throws(EngineError) -> Recommendation

    /// Appends events that are not changes of the queue (health-state transitions), in one
    /// transaction.
    func appendEvents(_ events: [(type: String, json: JSONValue)], now: Int64) async throws(EngineError)

    /// Up to `limit` journal events after `id`, oldest first. Ids increase in commit order, so a
    /// reader resuming after the last id it saw misses nothing.
    func events(after id: Int64, limit: Int) async throws(EngineError) -> [JournalEvent]

    /// The id of the newest journal event (0 when none).
    func lastEventID() async throws(EngineError) -> Int64

    /// Stores the engine's checkpoint for `source`: read position and engine state.
    func saveReadPosition(_ position: ApprovalQueue.ReadPosition, source: String, now: Int64) async throws(EngineError)

    /// The checkpoint stored for `source`, or nil.
    func readPosition(source: String) async throws(EngineError) -> ApprovalQueue.ReadPosition?
}

/// The SQLite store: `ApprovalQueue` behind the store protocol, its behaviour unchanged (every
/// method calls the queue's own).
public struct SQLiteRecommendationStore: RecommendationStore {
    public let queue: ApprovalQueue

    public init(_ queue: ApprovalQueue) { self.queue = queue }

    public var location: String { queue.path }
    public var instance: String { queue.instance }

    public func appliedMigrations() throws(EngineError) -> [String] { try queue.appliedMigrations() }

    public func raise(_ recommendation: Recommendation) throws(EngineError) -> (recommendation: Recommendation, isNew: Bool) {
        try queue.raise(recommendation)
    }

    public func recommendation(_ id: String, now: Int64) throws(EngineError) -> Recommendation {
        try queue.recommendation(id, now: now)
    }

    public func list(status: Recommendation.Status?, now: Int64, after cursor: ApprovalQueue.ListCursor?,
                     limit: Int) throws(EngineError) -> [Recommendation] {
        try queue.list(status: status, now: now, after: cursor, limit: limit)
    }

    public func expireOverdue(now: Int64) throws(EngineError) -> Int { try queue.expireOverdue(now: now) }

    public func approve(_ id: String, by decider: Decider, comment: String?, approvers: Approvers, outbox: Outbox,
                        now: Int64) throws(EngineError) -> ApprovalQueue.Approval {
        try queue.approve(id, by: decider, comment: comment, approvers: approvers, outbox: outbox, now: now)
    }

    public func reject(_ id: String, by decider: Decider, reason: String?, approvers: Approvers,
                       now: Int64) throws(EngineError) -> Recommendation {
        try queue.reject(id, by: decider, reason: reason, approvers: approvers, now: now)
    }

    public func recordOutcome(_ id: String, result: Recommendation.OutcomeResult, recoverySeconds: Double?,
                              now: Int64) throws(EngineError) -> Recommendation {
        try queue.recordOutcome(id, result: result, recoverySeconds: recoverySeconds, now: now).recommendation
    }

    public func appendEvents(_ events: [(type: String, json: JSONValue)], now: Int64) throws(EngineError) {
        try queue.appendEvents(events, now: now)
    }

    public func events(after id: Int64, limit: Int) throws(EngineError) -> [JournalEvent] {
        try queue.events(after: id, limit: limit)
    }

    public func lastEventID() throws(EngineError) -> Int64 { try queue.lastEventID() }

    public func saveReadPosition(_ position: ApprovalQueue.ReadPosition, source: String, now: Int64) throws(EngineError) {
        try queue.saveReadPosition(position, source: source, now: now)
    }

    public func readPosition(source: String) throws(EngineError) -> ApprovalQueue.ReadPosition? {
        try queue.readPosition(source: source)
    }
}
