import Foundation
import PostgresNIO
import Testing
@testable import TriageStorePostgres

/// One dispatcher at a time: the advisory lock is exclusive, and when its holder's connection
/// ends (released, or cut as by a killed process) another replica takes it.
@Suite struct DispatcherLockTests {
    @Test(.enabled(if: ReplicaFixture.enabled)) func oneHolderAtATimeAndTakeoverWhenItsConnectionDies() async throws {
        let f = try await ReplicaFixture.make()
        let first = DispatcherLock(store: try await f.store())
        let second = DispatcherLock(store: try await f.store())
        #expect(try await first.tryAcquire())
        #expect(try await first.tryAcquire(), "taking it again is a no-op")
        #expect(try await !second.tryAcquire())
        #expect(await first.isHeld())
        #expect(!(await second.isHeld()))
        #expect(try await first.withLockConnection { c in
            try await c.query("SELECT 1", logger: TestServer.logger).collect().count
        } == 1)

        // The holder's connection is cut (its process killed, say): the server frees the lock.
        let pid = try #require(await first.backendPID())
        try await TestServer.withAdmin { c in
            try await c.query("SELECT pg_terminate_backend(\(pid))", logger: TestServer.logger)
        }
        _ = try await eventually("the second replica takes the dispatcher lock") { () -> Bool? in
            try await second.tryAcquire() ? true : nil
        }
        #expect(!(await first.isHeld()))
        await #expect(throws: (any Error).self) {
            try await first.withLockConnection { c in try await c.query("SELECT 1", logger: TestServer.logger).collect().count }
        }
        #expect(try await !first.tryAcquire())

        // Released on purpose (a clean stop): the first takes it back.
        await second.release()
        #expect(try await first.tryAcquire())
        #expect(!(await second.isHeld()))

        // `acquire` waits for the lock and ends when cancelled.
        let waiting = Task { try await second.acquire(tryingEvery: .milliseconds(50)) }
        await first.release()
        try await waiting.value
        #expect(await second.isHeld())
        let cancelled = Task { try await first.acquire(tryingEvery: .milliseconds(50)) }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        await second.release()
        await f.tearDown()
    }
}
