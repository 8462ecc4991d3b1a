import Foundation
import Testing
@testable import TriageCore
@testable import TriageData
@testable import TriageEngine

/// The critical state in the engine over the shipped bundle: each of the three causes escalates
/// an open incident, the event says why and against which threshold, a critical service gets
/// `alert` unless the policy's choice has strong evidence, and recovery closes it as usual.
@Suite struct RemediationEngineCriticalTests {
    static let service = "svc-01"

    /// Strong evidence never (the default would depend on how much the shipped policy saw).
    static func settings(strongAlways: Bool = false, incidentLimit: Int64 = 1_800) -> RemediationEngine.Settings {
        var settings = RemediationEngine.Settings()
        settings.critical.incidentLimitSeconds = incidentLimit
        if strongAlways {
            settings.critical.strongEvidenceAttempts = 1
            settings.critical.strongEvidenceConfidence = 0
        } else {
            settings.critical.strongEvidenceAttempts = 1_000_000
        }
        return settings
    }

    @Test func aLostHeartbeatEscalatesAndAPersonIsAsked() throws {
        let engine = try RemediationEngineTests.engine(queue: nil, settings: Self.settings())
        let feed = EngineFeed(engine, service: Self.service)
        let (normal, plainFailing) = RemediationEngineTests.rows(engine, service: Self.service)
        var failing = plainFailing
        failing[ServiceMetric.heartbeatAge.rawValue] = 400
        try feed(normal, 60)
        try feed(failing, 10)
        #expect(feed.changes.map(\.to) == [.degraded, .unhealthy, .critical])
        let critical = try #require(feed.changes.last)
        #expect(critical.from == .unhealthy && critical.escalation == .init(cause: .heartbeatLost, observed: "400 s", threshold: "300 s"))
        // The incident's first recommendation is the loop's own answer, not escalated though the
        // heartbeat was already lost on its row; still lost on the next row, a person is asked.
        #expect(feed.raised.count == 2)
        let first = try #require(feed.raised.first)
        #expect(first.action != .alert && !first.reasons[0].hasPrefix("critical:"))
        let r = try #require(feed.raised.last)
        #expect(r.action == .alert && r.created == first.created + 60)
        #expect(r.reasons[0].hasPrefix("critical: heartbeat lost (400 s old, limit 300 s); escalated to a person (alert)"))
        // The event carries the cause and the threshold crossed.
        let event = try #require(feed.events.first { if case .state(_, _, _, .critical, _) = $0 { true } else { false } })
        #expect(event.json.serialized().hasPrefix(
            #"{"cause":"heartbeat_lost","from":"unhealthy","observed":"400 s","service":"svc-01","state":"critical","threshold":"300 s","timestamp":"#))
        #expect(engine.escalations[Self.service]?.cause == .heartbeatLost)
        // critical → healthy by the recovery rule of unhealthy: five normal rows.
        feed.events = []
        try feed(normal, 4)
        #expect(engine.states[Self.service] == .critical)
        try feed(normal, 1)
        #expect(feed.changes.map(\.to) == [.healthy] && engine.escalations.isEmpty)
    }

    @Test func anIncidentOutlivingItsLimitEscalates() throws {
        let engine = try RemediationEngineTests.engine(queue: nil, settings: Self.settings(incidentLimit: 600))
        let feed = EngineFeed(engine, service: Self.service)
        let (normal, failing) = RemediationEngineTests.rows(engine, service: Self.service)
        try feed(normal, 60)
        try feed(failing, 12)
        // Opened at the third failing row; 600 s later (the 13th) it is not yet critical …
        #expect(engine.states[Self.service] == .unhealthy)
        try feed(failing, 1)
        #expect(engine.states[Self.service] == .critical)
        #expect(feed.changes.last?.escalation == .init(cause: .incidentLimit, observed: "600 s", threshold: "600 s"))
        // … and the escalation raises a second recommendation even without a queue: a person.
        #expect(feed.raised.count == 2 && feed.raised[1].action == .alert && feed.raised[0].action != .alert)
        #expect(feed.raised[1].reasons[0].hasPrefix("critical: incident open 600 s (limit 600 s)"))
        try feed(failing, 30)
        #expect(feed.raised.count == 2)
    }

