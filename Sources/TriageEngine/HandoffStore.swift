import Foundation

/// What `HandoffRunner` needs of a store to run the `--exec` hook and keep its audit: the
/// `handoff`/`handoff_attempt` rows, the record and its outcome, and the right to run one
/// hand-off at a time.
///
/// Two implementations: `ApprovalQueue` (SQLite: the right is a byte lock of
/// `DB.handoff.lock`, see `HandoffLock`) and the PostgreSQL dispatcher's store
/// (`PostgresHandoffStore` in TriageStorePostgres: the right is holding the dispatcher lock,
/// so hand-offs run only in the one process that dispatches the outbox). The runner's rules —
/// an attempt committed as started before the command runs, a success never run again, the
/// last failure recorded as a failed outcome — are the same for both.
public protocol HandoffStore: AnyObject, Sendable {
    /// Where the store is, as errors name it.
    var location: String { get }
    /// The hand-off of `id`, or nil when it was approved without one.
    func handoff(_ id: String) throws(EngineError) -> Handoff?
    /// Ids whose hand-off still needs work (queued, started, failed without its outcome), oldest first.
    func unfinishedHandoffs() throws(EngineError) -> [String]
    /// Commits the next attempt of `id` as started and returns it; nil when none is needed.
    func beginHandoffAttempt(_ id: String, command: String, now: Int64) throws(EngineError) -> (handoff: Handoff, attempt: Int)?
    /// Records how attempt `attempt` ended (`succeeded`, or `failed` once `tries` have failed).
    @discardableResult
    func finishHandoffAttempt(_ id: String, attempt: Int, run: HookProcess.Run, tries: Int, now: Int64) throws(EngineError) -> Handoff
    /// Marks a started hand-off whose tries are all used as failed.
    @discardableResult
    func failHandoff(_ id: String, now: Int64) throws(EngineError) -> Handoff?
    func recommendation(_ id: String, now: Int64) throws(EngineError) -> Recommendation
    @discardableResult
    func recordOutcome(_ id: String, result: Recommendation.OutcomeResult, recoverySeconds: Double?,
                       now: Int64) throws(EngineError) -> (recommendation: Recommendation, learned: Bool)
    /// The exclusive right to run the hand-off of `id` now, released by `HandoffHold.release()`;
    /// nil when another runner (thread or process) has it. `EngineError.notFound` for an unknown id.
    func holdHandoff(_ id: String) throws(EngineError) -> HandoffHold?
}

/// The right to run one hand-off (see `HandoffStore.holdHandoff`).
public struct HandoffHold: Sendable {
    private let onRelease: @Sendable () -> Void

    public init(release: @escaping @Sendable () -> Void) { onRelease = release }

    public func release() { onRelease() }
}

extension ApprovalQueue: HandoffStore {
    /// The recommendation's byte of `DB.handoff.lock` (`HandoffLock`).
    public func holdHandoff(_ id: String) throws(EngineError) -> HandoffHold? {
        guard let row = try rowNumber(id) else { throw .notFound(id: id) }
        guard let lock = try HandoffLock.acquire(databasePath: path, slot: row) else { return nil }
        return HandoffHold { lock.release() }
    }
}
