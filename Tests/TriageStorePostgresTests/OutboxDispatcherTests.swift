import Foundation
import PostgresNIO
import Testing
import TriageCore
import TriageEngine
@testable import TriageStorePostgres

/// The hand-off across replicas: the outbox table written in the approval's transaction, one
/// dispatcher at a time feeding `outbox.jsonl` exactly once (contention, takeover, a crash
/// between the file write and the mark), and the journal's notifications waking every
/// replica's event stream. Serialized: one database and one pair of dispatchers at a time, so
/// these tests add little load beside the suite's timing-sensitive lease tests (1.5 s leases).
@Suite(.serialized, .enabled(if: ReplicaFixture.enabled))
struct OutboxDispatcherTests {
    static let approvers = Approvers(path: "/nonexistent/approvers.txt", names: ["alice"])

    static func folder() throws -> String {
        let folder = NSTemporaryDirectory() + "triage-outbox-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    static func lines(_ outbox: Outbox) -> [String] {
        guard let data = FileManager.default.contents(atPath: outbox.path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    static func keys(_ outbox: Outbox) throws -> [String] {
        try lines(outbox).map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require(object["idempotency_key"] as? String)
        }
    }

    /// Raises `count` recommendations (one per service) and returns their ids.
    static func raise(_ count: Int, into store: PostgresRecommendationStore, from first: Int = 1) async throws -> [String] {
        var ids = [String]()
        for i in first..<(first + count) {
            ids.append(try await store.raise(sampleRecommendation(String(format: "svc-%02d", i), at: Int64(i))).recommendation.id)
        }
        return ids
    }

    static func undispatched(_ store: PostgresRecommendationStore) async throws -> Int64 {
        try await store.read { c in
            try await store.rows("SELECT COUNT(*) AS n FROM outbox WHERE dispatched_at IS NULL", on: c).first?["n"].decode(Int64.self) ?? -1
        }
    }

    /// Two dispatchers contend for one outbox: only the lock's holder writes; when its connection
    /// is cut (as when its process dies) the other takes over; every approval is one line, none
    /// twice, in approval order.
    @Test func exactlyOnceAcrossTwoContendingDispatchers() async throws {
        let f = try await ReplicaFixture.make()
        let folder = try Self.folder()
        let outbox = Outbox(path: folder + "/outbox.jsonl")
        let approving = try await f.store()
        var settings = OutboxDispatcher.Settings(outbox: outbox)
        settings.retry = .milliseconds(250)
        settings.poll = .milliseconds(500)
        let first = try OutboxDispatcher(store: try await f.store(), settings: settings)
        let second = try OutboxDispatcher(store: try await f.store(), settings: settings)
        let running = [Task { await first.run() }, Task { await second.run() }]
        let holder = try await eventually("one dispatcher holds the lock") { () -> OutboxDispatcher? in
            first.isDispatching ? first : second.isDispatching ? second : nil
        }
        let other = holder === first ? second : first
        #expect(!other.isDispatching)

        let ids = try await Self.raise(10, into: approving)
        for id in ids.prefix(5) {
            _ = try await approving.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: Self.approvers, outbox: outbox, now: 1_100)
        }
        _ = try await eventually("the holder writes five lines") { Self.lines(outbox).count == 5 ? true : nil }

        // The holder's connection is cut: the server frees the lock and the other takes over.
        let pid = try #require(await holder.lock.backendPID())
        try await TestServer.withAdmin { c in try await c.query("SELECT pg_terminate_backend(\(pid))", logger: TestServer.logger) }
        _ = try await eventually("the other dispatcher takes over") { other.isDispatching ? true : nil }
        for id in ids.suffix(5) {
            _ = try await approving.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: Self.approvers, outbox: outbox, now: 1_200)
        }
        _ = try await eventually("ten lines") { Self.lines(outbox).count >= 10 ? true : nil }
        try await Task.sleep(for: .milliseconds(700))
        let written = try Self.keys(outbox)
        let expected = try await ids.asyncMap { try await approving.recommendation($0, now: 1_300).idempotencyKey }
        #expect(written == expected, "each approval once, in approval order")
        #expect(try await Self.undispatched(approving) == 0)
        #expect(try await approving.recommendation(ids[9], now: 1_300).outboxWritten)
        for task in running { task.cancel() }
        for task in running { await task.value }
        #expect(!first.isDispatching && !second.isDispatching)
        await f.tearDown()
    }

    /// A dispatcher died after appending a line and before marking its row: the next pass finds
    /// the key in the file's tail, marks the row and writes nothing again; rows whose line never
    /// reached the file are written once.
    @Test func aCrashBetweenTheFileWriteAndTheMarkWritesNothingTwice() async throws {
        let f = try await ReplicaFixture.make()
        let folder = try Self.folder()
        let outbox = Outbox(path: folder + "/outbox.jsonl")
        let store = try await f.store()
        let ids = try await Self.raise(3, into: store)
        // Another dispatcher holds the lock: the approvals leave their rows in the table.
        let elsewhere = DispatcherLock(store: try await f.store())
        #expect(try await elsewhere.tryAcquire())
        for id in ids {
            _ = try await store.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: Self.approvers, outbox: outbox, now: 1_100)
        }
        #expect(Self.lines(outbox).isEmpty)
        #expect(try await Self.undispatched(store) == 3)
        #expect(try await !store.recommendation(ids[0], now: 1_100).outboxWritten)
        // The holder appends the first row's line and dies before marking it.
        let firstLine = try await store.read { c in
            try await store.rows("SELECT line FROM outbox ORDER BY seq LIMIT 1", on: c).first?["line"].decode(String.self) ?? ""
        }
        try outbox.append(firstLine)
        let pid = try #require(await elsewhere.backendPID())
        try await TestServer.withAdmin { c in try await c.query("SELECT pg_terminate_backend(\(pid))", logger: TestServer.logger) }

        let written = try await eventually("the lock is free again") { () -> Int? in
            let n = try await store.flushOutbox(outbox)
            return try await Self.undispatched(store) == 0 ? n : nil
        }
        #expect(written == 2, "the line already in the file is not written again")
        let expected = try await ids.asyncMap { try await store.recommendation($0, now: 1_200).idempotencyKey }
        #expect(try Self.keys(outbox) == expected)
        #expect(try await store.recommendation(ids[0], now: 1_200).outboxWritten)
        #expect(try await store.flushOutbox(outbox) == 0)
        await f.tearDown()
    }

    /// An approval made before the outbox table existed (or by an older Triage beside this one)
    /// has no outbox row: the dispatcher adopts it and writes its line once.
    @Test func anApprovalWithoutAnOutboxRowIsAdopted() async throws {
        let f = try await ReplicaFixture.make()
        let folder = try Self.folder()
        let outbox = Outbox(path: folder + "/outbox.jsonl")
        let store = try await f.store()
        let id = try await Self.raise(1, into: store)[0]
        let elsewhere = DispatcherLock(store: try await f.store())
        #expect(try await elsewhere.tryAcquire())
        _ = try await store.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: Self.approvers, outbox: outbox, now: 1_100)
        try await TestServer.execute("DELETE FROM outbox", in: f.database)
        await elsewhere.release()
        #expect(try await store.flushOutbox(outbox) == 1)
        #expect(try Self.keys(outbox) == [try await store.recommendation(id, now: 1_200).idempotencyKey])
        #expect(try await store.flushOutbox(outbox) == 0)
        await f.tearDown()
    }

    /// An event journalled through one store wakes the listeners of two others (two replicas'
    /// streams) at once, with the fallback poll far away; after the listener's connection is
    /// cut, it reconnects and wakes its waiters, so nothing written meanwhile is missed.
    @Test func journalInsertsWakeEveryReplicasListener() async throws {
        let f = try await ReplicaFixture.make()
        let writer = try await f.store()
        let notifiers = [EventNotifier(store: try await f.store(), slowPoll: .seconds(60)),
                         EventNotifier(store: try await f.store(), slowPoll: .seconds(60))]
        for notifier in notifiers { await notifier.start() }
        let before = try await writer.lastEventID()
        let generations = notifiers.map(\.generation)
        let started = ContinuousClock.now
        try await writer.appendEvents([(type: "state", json: .object(["service": .string("svc-01")]))], now: 1_000)
        for (notifier, generation) in zip(notifiers, generations) { await notifier.wait(after: generation) }
        let waited = ContinuousClock.now - started
        #expect(waited < .seconds(10), "woken by the notification, not the 60 s poll (\(waited))")
        #expect(notifiers[0].listener.signal.generation > generations[0])
        let seen = try await writer.events(after: before, limit: 10)
        #expect(seen.map(\.type) == ["state"])

        // The listeners' connections are cut; an event is written meanwhile.
        let generation = notifiers[0].generation
        try await TestServer.withAdmin { c in
            try await c.query("""
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(f.database) AND query ILIKE 'LISTEN%'
                """, logger: TestServer.logger)
        }
        try await writer.appendEvents([(type: "state", json: .object(["service": .string("svc-02")]))], now: 1_001)
        let reconnected = ContinuousClock.now
        await notifiers[0].wait(after: generation)
        #expect(ContinuousClock.now - reconnected < .seconds(20), "woken after reconnecting")
        #expect(try await writer.events(after: before, limit: 10).count == 2)
        for notifier in notifiers { await notifier.close() }
        await f.tearDown()
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async throws -> [T] {
        var mapped = [T]()
        for element in self { mapped.append(try await transform(element)) }
        return mapped
    }
}
