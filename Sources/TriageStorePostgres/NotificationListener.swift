import Foundation
import Logging
import PostgresNIO
import Synchronization

/// A counter that tasks wait on: `advance` or `bump` raise it and wake every waiter whose target
/// it reached; `wait` returns when it reaches a target, when a timeout passes, or when the
/// waiting task is cancelled. What a notification (or a dispatcher's pass) tells its waiters.
public final class ChangeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [UInt64: (target: UInt64, continuation: CheckedContinuation<Void, Never>)] = [:]
        /// Waiters cancelled before they were registered.
        var cancelled: Set<UInt64> = []
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Raises the counter by one; returns the new value.
    @discardableResult
    public func bump() -> UInt64 {
        let (value, ready) = state.withLock { state in
            state.generation += 1
            return (state.generation, Self.takeReady(&state))
        }
        for continuation in ready { continuation.resume() }
        return value
    }

    /// Raises the counter to `value` (never lowers it).
    public func advance(to value: UInt64) {
        let ready = state.withLock { state in
            state.generation = max(state.generation, value)
            return Self.takeReady(&state)
        }
        for continuation in ready { continuation.resume() }
    }

    private static func takeReady(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        let ready = state.waiters.filter { $0.value.target <= state.generation }
        for id in ready.keys { state.waiters[id] = nil }
        return ready.values.map(\.continuation)
    }

    /// Waits until the counter is at least `target`, at most `timeout`; true when it got there.
    @discardableResult
    public func wait(untilAtLeast target: UInt64, timeout: Duration) async -> Bool {
        if generation >= target { return true }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait(untilAtLeast: target) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return generation >= target
    }

    private func wait(untilAtLeast target: UInt64) async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation >= target || state.cancelled.remove(id) != nil { return true }
                    state.waiters[id] = (target, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiting = state.withLock { state in
                guard let waiter = state.waiters.removeValue(forKey: id) else {
                    state.cancelled.insert(id)
                    return nil as CheckedContinuation<Void, Never>?
                }
                return waiter.continuation
            }
            waiting?.resume()
        }
        // A cancellation that came after the continuation resumed leaves its mark: drop it.
        _ = state.withLock { $0.cancelled.remove(id) }
    }
}

/// LISTEN on one channel, on a connection of its own (a pooled connection goes back to the pool),
/// for as long as it runs: each notification bumps `signal`; a lost connection is made again
/// with backoff (100 ms doubling to 5 s), and the signal is bumped once the new LISTEN is in
/// place, so a waiter re-reads what it may have missed meanwhile. A notification is a wake-up,
/// never data: whoever waits reads the tables, so a missed one only delays.
public final class NotificationListener: Sendable {
    public let channel: String
    /// Bumped by every notification and after every (re)connection.
    public let signal = ChangeSignal()
    /// Bumped each time LISTEN is in place (`waitUntilListening`).
    private let listening = ChangeSignal()
    private let url: PostgresURL
    private let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)

    public init(store: PostgresRecommendationStore, channel: String) {
        self.url = store.url
        self.logger = store.logger
        self.channel = channel
    }

    deinit { task.withLock { $0?.cancel() } }

    /// Starts listening in the background (again after `close`); a no-op while running.
    public func start() {
        task.withLock { task in
            guard task == nil else { return }
            task = Task { [url, channel, logger, signal, listening] in
                var pause = Duration.milliseconds(100)
                var connectionID = 10
                while !Task.isCancelled {
                    do {
                        let connection = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(),
                                                                              id: connectionID, logger: logger)
                        connectionID += 1
                        do {
                            try await withTaskCancellationHandler {
                                try await connection.listen(on: channel) { notifications in
                                    pause = .milliseconds(100)
                                    listening.bump()
                                    signal.bump()
                                    for try await _ in notifications { signal.bump() }
                                }
                            } onCancel: {
                                connection.close().whenComplete { _ in }
                            }
                        } catch {}
                        try? await connection.close()
                    } catch {
                        logger.debug("listener for \(channel): \(error)")
                    }
                    if Task.isCancelled { break }
                    try? await Task.sleep(for: pause)
                    pause = min(pause * 2, .seconds(5))
                }
            }
        }
    }

    /// Waits until LISTEN is in place (at most `timeout`); true when it is.
    @discardableResult
    public func waitUntilListening(timeout: Duration) async -> Bool {
        await listening.wait(untilAtLeast: 1, timeout: timeout)
    }

    /// Stops listening and closes the connection.
    public func close() async {
        let running = task.withLock { task in
            defer { task = nil }
            return task
        }
        running?.cancel()
        await running?.value
    }
}

/// What a `/v1/events` stream on PostgreSQL waits on: one listener on `triage_event` per
/// process, shared by every stream. A stream reads the journal after its last id, then waits
/// for the next notification (any replica's insert into `event` notifies, see `OutboxSchema`)
/// or `slowPoll`, whichever comes first, and reads again: a notification missed while the
/// listener reconnects therefore delays an event by at most `slowPoll`, never loses it (the
/// journal is read by id, which increases in commit order).
public final class EventNotifier: Sendable {
    public let listener: NotificationListener
    /// The fallback when no notification comes: 2 s, ten times the poll it replaces, and still
    /// short beside a person watching a page.
    public let slowPoll: Duration

    public init(store: PostgresRecommendationStore, slowPoll: Duration = .seconds(2)) {
        listener = NotificationListener(store: store, channel: OutboxSchema.eventChannel)
        self.slowPoll = slowPoll
    }

    /// The counter to pass to `wait(after:)`: read it before reading the journal, so an insert
    /// notified during the read wakes the next wait at once.
    public var generation: UInt64 { listener.signal.generation }

    /// Starts the listener and waits (at most a second) until it listens, so an event committed
    /// after this returns wakes the stream.
    public func start() async {
        listener.start()
        await listener.waitUntilListening(timeout: .seconds(1))
    }

    /// Waits for a notification after `generation`, or `slowPoll`.
    public func wait(after generation: UInt64) async {
        await listener.signal.wait(untilAtLeast: generation &+ 1, timeout: slowPoll)
    }

    public func close() async { await listener.close() }
}
