import Foundation
import Testing
@testable import TriageCore
@testable import TriageData
@testable import TriageEngine

/// The HPA rule in the engine over the shipped bundle (models/simulated): `scale_up` asks for the
/// rule's count; `scale_down` is raised only after a healthy, below-target window, once while
/// pending, never during an incident, through the queue.
@Suite struct RemediationEngineScalingTests {
    static let service = "svc-03" // baseline: CPU 41.8 %, 134.9 req/s over 5 replicas

    /// The baseline row with CPU and request rate at `share` of normal.
    static func quiet(_ engine: RemediationEngine, share: Double) -> [Double] {
        var row = engine.detectors.baselines[service]!.median
        row[ServiceMetric.cpu.rawValue] *= share
        row[ServiceMetric.requestRate.rawValue] *= share
        return row
    }

    @Test func scaleDownComesAfterTheWindowOnceAndWaitsAnotherAfterItsDecision() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let engine = try RemediationEngineTests.engine(queue: queue)
        let feed = EngineFeed(engine, service: Self.service)
        let normal = engine.detectors.baselines[Self.service]!.median
        try feed(normal, 30)
        #expect(feed.raised.isEmpty) // at the baseline the rule asks for no change
        let quiet = Self.quiet(engine, share: 0.6)
        try feed(quiet, 5)
        #expect(engine.states[Self.service] == .healthy)
        // Rows at 0…240 s of the run: not yet a full 5-minute window.
        #expect(feed.raised.isEmpty)
        try feed(quiet, 1)
        let first = try #require(feed.raised.first)
        // 5 replicas × 0.6 = 3.
        #expect(feed.raised.count == 1 && first.action == .scaleDown && first.parameters == ["replicas": 3])
        #expect(first.status == .pending && first.id == "rec-000001" && first.tried.isEmpty && first.symptoms.levels.isEmpty)
        #expect(first.reasons[0].hasPrefix("scaling: HPA rule: ") && first.reasons[0].contains("ceil(5 × 0.60) = 3"))
        #expect(first.reasons[1].contains("stabilisation window"))
        // Pending: not repeated.
        try feed(quiet, 20)
        #expect(feed.raised.count == 1)

