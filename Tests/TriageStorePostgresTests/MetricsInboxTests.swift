import Foundation
import Synchronization
import Testing
@testable import TriageStorePostgres

/// The metrics inbox against a real PostgreSQL: per-service order, late rows refused, a
/// notification per append, and exactly-once processing under concurrent appenders and
/// consumers with a takeover in the middle.
@Suite struct MetricsInboxTests {
    @Test(.enabled(if: ReplicaFixture.enabled)) func rowsAreNumberedPerServiceInTimeOrderAndLateRowsRefused() async throws {
        let f = try await ReplicaFixture.make()
        let inbox = MetricsInbox(store: try await f.store())
        let receipt = try await inbox.append([
            InboxRow(service: "api", at: 20, body: "api-20"), InboxRow(service: "web", at: 5, body: "web-5"),
            InboxRow(service: "api", at: 10, body: "api-10"), InboxRow(service: "api", at: 20, body: "api-20b"),
        ], acceptedBy: "r1")
        #expect(receipt == InboxReceipt(accepted: 4, late: 0))
        let late = try await inbox.append([InboxRow(service: "api", at: 15, body: "api-15"), InboxRow(service: "api", at: 30, body: "api-30")],
                                          acceptedBy: "r2")
        #expect(late == InboxReceipt(accepted: 1, late: 1))
        let api = try await inbox.pending(service: "api", after: 0, limit: 10)
        #expect(api.map(\.seq) == [1, 2, 3, 4] && api.map(\.body) == ["api-10", "api-20", "api-20b", "api-30"])
        #expect(try await inbox.pending(service: "web", after: 0, limit: 10).map(\.seq) == [1])
        #expect(try await inbox.pending(service: "api", after: 2, limit: 1).map(\.body) == ["api-20b"])
        #expect(try await inbox.servicesWithPendingRows(among: ["api", "web", "db"]) == ["api", "web"])
        // A service first seen in the inbox gets a free lease, so some replica will own it.
        let keeper = try await LeaseKeeper.join(store: inbox.store, replica: "r1", settings: ReplicaFixture.shortLeases)
        #expect(try await keeper.round().held.map(\.service) == ["api", "web"])
        await f.tearDown()
    }

