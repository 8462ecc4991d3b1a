/// Trees flattened for fast prediction: one array of 16-byte node records for all trees of a
/// model and one array of leaf outputs.
///
/// Prediction is bound by the latency of dependent loads (node → feature value → compare →
/// next node), see ../shared/notes/performance.md; a compact record puts threshold, feature and
/// the right child in one cache line fetch, the left child is implicit (depth-first numbering),
/// rows are processed in blocks scored tree by tree so each tree's nodes stay cached across
/// the block, and 16 rows walk a tree in lockstep with a branch-free step so their loads overlap.
///
/// This float layout serves per-tree outputs (out-of-bag estimates) and models the compact
/// `BinnedTreePredictor` cannot take, and averages over fewer than 4 trees; `averageOutputs`
/// uses the compact one otherwise.
struct TreePredictor: Sendable {
    struct Node {
        var threshold: Float
        /// Feature index; bit 31 set when missing values go left. A leaf has threshold NaN,
        /// feature 0 and `right` pointing to itself, so stepping from it stays put.
        var feature: UInt32
        /// Absolute index of the right child (a leaf: its own index).
        var right: Int32
        /// Leaves: offset of the leaf's outputs in `leafValues`.
        var leafOffset: Int32
    }

    static let missingLeftBit: UInt32 = 0x8000_0000

    let nodes: [Node]
    let roots: [Int]
    let leafValues: [Float]
    /// Offset in `leafValues` of tree t's first leaf: its leaves' outputs follow in node order,
    /// `outputs` values each, so leaf number j of the tree (counted in node order) starts at
    /// leafBases[t] + j·outputs.
    let leafBases: [Int]
    let outputs: Int
    /// The compact one-byte-code layout used by `averageOutputs` when the trees allow it
    /// (nil: too many distinct thresholds on some feature, so floats are compared).
    let binned: BinnedTreePredictor?

    /// `leafOutputs(tree, node)` gives the `outputs` values stored at a leaf (e.g. normalised
    /// class probabilities).
    ///
    /// Each tree's records are built on its own (tree-local indices) over `threads` workers, then
    /// shifted into place in tree order, so the layout is the same for any thread count. Built
    /// on one thread this was ≈ 1.2 s of wall time of a 100-tree, 150 000-row forest fit
    /// (4 million nodes; BENCHMARKS.md, trees speed).
    init(trees: [TreeStructure], features: Int, outputs: Int, threads: Int = 1,
         leafOutputs: @Sendable (TreeStructure, Int) -> [Float]) {
        self.init(trees: trees, features: features, outputs: outputs, threads: threads,
                  appendLeafOutputs: { tree, leaf, values in values.append(contentsOf: leafOutputs(tree, leaf)) })
    }

    /// The predictor of classification trees whose leaves output their normalised class
    /// distribution (`TreeTraining.classProbabilities`), written straight into the leaf table
    /// (no array per leaf).
    init(classProbabilitiesOf trees: [TreeStructure], features: Int, outputs: Int, threads: Int = 1) {
        self.init(trees: trees, features: features, outputs: outputs, threads: threads,
                  appendLeafOutputs: TreeTraining.appendClassProbabilities)
    }

    private init(trees: [TreeStructure], features: Int, outputs: Int, threads: Int,
                 appendLeafOutputs: @Sendable (TreeStructure, Int, inout [Float]) -> Void) {
        let perTree = Parallel.map(trees.count, threads: threads) { t -> (nodes: [Node], leafValues: [Float]) in
            let tree = trees[t]
            var nodes = [Node](), leafValues = [Float]()
            nodes.reserveCapacity(tree.nodeCount)
            for i in 0..<tree.nodeCount {
                if tree.isLeaf(i) {
                    // A leaf loops onto itself: NaN fails `<=` and the missing bit is clear, so
                    // the step below goes "right" to itself and lockstep traversal needs no
                    // leaf test.
                    nodes.append(Node(threshold: .nan, feature: 0, right: Int32(i), leafOffset: Int32(leafValues.count)))
                    appendLeafOutputs(tree, i, &leafValues)
                } else {
                    let flag = tree.missingGoesLeft[i] ? TreePredictor.missingLeftBit : 0
                    nodes.append(Node(threshold: tree.threshold[i], feature: UInt32(tree.feature[i]) | flag,
                                      right: tree.rightChild[i], leafOffset: -1))
                }
            }
            return (nodes, leafValues)
        }
        var nodes = [Node](), roots = [Int](), leafValues = [Float]()
        nodes.reserveCapacity(perTree.reduce(0) { $0 + $1.nodes.count })
        leafValues.reserveCapacity(perTree.reduce(0) { $0 + $1.leafValues.count })
        for part in perTree {
            let base = Int32(nodes.count), leafBase = Int32(leafValues.count)
            roots.append(nodes.count)
            for var node in part.nodes {
                node.right += base
                if node.leafOffset >= 0 { node.leafOffset += leafBase }
                nodes.append(node)
            }
            leafValues.append(contentsOf: part.leafValues)
        }
        self.nodes = nodes
        self.roots = roots
        self.leafValues = leafValues
        self.outputs = outputs
        var leafBases = [Int](), leafBase = 0
        for part in perTree { leafBases.append(leafBase); leafBase += part.leafValues.count }
        self.leafBases = leafBases
        // The same leaf outputs, computed once for both layouts.
        binned = BinnedTreePredictor(trees: trees, features: features, outputs: outputs, threads: threads,
                                     leafTables: perTree.map(\.leafValues))
    }

