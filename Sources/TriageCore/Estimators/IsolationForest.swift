/// Isolation forest (Liu, Ting & Zhou, "Isolation Forest", ICDM 2008; "Isolation-Based Anomaly
/// Detection", ACM TKDD 6(1), 2012).
///
/// Each tree isolates a random sub-sample of ψ rows by recursive random splits: a feature drawn
/// uniformly, a threshold drawn uniformly between that feature's minimum and maximum in the
/// node. Anomalies are few and different, so they are isolated close to the root. The score of
/// a row is (TKDD 2012, Eq. 2)
///
///     s(x, ψ) = 2^(−E[h(x)] / c(ψ))
///
/// where h(x) is the path length to the external node reached by x, plus c(size) for the rows
/// that node still held when the height limit ⌈log₂ ψ⌉ stopped growth (Algorithm 3), and c is
/// `isolationAveragePathLength`. s is in (0, 1]; higher = more anomalous; s ≈ 0.5 everywhere
/// means no distinct anomalies.
///
/// Implementation notes (why the layout looks the way it does):
/// - Every tree is stored as a *complete* binary tree of depth `height` in heap order (node i
///   has children 2i+1 and 2i+2) in flat forest-wide arrays: `splitFeatures`/`splitThresholds`
///   for the 2^height − 1 internal slots, `leafPathLengths` for the 2^height leaf slots. An
///   external node above the height limit is padded with splits whose threshold is +∞ (every
///   row goes left) down to a leaf slot holding depth + c(size). Every row therefore takes
///   exactly `height` branch-free steps, children need no pointers, and the heap layout uses
///   less than 2ψ slots per level set — at most ~4ψ slots per tree, no per-node objects.
/// - Tree t draws all its randomness from `RandomSource(seed: seed, stream: t)`, so fitting in
///   parallel, on any number of threads, and adding trees later (warm start) give the same trees.
/// - Splits send x ≤ threshold left (scikit-learn's convention), so NaN (never > anything)
///   goes left at every split. The CLI rejects NaN before scoring; library callers get this
///   defined routing.
public struct IsolationForest: ExplainingDetector, SummarizableModel, Equatable {
    /// Hyperparameters, with the paper's defaults (ψ = 256, t = 100, TKDD 2012 §4.1).
    public struct Parameters: Codable, Sendable, Equatable {
        /// Number of isolation trees t.
        public var treeCount: Int
        /// Sub-sample size ψ per tree (capped at the number of rows).
        public var sampleSize: Int
        /// Fraction of features each tree may split on, drawn per tree without replacement
        /// (scikit-learn's `max_features`); at least one feature.
        public var maxFeatures: Double
        /// How the threshold is set.
        public var contamination: Contamination

        public init(treeCount: Int = 100, sampleSize: Int = 256, maxFeatures: Double = 1.0,
                    contamination: Contamination = .auto) {
            self.treeCount = treeCount
            self.sampleSize = sampleSize
            self.maxFeatures = maxFeatures
            self.contamination = contamination
        }

        /// Throws naming the first parameter out of range.
        public func validate() throws(EstimatorError) {
            if treeCount < 1 {
                throw .invalidParameter(name: "tree count", value: "\(treeCount)", expected: "at least 1")
            }
            if sampleSize < 2 {
                throw .invalidParameter(name: "sample size", value: "\(sampleSize)", expected: "at least 2")
            }
            if !(maxFeatures > 0 && maxFeatures <= 1) {
                throw .invalidParameter(name: "max features", value: "\(maxFeatures)", expected: "a fraction in (0, 1]")
            }
            if case .fraction(let f) = contamination, !(f > 0 && f <= 0.5) {
                throw .invalidParameter(name: "contamination", value: "\(f)", expected: "'auto' or a fraction in (0, 0.5]")
            }
        }
    }

