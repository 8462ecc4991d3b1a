import Foundation
import Testing
@testable import TriageCore
@testable import TriageData
@testable import TriageEngine

/// The engine over the shipped bundle (models/simulated): rows at a service's baseline are
/// healthy; a burst of errors and latency opens an incident and raises one recommendation.
@Suite struct RemediationEngineTests {
    static let bundlePath: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path + "/models/simulated" }
        }
        fatalError("package root not found")
    }()

    static func engine(queue: ApprovalQueue?, settings: RemediationEngine.Settings = .init()) throws -> RemediationEngine {
        let bundle = try ModelBundle.open(bundlePath)
        let detectors = try #require(try BundleDetectors(bundle))
        let policy = try bundle.model(RemediationPolicy.self, role: "policy", kind: "remediation-policy")
        return try RemediationEngine(detectors: detectors, policy: policy, policySource: "test", queue: queue,
                                     settings: settings, now: 1_000)
    }

    /// The baseline row of `service`, and the same with p99 latency ×40 and 30 % errors.
    static func rows(_ engine: RemediationEngine, service: String) -> (normal: [Double], failing: [Double]) {
        let normal = engine.detectors.baselines[service]!.median
        var failing = normal
        failing[ServiceMetric.latency.rawValue] *= 40
        failing[ServiceMetric.errorRate.rawValue] = 0.3
        return (normal, failing)
    }

    @Test func anIncidentRaisesOneRecommendationWithReasons() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let engine = try Self.engine(queue: queue)
        let (normal, failing) = Self.rows(engine, service: "svc-01")
        var time: Int64 = 1_767_225_600
        var events = [EngineEvent]()
        func feed(_ values: [Double], _ count: Int) throws {
            for _ in 0..<count {
                events += try engine.process(service: "svc-01", time: time, values: values, now: 2_000)
                time += 60
            }
        }
        try feed(normal, 60)
        #expect(engine.states["svc-01"] == .healthy)
        #expect(!events.contains { $0.type == "state" || $0.type == "recommendation" })
        try feed(failing, 20)
        let states = events.compactMap { event -> HealthState? in
            if case .state(_, _, _, let to, _) = event { return to } else { return nil }
        }
        #expect(states == [.degraded, .unhealthy])
        let raised = events.compactMap { event -> Recommendation? in
            if case .recommendation(let r) = event { return r } else { return nil }
        }
        // One question per incident while it waits for a person.
        #expect(raised.count == 1)
        let r = try #require(raised.first)
        #expect(r.id == "rec-000001" && r.service == "svc-01" && r.status == .pending)
        #expect(r.created == 1_767_225_600 + 62 * 60 && r.raisedAt == 2_000 && r.expires == 2_000 + 1_800)
        #expect(r.reasons.contains { $0.hasPrefix("latency_p99_ms is") } && r.reasons.last!.hasPrefix("policy: "))
        #expect(r.scores["iforest"] != nil && (0...1).contains(r.confidence))
        #expect(try queue.list(now: 2_000).map(\.id) == ["rec-000001"])

        // Rejected: after `escalateAfterRows` more unhealthy rows the next-best other action comes.
        let approvers = try Approvers.load(w.allowlist)
        try queue.reject(r.id, by: .http(tokenName: "alice"), reason: "not that", approvers: approvers, now: 2_100)
        events = []
        try feed(failing, 12)
        let next = events.compactMap { event -> Recommendation? in
            if case .recommendation(let r) = event { return r } else { return nil }
        }
        #expect(next.count == 1 && next[0].action != r.action)

        // Recovery closes the incident; a new one raises again although rec-000002 still waits.
        events = []
        try feed(normal, 6)
        #expect(engine.states["svc-01"] == .healthy)
        try feed(failing, 4)
        #expect(events.filter { $0.type == "recommendation" }.count == 1)
    }

    /// Batches read the queue's decisions once, not once per row: a decision taken by someone
    /// else (another handle on the file, like `triage approvals` or the server) is seen by the
    /// next batch; the batch path raises what the row path raises.
    @Test func batchesSeeDecisionsTakenBetweenThemAndRaiseWhatRowsRaise() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let engine = try Self.engine(queue: queue)
        let (normal, failing) = Self.rows(engine, service: "svc-01")
        var time: Int64 = 1_767_225_600
        func batch(_ values: [Double], _ count: Int) throws -> [Recommendation] {
            let rows = (0..<count).map { k in (service: "svc-01", time: time + Int64(k) * 60, values: values) }
            time += Int64(count) * 60
            return try engine.process(batch: rows, now: 2_000).joined().compactMap { event -> Recommendation? in
                if case .recommendation(let r) = event { return r } else { return nil }
            }
        }
        #expect(try batch(normal, 60).isEmpty)
        let first = try batch(failing, 20)
        #expect(first.count == 1 && first[0].id == "rec-000001")
        // Pending: later batches raise nothing more.
        #expect(try batch(failing, 30).isEmpty)
        let other = try ApprovalQueue(path: w.database)
        try other.reject(first[0].id, by: .http(tokenName: "alice"), reason: "no", approvers: try Approvers.load(w.allowlist), now: 2_100)
        let next = try batch(failing, 12)
        #expect(next.count == 1 && next[0].action != first[0].action)
        #expect(next[0].reasons.contains { $0.hasPrefix("policy: ") })

        // The same rows one by one raise the same recommendations at the same rows.
        let w2 = Workspace()
        let queue2 = try ApprovalQueue(path: w2.database)
        let single = try Self.engine(queue: queue2)
        var time2: Int64 = 1_767_225_600
        var raised = [Recommendation]()
        for (values, count) in [(normal, 60), (failing, 50)] {
            for _ in 0..<count {
                for case .recommendation(let r) in try single.process(service: "svc-01", time: time2, values: values, now: 2_000) {
                    raised.append(r)
                }
                time2 += 60
            }
        }
        #expect(raised.map(\.created) == [first[0].created] && raised.map(\.action) == [first[0].action])
    }

    /// The checkpoint keeps each service's history as raw bytes: gaps (NaN) and ±inf come back
    /// exactly, a state checkpointed by the previous release (history as JSON numbers, "nan" for
    /// gaps) still restores, and bytes that are not whole words are refused, not trapped on.
    @Test func checkpointsKeepHistoryExactlyAndReadThePreviousForm() throws {
        let engine = try Self.engine(queue: nil)
        let (normal, _) = Self.rows(engine, service: "svc-01")
        for k in 0..<70 {
            var row = normal
            if k == 65 { row[ServiceMetric.cpu.rawValue] = .nan }
            if k == 66 { row[ServiceMetric.memory.rawValue] = .infinity }
            _ = try engine.process(service: "svc-01", time: Int64(k) * 60, values: row, now: 10)
        }
        let saved = try engine.checkpoint()
        let restored = try Self.engine(queue: nil)
        try restored.restore(saved)
        let a = try #require(engine.monitors["svc-01"]), b = try #require(restored.monitors["svc-01"])
        #expect(a.times == b.times && a.tracker == b.tracker && a.capacity == b.capacity)
        #expect(zip(a.values, b.values).allSatisfy { x, y in x.map(\.bitPattern) == y.map(\.bitPattern) })
        #expect(b.values[ServiceMetric.cpu.rawValue].contains { $0.isNaN } && b.values[ServiceMetric.memory.rawValue].contains(.infinity))

        // The previous form: the same state with the history as numbers.
        var object = try #require(try JSONSerialization.jsonObject(with: saved) as? [String: [String: Any]])
        var service = try #require(object["svc-01"])
        service["times"] = a.times
        service["values"] = a.values.map { $0.map { v -> Any in v.isNaN ? "nan" as Any : v == .infinity ? "inf" as Any : v as Any } }
        service["times_i64le"] = nil
        service["values_f64le"] = nil
        object["svc-01"] = service
        let old = try Self.engine(queue: nil)
        try old.restore(try JSONSerialization.data(withJSONObject: object))
        let c = try #require(old.monitors["svc-01"])
        #expect(c.times == a.times && zip(a.values, c.values).allSatisfy { x, y in x.map(\.bitPattern) == y.map(\.bitPattern) })

        service = try #require((try JSONSerialization.jsonObject(with: saved) as? [String: [String: Any]])?["svc-01"])
        service["times_i64le"] = Data([1, 2, 3]).base64EncodedString()
        #expect(throws: EngineError.self) { try old.restore(try JSONSerialization.data(withJSONObject: ["svc-01": service])) }
    }

    /// A restart mid-incident (checkpoint → new engine → restore) continues the incident: the
    /// state stays unhealthy and no second recommendation is raised while the first waits.
    @Test func aRestoredEngineContinuesAnOpenIncident() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let first = try Self.engine(queue: queue)
        let (normal, failing) = Self.rows(first, service: "svc-01")
        var time: Int64 = 0
        for k in 0..<66 {
            _ = try first.process(service: "svc-01", time: time, values: k < 60 ? normal : failing, now: 10)
            time += 60
        }
        #expect(first.states["svc-01"] == .unhealthy)
        #expect(try queue.list(now: 10).count == 1)
        let saved = try first.checkpoint()
        let second = try Self.engine(queue: queue)
        try second.restore(saved)
        #expect(second.states == first.states)
        var events = [EngineEvent]()
        for _ in 0..<20 {
            events += try second.process(service: "svc-01", time: time, values: failing, now: 20)
            time += 60
        }
        #expect(!events.contains { $0.type == "state" || $0.type == "recommendation" })
        #expect(throws: EngineError.self) { try second.restore(Data("{\"svc-01\": 3}".utf8)) }
    }

    @Test func withoutAQueueRecommendationsAreEventsOnly() throws {
        let engine = try Self.engine(queue: nil)
        let (normal, failing) = Self.rows(engine, service: "svc-02")
        var raised = [Recommendation]()
        for k in 0..<80 {
            for event in try engine.process(service: "svc-02", time: Int64(k * 60), values: k < 60 ? normal : failing, now: 5) {
                if case .recommendation(let r) = event { raised.append(r) }
            }
        }
        #expect(raised.count == 1 && raised[0].id.isEmpty)
        guard case .object(let json) = EngineEvent.recommendation(raised[0]).json else { Issue.record("not an object"); return }
        #expect(json["id"] == .null && json["type"] == .string("recommendation") && json["service"] == .string("svc-02"))
        let unknown = try engine.process(service: "svc-99", time: 0, values: normal, now: 5)
        #expect(unknown.map(\.type) == ["unknown_service"])
    }

    /// `scale_up`'s count now comes from the HPA rule (RemediationEngineScalingTests has the
    /// rule's cases): with utilisation far below target the rule asks for fewer, yet the policy
    /// chose to add capacity, so it is one more (it was "half as many again" before the rule).
    @Test func parametersAndSettings() throws {
        let engine = try Self.engine(queue: nil)
        var values = [Double](repeating: 1, count: ServiceMetric.allCases.count)
        values[ServiceMetric.replicas.rawValue] = 4
        #expect(engine.scaleUpParameters(service: "svc-01", values: values)?.parameters == ["replicas": 5])
        values[ServiceMetric.replicas.rawValue] = 1
        #expect(engine.scaleUpParameters(service: "svc-01", values: values)?.parameters == ["replicas": 2])
        values[ServiceMetric.replicas.rawValue] = .nan
        #expect(engine.scaleUpParameters(service: "svc-01", values: values) == nil)
        var settings = RemediationEngine.Settings()
        settings.ttlSeconds = 0
        #expect(throws: EngineError.self) { try Self.engine(queue: nil, settings: settings) }
    }

    /// A bundle's policy is checked before it sizes the history and indexes costs, with or
    /// without a queue.
    @Test func anInvalidPolicyIsRefused() throws {
        let bundle = try ModelBundle.open(Self.bundlePath)
        let detectors = try #require(try BundleDetectors(bundle))
        var policy = try #require(try bundle.model(RemediationPolicy.self, role: "policy", kind: "remediation-policy"))
        policy.costs = [1]
        #expect(throws: EngineError.self) {
            try RemediationEngine(detectors: detectors, policy: policy, policySource: "test", queue: nil, now: 1_000)
        }
        policy.costs = RemediationAction.defaultCosts
        policy.extractor.windowRows = 0
        #expect(throws: EngineError.self) {
            try RemediationEngine(detectors: detectors, policy: policy, policySource: "test", queue: nil, now: 1_000)
        }
    }

    /// Regression: a damaged value of 1e300 (a heartbeat age, say) reached `format` through the
    /// reasons and trapped in `Int(_:)`; it is now written as a Double.
    @Test func hugeValuesInReasonsDoNotTrap() throws {
        #expect(RemediationEngine.format(1e300) == "1e+300" && RemediationEngine.format(-2e19) == "-2e+19")
        #expect(RemediationEngine.format(12.4) == "12" && RemediationEngine.format(2.25) == "2.3" && RemediationEngine.format(3) == "3")
        let engine = try Self.engine(queue: nil)
        let (normal, plainFailing) = Self.rows(engine, service: "svc-01")
        var failing = plainFailing
        failing[ServiceMetric.heartbeatAge.rawValue] = 1e300
        var time: Int64 = 1_767_225_600
        var raised = [Recommendation]()
        for values in Array(repeating: normal, count: 60) + Array(repeating: failing, count: 5) {
            for case .recommendation(let r) in try engine.process(service: "svc-01", time: time, values: values, now: 2_000) {
                raised.append(r)
            }
            time += 60
        }
        // The incident's first recommendation, then (the heartbeat still lost) the escalation's.
        #expect(raised.count == 2 && raised.allSatisfy { r in r.reasons.contains { $0.contains("1e+300") } })
        #expect(raised.last?.reasons.first?.hasPrefix("critical: heartbeat lost (1e+300 s old") == true)
    }
}
