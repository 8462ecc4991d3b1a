/// Trees flattened for fast prediction: one array of 16-byte node records for all trees of a
/// model and one array of leaf outputs.
///
/// Prediction is bound by the latency of dependent loads (node → feature value → compare →
/// next node), see ../shared/notes/performance.md; a compact record puts threshold, feature and
/// the right child in one cache line fetch, the left child is implicit (depth-first numbering),
/// and rows are processed in blocks scored tree by tree so each tree's upper levels stay cached.
struct TreePredictor: Sendable {
    struct Node {
        var threshold: Float
        /// Feature index; bit 31 set when missing values go left; `leafMarker` for a leaf.
        var feature: UInt32
        /// Absolute index of the right child.
        var right: Int32
        /// Leaves: offset of the leaf's outputs in `leafValues`.
        var leafOffset: Int32
    }

    static let leafMarker: UInt32 = 0x7FFF_FFFF
    static let missingLeftBit: UInt32 = 0x8000_0000

    let nodes: [Node]
    let roots: [Int]
    let leafValues: [Float]
    let outputs: Int

    /// `leafOutputs(tree, node)` gives the `outputs` values stored at a leaf (e.g. normalised
    /// class probabilities).
    init(trees: [TreeStructure], outputs: Int, leafOutputs: (TreeStructure, Int) -> [Float]) {
        var nodes = [Node](), roots = [Int](), leafValues = [Float]()
        for tree in trees {
            let base = nodes.count
            roots.append(base)
            for i in 0..<tree.nodeCount {
                if tree.isLeaf(i) {
                    nodes.append(Node(threshold: 0, feature: TreePredictor.leafMarker, right: -1,
                                      leafOffset: Int32(leafValues.count)))
                    leafValues.append(contentsOf: leafOutputs(tree, i))
                } else {
                    let flag = tree.missingGoesLeft[i] ? TreePredictor.missingLeftBit : 0
                    nodes.append(Node(threshold: tree.threshold[i], feature: UInt32(tree.feature[i]) | flag,
                                      right: Int32(base + Int(tree.rightChild[i])), leafOffset: -1))
                }
            }
        }
        self.nodes = nodes
        self.roots = roots
        self.leafValues = leafValues
        self.outputs = outputs
    }

    /// Offset in `leafValues` of the leaf of tree `t` reached by `row`.
    @inline(__always)
    static func leafOffset(_ nodes: UnsafePointer<Node>, root: Int, row: UnsafePointer<Float>) -> Int {
        var index = root
        while true {
            let node = nodes[index]
            let feature = node.feature & leafMarker
            if feature == leafMarker { return Int(node.leafOffset) }
            let x = row[Int(feature)]
            // NaN fails `<=`, so it goes left only when the node says so.
            let goLeft = x <= node.threshold || (x.isNaN && node.feature & missingLeftBit != 0)
            index = goLeft ? index + 1 : Int(node.right)
        }
    }

    /// Mean over trees of the leaf outputs, rows × outputs (tree order fixed, so the sums do not
    /// depend on the thread count).
    func averageOutputs(_ data: Matrix<Float>, trees treeIndices: Range<Int>? = nil, threads: Int) -> Matrix<Float> {
        let rows = data.rows, columns = data.columns, k = outputs
        let selected = treeIndices ?? 0..<roots.count
        var result = Matrix<Float>(rows: rows, columns: k)
        guard rows > 0, !selected.isEmpty else { return result }
        let scale = 1 / Float(selected.count)
        let blockSize = 512
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
                        // Four rows at a time: independent traversals overlap their load latencies.
                        while r + 4 <= end {
                            let o0 = TreePredictor.leafOffset(n, root: root, row: values + r * columns)
                            let o1 = TreePredictor.leafOffset(n, root: root, row: values + (r + 1) * columns)
                            let o2 = TreePredictor.leafOffset(n, root: root, row: values + (r + 2) * columns)
                            let o3 = TreePredictor.leafOffset(n, root: root, row: values + (r + 3) * columns)
                            let a = acc + (r - start) * k
                            for c in 0..<k {
                                a[c] += l[o0 + c]; a[k + c] += l[o1 + c]; a[2 * k + c] += l[o2 + c]; a[3 * k + c] += l[o3 + c]
                            }
                            r += 4
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

    /// Leaf outputs of tree `t` for one row.
    func outputs(tree t: Int, row: UnsafePointer<Float>) -> ArraySlice<Float> {
        nodes.withUnsafeBufferPointer { n in
            let offset = TreePredictor.leafOffset(n.baseAddress!, root: roots[t], row: row)
            return leafValues[offset..<(offset + outputs)]
        }
    }
}
