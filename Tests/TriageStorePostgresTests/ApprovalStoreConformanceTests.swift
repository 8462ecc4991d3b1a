import Foundation
import Testing
import TriageCore
import TriageData
@testable import TriageEngine
import TriageStorePostgres

/// The engine's synchronous store (`ApprovalStore`) on both databases: guards and breakers, caps,
/// the learned policy, the change stamp, guard facts, decisions, counts and checkpoints behave
/// alike. Each test runs on SQLite and, when a server is given, on PostgreSQL (blocking on
/// postgres-nio from a thread of its own, as `watch` does from its main thread).
@Suite struct ApprovalStoreConformanceTests {
    static let settings: RemediationGuards.Settings = {
        var settings = RemediationGuards.Settings()
        settings.approvalsPerServicePerHour = 3
        return settings
    }()

    static func policy() throws -> RemediationPolicy {
        let episodes = (0..<7).map { k in
            RemediationPolicy.Episode(symptoms: sampleSymptoms, attempts: [(.restart, 100, k != 0), (.alert, 2000, true)].prefix(k == 0 ? 2 : 1).map { $0 })
        }
        return try RemediationPolicy.train(episodes)
    }

    static func proposal(_ service: String, created: Int64, raisedAt: Int64, action: RemediationAction = .restart) -> Recommendation {
        sampleRecommendation(service, at: created, raisedAt: raisedAt, ttl: 86_400, action: action)
    }

