/// Per-row explanations: which features isolated a row.
///
/// A local, depth-based path contribution in the spirit of DIFFI (Carletti, Terzi & Susto,
/// "Interpretable Anomaly Detection with DIFFI", Eng. Appl. AI 2023): in every tree, each real
/// split on the row's path credits its feature with 1/h_t(x), the inverse of that tree's path
/// length. Trees that isolate the row quickly (the ones that make it anomalous) weigh most, and a
/// feature split on repeatedly along a short path collects the most credit:
///
///     contribution_f(x) = Σ_t Σ_{splits on x's path in tree t using f} 1 / h_t(x)
///
/// Padding slots (below an external node) are not splits and credit nothing. The credit of a
/// path depends only on the leaf reached, so it is tabulated per leaf once per call and a row
/// costs one walk (the scoring walk) plus a few adds per tree.
extension IsolationForest {
    /// Index of the feature with the largest path contribution per row (lowest index on ties;
    /// 0 for a row no split ever touched).
    ///
    /// - Complexity: O(rows · trees · height + rows · features), parallel over row tasks.
    public func topFeatures(_ data: Matrix<Float>, threads: Int) -> [Int] {
        precondition(data.columns == featureCount, "data has \(data.columns) columns, model expects \(featureCount)")
        var top = [Int](repeating: 0, count: data.rows)
        let d = featureCount
        top.withUnsafeMutableBufferPointer { out in
            let output = SendablePointer(out.baseAddress!)
            forEachContributionBlock(data, threads: threads) { rows, contributions in
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
    public func pathContributions(_ data: Matrix<Float>, threads: Int) -> Matrix<Double> {
        precondition(data.columns == featureCount, "data has \(data.columns) columns, model expects \(featureCount)")
        var result = Matrix<Double>(rows: data.rows, columns: featureCount)
        let d = featureCount
        result.storage.withUnsafeMutableBufferPointer { out in
            let output = SendablePointer(out.baseAddress!)
            forEachContributionBlock(data, threads: threads) { rows, contributions in
                for i in 0..<(rows.count * d) { output[rows.lowerBound * d + i] = Double(contributions[i]) }
            }
        }
        return result
    }

    /// Calls `body(rows, contributions)` for every block, contributions being rows × features.
    private func forEachContributionBlock(_ data: Matrix<Float>, threads: Int,
                                          _ body: @Sendable (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        let paths = LeafPaths(self)
        let d = featureCount
        paths.withPointers { paths in
            forEachBlock(data, tables: ScoringTables(self), threads: threads) { walker, rows in
                let contributions = UnsafeMutablePointer<Float>.allocate(capacity: IsolationForest.blockStride * d)
                defer { contributions.deallocate() }
                walker.sumContributions(paths: paths, into: contributions)
                body(rows, contributions)
            }
        }
    }
}

/// Per tree and leaf slot: the features of the real splits on the path to it, and 1/h.
struct LeafPaths: Sendable {
    let height: Int
    let leafSlots: Int
    /// treeCount × leafSlots × height feature indices (the first `counts[leaf]` are used).
    let features: [Int32]
    let counts: [UInt8]
    let weights: [Float]

    init(_ forest: IsolationForest) {
        height = forest.height
        leafSlots = forest.leafSlots
        let internalSlots = forest.internalSlots
        var features = [Int32](repeating: 0, count: forest.treeCount * leafSlots * max(1, height))
        var counts = [UInt8](repeating: 0, count: forest.treeCount * leafSlots)
        var weights = [Float](repeating: 0, count: forest.treeCount * leafSlots)
        for t in 0..<forest.treeCount {
            for leaf in 0..<leafSlots {
                let index = t * leafSlots + leaf
                var slot = leafSlots + leaf // one-based heap slot of the leaf
                var n = 0
                while slot > 1 {
                    slot >>= 1
                    let node = t * internalSlots + slot - 1
                    if forest.splitThresholds[node].isFinite {
                        features[index * height + n] = forest.splitFeatures[node]
                        n += 1
                    }
                }
                counts[index] = UInt8(n)
                let h = forest.leafPathLengths[index]
                weights[index] = h > 0 ? 1 / h : 0
            }
        }
        self.features = features
        self.counts = counts
        self.weights = weights
    }

    struct Pointers: @unchecked Sendable {
        let height: Int
        let leafSlots: Int
        let features: UnsafePointer<Int32>
        let counts: UnsafePointer<UInt8>
        let weights: UnsafePointer<Float>
    }

    func withPointers<R>(_ body: (Pointers) -> R) -> R {
        features.withUnsafeBufferPointer { f in
            counts.withUnsafeBufferPointer { c in
                weights.withUnsafeBufferPointer { w in
                    body(Pointers(height: height, leafSlots: leafSlots, features: f.baseAddress!,
                                  counts: c.baseAddress!, weights: w.baseAddress!))
                }
            }
        }
    }
}

extension BlockWalker {
    /// Overwrites `contributions` (loaded rows × columns) with each row's path contributions.
    func sumContributions(paths: LeafPaths.Pointers, into contributions: UnsafeMutablePointer<Float>) {
        let n = IsolationForest.interleave
        let d = columns
        for i in 0..<(count * d) { contributions[i] = 0 }
        for t in 0..<tables.treeCount {
            for g in 0..<groups {
                descend(tree: t, group: g)
                for k in 0..<min(n, count - g * n) {
                    let leaf = t * paths.leafSlots + slots[k] - paths.leafSlots
                    let w = paths.weights[leaf]
                    let list = paths.features + leaf * paths.height
                    let row = contributions + (g * n + k) * d
                    for s in 0..<Int(paths.counts[leaf]) { row[Int(list[s])] += w }
                }
            }
        }
    }
}
