import Foundation
import GRDB
import Testing
@testable import TriageCore
@testable import TriageEngine

/// The guards' state in the queue: breakers updated by outcomes and kept across reopening, their
/// transitions in the journal, half-open trials, rate caps that hold and refuse approvals.
@Suite struct ApprovalQueueGuardsTests {
    static func approveAndRecord(_ queue: ApprovalQueue, _ w: Workspace, service: String, action: RemediationAction,
                                 created: Int64, failed: Bool, now: Int64) throws -> String {
        let approvers = try Approvers.load(w.allowlist)
        let id = try queue.raise(proposal(service, at: created, raisedAt: now, action: action)).recommendation.id
        _ = try queue.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: now)
        try queue.recordOutcome(id, result: failed ? .failure : .success, recoverySeconds: 30, now: now + 10)
        return id
    }

    @Test func outcomesOpenTheBreakerWhichSurvivesReopeningAndIsJournaled() throws {
        let w = Workspace()
        do {
            let queue = try ApprovalQueue(path: w.database)
            for k in 0..<2 {
                _ = try Self.approveAndRecord(queue, w, service: "svc-01", action: .restart, created: Int64(100 + k), failed: true,
                                              now: 1_000 + Int64(k))
            }
            #expect(try queue.breakers(now: 1_100).map(\.state) == [.closed])
            _ = try Self.approveAndRecord(queue, w, service: "svc-01", action: .restart, created: 102, failed: false, now: 1_002)
            // Another action and another service keep their own breakers.
            _ = try Self.approveAndRecord(queue, w, service: "svc-02", action: .restart, created: 100, failed: true, now: 1_003)
        }
        let reopened = try ApprovalQueue(path: w.database, access: .readOnly)
        let listed = try reopened.breakers(now: 1_100)
        #expect(listed.count == 2)
        let open = try #require(listed.first)
        #expect(open.service == "svc-01" && open.action == .restart && open.state == .open)
        #expect(open.failures == 2 && open.outcomes == 3 && open.openedAt == 1_012 && open.retryAt == 1_612)
        #expect(listed[1].service == "svc-02" && listed[1].state == .closed && listed[1].failures == 1)
        // As of a later time it is half-open, without anything written.
        #expect(try reopened.breakers(now: 1_612).first?.state == .halfOpen)
        let json = open.json.serialized()
        for key in ["service", "action", "state", "failures", "outcomes", "opened_at", "retry_at"] { #expect(json.contains("\"\(key)\"")) }
        let journal = try reopened.events(after: 0, limit: 1_000).filter { $0.type == "breaker" }
        #expect(journal.count == 1)
        #expect(journal.first?.json.contains("\"from\":\"closed\"") == true && journal.first?.json.contains("\"to\":\"open\"") == true)
    }

    /// After the wait one trial recommendation is raised (and says so); no second while it waits;
    /// its success closes the breaker, its failure would open it again.
    @Test func halfOpenAllowsOneTrialWhoseOutcomeDecides() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        for k in 0..<3 {
            _ = try Self.approveAndRecord(queue, w, service: "svc-01", action: .restart, created: Int64(100 + k), failed: true, now: 1_000)
        }
        var facts = try queue.guardFacts(service: "svc-01", now: 1_100)
        var verdict = RemediationGuards.verdict(facts, service: "svc-01", candidates: .all, time: 500, now: 1_100, settings: .init())
        #expect(verdict.blocked == ActionSet(.restart) && verdict.reasons.first?.contains("svc-01/restart is open") == true)
        #expect(verdict.reasons.first?.contains("until 1970-01-01T00:26:50Z") == true)
        // After the wait: half-open, the trial free.
        facts = try queue.guardFacts(service: "svc-01", now: 1_700)
        verdict = RemediationGuards.verdict(facts, service: "svc-01", candidates: .all, time: 600, now: 1_700, settings: .init())
        #expect(verdict.blocked.isEmpty && verdict.trials == ActionSet(.restart))
        // The transition open → half_open was stored and journaled by that (writing) read.
        #expect(try queue.events(after: 0, limit: 1_000).filter { $0.type == "breaker" }.count == 2)
        let trial = try queue.raise(proposal("svc-01", at: 700, raisedAt: 1_700, action: .restart)).recommendation
        #expect(trial.reasons.contains { $0.contains("half-open: this is its one trial") })
        facts = try queue.guardFacts(service: "svc-01", now: 1_710)
        #expect(facts.breakers.first?.pendingTrial == trial.id)
        verdict = RemediationGuards.verdict(facts, service: "svc-01", candidates: .all, time: 710, now: 1_710, settings: .init())
        #expect(verdict.blocked == ActionSet(.restart) && verdict.reasons.first?.contains("awaits its outcome") == true)
        // A second raise of the action is not a trial.
        let other = try queue.raise(proposal("svc-01", at: 701, raisedAt: 1_701, action: .restart)).recommendation
        #expect(!other.reasons.contains { $0.contains("one trial") })
        let approvers = try Approvers.load(w.allowlist)
        _ = try queue.approve(trial.id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_720)
        try queue.recordOutcome(trial.id, result: .success, recoverySeconds: 20, now: 1_800)
        let closed = try #require(try queue.breakers(now: 1_800).first)
        #expect(closed.state == .closed && closed.outcomes == 0 && closed.openedAt == nil)
    }

    /// A rejected trial never ran: the slot is free again.
    @Test func aRejectedTrialFreesTheSlot() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        for k in 0..<3 {
            _ = try Self.approveAndRecord(queue, w, service: "svc-01", action: .failover, created: Int64(100 + k), failed: true, now: 1_000)
        }
        let trial = try queue.raise(proposal("svc-01", at: 700, raisedAt: 1_700, action: .failover)).recommendation
        #expect(try queue.guardFacts(service: "svc-01", now: 1_705).breakers.first?.pendingTrial == trial.id)
        try queue.reject(trial.id, by: .http(tokenName: "alice"), reason: nil, approvers: try Approvers.load(w.allowlist), now: 1_706)
        #expect(try queue.guardFacts(service: "svc-01", now: 1_707).breakers.first?.pendingTrial == nil)
    }

    /// The wall clock jumps back a year while a breaker is open: the next writer re-anchors the
    /// wait, so it is half-open one wait after the jump, not a year later.
    @Test func aClockGoingBackIsStoredAsAReanchoredWait() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let t: Int64 = 1_800_000_000, year: Int64 = 365 * 86_400
        for k in 0..<3 {
            _ = try Self.approveAndRecord(queue, w, service: "svc-01", action: .restart, created: Int64(100 + k), failed: true, now: t)
        }
        _ = try queue.guardFacts(service: "svc-01", now: t - year)
        let listed = try #require(try queue.breakers(now: t - year + 600).first)
        #expect(listed.state == .halfOpen && listed.retryAt == t - year + 600)
    }

    @Test func capsHoldAndRefuseApprovalUntilTheWindowAllows() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        var settings = RemediationGuards.Settings()
        settings.approvalsPerServicePerHour = 2
        settings.approvalsPerHour = 3
        try queue.installGuards(settings)
        #expect(try queue.guardSettings() == settings)
        let approvers = try Approvers.load(w.allowlist)
        func approve(_ id: String, at now: Int64) throws -> ApprovalQueue.Approval {
            try queue.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: now)
        }
        for (k, now) in [Int64(10_000), 10_100].enumerated() {
            let id = try queue.raise(proposal("svc-01", at: Int64(k), raisedAt: now, ttl: 86_400)).recommendation.id
            _ = try approve(id, at: now)
        }
        // The third on svc-01 within the hour is held when raised, and approving it is refused.
        let held = try queue.raise(proposal("svc-01", at: 5, raisedAt: 10_200, ttl: 86_400)).recommendation
        #expect(held.heldReason?.contains("cap 2 per service") == true && held.heldUntil == 13_600)
        #expect(held.reasons.contains { $0.hasPrefix("held: rate cap") })
        let json = held.json.serialized()
        #expect(json.contains("\"held\":true") && json.contains("\"held_until\":\"1970-01-01T03:46:40Z\""))
        #expect(throws: EngineError.held(id: held.id, reason: held.heldReason!, until: 13_600)) { try approve(held.id, at: 10_300) }
        #expect(try queue.recommendation(held.id, now: 10_300).status == .pending)
        // An alert is exempt; another service has room until the total cap.
        let alert = try queue.raise(proposal("svc-01", at: 6, raisedAt: 10_300, ttl: 86_400, action: .alert)).recommendation
        #expect(alert.heldReason == nil)
        if case .approved = try approve(alert.id, at: 10_310) {} else { Issue.record("the alert was not approved") }
        let other = try queue.raise(proposal("svc-02", at: 7, raisedAt: 10_320, ttl: 86_400)).recommendation
        #expect(other.heldReason == nil)
        _ = try approve(other.id, at: 10_330)
        let third = try queue.raise(proposal("svc-03", at: 8, raisedAt: 10_340, ttl: 86_400)).recommendation
        #expect(third.heldReason?.contains("cap 3 in all") == true && third.heldUntil == 13_600)
        // Once the first approval has left the hour, the held one goes through.
        #expect(throws: EngineError.self) { try approve(held.id, at: 13_599) }
        if case .approved(let r) = try approve(held.id, at: 13_600) { #expect(r.status == .approved) } else {
            Issue.record("the held recommendation was not approved once the window allowed it")
        }
    }

    /// A queue made before the guards (v4) is read as it is, without breakers, and upgraded by a writer.
    @Test func aQueueOfThePreviousReleaseIsReadAndUpgraded() throws {
        let w = Workspace()
        do {
            let old = try DatabaseQueue(path: w.database)
            try ApprovalQueue.migrator.migrate(old, upTo: "v4-list-order")
            try old.write { db in
                try db.execute(sql: """
                    INSERT INTO recommendation (id, service, action, confidence, created, raised_at, expires, status, reasons,
                        parameters, scores, symptoms, tried, idempotency_key, outbox_written)
                    VALUES ('rec-000001', 'svc-01', 'restart', 0.5, 100, 1000, 9000, 'pending', '[]', '{}', '{}',
                        '{"features":[],"levels":[]}', 0, 'k1', 0)
                    """)
            }
            try old.close()
        }
        let reader = try ApprovalQueue(path: w.database, access: .readOnly)
        #expect(try reader.breakers(now: 2_000).isEmpty)
        let r = try reader.recommendation("rec-000001", now: 2_000)
        #expect(r.heldReason == nil && r.json.serialized().contains("\"held\":false"))
        let writer = try ApprovalQueue(path: w.database)
        #expect(try writer.breakers(now: 2_000).isEmpty && writer.list(now: 2_000).count == 1)
    }

    @Test func guardSettingsOutOfRangeAreRefused() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        var s = RemediationGuards.Settings()
        s.approvalsPerHour = 0
        #expect(throws: EngineError.self) { try queue.installGuards(s) }
        s = RemediationGuards.Settings()
        s.cooldownSeconds = -1
        #expect(throws: EngineError.self) { try s.validate() }
        s = RemediationGuards.Settings()
        s.breaker.minimumOutcomes = 9
        do { try s.validate(); Issue.record("accepted") } catch {
            #expect(!error.description.contains("--"))
        }
    }
}
