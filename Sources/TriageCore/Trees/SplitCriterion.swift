#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The impurity maths of a CART split (Breiman, Friedman, Olshen & Stone, *Classification and
/// Regression Trees*, 1984, ch. 4), kept apart from the split search as in scikit-learn's
/// `_criterion.pyx`: the splitter only adds per-sample *statistics* into fixed-width vectors and
/// asks the criterion to score them, so classification (class counts) and regression
/// (Σw, Σwy, Σwy²) share one builder.
///
/// A node's statistics are additive: stats(parent) = stats(left) + stats(right). The split
/// maximises the impurity decrease (eq. 4.3 of Breiman et al.)
///
///     Δi(s, t) = w_t·i(t) − w_L·i(t_L) − w_R·i(t_R),
///
/// through `proxyImprovement`, which may drop terms constant for a given node.
public protocol SplitCriterion: Sendable {
    /// Number of Doubles in one node's statistics vector.
    var statisticsWidth: Int { get }
    /// Adds one sample with `target` (class index, or regression value) and `weight`.
    func accumulate(_ statistics: UnsafeMutablePointer<Double>, target: Float, weight: Double)
    /// Total sample weight w_t in `statistics`.
    func weight(_ statistics: UnsafePointer<Double>) -> Double
    /// Impurity i(t) of a node with these statistics.
    func impurity(_ statistics: UnsafePointer<Double>) -> Double
    /// A quantity that orders candidate splits of one node exactly as Δi does (larger = better).
    func proxyImprovement(left: UnsafePointer<Double>, right: UnsafePointer<Double>) -> Double
    /// `proxyImprovement(left:right:)` with right = total − left, when it may exceed `best`;
    /// otherwise any value ≤ `best` (a cheap test may skip the exact one). The split search
    /// calls this once per candidate threshold.
    func proxyImprovement(left: UnsafePointer<Double>, total: UnsafePointer<Double>, ifAbove best: Double) -> Double
}

extension SplitCriterion {
    /// −(w_L·i(t_L) + w_R·i(t_R)): Δi without the parent term, which is the same for every split.
    @inline(__always)
    public func proxyImprovement(left: UnsafePointer<Double>, right: UnsafePointer<Double>) -> Double {
        -(weight(left) * impurity(left) + weight(right) * impurity(right))
    }

    /// Computes the right statistics and the exact proxy (criteria without a cheaper test).
    @inline(__always)
    public func proxyImprovement(left: UnsafePointer<Double>, total: UnsafePointer<Double>, ifAbove best: Double) -> Double {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: statisticsWidth) { right in
            for k in 0..<statisticsWidth { right[k] = total[k] - left[k] }
            return proxyImprovement(left: left, right: UnsafePointer(right.baseAddress!))
        }
    }

    /// Impurity of a statistics array (convenience for tests and summaries).
    public func impurity(of statistics: [Double]) -> Double {
        statistics.withUnsafeBufferPointer { impurity($0.baseAddress!) }
    }
}

/// A classification criterion: statistics are one weighted count per class, so accumulation and
/// total weight are the same for every impurity measure; only `impurity` differs.
public protocol ClassCountCriterion: SplitCriterion {
    var classCount: Int { get }
}

extension ClassCountCriterion {
    public var statisticsWidth: Int { classCount }

    /// `target` is a class index held exactly as a Float (0 ≤ k < classCount < 2²³). Adding
    /// 2²³ puts k in the low mantissa bits, read without `Int(Float)`'s range and NaN checks,
    /// which run once per sample and feature in the split search under checked `-O`: they were
    /// most of `TreeBuilder.grow`'s 12.5 % loss (callgrind, 20 trees on 15 000 × 20: 1.25 G →
    /// 1.15 G with this; 1.11 G with `-Ounchecked`; BENCHMARKS.md, "Checked release builds").
    @inline(__always)
    public func accumulate(_ statistics: UnsafeMutablePointer<Double>, target: Float, weight: Double) {
        statistics[Int(truncatingIfNeeded: (target + 8_388_608).bitPattern & 0x7F_FFFF)] += weight
    }

    @inline(__always)
    public func weight(_ statistics: UnsafePointer<Double>) -> Double {
        var total = 0.0
        for k in 0..<classCount { total += statistics[k] }
        return total
    }
}

/// Gini impurity i(t) = 1 − Σ_k p_k² (Breiman et al. 1984, §4.3), p_k the weighted class
/// fractions. Statistics: one weighted count per class.
public struct GiniCriterion: ClassCountCriterion {
    public let classCount: Int
    public init(classCount: Int) { self.classCount = classCount }