    /// Where the anomaly threshold comes from.
    public enum Contamination: Codable, Sendable, Equatable {
        /// s ≥ 0.5, the paper's rule (TKDD 2012 §3: s well below 0.5 is normal, close to 1 is
        /// an anomaly); scikit-learn's `offset_ = -0.5`.
        case auto
        /// The (1 − fraction) quantile of the training scores: that share of training rows is flagged.
        case fraction(Double)
    }

    public let parameters: Parameters
    public let seed: UInt64
    public let featureCount: Int
    /// ψ actually used: `parameters.sampleSize` capped at the training rows.
    public let sampleSize: Int
    /// Height limit ⌈log₂ ψ⌉ (TKDD 2012, Algorithm 1), also the depth of the stored trees.
    public let height: Int
    public private(set) var threshold: Double
    /// Per tree, `internalSlots` split features (global column indices) in heap order.
    var splitFeatures: [Int32]
    /// Per tree, `internalSlots` thresholds; +∞ marks a padding slot below an external node.
    var splitThresholds: [Float]
    /// Per tree, `leafSlots` path lengths h = depth + c(size) of the external node above.
    var leafPathLengths: [Float]
    /// Per tree, `2 · leafSlots − 1` counts of sub-sample rows reaching each heap slot (internal
    /// slots, then leaf slots); used to weigh splits in explanations.
    var slotRows: [Int32]
    /// Per feature, Σ over real splits of (rows reaching the split / ψ): how much of the data
    /// each feature was used to divide. Kept unnormalised so warm start can add to it.
    var splitMass: [Double]

    public var treeCount: Int { leafPathLengths.count / leafSlots }
    var internalSlots: Int { (1 << height) - 1 }
    var leafSlots: Int { 1 << height }

    /// Rows needed to fit: two, so that at least one split is possible and c(ψ) > 0.
    public static let minimumRows = 2

    // MARK: Fitting

    /// Fits `parameters.treeCount` trees on `data` (rows × features, all finite).
    ///
    /// - Throws: `EstimatorError` for parameters out of range, fewer than two rows, a column
    ///   with no values, a NaN/∞, or data where every feature is constant (nothing to isolate).
    /// - Complexity: O(rows · features) to validate, then O(t · ψ · log ψ) expected to grow the
    ///   trees (each level rescans its rows once per feature tried); O(t · 2^⌈log₂ ψ⌉) memory.
    public static func fit(_ data: Matrix<Float>, parameters: Parameters = Parameters(), seed: UInt64 = 0,
                           threads: Int = 1) throws(EstimatorError) -> IsolationForest {
        try parameters.validate()
        try validateTrainingData(data)
        let sampleSize = min(parameters.sampleSize, data.rows)
        let height = Int((log2(Double(sampleSize))).rounded(.up))
        var forest = IsolationForest(parameters: parameters, seed: seed, featureCount: data.columns,
                                     sampleSize: sampleSize, height: height, threshold: 0.5,
                                     splitFeatures: [], splitThresholds: [], leafPathLengths: [], slotRows: [],
                                     splitMass: Array(repeating: 0, count: data.columns))
        forest.growTrees(parameters.treeCount, on: data, threads: threads)
        forest.threshold = forest.resolveThreshold(on: data, threads: threads)
        return forest
    }

    /// Warm start: the same forest with `count` more trees grown on `data`. Tree t still uses
    /// stream t, so fitting 100 trees and adding 50 equals fitting 150 on the same data.
    /// A fractional contamination threshold is recomputed on `data`.
    ///
    /// - Throws: `EstimatorError` for bad data, a feature count unlike the model's, or fewer rows
    ///   than the model's ψ (the trees must share one height limit and c(ψ)).
    public func addingTrees(_ count: Int, on data: Matrix<Float>, threads: Int = 1) throws(EstimatorError) -> IsolationForest {
        if count < 1 { throw .invalidParameter(name: "tree count", value: "\(count)", expected: "at least 1") }
        guard data.columns == featureCount else {
            throw .shapeMismatch(expectedColumns: featureCount, gotColumns: data.columns)
        }
        try Self.validateTrainingData(data)
        guard data.rows >= sampleSize else { throw .tooFewRows(needed: sampleSize, got: data.rows) }
        var forest = self
        forest.growTrees(count, on: data, threads: threads)
        var parameters = forest.parameters
        parameters.treeCount = forest.treeCount
        forest = IsolationForest(parameters: parameters, seed: seed, featureCount: featureCount,
                                 sampleSize: sampleSize, height: height, threshold: threshold,
                                 splitFeatures: forest.splitFeatures, splitThresholds: forest.splitThresholds,
                                 leafPathLengths: forest.leafPathLengths, slotRows: forest.slotRows, splitMass: forest.splitMass)
        forest.threshold = forest.resolveThreshold(on: data, threads: threads)
        return forest
    }

