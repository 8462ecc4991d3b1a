import Foundation
import GRDB
import Testing
@testable import TriageCore
@testable import TriageData
@testable import TriageEngine

/// The engine obeys the guards: an open breaker's action is never raised (the policy falls back
/// to the next allowed action and says why), the cooldown after an approved automated action
/// leaves only `alert`, and the settings reach the queue.
@Suite struct RemediationEngineGuardsTests {
    static let services = (1...8).map { String(format: "svc-%02d", $0) }

    /// Feeds 60 baseline rows then `failing` unhealthy rows of `service`; returns what was raised.
    static func incident(_ engine: RemediationEngine, service: String, failing count: Int = 20, now: Int64 = 2_000,
                         between: ((Recommendation) throws -> Void)? = nil) throws -> [Recommendation] {
        let (normal, failing) = RemediationEngineTests.rows(engine, service: service)
        var time: Int64 = 1_767_225_600
        var raised = [Recommendation]()
        for (values, rows) in [(normal, 60), (failing, count)] {
            for _ in 0..<rows {
                for case .recommendation(let r) in try engine.process(service: service, time: time, values: values, now: now) {
                    raised.append(r)
                    try between?(r)
                }
                time += 60
            }
        }
        return raised
    }

    /// Stores `action`'s breaker on `service` as open from `now` for the default wait.
    static func forceOpen(_ queue: ApprovalQueue, service: String, action: RemediationAction, now: Int64) throws {
        let breaker = try CircuitBreaker(state: .open, window: [true, true, true], openedAt: now, retryAt: now + 600)
        try queue.write { db in
            try ApprovalQueue.store(.init(service: service, action: action, breaker: breaker, trialID: nil), now: now, in: db)
        }
    }

    /// For every service: the action the engine raises first, then with that action's breaker
    /// forced open, another action, with the open breaker and its end in the reasons.
    @Test func anOpenBreakersActionIsNeverRaisedAndThePolicyFallsBack() throws {
        for service in Self.services {
            let free = try Self.incident(try RemediationEngineTests.engine(queue: try ApprovalQueue(path: Workspace().database)),
                                         service: service)
            let best = try #require(free.first?.action, "\(service) raised nothing")
            let w = Workspace()
            let queue = try ApprovalQueue(path: w.database)
            let engine = try RemediationEngineTests.engine(queue: queue)
            try Self.forceOpen(queue, service: service, action: best, now: 1_990)
            // Rejected at once, so the incident goes on to further recommendations while it is open.
            let approvers = try Approvers.load(w.allowlist)
            let raised = try Self.incident(engine, service: service, failing: 60) { r in
                try queue.reject(r.id, by: .http(tokenName: "alice"), reason: nil, approvers: approvers, now: 2_000)
            }
            #expect(!raised.isEmpty, "\(service): nothing raised with \(best.name)'s breaker open")
            #expect(!raised.contains { $0.action == best }, "\(service): \(best.name) raised while its breaker was open")
            let first = try #require(raised.first)
            #expect(first.reasons.contains { $0.contains("circuit breaker \(service)/\(best.name) is open") && $0.contains("until 1970-01-01T00:43:10Z") },
                    "\(service): \(first.reasons)")
            #expect(first.reasons.last?.hasPrefix("policy: ") == true)
        }
    }

    /// After the wait the breaker's action may come back, as its one trial.
    @Test func afterTheWaitTheActionReturnsAsTheTrial() throws {
        let service = "svc-01"
        let best = try #require(try Self.incident(try RemediationEngineTests.engine(queue: try ApprovalQueue(path: Workspace().database)),
                                                  service: service).first?.action)
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let engine = try RemediationEngineTests.engine(queue: queue)
        try Self.forceOpen(queue, service: service, action: best, now: 1_000)
        // Wall time 2 000 is past the retry time 1 600.
        let raised = try Self.incident(engine, service: service, now: 2_000)
        let trial = try #require(raised.first)
        #expect(trial.action == best && trial.reasons.contains { $0.contains("half-open: this is its one trial") })
    }

    @Test func theCooldownAfterAnApprovedActionLeavesOnlyAlert() throws {
        func secondRecommendation(cooldown: Int64, escalateAfterRows: Int) throws -> Recommendation? {
            let w = Workspace()
            let queue = try ApprovalQueue(path: w.database)
            var settings = RemediationEngine.Settings()
            settings.escalateAfterRows = escalateAfterRows
            settings.guards.cooldownSeconds = cooldown
            let engine = try RemediationEngineTests.engine(queue: queue, settings: settings)
            let approvers = try Approvers.load(w.allowlist)
            var first: RemediationAction?
            let raised = try Self.incident(engine, service: "svc-01", failing: 30) { r in
                guard first == nil else { return }
                first = r.action
                _ = try queue.approve(r.id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 2_000)
            }
            try #require(first != nil && first != .alert, "the first recommendation should be an automated action")
            return raised.dropFirst().first
        }
        // 2 rows of 60 s after the approved row: inside the 5 min cooldown.
        let inside = try #require(try secondRecommendation(cooldown: 300, escalateAfterRows: 2))
        #expect(inside.action == .alert)
        #expect(inside.reasons.contains { $0.hasPrefix("cooldown: ") && $0.contains("(alert only)") }, "\(inside.reasons)")
        // 6 rows = 6 min after it: past the cooldown, nothing said about it.
        if let after = try secondRecommendation(cooldown: 300, escalateAfterRows: 6) {
            #expect(!after.reasons.contains { $0.hasPrefix("cooldown: ") })
        }
        // A cooldown of 0 is none.
        if let none = try secondRecommendation(cooldown: 0, escalateAfterRows: 2) {
            #expect(!none.reasons.contains { $0.hasPrefix("cooldown: ") })
        }
    }

    /// Past a rate cap the engine still raises the recommendation, held with the reason, and
    /// approving it is refused (fail closed).
    @Test func aRecommendationRaisedPastACapIsHeld() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        var settings = RemediationEngine.Settings()
        settings.guards.approvalsPerServicePerHour = 1
        let engine = try RemediationEngineTests.engine(queue: queue, settings: settings)
        let approvers = try Approvers.load(w.allowlist)
        // An approval on svc-01 a minute of wall time before, for a row long before the incident
        // (so no cooldown applies).
        let earlier = try queue.raise(proposal("svc-01", at: 100, raisedAt: 1_900)).recommendation
        _ = try queue.approve(earlier.id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_940)
        let raised = try #require(try Self.incident(engine, service: "svc-01", now: 2_000).first)
        try #require(raised.action != .alert, "alerts are exempt from the caps: this check needs an automated action")
        #expect(raised.heldReason?.contains("cap 1 per service") == true && raised.heldUntil == 1_940 + 3_600)
        #expect(raised.reasons.contains { $0.hasPrefix("held: rate cap") })
        #expect(throws: EngineError.self) {
            _ = try queue.approve(raised.id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 2_010)
        }
    }

    @Test func theEngineInstallsItsGuardSettingsAndRefusesBadOnes() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        var settings = RemediationEngine.Settings()
        settings.guards.approvalsPerServicePerHour = 7
        settings.guards.breaker.waitSeconds = 120
        _ = try RemediationEngineTests.engine(queue: queue, settings: settings)
        #expect(try queue.guardSettings() == settings.guards)
        settings.guards.breaker.failureRateThreshold = 1.5
        #expect(throws: EngineError.self) { _ = try RemediationEngineTests.engine(queue: queue, settings: settings) }
        #expect(try queue.guardSettings()?.breaker.failureRateThreshold == 0.5)
    }
}
