/// An isolation forest with its scoring tables and per-leaf explanation tables built once, for
/// callers that score and explain many small batches: `triage serve` scores one row per request.
///
/// `IsolationForest.scoresAndTopFeatures` builds both tables on every call — a copy of every
/// tree (`ScoringTables`, 200 KiB at 100 trees of ψ = 256) and every leaf's path credits
/// (`LeafPaths`, ~10 M instructions at that size; BENCHMARKS.md, "Checked release builds") —
/// which is noise next to a million rows but was nearly all of the work of a one-row request
/// (callgrind, 100 trees × 7 features, one row: see BENCHMARKS.md "HTTP server (issue 15)").
/// Here they are built in `init`; a call walks the rows only. Values are the same as the
/// forest's own `scores`, `scoresAndTopFeatures` (the same walk and sums in the same order).
public struct PreparedExplainingIsolationForest: Sendable {
    public let forest: IsolationForest
    let tables: ScoringTables
    let paths: LeafPaths

    public init(_ forest: IsolationForest) {
        self.forest = forest
        tables = ScoringTables(forest)
        paths = LeafPaths(forest)
    }

    /// s(x, ψ) per row: the values of `forest.scores(data, threads:)`.
    ///
    /// - Throws: `shapeMismatch` when `data` does not have the forest's `featureCount` columns.
    public func scores(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> [Double] {
        try checkColumns(data, expected: forest.featureCount)
        return forest.scores(data, tables: tables, threads: threads)
    }

    /// Scores and top features: the values of `forest.scoresAndTopFeatures(data, threads:)`.
    ///
    /// - Throws: `shapeMismatch` when `data` does not have the forest's `featureCount` columns.
    /// - Complexity: O(rows · trees · height + rows · features), parallel over row tasks.
    public func scoresAndTopFeatures(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> (scores: [Double], topFeatures: [Int]) {
        try checkColumns(data, expected: forest.featureCount)
        var sums = [Double](repeating: 0, count: data.rows)
        var top = [Int](repeating: 0, count: data.rows)
        if data.rows < IsolationForest.interleave {
            for r in 0..<data.rows { (sums[r], top[r]) = walkAlone(data, row: r) }
        } else {
            walkBlocks(data, threads: threads, sums: &sums, top: &top)
        }
        let normaliser = Double(forest.treeCount) * isolationAveragePathLength(forest.sampleSize)
        guard normaliser > 0 else { return (Array(repeating: 0.5, count: data.rows), top) }
        return (sums.map { exp2(-$0 / normaliser) }, top)
    }

    /// Σ_t h_t(x) and the top feature of every row, by the block walker (what
    /// `IsolationForest.scoresAndTopFeatures` runs, with this value's tables).
    func walkBlocks(_ data: Matrix<Float>, threads: Int, sums: inout [Double], top: inout [Int]) {
        let d = forest.featureCount, treeCount = forest.treeCount
        let tables = self.tables
        sums.withUnsafeMutableBufferPointer { sumsOut in
            top.withUnsafeMutableBufferPointer { topOut in
                let sumsOutput = SendablePointer(sumsOut.baseAddress!), topOutput = SendablePointer(topOut.baseAddress!)
                paths.withPointers { paths in
                    forest.forEachBlock(data, tables: tables, threads: threads) { walker, rows in
                        let contributions = UnsafeMutablePointer<Float>.allocate(capacity: IsolationForest.blockStride * d)
                        let leafRows = UnsafeMutablePointer<Int32>.allocate(capacity: IsolationForest.blockStride * treeCount)
                        defer { contributions.deallocate(); leafRows.deallocate() }
                        walker.sumContributions(paths: paths, into: contributions, leafRows: leafRows, pathLengths: true)
                        for r in 0..<rows.count {
                            let c = contributions + r * d
                            var best = 0
                            for j in 1..<max(1, d) where c[j] > c[best] { best = j }
                            topOutput[rows.lowerBound + r] = best
                            sumsOutput[rows.lowerBound + r] = walker.accumulator[r]
                        }
                    }
                }
            }
        }
    }

    /// Σ_t h_t(x) and the top feature of one row, walked alone. The block walker takes rows in
    /// interleaved groups of `IsolationForest.interleave`, so a request of one row walked eleven
    /// padding rows beside it: 100 k of the 440 k instructions of a one-row `POST /v1/score`
    /// (callgrind; BENCHMARKS.md "HTTP server (issue 15)"), ~15 k here. The decisions are the
    /// walker's (value > threshold, NaN goes left) and path lengths and credits are summed per
    /// feature in tree order from zero, as the walker sums them, so the values are equal to the bit.
    func walkAlone(_ data: Matrix<Float>, row: Int) -> (pathLengthSum: Double, topFeature: Int) {
        let d = forest.featureCount, height = forest.height, leafSlots = forest.leafSlots
        let internalSlots = forest.internalSlots
        var sum = 0.0
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, d)) { credit in
            for j in 0..<d { credit[j] = 0 }
            data.storage.withUnsafeBufferPointer { storage in
            forest.splitFeatures.withUnsafeBufferPointer { features in
            forest.splitThresholds.withUnsafeBufferPointer { thresholds in
            forest.leafPathLengths.withUnsafeBufferPointer { leaves in
            paths.withPointers { paths in
                let x = storage.baseAddress! + row * d
                for t in 0..<forest.treeCount {
                    // One-based heap slots, as the walker's `descend`.
                    let base = t &* internalSlots &- 1
                    var i = 1
                    for _ in 0..<height {
                        i = 2 &* i &+ greater(x[Int(features[base &+ i])], thresholds[base &+ i])
                    }
                    let leaf = t &* leafSlots &+ i &- leafSlots
                    sum += Double(leaves[leaf])
                    if let denseOffset = paths.denseOffset, let dense = paths.dense {
                        let vector = dense + Int(denseOffset[leaf])
                        for j in 0..<d { credit[j] += vector[j] }
                    } else {
                        let list = paths.features + leaf &* paths.height, credits = paths.credits + leaf &* paths.height
                        for s in 0..<Int(paths.counts[leaf]) { credit[Int(list[s])] += credits[s] }
                    }
                }
            }}}}}
            var best = 0
            for j in 1..<max(1, d) where credit[j] > credit[best] { best = j }
            return (sum, best)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
