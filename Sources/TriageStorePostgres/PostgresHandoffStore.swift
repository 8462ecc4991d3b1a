import Foundation
import Synchronization
import TriageEngine

/// The hand-off hook's store on PostgreSQL (`HandoffStore`), for `HandoffRunner`: the audit in
/// the `handoff` tables through the blocking `PostgresApprovalStore`, and the right to run a
/// hand-off given only to the process that holds the dispatcher lock (checked on the lock's
/// connection before each hand-off) and, within it, to one runner per recommendation.
///
/// So hand-offs across replicas run in one process at a time, the one that dispatches the
/// outbox. A dispatcher that loses the lock while a command runs lets that attempt finish; the
/// next holder finds the attempt started without a result, marks it superseded and runs it
/// again with the same idempotency key — SQLite's rule after a crash, and why the command must
/// deduplicate by `TRIAGE_IDEMPOTENCY_KEY`.
///
/// Blocking, like `PostgresApprovalStore`: call it from a thread of its own (`HandoffWorkers`)
/// or a command's main thread, never from Swift concurrency's cooperative pool.
public final class PostgresHandoffStore: HandoffStore {
    public let approvals: PostgresApprovalStore
    public let lock: DispatcherLock
    private let running = Mutex<Set<String>>([])

    public init(approvals: PostgresApprovalStore, lock: DispatcherLock) {
        self.approvals = approvals
        self.lock = lock
    }

    public var location: String { approvals.location }

    public func handoff(_ id: String) throws(EngineError) -> Handoff? { try approvals.handoff(id) }

    public func unfinishedHandoffs() throws(EngineError) -> [String] {
        try approvals.run { s throws(EngineError) in try await s.unfinishedHandoffs() }
    }

    public func beginHandoffAttempt(_ id: String, command: String, now: Int64) throws(EngineError) -> (handoff: Handoff, attempt: Int)? {
        try approvals.run { s throws(EngineError) in
            try await s.beginHandoffAttempt(id, command: command, now: now).map { Stored(value: $0) }
        }?.value
    }

    public func finishHandoffAttempt(_ id: String, attempt: Int, run: HookProcess.Run, tries: Int,
                                     now: Int64) throws(EngineError) -> Handoff {
        try approvals.run { s throws(EngineError) in try await s.finishHandoffAttempt(id, attempt: attempt, run: run, tries: tries, now: now) }
    }

    public func failHandoff(_ id: String, now: Int64) throws(EngineError) -> Handoff? {
        try approvals.run { s throws(EngineError) in try await s.failHandoff(id, now: now) }
    }

    public func recommendation(_ id: String, now: Int64) throws(EngineError) -> Recommendation {
        try approvals.recommendation(id, now: now)
    }

    public func recordOutcome(_ id: String, result: Recommendation.OutcomeResult, recoverySeconds: Double?,
                              now: Int64) throws(EngineError) -> (recommendation: Recommendation, learned: Bool) {
        try approvals.recordOutcome(id, result: result, recoverySeconds: recoverySeconds, now: now)
    }

    /// Nil (busy) when this process does not hold the dispatcher lock, or runs `id` already.
    public func holdHandoff(_ id: String) throws(EngineError) -> HandoffHold? {
        _ = try approvals.recommendation(id, now: Int64(Date().timeIntervalSince1970))
        let lock = self.lock
        guard Blocking.wait({ await lock.isHeld() }) else { return nil }
        guard running.withLock({ $0.insert(id).inserted }) else { return nil }
        return HandoffHold { [self] in _ = self.running.withLock { $0.remove(id) } }
    }
}
