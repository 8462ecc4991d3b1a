import Foundation
import TriageCore

#if canImport(Glibc)
import Glibc
#endif

/// Hands approved actions to the operator's command (`HandoffSettings.command`), with retries,
/// and records every attempt in the store (`ApprovalQueue+Handoff.swift` for SQLite; the
/// PostgreSQL dispatcher's `PostgresHandoffStore`, see `HandoffStore`).
///
/// Per hand-off: the command gets the outbox line (`Outbox.line(for:)`, the same bytes as the
/// outbox file's line) on standard input and the recommendation's idempotency key in
/// `TRIAGE_IDEMPOTENCY_KEY` (also `TRIAGE_RECOMMENDATION_ID` and `TRIAGE_HANDOFF_ATTEMPT`). A
/// failed or timed-out attempt is retried after `settings.wait(beforeTry:)` (exponential
/// backoff), up to `settings.tries` attempts; a success is never run again; the last failure is
/// recorded as a failed outcome through `ApprovalQueue.recordOutcome`, the path `triage outcome`
/// takes, so whatever learns from outcomes (the policy, breakers) counts it.
///
/// Two processes draining one queue (a server and `approvals handoff`) never run the same
/// hand-off at once: each holds the store's right to it (`HandoffStore.holdHandoff`: on SQLite an
/// open-file-description lock (`F_OFD_SETLK`) on the recommendation's byte of
/// `DB.handoff.lock`; on PostgreSQL the dispatcher lock) while it runs it; the other skips it.
/// The kernel (or PostgreSQL) drops the lock when its holder dies, so a killed process blocks nothing.
///
/// The caller's thread blocks while a command runs: the server calls it from threads of its own
/// (`HandoffWorkers`), never from an event loop or the engine actor.
public struct HandoffRunner: Sendable {
    /// Where the audit is kept and the right to run a hand-off is taken.
    public let store: any HandoffStore
    public let settings: HandoffSettings
    /// Set by a stopping server: the running command's group is killed and its attempt left
    /// started (the next start runs it again with the same key); backoff waits end at once.
    public let stop: StopSignal
    /// Wall-clock seconds for the audit.
    let now: @Sendable () -> Int64