    @inline(__always)
    public func impurity(_ statistics: UnsafePointer<Double>) -> Double {
        var total = 0.0, squares = 0.0
        for k in 0..<classCount {
            total += statistics[k]
            squares += statistics[k] * statistics[k]
        }
        return total > 0 ? 1 - squares / (total * total) : 0
    }

    /// w·(1 − Σp²) = w − Σn_k²/w, so −(w_L·i_L + w_R·i_R) = Σ L_k²/w_L + Σ R_k²/w_R − w_t; the
    /// constant w_t is dropped (scikit-learn's Gini proxy).
    @inline(__always)
    public func proxyImprovement(left: UnsafePointer<Double>, right: UnsafePointer<Double>) -> Double {
        var wl = 0.0, wr = 0.0, sl = 0.0, sr = 0.0
        for k in 0..<classCount {
            let l = left[k], r = right[k]
            wl += l; wr += r
            sl += l * l; sr += r * r
        }
        return sl / wl + sr / wr
    }

    /// The proxy above with R_k = total_k − L_k computed on the fly (the same bits), and its two
    /// divisions skipped when the split cannot beat `best`: sl/wl + sr/wr > best ⟺
    /// sl·wr + sr·wl > best·wl·wr (weights > 0), and a relative margin of 10⁻⁹, far above the
    /// few ulps each side can be off by, keeps every split that could win exactly. Most
    /// candidates lose, so most skip the divisions, whose latency was the largest single cost
    /// of the split search (perf: ≈ 30 % of `grow` in the proxy and its comparison, issue 17 §3).
    @inline(__always)
    public func proxyImprovement(left: UnsafePointer<Double>, total: UnsafePointer<Double>, ifAbove best: Double) -> Double {
        var wl = 0.0, wr = 0.0, sl = 0.0, sr = 0.0
        for k in 0..<classCount {
            let l = left[k], r = total[k] - l
            wl += l; wr += r
            sl += l * l; sr += r * r
        }
        if best > 0 && sl * wr + sr * wl < best * (wl * wr) * (1 - 1e-9) { return -.infinity }
        return sl / wl + sr / wr
    }
}

/// Shannon entropy i(t) = −Σ_k p_k log₂ p_k (Quinlan's information gain; Breiman et al. 1984,
/// §4.3 lists it beside Gini). Statistics: one weighted count per class.
public struct EntropyCriterion: ClassCountCriterion {
    public let classCount: Int
    public init(classCount: Int) { self.classCount = classCount }

    @inline(__always)
    public func impurity(_ statistics: UnsafePointer<Double>) -> Double {
        let total = weight(statistics)
        guard total > 0 else { return 0 }
        var entropy = 0.0
        for k in 0..<classCount where statistics[k] > 0 {
            let p = statistics[k] / total
            entropy -= p * log2(p)
        }
        return entropy
    }
}

/// Mean squared error i(t) = (1/w) Σ w_i (y_i − ȳ)² for regression trees (Breiman et al. 1984,
/// §8.3, the least-squares criterion). Statistics: (Σw, Σwy, Σwy²), so i = Σwy²/w − (Σwy/w)².
public struct MeanSquaredErrorCriterion: SplitCriterion {
    public init() {}

    public var statisticsWidth: Int { 3 }

    @inline(__always)
    public func accumulate(_ statistics: UnsafeMutablePointer<Double>, target: Float, weight: Double) {
        let y = Double(target)
        statistics[0] += weight
        statistics[1] += weight * y
        statistics[2] += weight * y * y
    }

    @inline(__always)
    public func weight(_ statistics: UnsafePointer<Double>) -> Double { statistics[0] }

    @inline(__always)
    public func impurity(_ statistics: UnsafePointer<Double>) -> Double {
        let w = statistics[0]
        guard w > 0 else { return 0 }
        let mean = statistics[1] / w
        return max(0, statistics[2] / w - mean * mean)
    }

    /// w·i = Σwy² − (Σwy)²/w; Σwy² is the same for every split of a node, leaving
    /// (Σ_L wy)²/w_L + (Σ_R wy)²/w_R (scikit-learn's MSE proxy).
    @inline(__always)
    public func proxyImprovement(left: UnsafePointer<Double>, right: UnsafePointer<Double>) -> Double {
        left[1] * left[1] / left[0] + right[1] * right[1] / right[0]
    }
}
