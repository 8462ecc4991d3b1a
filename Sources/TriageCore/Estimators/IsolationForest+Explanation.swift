/// Per-row explanations: which features isolated a row.
///
/// A local, depth-based path contribution in the spirit of DIFFI (Carletti, Terzi & Susto,
/// "Interpretable Anomaly Detection with DIFFI", Eng. Appl. AI 2023), which weighs each split on
/// a path by the imbalance it induces and each tree by how fast it isolates the point. Here a
/// split at node v on x's path, sending x to child u, credits its feature with the bits of
/// isolation it achieved, log₂(n_v / n_u) (n = training sub-sample rows reaching the node), and
/// each tree is weighted by 1/h_t(x), so trees that isolate x quickly (the ones that make it
/// anomalous) count most:
///
///     contribution_f(x) = Σ_t (1 / h_t(x)) · Σ_{v on x's path in tree t, split on f} log₂(n_v / n_u)
///
/// A split that cuts the row off from most of the data (the outlying feature) earns many bits;
/// the later splits that separate it from a few similar rows earn few. A plain count of splits
/// would credit those later splits as much and often name the wrong feature. Padding slots
/// (below an external node) keep n_u = n_v and credit nothing. The credit of a path depends only
/// on the leaf reached, so it is tabulated per leaf once per call and a row costs the scoring
/// walk plus a few adds per tree.
extension IsolationForest {
    /// Index of the feature with the largest path contribution per row (lowest index on ties;
    /// 0 for a row no split ever touched).
    ///
    /// - Complexity: O(rows · trees · height + rows · features), parallel over row tasks.
    public func topFeatures(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> [Int] {
        try checkColumns(data, expected: featureCount)
        var top = [Int](repeating: 0, count: data.rows)
        let d = featureCount
        top.withUnsafeMutableBufferPointer { out in
            let output = SendablePointer(out.baseAddress!)
            forEachContributionBlock(data, threads: threads) { rows, contributions, _ in
                for r in 0..<rows.count {
                    let c = contributions + r * d
                    var best = 0
                    for j in 1..<max(1, d) where c[j] > c[best] { best = j }
                    output[rows.lowerBound + r] = best
                }
            }
        }
        return top
    }

    /// Rows × features path contributions (see the extension's notes), for callers that want
    /// more than the top feature.
    public func pathContributions(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> Matrix<Double> {
        try checkColumns(data, expected: featureCount)
        var result = Matrix<Double>(rows: data.rows, columns: featureCount)
        let d = featureCount
        result.storage.withUnsafeMutableBufferPointer { out in
            let output = SendablePointer(out.baseAddress!)
            forEachContributionBlock(data, threads: threads) { rows, contributions, _ in
                for i in 0..<(rows.count * d) { output[rows.lowerBound * d + i] = Double(contributions[i]) }
            }
        }
        return result
    }

    /// Scores and top features from one walk per tree: the same values as `scores` and
    /// `topFeatures` (sums run in the same tree order), for about two thirds of the cost of
    /// calling both.
    public func scoresAndTopFeatures(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> (scores: [Double], topFeatures: [Int]) {
        try checkColumns(data, expected: featureCount)
        var sums = [Double](repeating: 0, count: data.rows)
        var top = [Int](repeating: 0, count: data.rows)
        let d = featureCount
        sums.withUnsafeMutableBufferPointer { sumsOut in
            top.withUnsafeMutableBufferPointer { topOut in
                let sumsOutput = SendablePointer(sumsOut.baseAddress!), topOutput = SendablePointer(topOut.baseAddress!)
                forEachContributionBlock(data, threads: threads, pathLengths: true) { rows, contributions, pathSums in
                    for r in 0..<rows.count {
                        let c = contributions + r * d
                        var best = 0
                        for j in 1..<max(1, d) where c[j] > c[best] { best = j }
                        topOutput[rows.lowerBound + r] = best
                        sumsOutput[rows.lowerBound + r] = pathSums[r]
                    }
                }
            }
        }
        let normaliser = Double(treeCount) * isolationAveragePathLength(sampleSize)
        guard normaliser > 0 else { return (Array(repeating: 0.5, count: data.rows), top) }
        return (sums.map { exp2(-$0 / normaliser) }, top)
    }

    /// Calls `body(rows, contributions, pathLengthSums)` for every block, contributions being
    /// rows × features and pathLengthSums Σ_t h_t(x) per row.
    private func forEachContributionBlock(_ data: Matrix<Float>, threads: Int, pathLengths: Bool = false,
                                          _ body: @Sendable (Range<Int>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Double>) -> Void) {
        let paths = LeafPaths(self)
        let d = featureCount
        paths.withPointers { paths in
            forEachBlock(data, tables: ScoringTables(self), threads: threads) { walker, rows in
                let contributions = UnsafeMutablePointer<Float>.allocate(capacity: IsolationForest.blockStride * d)
                let leafRows = UnsafeMutablePointer<Int32>.allocate(capacity: IsolationForest.blockStride * treeCount)
                defer { contributions.deallocate(); leafRows.deallocate() }
                walker.sumContributions(paths: paths, into: contributions, leafRows: leafRows, pathLengths: pathLengths)
                body(rows, contributions, walker.accumulator)
            }
        }
    }
}

/// Per tree and leaf slot: the real splits on the path to it (feature and weighted credit).
struct LeafPaths: Sendable {
    let height: Int
    let leafSlots: Int
    /// treeCount × leafSlots × height feature indices and credits (the first `counts[leaf]`).
    let features: [Int32]
    let credits: [Float]
    let counts: [UInt8]
    /// With few features, each reached leaf's credits summed into one dense row of
    /// `paddedColumns` values (columns rounded up to whole SIMD4 lanes, zero-padded): adding a
    /// fixed-length vector beats scattered adds with a variable count (no mispredicted loop
    /// exits, vectorised). `denseOffset[leaf]` is the float offset of its row in `dense`; row 0
    /// is all zeros and serves leaves no training row reached (none can reach them now), so the
    /// add needs no branch. Empty when there are more than `denseColumnLimit` features.
    let columns: Int
    let paddedColumns: Int
    let denseOffset: [Int32]
    let dense: [Float]
    static let denseColumnLimit = 64

    init(_ forest: IsolationForest) {
        height = forest.height
        leafSlots = forest.leafSlots
        let internalSlots = forest.internalSlots
        let slotsPerTree = internalSlots + leafSlots
        var features = [Int32](repeating: 0, count: forest.treeCount * leafSlots * max(1, height))
        var credits = [Float](repeating: 0, count: features.count)
        var counts = [UInt8](repeating: 0, count: forest.treeCount * leafSlots)
        // Through buffers: with checked `-O` the Arrays' bounds checks made this per-call table
        // 130 % more instructions (callgrind, 100 trees of ψ = 256: 9.9 M → 22.8 M; BENCHMARKS.md,
        // "Checked release builds"). Indices stay inside the forest's arrays, whose sizes
        // `IsolationForest` fixes from `treeCount`, `internalSlots` and `leafSlots`.
        let treeCount = forest.treeCount
        // Locals, not self's properties: the closures below run before `self` is initialised.
        let leafCount = forest.leafSlots, pathHeight = forest.height
        forest.slotRows.withUnsafeBufferPointer { slotRows in
        forest.leafPathLengths.withUnsafeBufferPointer { leafPathLengths in
        forest.splitThresholds.withUnsafeBufferPointer { splitThresholds in
        forest.splitFeatures.withUnsafeBufferPointer { splitFeatures in
        features.withUnsafeMutableBufferPointer { features in
        credits.withUnsafeMutableBufferPointer { credits in
        counts.withUnsafeMutableBufferPointer { counts in
            for t in 0..<treeCount {
                let rows = slotRows.baseAddress! + t * slotsPerTree - 1 // one-based slots
                for leaf in 0..<leafCount {
                    let index = t &* leafCount &+ leaf
                    let h = Double(leafPathLengths[index])
                    var child = leafCount &+ leaf // one-based heap slot of the leaf
                    var n = 0
                    while child > 1 {
                        let parent = child >> 1
                        let node = t &* internalSlots &+ parent &- 1
                        let parentRows = Double(rows[parent])
                        let childRows = Double(rows[child])
                        // childRows == 0: a leaf slot no training row reached (unreachable).
                        if splitThresholds[node].isFinite && childRows > 0 && h > 0 {
                            features[index &* pathHeight &+ n] = splitFeatures[node]
                            credits[index &* pathHeight &+ n] = Float(log2(parentRows / childRows) / h)
                            n &+= 1
                        }
                        child = parent
                    }
                    counts[index] = UInt8(truncatingIfNeeded: n)
                }
            }
        }}}}}}}
        self.features = features
        self.credits = credits
        self.counts = counts
        columns = forest.featureCount
        paddedColumns = (columns + 3) / 4 * 4
        var denseOffset = [Int32]()
        var dense = [Float]()
        if columns <= Self.denseColumnLimit {
            denseOffset = [Int32](repeating: 0, count: counts.count)
            dense = [Float](repeating: 0, count: paddedColumns)
            for leaf in 0..<counts.count where counts[leaf] > 0 {
                denseOffset[leaf] = Int32(dense.count)
                var vector = [Float](repeating: 0, count: paddedColumns)
                for s in 0..<Int(counts[leaf]) { vector[Int(features[leaf * height + s])] += credits[leaf * height + s] }
                dense.append(contentsOf: vector)
            }
        }
        self.denseOffset = denseOffset
        self.dense = dense
    }

    struct Pointers: @unchecked Sendable {
        let height: Int
        let leafSlots: Int
        let features: UnsafePointer<Int32>
        let credits: UnsafePointer<Float>
        let counts: UnsafePointer<UInt8>
        let columns: Int
        let paddedColumns: Int
        /// nil when there are too many features for dense rows.
        let denseOffset: UnsafePointer<Int32>?
        let dense: UnsafePointer<Float>?
    }

    func withPointers<R>(_ body: (Pointers) -> R) -> R {
        features.withUnsafeBufferPointer { f in
            counts.withUnsafeBufferPointer { c in
                credits.withUnsafeBufferPointer { w in
                  denseOffset.withUnsafeBufferPointer { o in
                    dense.withUnsafeBufferPointer { v in
                        body(Pointers(height: height, leafSlots: leafSlots, features: f.baseAddress!,
                                      credits: w.baseAddress!, counts: c.baseAddress!, columns: columns,
                                      paddedColumns: paddedColumns,
                                      denseOffset: columns <= Self.denseColumnLimit ? o.baseAddress : nil,
                                      dense: columns <= Self.denseColumnLimit ? v.baseAddress : nil))
                    }
                  }
                }
            }
        }
    }
}

extension BlockWalker {

    /// Overwrites `contributions` (loaded rows × columns) with each row's path contributions,
    /// and, when `pathLengths`, `accumulator` with each row's Σ_t h_t(x). `leafRows` is scratch
    /// for `blockStride × treeCount` offsets.
    ///
    /// With dense rows the walk only records, per row and tree, the offset of the leaf's credit
    /// row; each row then sums its trees' credit rows in registers (one pass, no stores per
    /// tree). Per feature the sum still runs over trees in order from 0, so the values equal
    /// adding the credits tree by tree.
    func sumContributions(paths: LeafPaths.Pointers, into contributions: UnsafeMutablePointer<Float>,
                          leafRows: UnsafeMutablePointer<Int32>, pathLengths: Bool) {
        let n = IsolationForest.interleave
        let d = columns
        let trees = tables.treeCount
        for r in 0..<count { accumulator[r] = 0 }
        guard let denseOffset = paths.denseOffset, let dense = paths.dense else {
            sumSparseContributions(paths: paths, into: contributions, pathLengths: pathLengths)
            return
        }
        // Index arithmetic wraps (&*, &+) and SIMD lanes are copied through raw memory: with
        // checked `-O`, overflow checks on the row/tree indices and the SIMD subscript's range
        // check cost this function 12.5 % more instructions (callgrind, 20 000 rows × 16 features
        // × 100 trees: 376 M → 423 M; BENCHMARKS.md, "Checked release builds"). The bounds hold
        // by construction: g·n + k < count ≤ rowsPerBlock, t < trees, j < d ≤ 16.
        for t in 0..<trees {
            let pathLength = tables.leaves + (t &* tables.stride &- tables.stride)
            let offsets = denseOffset + (t &* paths.leafSlots &- paths.leafSlots)
            for g in 0..<groups {
                descend(tree: t, group: g)
                let first = g &* n
                let live = min(n, count &- first)
                if pathLengths {
                    for k in 0..<live { accumulator[first &+ k] += Double(pathLength[slots[k]]) }
                }
                let column = leafRows + t
                for k in 0..<live { column[(first &+ k) &* trees] = offsets[slots[k]] }
            }
        }
        let raw = UnsafeRawPointer(dense)
        if paths.paddedColumns == 16 {
            var sum = SIMD16<Float>()
            for r in 0..<count {
                let rows = leafRows + r &* trees
                sum = SIMD16<Float>()
                for t in 0..<trees { sum += raw.loadUnaligned(fromByteOffset: Int(rows[t]) &* 4, as: SIMD16<Float>.self) }
                let row = contributions + r &* d
                withUnsafeBytes(of: &sum) { lanes in
                    for j in 0..<d { row[j] = lanes.load(fromByteOffset: j &* 4, as: Float.self) }
                }
            }
            return
        }
        let lanes = paths.paddedColumns / 4
        withUnsafeTemporaryAllocation(of: SIMD4<Float>.self, capacity: lanes) { sum in
            for r in 0..<count {
                let rows = leafRows + r * trees
                for l in 0..<lanes { sum[l] = SIMD4<Float>() }
                for t in 0..<trees {
                    let vector = raw + Int(rows[t]) &* 4
                    for l in 0..<lanes { sum[l] += vector.loadUnaligned(fromByteOffset: l * 16, as: SIMD4<Float>.self) }
                }
                let row = contributions + r &* d
                let lanes = UnsafeRawPointer(sum.baseAddress!)
                for j in 0..<d { row[j] = lanes.load(fromByteOffset: j &* 4, as: Float.self) }
            }
        }
    }

    /// Many features: scattered adds of each path's (feature, credit) list, tree by tree.
    private func sumSparseContributions(paths: LeafPaths.Pointers, into contributions: UnsafeMutablePointer<Float>,
                                        pathLengths: Bool) {
        let n = IsolationForest.interleave
        let d = columns
        for i in 0..<(count * d) { contributions[i] = 0 }
        for t in 0..<tables.treeCount {
            let pathLength = tables.leaves + t * tables.stride - tables.stride
            for g in 0..<groups {
                descend(tree: t, group: g)
                let live = min(n, count - g * n)
                if pathLengths {
                    for k in 0..<live { accumulator[g * n + k] += Double(pathLength[slots[k]]) }
                }
                for k in 0..<live {
                    let leaf = t * paths.leafSlots + slots[k] - paths.leafSlots
                    let row = contributions + (g * n + k) * d
                    let list = paths.features + leaf * paths.height
                    let credit = paths.credits + leaf * paths.height
                    for s in 0..<Int(paths.counts[leaf]) { row[Int(list[s])] += credit[s] }
                }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
