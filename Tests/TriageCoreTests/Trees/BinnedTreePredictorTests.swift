import Foundation
import Testing
@testable import TriageCore

@Suite struct BinnedTreePredictorTests {
    /// The plain traversal (`TreeStructure.leaf`), summing leaf distributions in tree order and
    /// scaling as the predictors do: what the compact layout must reproduce to the bit.
    static func reference(_ trees: [TreeStructure], _ data: Matrix<Float>, classes k: Int) -> Matrix<Float> {
        var out = Matrix<Float>(rows: data.rows, columns: k)
        let scale = 1 / Float(trees.count)
        for i in 0..<data.rows {
            data.withRow(i) { row in
                for tree in trees {
                    let p = TreeTraining.classProbabilities(tree, tree.leaf(of: row.baseAddress!))
                    for c in 0..<k { out[i, c] += p[c] }
                }
            }
            if trees.count > 1 { for c in 0..<k { out[i, c] *= scale } }
        }
        return out
    }

    /// The predictors are built per tree over the fit's threads; the layouts (node records,
    /// roots, leaf tables, edges) must be the same bytes for any thread count.
    @Test func predictorLayoutsDoNotDependOnThreads() throws {
        let (x, y) = Self.blobsWithMissing(rows: 500, seed: 31)
        var h = RandomForest.Hyperparameters()
        h.trees = 9
        let forest = try RandomForest.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 4, threads: 1)
        func bytes<T>(_ array: [T]) -> [UInt8] { array.withUnsafeBytes { Array($0) } }
        let one = TreePredictor(trees: forest.trees, features: 4, outputs: 3, threads: 1, leafOutputs: TreeTraining.classProbabilities)
        // The forest's own build writes the class probabilities without per-leaf arrays: the
        // same bytes as through the closure.
        let direct = TreePredictor(classProbabilitiesOf: forest.trees, features: 4, outputs: 3, threads: 2)
        #expect(bytes(direct.leafValues) == bytes(one.leafValues) && bytes(direct.nodes) == bytes(one.nodes))
        #expect(direct.leafBases == one.leafBases)
        #expect(bytes(try #require(direct.binned).table) == bytes(try #require(one.binned).table))
        for threads in [2, 3, 8] {
            let many = TreePredictor(trees: forest.trees, features: 4, outputs: 3, threads: threads,
                                     leafOutputs: TreeTraining.classProbabilities)
            #expect(bytes(many.nodes) == bytes(one.nodes))
            #expect(many.roots == one.roots)
            #expect(bytes(many.leafValues) == bytes(one.leafValues))
            let a = try #require(one.binned), b = try #require(many.binned)
            #expect(bytes(b.nodes) == bytes(a.nodes))
            #expect(b.roots == a.roots && b.spans == a.spans && b.sinks == a.sinks)
            #expect(bytes(b.table) == bytes(a.table) && bytes(b.paddedTable) == bytes(a.paddedTable))
            #expect(bytes(b.edges) == bytes(a.edges))
        }
        // The forest fitted on 3 threads keeps the same predictor as on 1.
        let three = try RandomForest.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 4, threads: 3)
        #expect(bytes(three.predictor.nodes) == bytes(forest.predictor.nodes))
        #expect(bytes(try #require(three.predictor.binned).nodes) == bytes(try #require(forest.predictor.binned).nodes))
    }

    /// Blobs with ~15 % missing values, so trees learn missing-left and missing-right splits.
    static func blobsWithMissing(rows: Int, seed: UInt64) -> (Matrix<Float>, [Int]) {
        var (x, y) = TreeTestData.blobs(rows: rows, seed: seed)
        var random = RandomSource(seed: seed, stream: 9)
        for i in 0..<x.rows { for j in 0..<x.columns where random.uniform(0, 1) < 0.15 { x[i, j] = .nan } }
        return (x, y)
    }

    /// Test rows that sit exactly on the trees' thresholds, just beside them, at ±∞ and NaN:
    /// where a float and a code comparison could disagree if the coding were off by one.
    static func edgeRows(_ trees: [TreeStructure], features: Int, rows: Int, seed: UInt64) -> Matrix<Float> {
        var thresholds = [[Float]](repeating: [], count: features)
        for tree in trees { for i in 0..<tree.nodeCount where !tree.isLeaf(i) { thresholds[Int(tree.feature[i])].append(tree.threshold[i]) } }
        var random = RandomSource(seed: seed)
        return Matrix(rows: rows, columns: features) { _, j in
            let list = thresholds[j]
            switch random.integer(below: 8) {
            case 0: return .nan
            case 1: return random.integer(below: 2) == 0 ? .infinity : -.infinity
            case 2, 3: return list.isEmpty ? 0 : list[random.integer(below: list.count)]
            case 4: return list.isEmpty ? 0 : list[random.integer(below: list.count)].nextUp
            case 5: return list.isEmpty ? 0 : list[random.integer(below: list.count)].nextDown
            default: return Float(random.normal(mean: 2, standardDeviation: 2))
            }
        }
    }

    @Test func forestMatchesThePlainTraversalToTheBit() throws {
        let (x, y) = Self.blobsWithMissing(rows: 500, seed: 3)
        var h = RandomForest.Hyperparameters()
        h.trees = 9
        let forest = try RandomForest.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 2, threads: 2)
        #expect(forest.predictor.binned != nil)
        #expect(forest.trees.contains { t in (0..<t.nodeCount).contains { !t.isLeaf($0) && t.missingGoesLeft[$0] } })
        // More rows than one pass of the tree-split walk (and than one block of the lockstep
        // walk), and a last pass that is not a multiple of the 16 lanes.
        let test = Self.edgeRows(forest.trees, features: 4, rows: max(BinnedTreePredictor.maxBlock, BinnedTreePredictor.maxPassRows) + 999, seed: 4)
        let expected = Self.reference(forest.trees, test, classes: 3)
        for threads in [1, 2, 3] {
            let p = try forest.probabilities(test, threads: threads)
            #expect(p.storage.map(\.bitPattern) == expected.storage.map(\.bitPattern))
        }
        let trainP = try forest.probabilities(x, threads: 2)
        #expect(trainP.storage.map(\.bitPattern) == Self.reference(forest.trees, x, classes: 3).storage.map(\.bitPattern))
    }

    @Test func compactedWalkMatchesForAnyRowCount() throws {
        // Blocks shorter than the 16 lanes, one row over, several lanes' worth plus a few: rows
        // refill finished lanes until the block runs out, then lanes go idle one by one.
        let (x, y) = Self.blobsWithMissing(rows: 400, seed: 12)
        var h = RandomForest.Hyperparameters()
        h.trees = 6
        let forest = try RandomForest.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 5, threads: 1)
        let binned = try #require(forest.predictor.binned)
        #expect(binned.compacted)
        for rows in [1, 5, 16, 17, 31, 97, 1_003] {
            let test = Self.edgeRows(forest.trees, features: 4, rows: rows, seed: UInt64(rows))
            let expected = Self.reference(forest.trees, test, classes: 3).storage.map(\.bitPattern)
            // Up to more threads than trees: the trees are shared out among the threads.
            for threads in [1, 2, 3, 8] {
                #expect(binned.averageOutputs(test, trees: 0..<6, threads: threads).storage.map(\.bitPattern) == expected)
            }
            // A slice of the trees, as out-of-bag and staged prediction use.
            #expect(binned.averageOutputs(test, trees: 2..<5, threads: 2).storage.map(\.bitPattern)
                    == Self.reference(Array(forest.trees[2..<5]), test, classes: 3).storage.map(\.bitPattern))
        }
    }

    @Test func anyOutputWidthIsAddedExactly() throws {
        // Leaf outputs of 1, 4, 5, 8 and 10 values: the padded table is added in SIMD4 chunks
        // (the 4- and 8-wide cases written out, others by a loop); sums must still be the
        // plain ones, in tree order, with negative and fractional values.
        let (x, y) = Self.blobsWithMissing(rows: 400, seed: 21)
        var h = RandomForest.Hyperparameters()
        h.trees = 7
        let forest = try RandomForest.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 8, threads: 1)
        let test = Self.edgeRows(forest.trees, features: 4, rows: 301, seed: 22)
        for k in [1, 4, 5, 8, 10] {
            let leafOutputs: @Sendable (TreeStructure, Int) -> [Float] = { tree, leaf in
                let p = TreeTraining.classProbabilities(tree, leaf)
                return (0..<k).map { c in p[c % 3] * Float(c + 1) - Float(leaf % 7) / 3 }
            }
            let binned = try #require(BinnedTreePredictor(trees: forest.trees, features: 4, outputs: k, leafOutputs: leafOutputs))
            var expected = Matrix<Float>(rows: test.rows, columns: k)
            for i in 0..<test.rows {
                test.withRow(i) { row in
                    for tree in forest.trees {
                        let v = leafOutputs(tree, tree.leaf(of: row.baseAddress!))
                        for c in 0..<k { expected[i, c] += v[c] }
                    }
                }
                for c in 0..<k { expected[i, c] *= 1 / Float(forest.trees.count) }
            }
            for threads in [1, 3] {
                #expect(binned.averageOutputs(test, trees: 0..<7, threads: threads).storage.map(\.bitPattern)
                        == expected.storage.map(\.bitPattern), "k = \(k), threads = \(threads)")
            }
        }
    }

    @Test func wideDataWalksInLockstepGroups() throws {
        // More features than half a lane's line: the interleaved lockstep walk (`walkSixteen`).
        let features = BinnedTreePredictor.laneStride / 2 + 6
        let (blobs, y) = TreeTestData.blobs(rows: 300, seed: 13)
        var random = RandomSource(seed: 13, stream: 2)
        let x = Matrix<Float>(rows: 300, columns: features) { i, j in
            random.uniform(0, 1) < 0.1 ? .nan : j < 4 ? blobs[i, j] : Float((i * 7 + j) % 13)
        }
        var h = RandomForest.Hyperparameters()
        h.trees = 5
        let forest = try RandomForest.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 4, threads: 2)
        let binned = try #require(forest.predictor.binned)
        #expect(!binned.compacted)
        for threads in [1, 2] {
            let p = try forest.probabilities(x, threads: threads)
            #expect(p.storage.map(\.bitPattern) == Self.reference(forest.trees, x, classes: 3).storage.map(\.bitPattern))
        }
    }

    @Test func loadedModelsBuildTheSameLayout() throws {
        let (x, y) = Self.blobsWithMissing(rows: 300, seed: 5)
        var h = RandomForest.Hyperparameters()
        h.trees = 5
        let forest = try RandomForest.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 1, threads: 1)
        let decoded = try JSONDecoder().decode(RandomForest.self, from: JSONEncoder().encode(forest))
        #expect(decoded.predictor.binned != nil)
        let test = Self.edgeRows(forest.trees, features: 4, rows: 700, seed: 6)
        #expect(try decoded.probabilities(test, threads: 2) == forest.probabilities(test, threads: 1))
        // Leaf outputs are shared: grown leaves are mostly pure, so few distinct vectors.
        let binned = try #require(forest.predictor.binned)
        #expect(binned.table.count / 3 < forest.trees.reduce(0) { $0 + $1.leafCount })
    }

    @Test func singleTreeLayoutMatchesToo() throws {
        let (x, y) = Self.blobsWithMissing(rows: 400, seed: 7)
        let tree = try DecisionTree.fit(x, labels: y, classCount: 3)
        let binned = try #require(tree.predictor.binned)
        let test = Self.edgeRows([tree.tree], features: 4, rows: 300, seed: 8)
        let expected = Self.reference([tree.tree], test, classes: 3).storage.map(\.bitPattern)
        // A lone tree predicts on floats (coding rows would cost more than the walk)...
        #expect(try tree.probabilities(test, threads: 2).storage.map(\.bitPattern) == expected)
        // ...and the compact layout gives the same.
        #expect(binned.averageOutputs(test, trees: 0..<1, threads: 2).storage.map(\.bitPattern) == expected)
    }

    @Test func manyDistinctThresholdsFallBackToFloatComparisons() throws {
        // Alternating labels along one feature: the exact splitter cuts between every pair of
        // rows, more distinct thresholds than one-byte codes can tell apart.
        let rows = 700
        let x = Matrix<Float>(rows: rows, columns: 1) { i, _ in Float(i) * 0.5 }
        let y = (0..<rows).map { $0 % 2 }
        var h = DecisionTree.Hyperparameters()
        h.splitter = .exact
        let tree = try DecisionTree.fit(x, labels: y, classCount: 2, hyperparameters: h)
        #expect(tree.tree.nodeCount > 2 * BinnedTreePredictor.maxThresholds)
        #expect(tree.predictor.binned == nil)
        let test = Matrix<Float>(rows: 2 * rows, columns: 1) { i, _ in Float(i) * 0.25 - 1 }
        let p = try tree.probabilities(test, threads: 2)
        #expect(p.storage.map(\.bitPattern) == Self.reference([tree.tree], test, classes: 2).storage.map(\.bitPattern))
        #expect(try tree.predict(x, threads: 1) == y)
    }

    @Test func tooManyFeaturesForTheNodeRecordFallBackToFloats() throws {
        // A node stores its feature's offset in a group of interleaved lane codes in 16 bits.
        let features = 65_536 / BinnedTreePredictor.lanes + 1
        let (blobs, y) = TreeTestData.blobs(rows: 60, seed: 11)
        let x = Matrix<Float>(rows: 60, columns: features) { i, j in j < 4 ? blobs[i, j] : Float((i * 7 + j) % 13) }
        var h = RandomForest.Hyperparameters()
        h.trees = 4
        let forest = try RandomForest.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 3, threads: 2)
        #expect(forest.predictor.binned == nil)
        let p = try forest.probabilities(x, threads: 2)
        #expect(p.storage.map(\.bitPattern) == Self.reference(forest.trees, x, classes: 3).storage.map(\.bitPattern))
    }

    @Test func nodeFieldsSitWhereTheWordReadExpectsThem() {
        // `step` reads a node as one little-endian 8-byte word: threshold in byte 0, shift in
        // byte 1, feature in bytes 2–3, child in bytes 4–7.
        typealias Node = BinnedTreePredictor.Node
        #expect(MemoryLayout<Node>.stride == 8)
        #expect(MemoryLayout<Node>.offset(of: \Node.threshold) == 0)
        #expect(MemoryLayout<Node>.offset(of: \Node.shift) == 1)
        #expect(MemoryLayout<Node>.offset(of: \Node.feature) == 2)
        #expect(MemoryLayout<Node>.offset(of: \Node.child) == 4)
    }

    @Test func codesCountTheThresholdsBelowAValue() {
        var edges = [Float](repeating: .infinity, count: BinnedTreePredictor.edgeStride)
        let thresholds: [Float] = [-1, 0, 2.5, .infinity]
        for (j, t) in thresholds.enumerated() { edges[j] = t }
        edges.withUnsafeBufferPointer { e in
            let code = { (v: Float) in BinnedTreePredictor.code(v, e.baseAddress!) }
            #expect(code(-.infinity) == 0)
            #expect(code(-1) == 0)
            #expect(code(-0.5) == 1)
            #expect(code(0) == 1)
            #expect(code(-0.0) == 1)
            #expect(code(2.5) == 2)
            #expect(code(3) == 3)
            #expect(code(.infinity) == 3)
            #expect(code(.nan) == BinnedTreePredictor.missingCode)
        }
    }

    /// The leaf-output set numbers rows in order of first insertion, tells rows apart by their
    /// bits (−0 from +0, one NaN payload from another) and survives its rehashes.
    @Test func distinctRowsNumberRowsByFirstAppearance() {
        var set = DistinctRows(width: 3)
        var reference = [[UInt32]: Int]()
        var random = RandomSource(seed: 5)
        for _ in 0..<5000 {
            let row: [Float] = [Float(random.integer(below: 9)), Float(random.integer(below: 9)) / 4,
                                random.integer(below: 2) == 0 ? 0 : -0.0]
            let key = row.map(\.bitPattern)
            let expected = reference[key] ?? reference.count
            if reference[key] == nil { reference[key] = expected }
            #expect(row.withUnsafeBufferPointer { set.index(of: $0.baseAddress!) } == expected)
        }
        #expect(set.count == reference.count)
        for (key, index) in reference {
            #expect(Array(set.rows[(index * 3)..<(index * 3 + 3)]).map(\.bitPattern) == key)
        }
    }
}