    /// One script of everything the guards and the policy do, asserting as it goes; returns what
    /// it saw (records, journal, breakers) with the store's random instance neutralised, so the
    /// two stores' transcripts can be compared.
    static func guardScript(_ s: any ApprovalStore, approvers: Approvers, outbox: Outbox, instance: String) throws -> [String] {
        #expect(try s.guardSettings() == nil)
        try s.installGuards(settings)
        #expect(try s.guardSettings() == settings)
        #expect(try s.policy() == nil && s.policyRevision() == nil)
        let policy = try policy()
        try s.installPolicy(policy, source: "bundle-sha", now: 1_000)
        #expect(try s.policy()?.policy == policy)
        let installed = try #require(try s.policyRevision())
        let startStamp = try s.changeStamp()
        #expect(startStamp.policyRevision == installed)

        // Three approvals of svc-01 in the hour: the fourth raise is held, its approval refused.
        var ids = [String]()
        for k in 1...3 {
            let id = try s.raise(proposal("svc-01", created: Int64(k), raisedAt: 1_000)).recommendation.id
            _ = try s.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: outbox, handOff: false, now: 1_100)
            ids.append(id)
        }
        let held = try s.raise(proposal("svc-01", created: 4, raisedAt: 1_200)).recommendation
        #expect(held.heldReason?.contains("rate cap") == true)
        #expect(throws: EngineError.self) {
            try s.approve(held.id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: outbox, handOff: false,
                          now: 1_200)
        }
        // Two failures in three outcomes open the breaker; each outcome teaches the policy once.
        for (k, id) in ids.enumerated() {
            let recorded = try s.recordOutcome(id, result: k == 2 ? .success : .failure, recoverySeconds: 60, now: 1_300)
            #expect(recorded.learned)
        }
        #expect(try s.policy()?.outcomesLearned == 3)
        let stamp = try s.changeStamp()
        #expect(stamp.policyRevision != installed && stamp.guardRevision != startStamp.guardRevision)
        #expect(stamp.lastEventID > startStamp.lastEventID)
        let breakers = try s.breakers(now: 1_400)
        #expect(breakers.count == 1 && breakers.first?.state == .open && breakers.first?.failures == 2 && breakers.first?.outcomes == 3)
        let facts = try s.guardFacts(service: "svc-01", now: 1_400)
        #expect(facts.breakers.map(\.action) == [.restart] && facts.lastApproval?.action == .restart && facts.lastApproval?.created == 3)
        // The wait over, the breaker turns half-open (stored and journalled); the next raise of its
        // action is the trial, and no second one is while it waits.
        let later = 1_300 + CircuitBreaker.Settings().waitSeconds
        _ = try s.guardFacts(service: "svc-01", now: later)
        #expect(try s.breakers(now: later).first?.state == .halfOpen)
        let trial = try s.raise(proposal("svc-01", created: 5, raisedAt: later)).recommendation
        #expect(trial.reasons.contains(RemediationGuards.trialReason(service: "svc-01", action: .restart)))
        let trialFacts = try s.guardFacts(service: "svc-01", now: later)
        #expect(trialFacts.breakers.first?.pendingTrial == trial.id)
        let second = try s.raise(proposal("svc-01", created: 6, raisedAt: later)).recommendation
        #expect(!second.reasons.contains(RemediationGuards.trialReason(service: "svc-01", action: .restart)))
        // Decisions of a few ids (unknown ones absent) and the counts by status.
        let decisions = try s.decisions(of: [ids[0], held.id, trial.id, "rec-999999"])
        #expect(decisions.count == 3 && decisions[ids[0]]?.outcome == .failure && decisions[held.id]?.status == .pending)
        let counts = try s.countsByStatus(now: later)
        #expect(counts[.approved] == 3 && counts[.pending] == 3)
        // A replayed row raises nothing new, guarded or not.
        #expect(try s.raise(proposal("svc-01", created: 5, raisedAt: later + 10)).isNew == false)

        func neutral(_ text: String) -> String { text.replacingOccurrences(of: instance, with: "INSTANCE") }
        var transcript = try s.list(status: nil, now: later).map { neutral($0.json.serialized()) }
        transcript += try s.breakers(now: later).map { $0.json.serialized() }
        return transcript
    }

    @Test(arguments: StoreKind.available)
    func guardsCapsAndThePolicyBehaveAlike(kind: StoreKind) async throws {
        let f = try await StoreFixture.make(kind)
        defer { Task { await f.tearDown() } }
        let store = f.approvalStore, approvers = f.approvers, outbox = f.outbox, instance = f.store.instance
        _ = try await onOwnThread { try Self.guardScript(store, approvers: approvers, outbox: outbox, instance: instance) }
    }

    /// The same script on both stores: the same records, breakers and journal (types and
    /// bodies), but for the random instance.
    @Test(.enabled(if: StoreKind.postgresURL != nil))
    func bothStoresGuardAlike() async throws {
        var answers = [[String]]()
        for kind in StoreKind.allCases {
            let f = try await StoreFixture.make(kind)
            defer { Task { await f.tearDown() } }
            let store = f.approvalStore, approvers = f.approvers, outbox = f.outbox, instance = f.store.instance
            var transcript = try await onOwnThread {
                try Self.guardScript(store, approvers: approvers, outbox: outbox, instance: instance)
            }
            transcript += try await f.store.events(after: 0, limit: 1_000).map {
                "\($0.id) \($0.type) \($0.json.replacingOccurrences(of: instance, with: "INSTANCE"))"
            }
            answers.append(transcript)
        }
        #expect(answers[0] == answers[1])
    }

    struct OutputsLost: Error {}

    /// A checkpoint commits only when the caller's outputs were made durable: when that fails,
    /// the position stays as it was and the caller's error comes back as it came.
    @Test(arguments: StoreKind.available)
    func aCheckpointCommitsOnlyAfterItsOutputs(kind: StoreKind) async throws {
        let f = try await StoreFixture.make(kind)
        defer { Task { await f.tearDown() } }
        let store = f.approvalStore
        let first = ApprovalQueue.ReadPosition(device: 1, inode: 2, offset: 30, line: 4, engineState: Data("{}".utf8))
        let second = ApprovalQueue.ReadPosition(device: 1, inode: 2, offset: 90, line: 9, engineState: Data("{\"a\":1}".utf8))
        let ran = try await onOwnThread { () throws -> Bool in
            var ran = false
            try store.saveReadPosition(first, source: "/m.csv", now: 5, beforeCommit: { ran = true })
            return ran
        }
        #expect(ran)
        let failed = try await onOwnThread { () -> Bool in
            do {
                try store.saveReadPosition(second, source: "/m.csv", now: 6, beforeCommit: { throw OutputsLost() })
                return false
            } catch is OutputsLost {
                return true
            }
        }
        #expect(failed)
        #expect(try await onOwnThread { try store.readPosition(source: "/m.csv") } == first)
        try await onOwnThread { try store.saveReadPosition(second, source: "/m.csv", now: 7) }
        #expect(try await onOwnThread { try store.readPosition(source: "/m.csv") } == second)
    }

    /// An approval that asks for a hand-off queues it in the approval's transaction, on both
    /// stores: the audit (`handoff`, shown by `approvals show`) says `queued` with the
    /// recommendation's idempotency key, and the outbox line is written all the same.
    @Test(arguments: StoreKind.available)
    func anApprovalWithAHandOffQueuesIt(_ kind: StoreKind) async throws {
        let f = try await StoreFixture.make(kind)
        defer { Task { await f.tearDown() } }
        let store = f.approvalStore, approvers = f.approvers, outbox = f.outbox
        let id = try await f.store.raise(sampleRecommendation("svc-01", at: 1)).recommendation.id
        let approved = try await onOwnThread { () -> Recommendation in
            guard case .approved(let record) = try store.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers,
                                                                 outbox: outbox, handOff: true, now: 1_100) else {
                throw EngineError.invalid("not newly approved")
            }
            return record
        }
        let handoff = try #require(try await onOwnThread { try store.handoff(id) })
        #expect(handoff.state == .queued && handoff.idempotencyKey == approved.idempotencyKey && handoff.attempts.isEmpty)
        #expect(f.outboxLines().count == 1)
        let shown = try await onOwnThread { try store.jsonWithHandoff(approved) }
        #expect(shown.serialized().contains("\"state\":\"queued\""))
    }
}