    /// One step from node `index` for `row`: the left child (index + 1) or the right one.
    @inline(__always)
    static func step(_ nodes: UnsafePointer<Node>, _ index: Int, _ row: UnsafePointer<Float>) -> Int {
        let node = nodes[index]
        let x = row[Int(node.feature & ~missingLeftBit)]
        // NaN fails `<=`, so it goes left only when the node's missing bit says so. Computed
        // without branches: the direction is data-dependent and mispredicts half the time.
        let lessOrEqual = unsafeBitCast(x <= node.threshold, to: UInt8.self)
        let missingLeft = unsafeBitCast(x.isNaN, to: UInt8.self) & UInt8(truncatingIfNeeded: node.feature >> 31)
        let goLeft = Int(lessOrEqual | missingLeft)
        let right = Int(node.right)
        return right &+ goLeft &* (index &+ 1 &- right)
    }

    /// Offset in `leafValues` of the leaf reached by `row` from `root`.
    @inline(__always)
    static func leafOffset(_ nodes: UnsafePointer<Node>, root: Int, row: UnsafePointer<Float>) -> Int {
        var index = root
        while true {
            let next = step(nodes, index, row)
            if next == index { return Int(nodes[index].leafOffset) }
            index = next
        }
    }

    /// Number of rows walked down a tree in lockstep: independent walks overlap their load
    /// latencies (the walk is bound by dependent loads, not arithmetic).
    static let lanes = 16

    /// Mean over trees of the leaf outputs, rows × outputs (tree order fixed, so the sums do not
    /// depend on the thread count).
    func averageOutputs(_ data: Matrix<Float>, trees treeIndices: Range<Int>? = nil, threads: Int) -> Matrix<Float> {
        let rows = data.rows, columns = data.columns, k = outputs
        let selected = treeIndices ?? 0..<roots.count
        var result = Matrix<Float>(rows: rows, columns: k)
        guard rows > 0, !selected.isEmpty else { return result }
        // Coding a row costs about as much as walking one grown tree (20 binary searches vs
        // ≈ 20 steps), so a lone tree is faster on floats: on the speed benchmark's tree,
        // 4.6 vs 7.5–10.6 ms CPU for 50 000 rows.
        if let binned, selected.count >= BinnedTreePredictor.minimumTrees {
            return binned.averageOutputs(data, trees: selected, threads: threads)
        }
        let scale = 1 / Float(selected.count)
        // 4 096 rows (330 KB of features) per block, scored tree by tree: each tree's nodes are
        // reused across many rows before the next tree is loaded (512-row blocks were 1.8×
        // slower on 100 grown trees, which do not fit in the caches together).
        let blockSize = 4096
        let blocks = (rows + blockSize - 1) / blockSize
        result.storage.withUnsafeMutableBufferPointer { out in
            let output = SendablePointer(out.baseAddress!)
            nodes.withUnsafeBufferPointer { nodeBuffer in
            leafValues.withUnsafeBufferPointer { leafBuffer in
            data.storage.withUnsafeBufferPointer { input in
                let nodesBase = nodeBuffer.baseAddress!, leaves = leafBuffer.baseAddress!, x = input.baseAddress!
                let roots = self.roots
                nonisolated(unsafe) let n = nodesBase, l = leaves, values = x
                Parallel.forEach(blocks, threads: threads) { b in
                    let start = b * blockSize, end = min(rows, start + blockSize)
                    let acc = output.base + start * k
                    for t in selected {
                        let root = roots[t]
                        var r = start
                        while r + TreePredictor.lanes <= end {
                            TreePredictor.walkLanes(n, root: root, rows: values + r * columns, columns: columns,
                                                    leaves: l, outputs: k, accumulator: acc + (r - start) * k)
                            r += TreePredictor.lanes
                        }
                        while r < end {
                            let o = TreePredictor.leafOffset(n, root: root, row: values + r * columns)
                            let a = acc + (r - start) * k
                            for c in 0..<k { a[c] += l[o + c] }
                            r += 1
                        }
                    }
                    if selected.count > 1 {
                        for i in 0..<((end - start) * k) { acc[i] *= scale }
                    }
                }
            }
            }
            }
        }
        return result
    }

    /// Walks `lanes` consecutive rows down one tree together until every row sits in a leaf
    /// (a leaf steps to itself), then adds each leaf's outputs to the row's accumulator.
    @inline(__always)
    static func walkLanes(_ nodes: UnsafePointer<Node>, root: Int, rows: UnsafePointer<Float>, columns: Int,
                          leaves: UnsafePointer<Float>, outputs k: Int, accumulator: UnsafeMutablePointer<Float>) {
        var index = (root, root, root, root, root, root, root, root, root, root, root, root, root, root, root, root)
        withUnsafeMutableBytes(of: &index) { raw in
            let lane = raw.baseAddress!.assumingMemoryBound(to: Int.self)
            var moving = true
            while moving {
                moving = false
                for j in 0..<lanes {
                    let current = lane[j]
                    let next = step(nodes, current, rows + j * columns)
                    moving = moving || next != current
                    lane[j] = next
                }
            }
            for j in 0..<lanes {
                let o = Int(nodes[lane[j]].leafOffset)
                let a = accumulator + j * k
                for c in 0..<k { a[c] += leaves[o + c] }
            }
        }
    }

    /// Leaf outputs of tree `t` for one row.
    func outputs(tree t: Int, row: UnsafePointer<Float>) -> ArraySlice<Float> {
        nodes.withUnsafeBufferPointer { n in
            let offset = TreePredictor.leafOffset(n.baseAddress!, root: roots[t], row: row)
            return leafValues[offset..<(offset + outputs)]
        }
    }
}