    static func validateTrainingData(_ data: Matrix<Float>) throws(EstimatorError) {
        guard data.rows > 0, data.columns > 0 else { throw .emptyData }
        guard data.rows >= minimumRows else { throw .tooFewRows(needed: minimumRows, got: data.rows) }
        let columns = data.columns
        // Fast path for clean data (one vectorisable pass); the slow scan below only runs to
        // locate and word a problem.
        var clean = true
        var anyVaries = false
        data.storage.withUnsafeBufferPointer { x in
            var nonFinite: UInt32 = 0
            var differs = false
            for i in 0..<data.rows {
                for j in 0..<columns {
                    let v = x[i &* columns &+ j]
                    // UInt32 literals, not UInt32(Int): the checked conversion doubled this
                    // pass's instructions under `-O` (callgrind: 2.6 M → 5.3 M for 20 000 × 16).
                    nonFinite |= (v.bitPattern & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0
                    differs = differs || v != x[j]
                }
            }
            clean = nonFinite == 0
            anyVaries = differs
        }
        if clean {
            if !anyVaries {
                throw .invalidParameter(name: "data", value: "(every feature is constant)",
                                        expected: "at least one feature that varies")
            }
            return
        }
        var seen = [Bool](repeating: false, count: columns)
        var varies = [Bool](repeating: false, count: columns)
        var first = [Float](repeating: 0, count: columns)
        var firstBad: (row: Int, column: Int)?
        data.storage.withUnsafeBufferPointer { x in
            for i in 0..<data.rows {
                for j in 0..<columns {
                    let v = x[i * columns + j]
                    if v.isNaN { if firstBad == nil { firstBad = (i, j) }; continue }
                    if !v.isFinite { if firstBad == nil { firstBad = (i, j) }; continue }
                    if !seen[j] { seen[j] = true; first[j] = v } else if v != first[j] { varies[j] = true }
                }
            }
        }
        if let j = seen.firstIndex(of: false) { throw .allMissingColumn(column: j) }
        if let bad = firstBad { throw .nonFinite(row: bad.row, column: bad.column) }
        if !varies.contains(true) {
            throw .invalidParameter(name: "data", value: "(every feature is constant)",
                                    expected: "at least one feature that varies")
        }
    }

    /// Grows trees `treeCount ..< treeCount + count` in parallel and appends them.
    mutating func growTrees(_ count: Int, on data: Matrix<Float>, threads: Int) {
        let first = treeCount
        let builder = IsolationTreeBuilder(data: data, sampleSize: sampleSize, height: height,
                                  featuresPerTree: max(1, Int(parameters.maxFeatures * Double(data.columns))),
                                  seed: seed)
        let trees = Parallel.map(count, threads: threads) { k in builder.build(tree: first + k) }
        for tree in trees {
            splitFeatures.append(contentsOf: tree.features)
            splitThresholds.append(contentsOf: tree.thresholds)
            leafPathLengths.append(contentsOf: tree.leaves)
            slotRows.append(contentsOf: tree.slotRows)
            for (j, mass) in tree.splitMass { splitMass[j] += mass }
        }
    }

    func resolveThreshold(on data: Matrix<Float>, threads: Int) -> Double {
        switch parameters.contamination {
        case .auto: return 0.5
        case .fraction(let fraction):
            // Fitted on `data` itself, so the shape holds: the unchecked kernel entry.
            return Metrics.quantile(scores(data, tables: ScoringTables(self), threads: threads), 1 - fraction)
        }
    }

    // MARK: Summary

    /// Share of split mass per feature (sums to 1): a global, depth-weighted importance —
    /// splits near the root divide more rows and count more.
    public var featureImportances: [Double] {
        let total = splitMass.reduce(0, +)
        return splitMass.map { total > 0 ? $0 / total : 0 }
    }

    public func summary(featureNames: [String]) -> ModelSummary {
        let contamination: String
        switch parameters.contamination {
        case .auto: contamination = "auto"
        case .fraction(let f): contamination = "\(f)"
        }
        var splits = 0
        for t in splitThresholds where t.isFinite { splits += 1 }
        return ModelSummary(
            parameters: [
                "trees": "\(treeCount)", "sample_size": "\(parameters.sampleSize)",
                "effective_sample_size": "\(sampleSize)", "max_features": "\(parameters.maxFeatures)",
                "contamination": contamination, "seed": "\(seed)",
            ],
            values: [
                "trees": Double(treeCount), "height_limit": Double(height), "threshold": threshold,
                "splits": Double(splits), "mean_splits_per_tree": Double(splits) / Double(max(1, treeCount)),
                "c_psi": isolationAveragePathLength(sampleSize),
            ],
            importances: featureImportances)
    }
}

/// c(n), the average path length of an unsuccessful search in a binary search tree of n points
/// (Liu et al. 2008, Eq. 1; Preiss 1999): c(n) = 2H(n − 1) − 2(n − 1)/n, with the harmonic
/// number H(i) ≈ ln(i) + γ (γ = 0.5772156649, Euler–Mascheroni). c(1) = c(0) = 0 and c(2) = 1
/// exactly, as in scikit-learn's `_average_path_length` (the approximation is poor for tiny n).
/// It normalises h(x) and estimates the unbuilt depth below an external node of n rows.
public func isolationAveragePathLength(_ n: Int) -> Double {
    if n <= 1 { return 0 }
    if n == 2 { return 1 }
    let m = Double(n - 1)
    return 2 * (harmonicNumberApproximation(m)) - 2 * m / Double(n)
}

/// H(i) ≈ ln(i) + γ, the harmonic-number approximation used by the isolation forest papers.
public func harmonicNumberApproximation(_ i: Double) -> Double {
    log(i) + 0.577_215_664_901_532_9
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension IsolationForest {
    enum CodingKeys: String, CodingKey {
        case parameters, seed, featureCount, sampleSize, height, threshold
        case splitFeatures, splitThresholds, leafPathLengths, slotRows, splitMass
    }

    /// Decodes and checks the layout the scoring and explanation walks read through unchecked
    /// pointers: array sizes that match the height and tree count, and split features inside
    /// `0..<featureCount`. A model file that breaks them is a decoding error, never an
    /// out-of-bounds read.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let featureCount = try c.decode(Int.self, forKey: .featureCount)
        let sampleSize = try c.decode(Int.self, forKey: .sampleSize)
        let height = try c.decode(Int.self, forKey: .height)
        let splitFeatures = try c.decode([Int32].self, forKey: .splitFeatures)
        let splitThresholds = try c.decode([Float].self, forKey: .splitThresholds)
        let leafPathLengths = try c.decode([Float].self, forKey: .leafPathLengths)
        let slotRows = try c.decode([Int32].self, forKey: .slotRows)
        let splitMass = try c.decode([Double].self, forKey: .splitMass)
        func corrupt(_ what: String) -> DecodingError {
            DecodingError.dataCorruptedError(forKey: .splitFeatures, in: c, debugDescription: "isolation forest: \(what)")
        }
        if let problem = Self.layoutProblem(featureCount: featureCount, sampleSize: sampleSize, height: height,
                                            splitFeatures: splitFeatures, splitThresholds: splitThresholds,
                                            leafPathLengths: leafPathLengths, slotRows: slotRows, splitMass: splitMass) {
            throw corrupt(problem)
        }
        let parameters = try c.decode(Parameters.self, forKey: .parameters)
        if let problem = Self.parametersProblem(parameters, trees: leafPathLengths.count >> height) { throw corrupt(problem) }
        self.init(parameters: parameters, seed: try c.decode(UInt64.self, forKey: .seed),
                  featureCount: featureCount, sampleSize: sampleSize, height: height,
                  threshold: try c.decode(Double.self, forKey: .threshold), splitFeatures: splitFeatures,
                  splitThresholds: splitThresholds, leafPathLengths: leafPathLengths, slotRows: slotRows, splitMass: splitMass)
    }

    /// A stored forest from its parts, checked as `init(from:)` checks them; nil when they break
    /// the layout or the parameters are invalid. For a model file's faster reader
    /// (`IsolationForestPayload`), which leaves the wording of any problem to `init(from:)`.
    public init?(storedParameters parameters: Parameters, seed: UInt64, featureCount: Int, sampleSize: Int, height: Int,
                 threshold: Double, splitFeatures: [Int32], splitThresholds: [Float], leafPathLengths: [Float],
                 slotRows: [Int32], splitMass: [Double]) {
        guard Self.layoutProblem(featureCount: featureCount, sampleSize: sampleSize, height: height,
                                 splitFeatures: splitFeatures, splitThresholds: splitThresholds,
                                 leafPathLengths: leafPathLengths, slotRows: slotRows, splitMass: splitMass) == nil,
              Self.parametersProblem(parameters, trees: leafPathLengths.count >> height) == nil else { return nil }
        self.init(parameters: parameters, seed: seed, featureCount: featureCount, sampleSize: sampleSize, height: height,
                  threshold: threshold, splitFeatures: splitFeatures, splitThresholds: splitThresholds,
                  leafPathLengths: leafPathLengths, slotRows: slotRows, splitMass: splitMass)
    }

    /// What breaks the layout the scoring and explanation walks read through unchecked pointers:
    /// array sizes that match the height and tree count, and split features inside
    /// `0..<featureCount`; nil when nothing does.
    static func layoutProblem(featureCount: Int, sampleSize: Int, height: Int, splitFeatures: [Int32],
                              splitThresholds: [Float], leafPathLengths: [Float], slotRows: [Int32],
                              splitMass: [Double]) -> String? {
        // ψ ≤ 2^24 keeps the per-tree tables (2^height slots) within reason; fitting caps ψ far lower.
        guard featureCount >= 1, splitMass.count == featureCount else { return "feature count \(featureCount)" }
        guard (2...(1 << 24)).contains(sampleSize),
              height == Int(log2(Double(sampleSize)).rounded(.up)) else {
            return "sample size \(sampleSize) and height \(height) do not match"
        }
        let leafSlots = 1 << height, internalSlots = leafSlots - 1
        let trees = leafPathLengths.count / leafSlots
        guard trees >= 1, leafPathLengths.count == trees * leafSlots,
              splitFeatures.count == trees * internalSlots, splitThresholds.count == trees * internalSlots,
              slotRows.count == trees * (internalSlots + leafSlots) else {
            return "tree arrays do not match \(trees) trees of height \(height)"
        }
        guard splitFeatures.allSatisfy({ $0 >= 0 && Int($0) < featureCount }) else {
            return "a split feature outside 0..<\(featureCount)"
        }
        return nil
    }

    /// What is wrong with stored parameters for a forest of `trees` trees; nil when nothing is.
    static func parametersProblem(_ parameters: Parameters, trees: Int) -> String? {
        guard parameters.treeCount == trees else {
            return "parameters state \(parameters.treeCount) trees, the file holds \(trees)"
        }
        do { try parameters.validate() } catch { return "\(error)" }
        return nil
    }
}