        // Approved: another full window from the row that sees the decision.
        let approvers = try Approvers.load(w.allowlist)
        _ = try queue.approve(first.id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 2_100)
        feed.events = []
        try feed(quiet, 5, now: 2_200)
        #expect(feed.raised.isEmpty)
        try feed(quiet, 1, now: 2_200)
        #expect(feed.raised.map(\.action) == [.scaleDown])
        // The outcome of a rule's action teaches the policy nothing (it has no symptoms).
        let learned = try queue.recordOutcome(first.id, result: .success, recoverySeconds: 60, now: 2_300).learned
        #expect(!learned)
    }

    /// The guards hold for `scale_down` too: with its breaker open nothing is raised, however
    /// long the window has held; once the wait is over it comes back (as the breaker's trial).
    @Test func anOpenBreakerOnScaleDownHoldsItBack() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let engine = try RemediationEngineTests.engine(queue: queue)
        try RemediationEngineGuardsTests.forceOpen(queue, service: Self.service, action: .scaleDown, now: 1_990)
        let feed = EngineFeed(engine, service: Self.service)
        try feed(engine.detectors.baselines[Self.service]!.median, 30)
        let quiet = Self.quiet(engine, share: 0.6)
        try feed(quiet, 20)
        #expect(engine.states[Self.service] == .healthy)
        #expect(feed.raised.isEmpty, "\(feed.raised.map(\.action))")
        // Wall time past the retry time (1 990 + 600): the window still holds, so it is raised.
        try feed(quiet, 1, now: 2_700)
        #expect(feed.raised.map(\.action) == [.scaleDown])
    }

    @Test func neverDuringAnIncidentAndTheWindowRestartsAfterIt() throws {
        let engine = try RemediationEngineTests.engine(queue: nil)
        let feed = EngineFeed(engine, service: Self.service)
        var failingQuiet = Self.quiet(engine, share: 0.6)
        failingQuiet[ServiceMetric.latency.rawValue] *= 40
        failingQuiet[ServiceMetric.errorRate.rawValue] = 0.3
        try feed(engine.detectors.baselines[Self.service]!.median, 30)
        try feed(failingQuiet, 40)
        #expect(engine.states[Self.service]?.isIncident == true)
        #expect(!feed.raised.contains { $0.action == .scaleDown })
        #expect(feed.raised.allSatisfy { $0.action.isIncidentAction })
        // Recovery (5 normal rows closes it), then a full window of healthy quiet rows.
        feed.events = []
        let quiet = Self.quiet(engine, share: 0.6)
        try feed(quiet, 5)
        // The fifth normal row closes the incident and is the first of a new run.
        #expect(engine.states[Self.service] == .healthy)
        try feed(quiet, 4)
        #expect(feed.raised.isEmpty)
        try feed(quiet, 1)
        #expect(feed.raised.map(\.action) == [.scaleDown])
        // Without a queue it is not repeated while the replica count it was for stands.
        try feed(quiet, 20)
        #expect(feed.raised.count == 1)
    }

    @Test func scaleUpAsksForTheRuleCountWithinTheBounds() throws {
        let engine = try RemediationEngineTests.engine(queue: nil)
        var busy = engine.detectors.baselines[Self.service]!.median
        busy[ServiceMetric.cpu.rawValue] = 83.6       // 2 × the 41.8 % target
        busy[ServiceMetric.requestRate.rawValue] *= 3 // 3 × the per-replica target
        let up = try #require(engine.scaleUpParameters(service: Self.service, values: busy))
        // max(ceil(5 × 2), ceil(5 × 3)) = 15, within the default bounds 1…20 (4 × 5 replicas).
        #expect(up.parameters == ["replicas": 15] && up.reason.contains("request rate"))
        busy[ServiceMetric.requestRate.rawValue] *= 10
        #expect(engine.scaleUpParameters(service: Self.service, values: busy)?.parameters == ["replicas": 20])
        // The policy chose to add capacity: at least one more even when the rule asks for none.
        let normal = engine.detectors.baselines[Self.service]!.median
        #expect(engine.scaleUpParameters(service: Self.service, values: normal)?.parameters == ["replicas": 6])
        // Already at the maximum: no count to ask for, and the reason says so.
        var full = normal
        full[ServiceMetric.replicas.rawValue] = 20
        let atMax = try #require(engine.scaleUpParameters(service: Self.service, values: full))
        #expect(atMax.parameters.isEmpty && atMax.reason.contains("maximum of 20"))
        // No replica count: nothing to compute from.
        var unknown = normal
        unknown[ServiceMetric.replicas.rawValue] = .nan
        #expect(engine.scaleUpParameters(service: Self.service, values: unknown) == nil)
    }

    @Test func targetsFromAFileOverrideTheBaseline() throws {
        var settings = RemediationEngine.Settings()
        settings.scalingTargets = try ScalingTargets.parse("service,cpu,max_replicas\nsvc-03,20,8\n", path: "t.csv")
        let engine = try RemediationEngineTests.engine(queue: nil, settings: settings)
        let normal = engine.detectors.baselines[Self.service]!.median
        // CPU 41.8 % against 20 %: ceil(5 × 2.09) = 11, clamped to 8.
        #expect(engine.scaleUpParameters(service: Self.service, values: normal)?.parameters == ["replicas": 8])
    }

    /// An incident log may not hold `scale_down` (the learner has no column for it), and a
    /// policy refuses to learn it.
    @Test func thePolicyNeverLearnsOrPicksScaleDown() throws {
        let engine = try RemediationEngineTests.engine(queue: nil)
        var policy = try #require(engine.policy)
        #expect(policy.costs.count == 5 && policy.learner.prior.count == 5)
        #expect(throws: EstimatorError.self) {
            try policy.learn(Symptoms(features: [], levels: [1, 1, 0, 0, 0, 0, 0]), tried: [], action: .scaleDown,
                             seconds: 60, succeeded: true)
        }
        // Even when asked to choose among everything, the learner never returns it.
        let every = ActionSet(RemediationAction.allCases)
        let symptoms = Symptoms(features: [], levels: [1, 1, 2, 2, 0, 0, 0])
        #expect(policy.recommend(symptoms, allowed: every) != .scaleDown)
        #expect(policy.recommend(symptoms, allowed: ActionSet(.scaleDown)) == nil)
    }
}
