import Foundation
import Synchronization

/// A serial executor that runs its jobs on one thread of its own, outside Swift concurrency's
/// cooperative pool: an actor on it may block (`EngineService` with a PostgreSQL store waits
/// for postgres-nio on a semaphore, `PostgresApprovalStore`) without holding one of the pool's
/// threads, which on a 2-core machine are two: two blocked callers there would deadlock the
/// very tasks they wait for.
///
/// Why not a `DispatchQueue` as executor: a serial queue runs its work on libdispatch's worker
/// threads, the ones the cooperative pool is built from on Linux, so whether blocking there is
/// safe depends on the root queue it targets; a thread of our own is unambiguous.
///
/// The thread ends when the executor is released (its last actor gone) and its jobs have run.
public final class ThreadExecutor: SerialExecutor, Sendable {
    private let mailbox = Mailbox()

    public init(name: String) {
        let mailbox = self.mailbox
        let thread = Thread { mailbox.serve() }
        thread.name = name
        thread.start()
    }

    deinit { mailbox.close() }

    public func enqueue(_ job: consuming ExecutorJob) {
        mailbox.post(UnownedJob(job), executor: asUnownedSerialExecutor())
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    /// Whether the calling code runs on this executor's thread (what the tests check).
    public var isCurrent: Bool { mailbox.servesCurrentThread }

    /// The jobs waiting, shared by the executor and its thread (the thread must not keep the
    /// executor alive, or it would never be released).
    final class Mailbox: Sendable {
        private struct State {
            var jobs: [(job: UnownedJob, executor: UnownedSerialExecutor)] = []
            var next = 0
            var closed = false
        }
        private let state = Mutex(State())
        private let posted = DispatchSemaphore(value: 0)
        /// The serving thread, as a marker object in its thread dictionary.
        private static let markerKey = "triage.ThreadExecutor"

        var servesCurrentThread: Bool {
            (Thread.current.threadDictionary[Self.markerKey] as? Mailbox) === self
        }

        func post(_ job: UnownedJob, executor: UnownedSerialExecutor) {
            state.withLock { $0.jobs.append((job, executor)) }
            posted.signal()
        }

        func close() {
            state.withLock { $0.closed = true }
            posted.signal()
        }

        func serve() {
            Thread.current.threadDictionary[Self.markerKey] = self
            while true {
                posted.wait()
                let taken = state.withLock { state -> (job: UnownedJob, executor: UnownedSerialExecutor)?? in
                    guard state.next < state.jobs.count else { return state.closed ? .some(nil) : nil }
                    let job = state.jobs[state.next]
                    state.next += 1
                    // Compacted once drained, so the array does not grow with every job ever run.
                    if state.next == state.jobs.count {
                        state.jobs.removeAll(keepingCapacity: true)
                        state.next = 0
                    }
                    return .some(job)
                }
                switch taken {
                case .some(.some(let entry)): entry.job.runSynchronously(on: entry.executor)
                case .some(nil): return
                case nil: continue
                }
            }
        }
    }
}
