import Foundation
import Logging
import Synchronization
import TriageEngine

/// The outbox dispatcher of a long-running process on PostgreSQL (`triage serve`): one at a time
/// across replicas (`DispatcherLock`), it feeds `outbox.jsonl` from the outbox table
/// (`OutboxFeed`, exactly once) and, with a hook configured, runs the `--exec` hand-offs
/// (`HandoffWorkers` over `PostgresHandoffStore`, the audit `approvals show` prints).
///
/// **The loop.** Try the lock (every `retry` while another replica holds it); once held: adopt
/// approvals that have no outbox row, drain the table, start the unfinished hand-offs, then wait
/// for the outbox's notification (any replica's approval inserts a row, and the insert notifies
/// `triage_outbox`) or `poll`, whichever comes first, and drain again. When a statement on the
/// lock's connection fails the lock is gone with it (the connection ended); the loop goes back
/// to trying, and meanwhile another replica takes over. Hand-offs are started only while the
/// lock is held and each checks it again before running (`PostgresHandoffStore.holdHandoff`).
///
/// **Approvals in this process** (`afterApproval`): when this dispatcher holds the lock, the
/// approval asks for a pass and waits for it (at most `passWait`), so the line is in the file
/// when the approval answers, as with SQLite; otherwise the holder elsewhere was notified.
public final class OutboxDispatcher: Sendable {
    public struct Settings: Sendable {
        public var outbox: Outbox
        /// The hook, nil without `--exec` (then hand-offs stay queued for a dispatcher with one).
        public var handoff: HandoffSettings?
        /// The look at the table when no notification comes (a missed one only delays).
        public var poll: Duration = .seconds(1)
        /// How often the lock is tried while another replica holds it.
        public var retry: Duration = .seconds(1)
        /// How long an approval waits for this dispatcher's pass.
        public var passWait: Duration = .seconds(5)

        public init(outbox: Outbox, handoff: HandoffSettings? = nil) {
            self.outbox = outbox
            self.handoff = handoff
        }
    }

    public let store: PostgresRecommendationStore
    public let settings: Settings
    public let lock: DispatcherLock
    /// The hook's runner threads, nil without a hook.
    public let handoffs: HandoffWorkers?
    let feed: OutboxFeed
    let logger: Logger
    /// Bumped to ask for a pass (an approval here, or the outbox's notification).
    private let requests = ChangeSignal()
    /// Advanced to the request a finished pass covered.
    private let covered = ChangeSignal()
    private let holding = Mutex(false)
    private let listener: NotificationListener

    /// A dispatcher for `store`; `report` gets each hand-off's end (as `HandoffWorkers` reports).
    public init(store: PostgresRecommendationStore, settings: Settings,
                report: @escaping @Sendable (Result<HandoffRunner.Result, EngineError>, String) -> Void = { _, _ in })
        throws(EngineError) {
        self.store = store
        self.settings = settings
        lock = DispatcherLock(store: store)
        logger = store.logger
        feed = OutboxFeed(store: store, lock: lock, outbox: settings.outbox, holder: OutboxFeed.holder(outbox: settings.outbox))
        listener = NotificationListener(store: store, channel: OutboxSchema.outboxChannel)
        if let hook = settings.handoff {
            let runner = try HandoffRunner(store: PostgresHandoffStore(approvals: PostgresApprovalStore(store), lock: lock), settings: hook)
            handoffs = HandoffWorkers(runner: runner, report: report)
        } else {
            handoffs = nil
        }
    }

    /// Whether this process holds the dispatcher lock (as last seen by the loop).
    public var isDispatching: Bool { holding.withLock { $0 } }

    /// Runs until the task is cancelled, then stops the hand-offs (`handoffGrace` to finish) and
    /// releases the lock.
    public func run(handoffGrace: Duration = .seconds(2)) async {
        store.attach(self)
        listener.start()
        while !Task.isCancelled {
            let held: Bool
            do { held = try await lock.tryAcquire() } catch {
                logger.warning("outbox dispatcher: \(error)")
                held = false
            }
            guard held else {
                setHolding(false)
                try? await Task.sleep(for: settings.retry)
                continue
            }
            let justTaken = !setHolding(true)
            do {
                if justTaken {
                    let adopted = try await feed.adoptUnsentApprovals()
                    if adopted > 0 { logger.notice("outbox dispatcher adopted \(adopted) approvals without an outbox row") }
                    logger.info("outbox dispatcher holds the lock", metadata: ["outbox": .string(settings.outbox.path)])
                }
                try await passAndWait()
            } catch {
                logger.warning("outbox dispatcher: \(store.map(error))")
                if !(await lock.isHeld()) {
                    setHolding(false)
                    logger.notice("outbox dispatcher lost the lock; trying again")
                } else {
                    try? await Task.sleep(for: settings.retry)
                }
            }
        }
        setHolding(false)
        store.detach(self)
        if let handoffs {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                Thread {
                    handoffs.shutdown(grace: handoffGrace)
                    done.resume()
                }.start()
            }
        }
        await lock.release()
        await listener.close()
    }

    /// Passes while the lock holds: drain, start hand-offs, wait for a notification or the poll.
    private func passAndWait() async throws {
        while !Task.isCancelled {
            let request = requests.generation
            let seen = listener.signal.generation
            _ = try await feed.drain()
            covered.advance(to: request)
            // Unfinished ones also include those a dead dispatcher left started.
            handoffs?.resumeUnfinished()
            await waitForWork(afterRequest: request, notification: seen)
        }
    }

    /// Returns at a request after `request`, a notification after `notification`, or the poll.
    private func waitForWork(afterRequest request: UInt64, notification: UInt64) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.requests.wait(untilAtLeast: request &+ 1, timeout: self.settings.poll) }
            group.addTask { await self.listener.signal.wait(untilAtLeast: notification &+ 1, timeout: self.settings.poll) }
            await group.next()
            group.cancelAll()
        }
    }

    /// After an approval committed in this process: when this dispatcher holds the lock, waits
    /// for a pass that started after the commit (at most `passWait`); true when one finished.
    /// False at once when another process dispatches.
    public func afterApproval() async -> Bool {
        guard isDispatching else { return false }
        let request = requests.bump()
        return await covered.wait(untilAtLeast: request, timeout: settings.passWait)
    }

    /// Sets whether the lock is held; returns the previous value.
    @discardableResult
    private func setHolding(_ value: Bool) -> Bool {
        holding.withLock { held in
            defer { held = value }
            return held
        }
    }
}
