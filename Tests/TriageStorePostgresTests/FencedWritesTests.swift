import Foundation
import PostgresNIO
import Testing
@testable import TriageEngine
@testable import TriageStorePostgres

/// The fencing rule against a real PostgreSQL: a replica paused past its lease can no longer
/// raise, save a checkpoint or consume inbox rows, and re-joins cleanly with new epochs.
@Suite struct FencedWritesTests {
    @Test(.enabled(if: ReplicaFixture.enabled)) func aPausedReplicaIsFencedThenRejoinsWithNewEpochs() async throws {
        let f = try await ReplicaFixture.make()
        let a = try await f.replica("a")
        try await a.register(services: services(2))
        let held = try await a.round().held
        #expect(held.map(\.epoch) == [1, 1])
        let aWrites = FencedWrites(store: a.store)
        let inbox = MetricsInbox(store: a.store)
        let stale = try #require(a.lease(for: "svc-01"))

        // While the lease holds: raise, append, checkpoint and consume all work.
        let raised = try await aWrites.raise(sampleRecommendation("svc-01", at: 100), under: stale)
        #expect(raised.isNew && raised.recommendation.id == "rec-000001")
        _ = try await inbox.append((1...3).map { InboxRow(service: "svc-01", at: Int64($0), body: "row \($0)") }, acceptedBy: "a")
        let consumed = try await aWrites.consumeInbox(under: stale, limit: 2) { checkpoint, rows in
            checkpoint.state = Data(rows.map(\.body).joined(separator: ";").utf8)
        }
        #expect(consumed == 2)

        // A stops renewing; B joins and, after A's lease time, takes both services.
        let b = try await f.replica("b")
        let taken = try await eventually("B takes both services") { () -> [Lease]? in
            let round = try await b.round()
            return round.held.count == 2 ? round.held : nil
        }
        #expect(taken.map(\.epoch) == [2, 2])

        // A's writes under its old epoch are refused, naming the new holder, and change nothing.
        let fenced = ReplicaError.fenced(service: "svc-01", epoch: 1, currentOwner: "b", currentEpoch: 2)
        await #expect(throws: fenced) { try await aWrites.raise(sampleRecommendation("svc-01", at: 160), under: stale) }
        await #expect(throws: fenced) {
            var late = ServiceCheckpoint(service: "svc-01", inboxPosition: 3)
            try await aWrites.saveCheckpoint(&late, under: stale)
        }
        await #expect(throws: fenced) {
            _ = try await aWrites.consumeInbox(under: stale) { checkpoint, _ in checkpoint.state = Data("lost".utf8) }
        }
        let saved = try await aWrites.checkpoint(for: "svc-01")
        #expect(saved.inboxPosition == 2 && saved.state == Data("row 1;row 2".utf8) && saved.savedEpoch == 1)
        #expect(try await inbox.pending(service: "svc-01", after: 2, limit: 10).map(\.body) == ["row 3"])
        #expect(try await a.store.list(status: nil, now: 1_000, after: nil, limit: 10).map(\.id) == ["rec-000001"])

        // B, the owner, resumes from the checkpoint; replaying A's row finds A's recommendation.
        let bWrites = FencedWrites(store: b.store)
        let bLease = try #require(b.lease(for: "svc-01"))
        let again = try await bWrites.raise(sampleRecommendation("svc-01", at: 100), under: bLease)
        #expect(!again.isNew && again.recommendation.id == "rec-000001")
        #expect(try await bWrites.consumeInbox(under: bLease) { checkpoint, rows in
            checkpoint.state = (checkpoint.state ?? Data()) + Data(rows.map { ";" + $0.body }.joined().utf8)
        } == 1)
        #expect(try await bWrites.checkpoint(for: "svc-01").state == Data("row 1;row 2;row 3".utf8))

        // A resumes: its round finds its registration lapsed, reports its leases lost, re-joins
        // and, once B hands one back, owns it under a new epoch.
        let back = try await a.round()
        #expect(back.lost.map(\.service) == ["svc-01", "svc-02"] && back.held.isEmpty && back.liveReplicas == 2)
        #expect(a.lease(for: "svc-01") == nil)
        try await rounds([b, a])
        let rejoined = try #require(a.leases.first)
        #expect(a.leases.count == 1 && b.leases.count == 1 && rejoined.epoch == 3)
        let fresh = try await aWrites.raise(sampleRecommendation(rejoined.service, at: 900), under: rejoined)
        #expect(fresh.isNew && fresh.recommendation.id == "rec-000002")
        await f.tearDown()
    }

    /// Fenced writes need an unexpired lease even when nobody took it over yet.
    @Test(.enabled(if: ReplicaFixture.enabled)) func anExpiredLeaseIsFencedBeforeAnyTakeover() async throws {
        let f = try await ReplicaFixture.make()
        let a = try await f.replica("a")
        try await a.register(services: ["api"])
        let lease = try #require(try await a.round().held.first)
        let writes = FencedWrites(store: a.store)
        var first = ServiceCheckpoint(service: "api", state: Data([1]))
        try await writes.saveCheckpoint(&first, under: lease)
        _ = try await eventually("the lease expires on the database's clock") { () -> Bool? in
            do {
                var next = ServiceCheckpoint(service: "api", state: Data([2]))
                try await writes.saveCheckpoint(&next, under: lease)
                return nil
            } catch ReplicaError.fenced(let service, let epoch, let owner, let current) {
                // Expired, not taken: the row still names A at epoch 1.
                #expect(service == "api" && epoch == 1 && owner == "a" && current == 1)
                return true
            }
        }
        await f.tearDown()
    }

    /// `triage_fence_v1` for an owner's other writes: SQLSTATE TF001 with the holder.
    @Test(.enabled(if: ReplicaFixture.enabled)) func theFenceFunctionRaisesItsOwnSQLState() async throws {
        let f = try await ReplicaFixture.make()
        let a = try await f.replica("a")
        try await a.register(services: ["api"])
        try await a.round()
        try await TestServer.withAdmin(database: f.database) { c in
            _ = try await c.query("SELECT triage_fence_v1('api', 1)", logger: TestServer.logger).collect()
            do {
                _ = try await c.query("SELECT triage_fence_v1('api', 7)", logger: TestServer.logger).collect()
                Issue.record("a stale epoch passed the fence")
            } catch let error as PSQLError {
                #expect(error.serverInfo?[.sqlState] == "TF001")
                #expect(error.serverInfo?[.detail] == "owner=a epoch=1")
            }
        }
        await f.tearDown()
    }

    @Test(.enabled(if: ReplicaFixture.enabled)) func aCheckpointNeverGoesBackNorPastTheInbox() async throws {
        let f = try await ReplicaFixture.make()
        let a = try await f.replica("a")
        let inbox = MetricsInbox(store: a.store)
        _ = try await inbox.append([InboxRow(service: "api", at: 1, body: "x"), InboxRow(service: "api", at: 2, body: "y")], acceptedBy: "a")
        let lease = try #require(try await a.round().held.first)
        let writes = FencedWrites(store: a.store)
        var checkpoint = try await writes.checkpoint(for: "api")
        checkpoint.inboxPosition = 2
        #expect(try await writes.saveCheckpoint(&checkpoint, under: lease) == 2)
        #expect(checkpoint.savedPosition == 2 && checkpoint.savedEpoch == 1)
        await #expect(throws: ReplicaError.checkpointOutOfRange(service: "api", position: 1, lowest: 2, highest: nil)) {
            var back = checkpoint
            back.inboxPosition = 1
            try await writes.saveCheckpoint(&back, under: lease)
        }
        await #expect(throws: ReplicaError.checkpointOutOfRange(service: "api", position: 5, lowest: nil, highest: 2)) {
            var ahead = checkpoint
            ahead.inboxPosition = 5
            try await writes.saveCheckpoint(&ahead, under: lease)
        }
        // A second consumer under the same lease that read the checkpoint before the first
        // saved: its save is refused, so the rows it processed do not count twice.
        await #expect(throws: ReplicaError.checkpointMoved(service: "api", expectedPosition: 0, storedPosition: 2)) {
            var stale = ServiceCheckpoint(service: "api", inboxPosition: 2)
            try await writes.saveCheckpoint(&stale, under: lease)
        }
        await #expect(throws: ReplicaError.self) {
            var other = ServiceCheckpoint(service: "web")
            try await writes.saveCheckpoint(&other, under: lease)
        }
        await f.tearDown()
    }
}
