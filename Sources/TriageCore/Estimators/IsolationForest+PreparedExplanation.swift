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
        let normaliser = Double(forest.treeCount) * isolationAveragePathLength(forest.sampleSize)
        guard normaliser > 0 else { return (Array(repeating: 0.5, count: data.rows), top) }
        return (sums.map { exp2(-$0 / normaliser) }, top)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