    public init(queue: ApprovalQueue, settings: HandoffSettings, stop: StopSignal = StopSignal(),
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws(EngineError) {
        try self.init(store: queue, settings: settings, stop: stop, now: now)
    }

    public init(store: any HandoffStore, settings: HandoffSettings, stop: StopSignal = StopSignal(),
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) throws(EngineError) {
        try settings.validate()
        self.store = store
        self.settings = settings
        self.stop = stop
        self.now = now
    }

    /// How one hand-off ended for this call.
    public enum Result: Sendable, Equatable {
        /// The command exited 0 (now, or in an earlier run).
        case succeeded(Handoff)
        /// Every try failed; the failed outcome is recorded.
        case failed(Handoff)
        /// Another process is running this hand-off right now.
        case busy(id: String)
        /// Stopped before a result (server shutdown): left started for the next start.
        case interrupted(Handoff)
        /// The recommendation was approved without a hand-off.
        case notQueued(id: String)

        public var id: String {
            switch self {
            case .succeeded(let h), .failed(let h), .interrupted(let h): return h.recommendationID
            case .busy(let id), .notQueued(let id): return id
            }
        }
    }

    /// Runs the hand-off of `id` to its end (success, last failure, or a stop).
    public func handOff(_ id: String) throws(EngineError) -> Result {
        guard let hold = try store.holdHandoff(id) else {
            return .busy(id: id)
        }
        defer { hold.release() }
        while true {
            guard let current = try store.handoff(id) else { return .notQueued(id: id) }
            switch current.state {
            case .succeeded: return .succeeded(current)
            case .failed: return .failed(try recordFailure(current))
            case .queued, .started: break
            }
            if current.failures >= settings.tries {
                // Tried as often as allowed before (perhaps with a larger budget): final.
                guard let failed = try store.failHandoff(id, now: now()) else { return .notQueued(id: id) }
                return .failed(try recordFailure(failed))
            }
            // Back off after a failed attempt, also one recorded before a restart.
            if current.attempts.last?.failed == true, !sleep(settings.wait(beforeTry: current.failures + 1)) {
                return .interrupted(current)
            }
            if stop.isSet { return .interrupted(current) }
            let record = try store.recommendation(id, now: now())
            guard let begun = try store.beginHandoffAttempt(id, command: settings.command, now: now()) else { continue }
            let started = begun.handoff, attempt = begun.attempt
            let run = HookProcess.run(
                command: settings.command, input: Array((Outbox.line(for: record) + "\n").utf8),
                environment: ["TRIAGE_IDEMPOTENCY_KEY": started.idempotencyKey, "TRIAGE_RECOMMENDATION_ID": id,
                              "TRIAGE_HANDOFF_ATTEMPT": String(attempt)],
                timeout: settings.timeout, outputLimit: settings.outputLimit, stop: stop)
            if run.interrupted {
                // No result: the attempt stays started, and the next start retries it.
                return .interrupted(try store.handoff(id) ?? started)
            }
            let finished = try store.finishHandoffAttempt(id, attempt: attempt, run: run, tries: settings.tries, now: now())
            switch finished.state {
            case .succeeded: return .succeeded(finished)
            case .failed: return .failed(try recordFailure(finished))
            case .queued, .started: continue
            }
        }
    }

    /// Runs every hand-off that still needs work (queued, started without a result, or failed
    /// without its outcome), oldest first; stops early when `stop` is set.
    public func drain() throws(EngineError) -> [Result] {
        var results = [Result]()
        for id in try store.unfinishedHandoffs() {
            if stop.isSet { break }
            results.append(try handOff(id))
        }
        return results
    }

    /// Records the failed outcome of a hand-off whose tries are used up, unless an outcome is
    /// already there (recorded by a person, or before a crash).
    private func recordFailure(_ handoff: Handoff) throws(EngineError) -> Handoff {
        let at = now()
        let record = try store.recommendation(handoff.recommendationID, now: at)
        guard record.outcome == nil, record.status == .approved else { return handoff }
        // The time charged is the approval-to-now delay, capped at the bound outcomes accept
        // (a drain run long after the approval must still record the failure).
        let delay = Double(max(0, at - (record.decidedAt ?? at)))
        _ = try store.recordOutcome(handoff.recommendationID, result: .failure,
                                    recoverySeconds: min(delay, RemediationPolicy.maximumRecoverySeconds), now: at)
        return handoff
    }

    /// Waits `duration` unless `stop` is set first; false when stopped.
    private func sleep(_ duration: Duration) -> Bool {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            if stop.isSet { return false }
            let left = HookProcess.milliseconds(deadline - ContinuousClock.now)
            usleep(UInt32(max(1, min(left, 20))) * 1_000)
        }
        return !stop.isSet
    }
}

/// One byte of `DB.handoff.lock` per recommendation, locked with an open-file-description lock
/// (Linux `F_OFD_SETLK`): unlike `flock` on the whole file, hand-offs of different
/// recommendations never wait for each other; unlike classic `fcntl` locks, two threads of one
/// process (two server hand-offs) exclude each other too, and closing one descriptor releases
/// only its own lock.
struct HandoffLock {
    let descriptor: Int32

    /// `F_OFD_SETLK` from <fcntl.h> (Linux ≥ 3.15), not exported to Swift by Glibc's module.
    private static let setLock: Int32 = 37

    /// The lock on `slot`, or nil when another descriptor holds it.
    static func acquire(databasePath: String, slot: Int64) throws(EngineError) -> HandoffLock? {
        let path = databasePath + ".handoff.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .database(path: path, reason: "cannot open the hand-off lock: \(String(cString: strerror(errno)))") }
        var request = flock()
        request.l_type = Int16(F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        request.l_start = off_t(slot)
        request.l_len = 1
        request.l_pid = 0
        while fcntl(fd, setLock, &request) != 0 {
            if errno == EINTR { continue }
            let failure = errno
            close(fd)
            if failure == EAGAIN || failure == EACCES { return nil }
            throw .database(path: path, reason: "cannot lock the hand-off: \(String(cString: strerror(failure)))")
        }
        return HandoffLock(descriptor: fd)
    }

    /// Closing the descriptor releases the lock.
    func release() { close(descriptor) }
}
