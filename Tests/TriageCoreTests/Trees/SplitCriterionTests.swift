import Testing
@testable import TriageCore

@Suite struct SplitCriterionTests {
    @Test func giniClosedForm() {
        let gini = GiniCriterion(classCount: 3)
        #expect(gini.impurity(of: [5, 0, 0]) == 0)
        #expect(abs(gini.impurity(of: [1, 1, 0]) - 0.5) < 1e-12)
        #expect(abs(gini.impurity(of: [1, 1, 1]) - 2.0 / 3) < 1e-12)
        #expect(gini.impurity(of: [0, 0, 0]) == 0)
    }

    @Test func entropyClosedForm() {
        let entropy = EntropyCriterion(classCount: 2)
        #expect(abs(entropy.impurity(of: [3, 3]) - 1) < 1e-12)
        #expect(entropy.impurity(of: [4, 0]) == 0)
        #expect(abs(entropy.impurity(of: [1, 3]) - 0.8112781244591328) < 1e-12)
    }

    @Test func meanSquaredErrorClosedForm() {
        let mse = MeanSquaredErrorCriterion()
        var stats = [Double](repeating: 0, count: 3)
        for y: Float in [1, 2, 3, 4] { mse.accumulate(&stats, target: y, weight: 1) }
        #expect(abs(mse.impurity(of: stats) - 1.25) < 1e-12) // variance of 1…4
    }

    /// The proxy must order splits exactly as the full impurity decrease Δi does.
    @Test(arguments: [0, 1, 2])
    func proxyOrdersLikeImpurityDecrease(kind: Int) {
        var random = RandomSource(seed: 7)
        for _ in 0..<200 {
            let a = (0..<3).map { _ in Double(random.integer(below: 20)) + 1 }
            let b = (0..<3).map { _ in Double(random.integer(below: 20)) + 1 }
            let c = (0..<3).map { _ in Double(random.integer(below: 20)) + 1 }
            let d = (0..<3).map { _ in Double(random.integer(below: 20)) + 1 }
            func check<C: SplitCriterion>(_ criterion: C, _ l1: [Double], _ r1: [Double], _ l2: [Double], _ r2: [Double]) {
                func decrease(_ l: [Double], _ r: [Double]) -> Double {
                    let t = zip(l, r).map { $0 + $1 }
                    let w = { (s: [Double]) in s.withUnsafeBufferPointer { criterion.weight($0.baseAddress!) } }
                    return w(t) * criterion.impurity(of: t) - w(l) * criterion.impurity(of: l) - w(r) * criterion.impurity(of: r)
                }
                let p1 = l1.withUnsafeBufferPointer { l in r1.withUnsafeBufferPointer { criterion.proxyImprovement(left: l.baseAddress!, right: $0.baseAddress!) } }
                let p2 = l2.withUnsafeBufferPointer { l in r2.withUnsafeBufferPointer { criterion.proxyImprovement(left: l.baseAddress!, right: $0.baseAddress!) } }
                let d1 = decrease(l1, r1), d2 = decrease(l2, r2)
                if abs(d1 - d2) > 1e-9 { #expect((p1 > p2) == (d1 > d2)) }
            }
            // Same parent: (a, b+c+d) versus (a+b, c+d) style partitions of one total.
            let total = zip(zip(a, b), zip(c, d)).map { $0.0 + $0.1 + $1.0 + $1.1 }
            let l1 = a, r1 = zip(total, a).map { $0 - $1 }
            let l2 = zip(a, b).map { $0 + $1 }, r2 = zip(total, l2).map { $0 - $1 }
            switch kind {
            case 0: check(GiniCriterion(classCount: 3), l1, r1, l2, r2)
            case 1: check(EntropyCriterion(classCount: 3), l1, r1, l2, r2)
            default:
                // Regression statistics must be valid (Σwy² ≥ (Σwy)²/w): build them from samples.
                let mse = MeanSquaredErrorCriterion()
                func stats(_ ys: [Double]) -> [Double] {
                    var s = [0.0, 0.0, 0.0]
                    for y in ys { mse.accumulate(&s, target: Float(y), weight: 1) }
                    return s
                }
                let ys = a + b + c + d
                check(mse, stats(Array(ys[0..<3])), stats(Array(ys[3...])), stats(Array(ys[0..<6])), stats(Array(ys[6...])))
            }
        }
    }
}
