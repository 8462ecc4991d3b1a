#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The two-sided Mann–Whitney U test (Wilcoxon rank-sum test) with the normal approximation,
/// tie correction and continuity correction: the p-value scipy's
/// `scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")` returns.
///
/// Mann & Whitney (1947), "On a test of whether one of two random variables is stochastically
/// larger than the other", Ann. Math. Statist. 18(1); tie correction as in Hollander, Wolfe &
/// Chicken, *Nonparametric Statistical Methods* (3rd ed., 2014), eq. 4.9; scipy's
/// `_mannwhitneyu.py` (`_get_mwu_z`):
///
///     U₁ = R₁ − n₁(n₁+1)/2,  U₂ = n₁n₂ − U₁          (R₁: rank sum of x, ties get mean ranks)
///     σ  = √( n₁n₂/12 · ((n+1) − Σₖ(tₖ³ − tₖ)/(n(n−1))) ),  n = n₁ + n₂, tₖ = size of tie group k
///     z  = (max(U₁, U₂) − n₁n₂/2 − ½) / σ
///     p  = min(1, 2·Q(z)),  Q(z) = ½·erfc(z/√2)
///
/// scipy's `method="auto"` takes this same asymptotic path whenever either sample has 8 or more
/// values or there are ties, so for the ≥ 20 values a side that canary analysis requires, "auto"
/// and "asymptotic" agree.
///
/// When every value of both samples is equal, σ = 0 and the statistic carries no evidence:
/// scipy returns NaN there; this returns p = 1 (no difference can be shown), so callers never
/// see a NaN.
///
/// - Complexity: O(n log n) for the sort that ranks the pooled values.
public struct MannWhitneyUTest: Sendable, Equatable {
    /// U of the first sample (`x`): the number of pairs (xᵢ, yⱼ) with xᵢ > yⱼ, ties counting ½.
    public let u1: Double
    /// U of the second sample, n₁n₂ − U₁.
    public let u2: Double
    /// The standardised statistic with continuity correction (0 when σ = 0).
    public let z: Double
    /// The two-sided p-value in [0, 1].
    public let pValue: Double

    /// Tests `x` against `y`. Both must be non-empty and finite (callers validate input files
    /// at their boundary and say where a bad value sits).
    public init(_ x: [Double], _ y: [Double]) throws(EstimatorError) {
        guard !x.isEmpty, !y.isEmpty else { throw .emptyData }
        for (sample, values) in [x, y].enumerated() {
            if let row = values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(row: row, column: sample) }
        }
        let n1 = Double(x.count), n2 = Double(y.count), n = n1 + n2
        let ranked = Self.midranks(x + y)
        var r1 = 0.0
        for i in 0..<x.count { r1 += ranked.ranks[i] }
        u1 = r1 - n1 * (n1 + 1) / 2
        u2 = n1 * n2 - u1
        let variance = n1 * n2 / 12 * ((n + 1) - ranked.tieTerm / (n * (n - 1)))
        // The tie term equals n³ − n only when every value is tied, so σ is either 0 or at
        // least the variance of one untied pair; anything below that is rounding.
        guard variance > 1e-12 else {
            z = 0
            pValue = 1
            return
        }
        z = (max(u1, u2) - n1 * n2 / 2 - 0.5) / variance.squareRoot()
        pValue = min(1, max(0, 2 * Self.upperTail(z)))
    }

    /// Q(z) = P(Z > z) for a standard normal Z, through erfc (accurate far into the tail,
    /// where 1 − Φ(z) would cancel to 0).
    @inlinable
    public static func upperTail(_ z: Double) -> Double { 0.5 * erfc(z / 2.0.squareRoot()) }

    /// 1-based ranks of `values` with ties given the mean of the ranks they span, and
    /// Σ(t³ − t) over the tie groups.
    static func midranks(_ values: [Double]) -> (ranks: [Double], tieTerm: Double) {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var tieTerm = 0.0
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && values[order[end]] == values[order[start]] { end += 1 }
            // Positions start..<end (0-based) hold ranks start+1 … end; their mean:
            let rank = Double(start + 1 + end) / 2
            for k in start..<end { ranks[order[k]] = rank }
            let t = Double(end - start)
            tieTerm += t * t * t - t
            start = end
        }
        return (ranks, tieTerm)
    }
}
