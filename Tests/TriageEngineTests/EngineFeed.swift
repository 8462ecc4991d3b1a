@testable import TriageCore
@testable import TriageEngine

/// Feeds one service's rows to an engine a minute apart and keeps its events (the engine tests
/// of scaling and the critical state).
final class EngineFeed {
    let engine: RemediationEngine
    let service: String
    var time: Int64 = 1_767_225_600
    var events = [EngineEvent]()

    init(_ engine: RemediationEngine, service: String) {
        self.engine = engine
        self.service = service
    }

    /// Processes `count` rows of `values` at wall time `now`.
    func callAsFunction(_ values: [Double], _ count: Int, now: Int64 = 2_000) throws {
        for _ in 0..<count {
            events += try engine.process(service: service, time: time, values: values, now: now)
            time += 60
        }
    }

    var raised: [Recommendation] {
        events.compactMap { if case .recommendation(let r) = $0 { return r } else { return nil } }
    }

    var changes: [(from: HealthState, to: HealthState, escalation: CriticalEscalation.Escalation?)] {
        events.compactMap { if case .state(_, _, let from, let to, let e) = $0 { return (from, to, e) } else { return nil } }
    }
}