    @Test func aFailedOutcomeEscalatesThroughTheQueue() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let engine = try RemediationEngineTests.engine(queue: queue, settings: Self.settings())
        let feed = EngineFeed(engine, service: Self.service)
        let (normal, failing) = RemediationEngineTests.rows(engine, service: Self.service)
        try feed(normal, 60)
        try feed(failing, 5)
        let first = try #require(feed.raised.first)
        #expect(engine.states[Self.service] == .unhealthy && first.action != .alert)
        let approvers = try Approvers.load(w.allowlist)
        _ = try queue.approve(first.id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 2_100)
        try feed(failing, 2, now: 2_200)
        // Approved, no outcome yet: still unhealthy.
        #expect(engine.states[Self.service] == .unhealthy)
        try queue.recordOutcome(first.id, result: .failure, recoverySeconds: 120, now: 2_300)
        feed.events = []
        try feed(failing, 1, now: 2_400)
        #expect(feed.changes.map(\.to) == [.critical])
        #expect(feed.changes[0].escalation == .init(cause: .outcomeFailed, observed: first.action.name, threshold: "a failed outcome"))
        // The escalation does not wait `escalateAfterRows`: a person is asked on that row.
        #expect(feed.raised.map(\.action) == [.alert])
        #expect(feed.raised[0].reasons[0].hasPrefix("critical: an approved action failed (\(first.action.name))"))
        #expect(feed.raised[0].tried.contains(first.action))
    }

    @Test func strongEvidenceKeepsThePolicysChoice() throws {
        let engine = try RemediationEngineTests.engine(queue: nil, settings: Self.settings(strongAlways: true))
        let feed = EngineFeed(engine, service: Self.service)
        let (normal, plainFailing) = RemediationEngineTests.rows(engine, service: Self.service)
        var failing = plainFailing
        failing[ServiceMetric.heartbeatAge.rawValue] = 400
        try feed(normal, 60)
        try feed(failing, 4)
        // The incident opens on the third failing row; the heartbeat escalates after its first
        // recommendation, on the fourth.
        #expect(feed.raised.count == 2)
        let r = try #require(feed.raised.last)
        #expect(engine.states[Self.service] == .critical)
        if r.action != .alert {
            #expect(r.reasons[0].contains("kept: strong evidence"))
        } else {
            #expect(r.reasons[0].contains("escalated to a person (alert)"))
        }
        // Whatever the policy picks, it is what it picks when nothing escalates.
        var never = RemediationEngine.Settings()
        never.critical.heartbeatLostSeconds = 86_400
        let plain = try RemediationEngineTests.engine(queue: nil, settings: never)
        let plainFeed = EngineFeed(plain, service: Self.service)
        try plainFeed(normal, 60)
        try plainFeed(failing, 3)
        #expect(plain.states[Self.service] == .unhealthy)
        #expect(plainFeed.raised.first?.action == r.action)
    }

    @Test func strongEvidenceIsBothThresholds() {
        let rule = CriticalEscalation()
        #expect(rule.hasStrongEvidence(attempts: 20, confidence: 0.75))
        #expect(!rule.hasStrongEvidence(attempts: 19, confidence: 0.99))
        #expect(!rule.hasStrongEvidence(attempts: 500, confidence: 0.74))
        var bad = CriticalEscalation()
        bad.incidentLimitSeconds = 0
        #expect(throws: EngineError.self) { try bad.validate() }
        bad = CriticalEscalation()
        bad.heartbeatLostSeconds = .nan
        #expect(throws: EngineError.self) { try bad.validate() }
        bad = CriticalEscalation()
        bad.strongEvidenceConfidence = 1.5
        #expect(throws: EngineError.self) { try bad.validate() }
        // A missing heartbeat is not a lost one; a huge one is (and prints without trapping).
        #expect(rule.escalation(incidentStart: 0, time: 60, heartbeatAge: .nan, failedAction: nil) == nil)
        #expect(rule.escalation(incidentStart: 0, time: 60, heartbeatAge: 1e300, failedAction: nil)?.cause == .heartbeatLost)
        // Not before the incident's first recommendation; the incident limit still applies.
        #expect(rule.escalation(incidentStart: 0, time: 60, heartbeatAge: 400, failedAction: nil, recommended: false) == nil)
        #expect(rule.escalation(incidentStart: 0, time: 1_800, heartbeatAge: 400, failedAction: nil, recommended: false)?.cause == .incidentLimit)
        // The first cause in order wins.
        #expect(rule.escalation(incidentStart: 0, time: 7_200, heartbeatAge: 900, failedAction: .restart)?.cause == .outcomeFailed)
    }

    /// A state checkpointed before the critical state and scale_down existed restores, and the
    /// restored engine carries on (escalating the still-open incident).
    @Test func aCheckpointOfThePreviousVersionRestores() throws {
        let engine = try RemediationEngineTests.engine(queue: nil, settings: Self.settings(incidentLimit: 600))
        let feed = EngineFeed(engine, service: Self.service)
        let (normal, failing) = RemediationEngineTests.rows(engine, service: Self.service)
        try feed(normal, 60)
        try feed(failing, 5)
        // The previous version wrote exactly these keys per service.
        var object = try #require(try JSONSerialization.jsonObject(with: try engine.checkpoint()) as? [String: [String: Any]])
        var service = try #require(object[Self.service])
        for key in ["escalation", "escalation_due", "scale_down"] { service.removeValue(forKey: key) }
        #expect(Set(service.keys) == ["tracker", "capacity", "times_i64le", "values_f64le", "incidentStart",
                                      "incidentRecommendations", "raisedWithoutQueue", "rowsSinceRecommendation"])
        object[Self.service] = service
        let restored = try RemediationEngineTests.engine(queue: nil, settings: Self.settings(incidentLimit: 600))
        try restored.restore(try JSONSerialization.data(withJSONObject: object))
        #expect(restored.states[Self.service] == .unhealthy && restored.escalations.isEmpty)
        let resumed = EngineFeed(restored, service: Self.service)
        resumed.time = feed.time
        try resumed(failing, 10)
        #expect(restored.states[Self.service] == .critical)
    }
}
