import Testing
@testable import TriageEngine

@Suite struct RecommendationEvaluationTests {
    @Test func matchesByServiceAndWindowWithGrace() {
        let faults = [
            RecommendationEvaluation.Fault(service: "a", start: 1_000, end: 2_000, bestAction: "restart"),
            RecommendationEvaluation.Fault(service: "b", start: 1_000, end: 1_500, bestAction: "scale_up"),
            RecommendationEvaluation.Fault(service: "c", start: 5_000, end: 6_000, bestAction: "rollback"),
        ]
        let raised = [
            RecommendationEvaluation.Raised(service: "a", created: 1_180, action: "failover"),
            RecommendationEvaluation.Raised(service: "a", created: 1_120, action: "restart"),  // first by time
            RecommendationEvaluation.Raised(service: "b", created: 2_080, action: "scale_up"),  // within end + 10 intervals
            RecommendationEvaluation.Raised(service: "b", created: 9_000, action: "scale_up"),  // matches nothing
            RecommendationEvaluation.Raised(service: "c", created: 4_990, action: "rollback"),  // before the start
        ]
        let e = RecommendationEvaluation(faults: faults, raised: raised, interval: 60)
        #expect(e.faults == 3 && e.recommendations == 5)
        #expect(e.recall == 2.0 / 3.0)
        #expect(e.precision == 3.0 / 5.0)
        #expect(e.actionAccuracy == 1)
        // Delays 2 and 18 intervals.
        #expect(e.medianDelayIntervals == 10 && abs(e.p90DelayIntervals! - 16.4) < 1e-9)
        let none = RecommendationEvaluation(faults: faults, raised: [], interval: 60)
        #expect(none.recall == 0 && none.precision == 0 && none.medianDelayIntervals == nil)
    }
}
