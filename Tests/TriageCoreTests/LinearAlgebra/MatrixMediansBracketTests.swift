import Foundation
import Testing
@testable import TriageCore

/// Large columns take the sampled-bracket path of `columnMedians`; it must give exactly the
/// sorted-order median.
@Suite struct MatrixMediansBracketTests {
    private func sortedMedian(_ values: [Float]) -> Float {
        let v = values.filter { !$0.isNaN }.sorted()
        guard !v.isEmpty else { return 0 }
        return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
    }

    @Test(arguments: [40_000, 40_001])
    func largeColumnsMatchSorting(rows: Int) {
        var rng = RandomSource(seed: UInt64(rows))
        // Gaussian, skewed, heavy ties (small integers: the band misses, full selection), a
        // sorted column (the evenly spaced sample sits on the ranks exactly) and NaNs.
        let m = Matrix<Float>(rows: rows, columns: 5) { i, j in
            switch j {
            case 0: return Float(rng.normal())
            case 1: return Float(exp(rng.normal() * 3))
            case 2: return Float(Int(rng.uniform(0, 3)))
            case 3: return Float(i)
            default: return i % 7 == 0 ? .nan : Float(rng.uniform(-1, 1))
            }
        }
        let medians = m.columnMedians(threads: 2)
        for j in 0..<5 {
            #expect(medians[j] == sortedMedian((0..<rows).map { m[$0, j] }), "column \(j)")
        }
    }
}
