import Foundation
import TriageCore
import TriageData

/// The synchronous face of a store of recommendations: what the engine (`RemediationEngine`),
/// the engine watch and the commands call, whichever database holds the queue. `ApprovalQueue`
/// (SQLite) implements it as it is; the PostgreSQL store implements it by blocking on
/// postgres-nio (`PostgresApprovalStore` in TriageStorePostgres).
///
/// Why synchronous, beside the `async` `RecommendationStore`: the engine is synchronous and hot
/// (345 600 rows in 0.72 s with an SQLite queue, BENCHMARKS.md "Engine loop") and calls the queue
/// from inside its per-row logic (a raise in the middle of a batch, the guards' facts of one
/// service). Making it `async` would turn every row's path into a suspension point and every
/// caller async for the sake of one database; SQLite answers synchronously anyway. A protocol
/// of the dozen calls the engine needs costs one dynamic dispatch per call (calls are per
/// batch or per recommendation, not per row), and the PostgreSQL side blocks its caller's
/// thread, which is safe as long as that thread is not one of Swift concurrency's cooperative
/// threads (see `PostgresApprovalStore`): `watch` and the commands run on the main thread,
/// `serve`'s engine on a thread of its own.
///
/// Every error is an `EngineError` naming `location`, so a front door reports both stores the
/// same way. Behaviour is the same in both (the conformance suite, Tests/TriageStorePostgresTests,
/// runs the same assertions on each).
public protocol ApprovalStore: AnyObject, Sendable {
    /// Where the store is, as errors name it: the SQLite file's path, or the PostgreSQL URL
    /// without its password.
    var location: String { get }

    // MARK: What the engine calls

    /// Stores the guard settings the engine runs with, so commands without an engine apply the
    /// same breakers and caps.
    func installGuards(_ settings: RemediationGuards.Settings) throws(EngineError)
    /// The installed guard settings, nil when no engine installed any.
    func guardSettings() throws(EngineError) -> RemediationGuards.Settings?
    /// Stores the bundle's policy unless one from the same `source` is there (what it learned
    /// from outcomes survives a restart).
    func installPolicy(_ policy: RemediationPolicy, source: String, now: Int64) throws(EngineError)
    /// The stored policy with what it learned so far, or nil.
    func policy() throws(EngineError) -> (policy: RemediationPolicy, source: String, outcomesLearned: Int)?
    /// Changes whenever the stored policy does; nil without one.
    func policyRevision() throws(EngineError) -> Int64?
    /// The newest journal id, the policy's and the guards' revisions, in one read.
    func changeStamp() throws(EngineError) -> (lastEventID: Int64, policyRevision: Int64?, guardRevision: Int64)
    /// What the guards know of `service` at wall time `now` (stores what the clock changed).
    func guardFacts(service: String, now: Int64) throws(EngineError) -> RemediationGuards.Facts
    /// Status, action, expiry and outcome of each of `ids` that exists.
    func decisions(of ids: [String]) throws(EngineError) -> [String: ApprovalQueue.Decision]
    /// Raises `recommendation` (guards applied: a half-open breaker's trial, the caps), or
    /// returns the one already raised for its service and data row.
    @discardableResult
    func raise(_ recommendation: Recommendation) throws(EngineError) -> (recommendation: Recommendation, isNew: Bool)

    // MARK: What the engine's front doors call (watch, serve)

    func readPosition(source: String) throws(EngineError) -> ApprovalQueue.ReadPosition?
    func saveReadPosition(_ position: ApprovalQueue.ReadPosition, source: String, now: Int64) throws(EngineError)
    /// Saves `position` in a transaction that commits only when `beforeCommit` succeeds (the
    /// caller makes its outputs durable there); its error is rethrown as it came.
    func saveReadPosition(_ position: ApprovalQueue.ReadPosition, source: String, now: Int64,
                          beforeCommit: () throws -> Void) throws
    func appendEvents(_ events: [(type: String, json: JSONValue)], now: Int64) throws(EngineError)

    // MARK: What the commands call

    func list(status: Recommendation.Status?, now: Int64) throws(EngineError) -> [Recommendation]
    func recommendation(_ id: String, now: Int64) throws(EngineError) -> Recommendation
    @discardableResult
    func expireOverdue(now: Int64) throws(EngineError) -> Int
    func approve(_ id: String, by decider: Decider, comment: String?, approvers: Approvers, outbox: Outbox,
                 handOff: Bool, now: Int64) throws(EngineError) -> ApprovalQueue.Approval
    @discardableResult
    func reject(_ id: String, by decider: Decider, reason: String?, approvers: Approvers,
                now: Int64) throws(EngineError) -> Recommendation
    @discardableResult
    func recordOutcome(_ id: String, result: Recommendation.OutcomeResult, recoverySeconds: Double?,
                       now: Int64) throws(EngineError) -> (recommendation: Recommendation, learned: Bool)
    func breakers(now: Int64) throws(EngineError) -> [ApprovalQueue.BreakerStatus]
    func countsByStatus(now: Int64) throws(EngineError) -> [Recommendation.Status: Int]
    /// The hand-off audit of `id` (the `--exec` hook), nil when it has none.
    func handoff(_ id: String) throws(EngineError) -> Handoff?
    /// The record with its `handoff` field, as `approvals show --json` prints it.
    func jsonWithHandoff(_ record: Recommendation) throws(EngineError) -> JSONValue
}

extension ApprovalQueue: ApprovalStore {
    public var location: String { path }
}

/// Which kind of database a `--db` value names: a PostgreSQL URL (`postgres://` or
/// `postgresql://`) or else an SQLite file path.
public enum DatabaseAddress {
    public static func isPostgres(_ database: String) -> Bool {
        let lower = database.prefix(13).lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }
}
