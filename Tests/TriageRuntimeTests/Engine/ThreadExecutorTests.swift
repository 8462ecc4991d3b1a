import Dispatch
import Foundation
import Testing
import TriageRuntime

/// An actor on a `ThreadExecutor` runs on that thread, one job at a time, and may block there
/// waiting for work on the cooperative pool (what `EngineService` does with a PostgreSQL store).
@Suite struct ThreadExecutorTests {
    actor OnItsOwnThread {
        let executor = ThreadExecutor(name: "triage-test-executor")
        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
        var count = 0

        func onTheExecutorsThread() -> Bool { executor.isCurrent }
        func isMainThread() -> Bool { Thread.isMainThread }

        func bump() -> Int {
            precondition(executor.isCurrent)
            count += 1
            return count
        }

        /// Blocks this thread until a task on the cooperative pool answers.
        func waitForTheCooperativePool() -> Int {
            let done = DispatchSemaphore(value: 0)
            let answer = Answer()
            Task.detached {
                await Task.yield()
                answer.set(42)
                done.signal()
            }
            done.wait()
            return answer.value
        }
    }

    final class Answer: @unchecked Sendable {
        private let lock = NSLock()
        private var stored = 0
        var value: Int { lock.withLock { stored } }
        func set(_ value: Int) { lock.withLock { stored = value } }
    }

    @Test func jobsRunOnTheExecutorsThreadOneAtATime() async {
        let actor = OnItsOwnThread()
        #expect(await actor.onTheExecutorsThread())
        #expect(!actor.executor.isCurrent)
        #expect(await actor.isMainThread() == false)
        let results = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<1_000 { group.addTask { await actor.bump() } }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.sorted() == Array(1...1_000))
    }

    /// Many callers at once, each making an actor block on work that needs the cooperative pool:
    /// with the actors on the pool itself (two threads on this machine) this can deadlock; on
    /// threads of their own it ends.
    @Test func blockingOnTheActorsThreadDoesNotStarveThePool() async {
        // Four actors block at once: more than the pool's threads on this machine.
        let actors = (0..<4).map { _ in OnItsOwnThread() }
        let answers = await withTaskGroup(of: Int.self) { group in
            for index in 0..<16 { group.addTask { await actors[index % 4].waitForTheCooperativePool() } }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(answers == Array(repeating: 42, count: 16))
    }
}
