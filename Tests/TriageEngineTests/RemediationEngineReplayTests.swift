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
}
