import Foundation
import TriageData
import TriageEngine
import TriageStorePostgres

/// The store the routes read and decide through: the SQLite `ApprovalQueue`, or the PostgreSQL
/// store (issue 18).
///
/// **Why routes await the asynchronous PostgreSQL store** instead of the synchronous
/// `ApprovalStore` the engine uses: a route runs on Swift concurrency's cooperative pool, where
/// `PostgresApprovalStore`'s blocking wait would hold one of the pool's threads (two on this
/// machine) while waiting for work that needs the pool — two such requests at once and the
/// server deadlocks. `PostgresRecommendationStore` is natively `async` (postgres-nio), so a
/// route suspends instead of blocking and nothing needs to hop threads. The engine, which calls
/// its store from deep inside synchronous per-row logic, keeps the synchronous protocol and runs
/// on a thread of its own (`EngineService`). SQLite answers synchronously as it always has, so
/// its routes are unchanged.
enum ServedStore: Sendable {
    case sqlite(ApprovalQueue)
    case postgres(PostgresRecommendationStore)

    /// A reader (an SQLite file opened read-only) never expires recommendations itself.
    var isWritable: Bool {
        switch self {
        case .sqlite(let queue): return queue.access == .readWrite
        case .postgres: return true
        }
    }

    @discardableResult
    func expireOverdue(now: Int64) async throws(EngineError) -> Int {
        switch self {
        case .sqlite(let queue): return try queue.expireOverdue(now: now)
        case .postgres(let store): return try await store.expireOverdue(now: now)
        }
    }

    /// One page of a list, in (raised_at, id) order.
    func list(status: Recommendation.Status?, now: Int64, after cursor: ApprovalQueue.ListCursor?,
              limit: Int) async throws(EngineError) -> [Recommendation] {
        switch self {
        case .sqlite(let queue): return try queue.list(status: status, now: now, after: cursor, limit: limit)
        case .postgres(let store): return try await store.list(status: status, now: now, after: cursor, limit: limit)
        }
    }

    /// The whole list (the approval page, which shows a bounded part of it).
    func list(status: Recommendation.Status?, now: Int64) async throws(EngineError) -> [Recommendation] {
        switch self {
        case .sqlite(let queue): return try queue.list(status: status, now: now)
        case .postgres(let store): return try await store.listAll(status: status, now: now)
        }
    }

    func recentlyDecided(limit: Int, now: Int64) async throws(EngineError) -> [Recommendation] {
        switch self {
        case .sqlite(let queue): return try queue.recentlyDecided(limit: limit, now: now)
        case .postgres(let store): return try await store.recentlyDecided(limit: limit, now: now)
        }
    }

    func recommendation(_ id: String, now: Int64) async throws(EngineError) -> Recommendation {
        switch self {
        case .sqlite(let queue): return try queue.recommendation(id, now: now)
        case .postgres(let store): return try await store.recommendation(id, now: now)
        }
    }

    /// The record with its `handoff` field (the `--exec` hook's audit, null without one).
    func jsonWithHandoff(_ record: Recommendation) async throws(EngineError) -> JSONValue {
        switch self {
        case .sqlite(let queue): return try queue.jsonWithHandoff(record)
        case .postgres(let store): return try await store.jsonWithHandoff(record)
        }
    }

    /// Approves; with `handOff` the hand-off is queued in the approval's transaction (on
    /// PostgreSQL the outbox dispatcher runs it, see `PostgresServing`).
    func approve(_ id: String, by decider: Decider, comment: String?, approvers: Approvers, outbox: Outbox,
                 handOff: Bool, now: Int64) async throws(EngineError) -> ApprovalQueue.Approval {
        switch self {
        case .sqlite(let queue):
            return try queue.approve(id, by: decider, comment: comment, approvers: approvers, outbox: outbox, handOff: handOff, now: now)
        case .postgres(let store):
            return try await store.approve(id, by: decider, comment: comment, approvers: approvers, outbox: outbox, handOff: handOff, now: now)
        }
    }

    func reject(_ id: String, by decider: Decider, reason: String?, approvers: Approvers,
                now: Int64) async throws(EngineError) -> Recommendation {
        switch self {
        case .sqlite(let queue): return try queue.reject(id, by: decider, reason: reason, approvers: approvers, now: now)
        case .postgres(let store): return try await store.reject(id, by: decider, reason: reason, approvers: approvers, now: now)
        }
    }

    /// Records the outcome; counted in its breaker and taught to the stored policy on both stores.
    func recordOutcome(_ id: String, result: Recommendation.OutcomeResult, recoverySeconds: Double?,
                       now: Int64) async throws(EngineError) -> Recommendation {
        switch self {
        case .sqlite(let queue):
            return try queue.recordOutcome(id, result: result, recoverySeconds: recoverySeconds, now: now).recommendation
        case .postgres(let store):
            return try await store.recordOutcomeLearning(id, result: result, recoverySeconds: recoverySeconds, now: now).recommendation
        }
    }

    func events(after id: Int64, limit: Int) async throws(EngineError) -> [JournalEvent] {
        switch self {
        case .sqlite(let queue): return try queue.events(after: id, limit: limit)
        case .postgres(let store): return try await store.events(after: id, limit: limit)
        }
    }

    func countsByStatus(now: Int64) async throws(EngineError) -> [Recommendation.Status: Int] {
        switch self {
        case .sqlite(let queue): return try queue.countsByStatus(now: now)
        case .postgres(let store): return try await store.countsByStatus(now: now)
        }
    }
}
