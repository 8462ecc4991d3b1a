import Foundation
import Synchronization

/// Runs `work` in a task of its own and returns its value, or nil once `timeout` passes — without
/// waiting for `work` to end (it is cancelled and left to finish on its own).
///
/// Why not a task group racing a sleep: a group waits for all its children before it returns,
/// and a statement on a connection the server terminated was seen never to answer, even
/// cancelled (postgres-nio 1.33.2), so the group never returned either. Used for the dispatcher
/// lock's statements, which must give up on a lost connection.
func withDeadline<T: Sendable>(_ timeout: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T? {
    let race = DeadlineRace<T>()
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T?, any Error>) in
        race.start(continuation)
        let worker = Task {
            do { race.finish(.success(try await work())) } catch { race.finish(.failure(error)) }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled {
                worker.cancel()
                race.finish(.success(nil))
            }
        }
        race.onFinish { timer.cancel() }
    }
}

/// The continuation of `withDeadline`, resumed by whichever of the work and the timer ends first.
private final class DeadlineRace<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T?, any Error>?, cleanup: (@Sendable () -> Void)?, done: Bool)>((nil, nil, false))

    func start(_ continuation: CheckedContinuation<T?, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Runs `cleanup` when the race ends (at once if it already has).
    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.done { return true }
            state.cleanup = cleanup
            return false
        }
        if now { cleanup() }
    }

    func finish(_ result: Result<T?, any Error>) {
        let (continuation, cleanup) = state.withLock { state in
            defer {
                state.continuation = nil
                state.cleanup = nil
                state.done = true
            }
            return (state.continuation, state.cleanup)
        }
        continuation?.resume(with: result)
        cleanup?()
    }
}
