import Foundation
import Testing
@testable import TriageCore
@testable import TriageData
@testable import TriageEngine

/// Rows replayed from an earlier checkpoint (after a crash or a failed run whose events were
/// lost) meet the recommendation raised the first time: it is reported again, once, with its id.
@Suite struct RemediationEngineReplayTests {
    typealias Base = RemediationEngineTests

    @Test func replayedRowsReportTheQueuedRecommendationOnce() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let first = try Base.engine(queue: queue)
        let (normal, failing) = Base.rows(first, service: "svc-01")
        var time: Int64 = 0
        for _ in 0..<60 {
            _ = try first.process(service: "svc-01", time: time, values: normal, now: 10)
            time += 60
        }
        let checkpoint = try first.checkpoint(), replayFrom = time
        func incident(_ engine: RemediationEngine) throws -> [Recommendation] {
            var raised = [Recommendation]()
            var t = replayFrom
            for _ in 0..<20 {
                for event in try engine.process(service: "svc-01", time: t, values: failing, now: 20) {
                    if case .recommendation(let r) = event { raised.append(r) }
                }
                t += 60
            }
            return raised
        }
        let original = try incident(first)
        #expect(original.count == 1 && original[0].id == "rec-000001")
        let replay = try Base.engine(queue: queue)
        try replay.restore(checkpoint)
        let again = try incident(replay)
        #expect(again.map(\.id) == ["rec-000001"] && again[0].action == original[0].action)
        #expect(try queue.list(now: 20).count == 1)
    }

    /// Gaps (NaN) in the recent rows and ±inf values: the checkpoint encodes and restores them.
    @Test func aCheckpointKeepsGapsAndInfinities() throws {
        let engine = try Base.engine(queue: nil)
        var (normal, _) = Base.rows(engine, service: "svc-02")
        normal[ServiceMetric.heartbeatAge.rawValue] = .nan
        normal[ServiceMetric.memory.rawValue] = .infinity
        _ = try engine.process(service: "svc-02", time: 0, values: normal, now: 1)
        let restored = try Base.engine(queue: nil)
        try restored.restore(engine.checkpoint())
        let values = try #require(restored.monitors["svc-02"]).lastValues
        #expect(values[ServiceMetric.heartbeatAge.rawValue].isNaN && values[ServiceMetric.memory.rawValue] == .infinity)
        #expect(throws: EngineError.self) { try engine.process(service: "svc-02", time: 60, values: [1, 2], now: 1) }
    }

    /// A service moves between engines (replicas, issue 18): its state alone is exported, put
    /// into another engine holding other services, and forgotten by the first; the incident it was
    /// in continues there exactly as in an engine that never let it go.
    @Test func oneServiceMovesToAnotherEngineAndContinuesItsIncident() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let otherQueue = try ApprovalQueue(path: Workspace().database)
        let first = try Base.engine(queue: queue), unmoved = try Base.engine(queue: otherQueue)
        let (normal, failing) = Base.rows(first, service: "svc-01")
        var time: Int64 = 0
        for k in 0..<64 {
            let values = k < 60 ? normal : failing
            for engine in [first, unmoved] {
                _ = try engine.process(service: "svc-01", time: time, values: values, now: 10)
                _ = try engine.process(service: "svc-02", time: time, values: normal, now: 10)
            }
            time += 60
        }
        let moved = try #require(try first.checkpoint(service: "svc-01"))
        #expect(try first.checkpoint(service: "svc-99") == nil)
        let second = try Base.engine(queue: queue)
        _ = try second.process(service: "svc-03", time: 0, values: normal, now: 10)
        try second.restore(service: "svc-01", from: moved)
        first.forget(service: "svc-01")
        #expect(first.states.keys.sorted() == ["svc-02"] && second.states.keys.sorted() == ["svc-01", "svc-03"])
        #expect(second.openIncidents["svc-01"] == unmoved.openIncidents["svc-01"] && second.openIncidents["svc-01"] != nil)
        // The same rows from here: the same states and the same decisions to raise.
        var movedEvents: [String] = [], unmovedEvents: [String] = []
        for _ in 0..<20 {
            movedEvents += try second.process(service: "svc-01", time: time, values: failing, now: 20).map(\.type)
            unmovedEvents += try unmoved.process(service: "svc-01", time: time, values: failing, now: 20).map(\.type)
            time += 60
        }
        #expect(movedEvents == unmovedEvents)
        let raised = try queue.list(now: 30).map { "\($0.service) \($0.action) \($0.created)" }
        let raisedUnmoved = try otherQueue.list(now: 30).map { "\($0.service) \($0.action) \($0.created)" }
        #expect(!raised.isEmpty && raised == raisedUnmoved)
        // svc-02 in the first engine is untouched by the move (its slot was renumbered).
        _ = try first.process(service: "svc-02", time: time, values: normal, now: 20)
        #expect(first.lastRowTimes["svc-02"] == time)
        // Restoring nil forgets; a damaged state is an error, not a crash.
        try second.restore(service: "svc-03", from: nil)
        #expect(second.states["svc-03"] == nil)
        #expect(throws: EngineError.self) { try second.restore(service: "svc-04", from: Data("{}".utf8)) }
    }
}
