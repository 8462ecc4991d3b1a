import Testing
@testable import TriageCore
@testable import TriageEngine

/// The HPA rule in closed form: desired = ceil(current × current/target) outside a 10 %
/// tolerance, the largest over signals, clamped; unusable signals are skipped and forbid a
/// scale-down.
@Suite struct HorizontalScalingRuleTests {
    let rule = HorizontalScalingRule()

    func cpu(_ current: Double, _ target: Double) -> HorizontalScalingRule.Signal {
        .init(metric: .cpu, current: current, target: target)
    }

    func rate(_ current: Double, _ target: Double) -> HorizontalScalingRule.Signal {
        .init(metric: .requestRate, current: current, target: target)
    }

    @Test func theFormulaIsTheCeilingOfReplicasTimesTheRatio() {
        // The Kubernetes docs' example: 50 replicas at 90 % against 75 % → 60.
        #expect(HorizontalScalingRule.desiredReplicas(current: 50, ratio: 90.0 / 75.0, tolerance: 0.1) == 60)
        // ceil, not round: 3 × 1.5 = 4.5 → 5; 4 × 0.44 = 1.76 → 2.
        #expect(HorizontalScalingRule.desiredReplicas(current: 3, ratio: 1.5, tolerance: 0.1) == 5)
        #expect(HorizontalScalingRule.desiredReplicas(current: 4, ratio: 0.44, tolerance: 0.1) == 2)
        // An exact product stays exact despite binary fractions: 10 × 0.6 = 6, not 7.
        #expect(HorizontalScalingRule.desiredReplicas(current: 10, ratio: 0.6, tolerance: 0.1) == 6)
        #expect(HorizontalScalingRule.desiredReplicas(current: 10, ratio: 1.0 / 3.0 * 3.6, tolerance: 0.1) == 12)
    }

    @Test func noChangeWithinTheTolerance() {
        for ratio in [0.9, 0.95, 1.0, 1.05, 1.1] {
            #expect(HorizontalScalingRule.desiredReplicas(current: 10, ratio: ratio, tolerance: 0.1) == 10)
        }
        #expect(HorizontalScalingRule.desiredReplicas(current: 10, ratio: 1.11, tolerance: 0.1) == 12)
        #expect(HorizontalScalingRule.desiredReplicas(current: 10, ratio: 0.89, tolerance: 0.1) == 9)
        let p = rule.propose(current: 4, signals: [cpu(52, 50)], bounds: 1...10)
        #expect(p.desired == 4 && p.allSignalsUsable)
    }

    @Test func theLargestOverSignalsWins() {
        // CPU asks for 3 (4 × 0.6 = 2.4 → 3), request rate for 8 (4 × 2): 8, decided by the rate.
        let p = rule.propose(current: 4, signals: [cpu(30, 50), rate(200, 100)], bounds: 1...20)
        #expect(p.desired == 8 && p.deciding?.metric == .requestRate)
        let q = rule.propose(current: 4, signals: [cpu(100, 50), rate(50, 100)], bounds: 1...20)
        #expect(q.desired == 8 && q.deciding?.metric == .cpu)
    }

    @Test func theResultIsClampedToTheBounds() {
        #expect(rule.propose(current: 4, signals: [cpu(100, 10)], bounds: 1...12).desired == 12)
        #expect(rule.propose(current: 4, signals: [cpu(1, 50)], bounds: 2...12).desired == 2)
        // Already outside the bounds with no change asked: brought inside.
        #expect(rule.propose(current: 20, signals: [cpu(50, 50)], bounds: 1...12).desired == 12)
    }

    @Test func missingOrNaNSignalsAreSkippedAndForbidScaleDown() {
        let p = rule.propose(current: 4, signals: [cpu(.nan, 50), rate(40, 100)], bounds: 1...20)
        // The rate alone asks for 2, but a missing signal might have asked for more.
        #expect(p.desired == 2 && !p.allSignalsUsable && p.deciding?.metric == .requestRate)
        let none = rule.propose(current: 4, signals: [cpu(.infinity, 50), rate(-1, 100)], bounds: 1...20)
        #expect(none.desired == 4 && none.deciding == nil && !none.allSignalsUsable)
        let empty = rule.propose(current: 4, signals: [], bounds: 1...20)
        #expect(empty.desired == 4 && !empty.allSignalsUsable)
    }

    @Test func aZeroTargetIsNotASignal() {
        #expect(cpu(50, 0).ratio == nil && cpu(50, -5).ratio == nil && cpu(50, .nan).ratio == nil)
        let p = rule.propose(current: 3, signals: [cpu(50, 0), rate(300, 100)], bounds: 1...20)
        #expect(p.desired == 9 && !p.allSignalsUsable)
    }

    @Test func settingsAreValidated() {
        var bad = HorizontalScalingRule()
        bad.tolerance = 1
        #expect(throws: EngineError.self) { try bad.validate() }
        bad = HorizontalScalingRule()
        bad.tolerance = .nan
        #expect(throws: EngineError.self) { try bad.validate() }
        bad = HorizontalScalingRule()
        bad.scaleDownStabilisationSeconds = -1
        #expect(throws: EngineError.self) { try bad.validate() }
        #expect(throws: Never.self) { try HorizontalScalingRule().validate() }
    }

    /// The engine's array-free form gives what the general one gives.
    @Test func bothFormsAgree() {
        let cases: [(HorizontalScalingRule.Signal?, HorizontalScalingRule.Signal?)] = [
            (cpu(30, 50), rate(200, 100)), (cpu(.nan, 50), rate(40, 100)), (nil, rate(300, 100)), (cpu(80, 50), nil), (nil, nil),
        ]
        for (a, b) in cases {
            let general = rule.propose(current: 4, signals: [a, b].compactMap { $0 }, bounds: 1...20)
            #expect(rule.propose(current: 4, cpu: a, requestRate: b, bounds: 1...20) == general)
        }
    }
}
