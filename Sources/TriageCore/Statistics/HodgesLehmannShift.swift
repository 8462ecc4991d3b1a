/// The Hodges–Lehmann estimate of the shift between two samples: the median of all n₁·n₂
/// pairwise differences yⱼ − xᵢ (positive when `y` tends to be larger).
///
/// Hodges & Lehmann (1963), "Estimates of location based on rank tests", Ann. Math. Statist.
/// 34(2), §5; it is the shift estimate that goes with the Mann–Whitney test (the value of Δ at
/// which the test of y − Δ against x is most balanced), and the estimate Netflix's Kayenta
/// reports beside it (`MannWhitneyClassifier`, kayenta-judge):
///
///     Δ̂ = median{ yⱼ − xᵢ : 1 ≤ i ≤ n₁, 1 ≤ j ≤ n₂ }
///
/// with the mean of the two middle differences when n₁n₂ is even, as `numpy.median` takes it.
///
/// The n₁n₂ differences are never stored: after sorting both samples, the k-th smallest
/// difference is found by bisection over the ordered bit patterns of doubles, each step
/// counting the differences ≤ t in one merge-like pass (the differences of sorted samples are
/// monotone in both indices, and so are their rounded values). At most 64 steps, so a day of
/// one-minute rows (1 440 a side, 2 M pairs) costs what 200 k does, and memory stays O(n).
///
/// - Complexity: O(n log n + 64·n) time, O(n) memory, n = n₁ + n₂.
public enum HodgesLehmannShift {
    /// Δ̂ for `y` relative to `x`. Both must be non-empty and finite.
    public static func estimate(baseline x: [Double], canary y: [Double]) throws(EstimatorError) -> Double {
        guard !x.isEmpty, !y.isEmpty else { throw .emptyData }
        for (sample, values) in [x, y].enumerated() {
            if let row = values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(row: row, column: sample) }
        }
        let xs = x.sorted(), ys = y.sorted()
        let total = xs.count * ys.count
        if total % 2 == 1 { return kthDifference((total + 1) / 2, xs, ys) }
        let lower = kthDifference(total / 2, xs, ys), upper = kthDifference(total / 2 + 1, xs, ys)
        return (lower + upper) / 2
    }

    /// The `k`-th smallest (1-based) of yⱼ − xᵢ over sorted `xs`, `ys`.
    static func kthDifference(_ k: Int, _ xs: [Double], _ ys: [Double]) -> Double {
        var low = orderKey(ys[0] - xs[xs.count - 1]), high = orderKey(ys[ys.count - 1] - xs[0])
        while low < high {
            let middle = low + (high - low) / 2
            if countAtMost(value(ofKey: middle), xs, ys) >= k { high = middle } else { low = middle + 1 }
        }
        return value(ofKey: low)
    }

    /// #{(i, j) : yⱼ − xᵢ ≤ t}. For a fixed j the qualifying i form a suffix of the sorted xs,
    /// and the suffix only shrinks as yⱼ grows, so one pointer sweeps xs once.
    static func countAtMost(_ t: Double, _ xs: [Double], _ ys: [Double]) -> Int {
        var count = 0, i = 0
        for y in ys {
            while i < xs.count && y - xs[i] > t { i += 1 }
            count += xs.count - i
        }
        return count
    }

    /// A key whose unsigned order is the numeric order of finite doubles (negative numbers have
    /// every bit flipped, non-negative ones only the sign bit).
    static func orderKey(_ value: Double) -> UInt64 {
        let bits = value.bitPattern
        return bits >> 63 == 1 ? ~bits : bits | (1 << 63)
    }

    static func value(ofKey key: UInt64) -> Double {
        Double(bitPattern: key >> 63 == 1 ? key & ~(1 << 63) : ~key)
    }
}
