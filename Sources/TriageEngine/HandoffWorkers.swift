import Foundation
import Synchronization

/// Runs hand-offs in the background for a long-running process (`triage serve --exec`): one
/// thread per hand-off, started after the approval commits, so a slow command never holds a
/// request, an event loop or the engine actor.
///
/// Threads rather than tasks: `HookProcess` blocks its thread while the command runs (poll and
/// waitpid), and blocking the shared executor's few threads would stall every request. Hand-offs
/// follow approvals, which people make, so the number of threads stays small; a hand-off already
/// running in this process is not started twice.
public final class HandoffWorkers: Sendable {
    public let runner: HandoffRunner
    /// Called on the worker thread with each hand-off's end, or with an error that stopped it.
    let report: @Sendable (Result<HandoffRunner.Result, EngineError>, String) -> Void
    private let running = Mutex<Set<String>>([])
    /// Threads not yet finished (a drain counts as one).
    private let active = Mutex(0)

    public init(runner: HandoffRunner,
                report: @escaping @Sendable (Result<HandoffRunner.Result, EngineError>, String) -> Void) {
        self.runner = runner
        self.report = report
    }

    /// Hand-offs running or waiting for a retry in this process.
    public var inFlight: Int { active.withLock { $0 } }

    /// Starts the hand-off of `id` on its own thread, unless it already runs here or the
    /// process is stopping (it then stays queued for the next start).
    public func start(_ id: String) {
        guard !runner.stop.isSet else { return }
        let isNew = running.withLock { $0.insert(id).inserted }
        guard isNew else { return }
        launch { [self] in
            defer { _ = running.withLock { $0.remove(id) } }
            report(Result { () throws(EngineError) in try runner.handOff(id) }, id)
        }
    }

    /// Starts, in the background, every hand-off a previous run left unfinished (queued, started
    /// without a result, failed without its outcome): what `serve --exec` does when it starts.
    public func resumeUnfinished() {
        launch { [self] in
            switch Result(catching: { () throws(EngineError) in try runner.store.unfinishedHandoffs() }) {
            case .success(let ids): for id in ids { start(id) }
            case .failure(let error): report(.failure(error), "")
            }
        }
    }

    /// At shutdown: lets running hand-offs finish for up to `grace`, then stops the rest (their
    /// commands' groups are killed, their attempts stay started: the next start retries them
    /// with the same key) and waits for the threads to record that.
    public func shutdown(grace: Duration) {
        let deadline = ContinuousClock.now + grace
        while inFlight > 0 && ContinuousClock.now < deadline { usleep(10_000) }
        runner.stop.set()
        // After the stop a thread ends within one poll interval (50 ms) plus a database write.
        let hardDeadline = ContinuousClock.now + .seconds(5)
        while inFlight > 0 && ContinuousClock.now < hardDeadline { usleep(10_000) }
    }

    private func launch(_ body: @escaping @Sendable () -> Void) {
        active.withLock { $0 += 1 }
        let thread = Thread { [self] in
            body()
            active.withLock { $0 -= 1 }
        }
        thread.name = "triage-handoff"
        thread.start()
    }
}