    /// Batches (one per service of a request, as `serve --replica` appends): numbered as one
    /// entry each, stored at their last row's time, and refused all together when one begins
    /// before its service's newest accepted row — nothing of the request is appended then.
    @Test(.enabled(if: ReplicaFixture.enabled)) func batchesAreAllOrNothingAndOrderedByTheirSpan() async throws {
        let f = try await ReplicaFixture.make()
        let inbox = MetricsInbox(store: try await f.store())
        let first = try await inbox.append(batches: [
            InboxBatch(service: "api", firstAt: 10, lastAt: 30, rowCount: 3, body: "a1"),
            InboxBatch(service: "web", firstAt: 5, lastAt: 5, rowCount: 1, body: "w1"),
        ], acceptedBy: "r1")
        #expect(first == .accepted(rows: 4))
        // api's next batch may begin at 30 (a tie), not at 20: and web's rows are not kept either.
        let late = try await inbox.append(batches: [
            InboxBatch(service: "web", firstAt: 6, lastAt: 9, rowCount: 2, body: "w2"),
            InboxBatch(service: "api", firstAt: 20, lastAt: 40, rowCount: 2, body: "a2"),
        ], acceptedBy: "r2")
        #expect(late == .late(service: "api", first: 20, newest: 30))
        #expect(try await inbox.pending(service: "web", after: 0, limit: 10).map(\.body) == ["w1"])
        #expect(try await inbox.append(batches: [InboxBatch(service: "api", firstAt: 30, lastAt: 31, rowCount: 2, body: "a3")],
                                       acceptedBy: "r2") == .accepted(rows: 2))
        let api = try await inbox.pending(service: "api", after: 0, limit: 10)
        #expect(api.map(\.seq) == [1, 2] && api.map(\.at) == [30, 31] && api.map(\.body) == ["a1", "a3"])
        // Malformed batches are refused before any round trip.
        for bad in [[InboxBatch(service: "x", firstAt: 2, lastAt: 1, rowCount: 1, body: "")],
                    [InboxBatch(service: "x", firstAt: 1, lastAt: 1, rowCount: 1, body: ""),
                     InboxBatch(service: "x", firstAt: 2, lastAt: 2, rowCount: 1, body: "")]] {
            await #expect(throws: ReplicaError.self) { _ = try await inbox.append(batches: bad, acceptedBy: "r1") }
        }
        await f.tearDown()
    }

    /// A checkpoint saved with events journals them in its transaction; a fenced one journals
    /// nothing.
    @Test(.enabled(if: ReplicaFixture.enabled)) func checkpointEventsAreJournaledOnlyWhenItSaves() async throws {
        let f = try await ReplicaFixture.make()
        let store = try await f.store()
        let inbox = MetricsInbox(store: store)
        _ = try await inbox.append(batches: [InboxBatch(service: "api", firstAt: 1, lastAt: 2, rowCount: 2, body: "b")], acceptedBy: "r1")
        let keeper = try await f.replica("r1")
        let lease = try #require(try await keeper.round().held.first)
        let writes = FencedWrites(store: store)
        var checkpoint = try await writes.checkpoint(for: "api")
        checkpoint.inboxPosition = 1
        let before = try await store.lastEventID()
        let consumed = try await writes.saveCheckpoint(&checkpoint, under: lease, events: [("state", #"{"service":"api","to":"unhealthy"}"#)], now: 5)
        #expect(consumed == 1)
        let journal = try await store.events(after: before, limit: 10)
        #expect(journal.count == 1 && journal[0].type == "state")
        // Under a stale epoch: refused, nothing journaled.
        let stale = Lease(service: "api", replica: "r1", epoch: lease.epoch - 1)
        await #expect(throws: ReplicaError.self) {
            _ = try await writes.saveCheckpoint(&checkpoint, under: stale, events: [("state", "{}")], now: 6)
        }
        #expect(try await store.events(after: before, limit: 10).count == 1)
        await f.tearDown()
    }

    @Test(.enabled(if: ReplicaFixture.enabled)) func anAppendWakesAListener() async throws {
        let f = try await ReplicaFixture.make()
        let inbox = MetricsInbox(store: try await f.store())
        let listener = try await inbox.listen()
        _ = try await inbox.append([InboxRow(service: "api", at: 1, body: "{}"), InboxRow(service: "api", at: 2, body: "{}")], acceptedBy: "r1")
        var iterator = listener.services.makeAsyncIterator()
        // One notification per service and append (PostgreSQL folds duplicates in a transaction).
        #expect(await iterator.next() == "api")
        await listener.close()
        await f.tearDown()
    }

    /// Three appenders and two replicas consuming at once; A stops renewing halfway (paused)
    /// and keeps writing under its old leases, as a paused replica resuming would; B takes over.
    /// Each service's final checkpoint — the only place a consumer's work counts — lists every
    /// accepted row exactly once, in sequence and time order.
    @Test(.enabled(if: ReplicaFixture.enabled)) func exactlyOnceInOrderAcrossATakeover() async throws {
        let f = try await ReplicaFixture.make()
        let names = services(4)
        let a = try await f.replica("a")
        try await a.register(services: names)
        #expect(try await a.round().held.count == 4)
        let staleLeases = a.leases
        let appendStore = try await f.store()
        let totals = Locked((accepted: 0, late: 0))
        @Sendable func append(_ rows: [InboxRow], by replica: String) async throws {
            let receipt = try await MetricsInbox(store: appendStore).append(rows, acceptedBy: replica)
            totals.withLock { $0.accepted += receipt.accepted; $0.late += receipt.late }
        }

        // The appenders: every batch has a row for each service; times interleave across
        // appenders, so some rows arrive late and are refused (and counted).
        let appenders = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for appender in 0..<3 {
                    group.addTask {
                        for batch in 0..<40 {
                            let at = Int64(batch * 3 + appender)
                            try await append(names.map { InboxRow(service: $0, at: at, body: "\(appender)") }, by: "r\(appender)")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }

        /// Consumes under `leases` while `running`, counting fenced writes in `fenced`.
        @Sendable func consume(_ writes: FencedWrites, leases: @escaping @Sendable () -> [Lease],
                               while running: Locked<Bool>, fenced: Locked<Int>) async throws {
            while running.withLock({ $0 }) {
                var any = false
                for lease in leases() {
                    do {
                        let n = try await writes.consumeInbox(under: lease, limit: 7) { checkpoint, rows in
                            var log = try checkpoint.state.map { try JSONDecoder().decode([[Int64]].self, from: $0) } ?? []
                            log += rows.map { [$0.seq, $0.at] }
                            checkpoint.state = try JSONEncoder().encode(log)
                        }
                        any = any || n > 0
                    } catch ReplicaError.fenced {
                        fenced.withLock { $0 += 1 }
                    }
                }
                if !any { try await Task.sleep(for: .milliseconds(20)) }
            }
        }

        // A renews and consumes until it has processed some rows, then stops renewing but goes
        // on consuming under the leases it took first.
        let aRenewing = Locked(true), aConsuming = Locked(true), aFenced = Locked(0)
        let aKeeper = Task {
            while aRenewing.withLock({ $0 }) {
                try await a.round()
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let aWrites = FencedWrites(store: a.store)
        let aConsumer = Task { try await consume(aWrites, leases: { staleLeases }, while: aConsuming, fenced: aFenced) }
        _ = try await eventually("A consumed some rows") { () -> Bool? in
            try await aWrites.checkpoint(for: "svc-01").inboxPosition > 10 ? true : nil
        }
        aRenewing.withLock { $0 = false }
        try await aKeeper.value

        // B joins and, once A's leases expire, takes all four services.
        let b = try await f.replica("b")
        let bRenewing = Locked(true), bConsuming = Locked(true), bFenced = Locked(0)
        let bKeeper = Task {
            while bRenewing.withLock({ $0 }) {
                try await b.round()
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        _ = try await eventually("B holds the four services") { b.leases.count == 4 ? true : nil }
        // Before B consumes, rows are pending (a batch newer than any appender's) and A, still
        // consuming under its old leases, runs into the fence.
        try await append(names.map { InboxRow(service: $0, at: 1_000, body: "last") }, by: "r0")
        _ = try await eventually("A's writes are fenced") { aFenced.withLock { $0 } > 0 ? true : nil }
        let bConsumer = Task { try await consume(FencedWrites(store: b.store), leases: { b.leases }, while: bConsuming, fenced: bFenced) }
        try await appenders.value
        _ = try await eventually("every accepted row consumed") { () -> Bool? in
            try await MetricsInbox(store: b.store).servicesWithPendingRows(among: names).isEmpty ? true : nil
        }
        for flag in [aConsuming, bConsuming, bRenewing] { flag.withLock { $0 = false } }
        try await aConsumer.value
        try await bConsumer.value
        try await bKeeper.value

        let (accepted, late) = totals.withLock { ($0.accepted, $0.late) }
        #expect(accepted + late == 3 * 40 * 4 + 4 && accepted > 0)
        #expect(bFenced.withLock { $0 } == 0, "B's leases held throughout")
        var processed = 0
        for service in names {
            let checkpoint = try await FencedWrites(store: b.store).checkpoint(for: service)
            let log = try JSONDecoder().decode([[Int64]].self, from: try #require(checkpoint.state))
            #expect(log.map { $0[0] } == Array(1...Int64(log.count)), "\(service): each row once, in sequence order")
            #expect(log.map { $0[1] } == log.map { $0[1] }.sorted(), "\(service): in time order")
            #expect(checkpoint.inboxPosition == Int64(log.count) && checkpoint.savedEpoch == 2)
            processed += log.count
        }
        #expect(processed == accepted)
        await f.tearDown()
    }
}
