import CBLAS

/// A compact inference layout of fitted trees: 8-byte nodes compared against rows coded to
/// one byte per feature, leaves pointing into a shared table of distinct leaf outputs.
///
/// Codes come from the trees themselves, so any model can use the layout, whatever its file
/// version: with T_f the sorted distinct thresholds the trees use on feature f, a value x gets
/// code(x) = #{t ∈ T_f : t < x} (NaN: 255), and then x ≤ T_f[j] ⟺ code(x) ≤ j. Every split
/// therefore sends every row exactly where the float comparison does. A histogram-grown forest
/// splits on its ≤ 255 bin edges, so it always qualifies; a model using more than 254 distinct
/// thresholds on some feature (an exact-splitter tree on many distinct values) does not, and
/// `init` returns nil so the caller keeps the float layout.
///
/// Why: prediction of grown trees is bound by dependent loads (node → feature value → next
/// node). Halving the node record (16 → 8 bytes) keeps a fully grown tree (≈ 40 000 nodes,
/// 320 KB) in a 1 MiB L2 together with a block of coded rows (20 bytes a row instead of 80),
/// and deduplicating leaf outputs (grown leaves are nearly all pure: one-hot distributions)
/// turns the final per-tree load into a hit in a table of a few hundred bytes. The first
/// touches of each tree per block of rows (≈ 5 000 cache lines, reached by the walk's dependent
/// loads) took about 40 % of the time in 12 500-row blocks, so the next tree is prefetched
/// while the current one is walked. 16 lanes walk a tree together; every 8 steps, lanes that
/// reached a sink hand their row over and take the next row of the block (`walkCompacted`).
/// With 2 threads each walks its own run of the trees over all rows (`averageByTrees`), so
/// each tree is read into the cache by one core only, once per pass of up to 32 768 rows.
/// Measured by instruction counts (callgrind, 5 000 rows × 100 grown trees): the walk's
/// steps are ≈ 8 instructions a lane-step, ≈ 22 lane-steps a row and tree (17.6 levels on
/// average, one step from leaf to sink, the rest idling until the next look).
struct BinnedTreePredictor: Sendable {
    /// goLeft ⟺ (code &+ shift) < threshold, in wrapping UInt8 arithmetic:
    /// - missing goes right: shift 0, threshold j + 1 (NaN's 255 is never below it);
    /// - missing goes left: shift 1, threshold j + 2 (NaN wraps to 0, below it; real codes
    ///   c ≤ 254 give c + 1 < j + 2 ⟺ c ≤ j);
    /// - leaf: shift 0, threshold 0 (never left) and `child` the sink of its outputs (a node
    ///   before the first root that steps onto itself), so lockstep walks need no leaf test
    ///   and end on the index of their outputs.
    ///
    /// The two children of a node sit side by side, right then left, so the next node is
    /// `child + goLeft`: plain arithmetic. A select between two child offsets gets turned into
    /// a branch by LLVM's cmov conversion, and the branch mispredicts about half the time.
    struct Node {
        var threshold: UInt8
        var shift: UInt8
        var feature: UInt16
        /// Index of the right child (the left one follows it); a leaf's sink.
        var child: UInt32
    }

    /// Fewest trees for which coding the rows pays off (see `TreePredictor.averageOutputs`).
    static let minimumTrees = 4

    static let missingCode: UInt8 = 255
    /// Codes 0…254 for real values need at most 254 thresholds per feature.
    static let maxThresholds = 254
    /// Each feature's thresholds padded with +∞ to 256 entries for an 8-step branch-free search.
    static let edgeStride = 256

    let nodes: [Node]
    let roots: [Int]
    /// Nodes of tree t (what the prefetch fetches before tree t is walked).
    let spans: [Range<Int>]
    /// Distinct leaf output vectors, `outputs` floats each; row s belongs to sink node s.
    let table: [Float]
    /// `table` with each row padded with zeros to `paddedOutputs` floats (a multiple of 4), so
    /// `averageByTrees` adds a sink's outputs in whole SIMD4 chunks, without a scalar tail.
    let paddedTable: [Float]
    let paddedOutputs: Int
    let edges: [Float]
    let features: Int
    let outputs: Int
    /// Real sinks (nodes 0..<sinks); node `sinks` is the idle lanes' sink.
    let sinks: Int
    /// Rows are walked by `walkCompacted` (features ≤ `laneStride` / 2; a node stores the
    /// feature's offset in a lane's line, f or, when missing goes left, half a line + f) rather
    /// than by `walkSixteen` (nodes store its offset f·lanes in a group).
    let compacted: Bool

    /// Built over `threads` workers: a pass per tree (its thresholds, its distinct leaf outputs
    /// in order of first appearance), a pass per feature (the sorted distinct thresholds), a
    /// short merge of the trees' distinct outputs in tree order (so sink numbers are those of a
    /// single sequential scan), and a pass per tree writing its nodes at their final indices:
    /// the same layout for any thread count.
    init?(trees: [TreeStructure], features: Int, outputs: Int, threads: Int = 1,
          leafOutputs: @Sendable (TreeStructure, Int) -> [Float]) {
        let leafTables = Parallel.map(trees.count, threads: threads) { t -> [Float] in
            let tree = trees[t]
            var table = [Float]()
            for i in 0..<tree.nodeCount where tree.isLeaf(i) { table.append(contentsOf: leafOutputs(tree, i)) }
            return table
        }
        self.init(trees: trees, features: features, outputs: outputs, threads: threads, leafTables: leafTables)
    }

    /// The same from each tree's leaf outputs already computed: `leafTables[t]` holds `outputs`
    /// values per leaf of tree t, its leaves in node order (`TreePredictor` computes them once
    /// for both layouts).
    init?(trees: [TreeStructure], features: Int, outputs: Int, threads: Int = 1, leafTables: [[Float]]) {
        guard features > 0, features * BinnedTreePredictor.lanes <= Int(UInt16.max) + 1, outputs > 0 else { return nil }
        struct TreeScan {
            var thresholds: [[Float]]
            var hasNaN = false
            /// Distinct leaf outputs of the tree, in order of first appearance.
            var distinct: DistinctRows
            /// Per node: index in `distinct` (leaves only).
            var localSlot: [Int32]
        }
        let scans = Parallel.map(trees.count, threads: threads) { t -> TreeScan in
            let tree = trees[t]
            var scan = TreeScan(thresholds: [[Float]](repeating: [], count: features), distinct: DistinctRows(width: outputs),
                                localSlot: [Int32](repeating: 0, count: tree.nodeCount))
            var leaf = 0
            leafTables[t].withUnsafeBufferPointer { leafValues in
            for i in 0..<tree.nodeCount {
                if tree.isLeaf(i) {
                    scan.localSlot[i] = Int32(scan.distinct.index(of: leafValues.baseAddress! + leaf * outputs))
                    leaf += 1
                } else {
                    let threshold = tree.threshold[i]
                    if threshold.isNaN { scan.hasNaN = true }
                    scan.thresholds[Int(tree.feature[i])].append(threshold)
                }
            }
            }
            // Each feature's thresholds sorted and made distinct per tree (in parallel, small
            // sorts); the merge below keeps the first of equal values in tree order, as one sort
            // of all the trees' thresholds would (a stable sort; −0 and +0 are equal here).
            for f in 0..<features where scan.thresholds[f].count > 1 {
                scan.thresholds[f].sort()
                var unique = [Float]()
                for t in scan.thresholds[f] where unique.last.map({ $0 != t }) ?? true { unique.append(t) }
                scan.thresholds[f] = unique
            }
            return scan
        }
        guard !scans.contains(where: \.hasNaN) else { return nil }
        let distinctOrNil = Parallel.map(features, threads: threads) { f -> [Float]? in
            var list = [Float]()
            list.reserveCapacity(scans.reduce(0) { $0 + $1.thresholds[f].count })
            for scan in scans { list.append(contentsOf: scan.thresholds[f]) }
            list.sort()
            var unique = [Float]()
            for t in list where unique.last.map({ $0 != t }) ?? true { unique.append(t) }
            return unique.count <= BinnedTreePredictor.maxThresholds ? unique : nil
        }
        var distinct = [[Float]]()
        for list in distinctOrNil {
            guard let list else { return nil }
            distinct.append(list)
        }
        var edges = [Float](repeating: .infinity, count: features * BinnedTreePredictor.edgeStride)
        for (f, list) in distinct.enumerated() {
            for (j, t) in list.enumerated() { edges[f * BinnedTreePredictor.edgeStride + j] = t }
        }

        // Distinct leaf outputs first: sink s (node s) is a self-loop standing for row s of
        // `table`, and every leaf steps into its sink, so a walk ends on its table row and
        // needs no per-leaf lookup (a cache miss per tree per row) to find its outputs.
        // Merged in tree order, each tree's outputs in order of first appearance: the numbering
        // of one scan of all leaves in order.
        var slots = DistinctRows(width: outputs), sinkOfLocal = [[UInt32]]()
        for scan in scans {
            scan.distinct.rows.withUnsafeBufferPointer { rows in
                sinkOfLocal.append((0..<scan.distinct.count).map { UInt32(slots.index(of: rows.baseAddress! + $0 * outputs)) })
            }
        }
        let table = slots.rows
        // One more sink after the real ones: where an idle lane of a compacted walk waits
        // (a self-loop like the others, but outside the range whose arrival retires a row).
        let sinkNodes = (0...slots.count).map { Node(threshold: 0, shift: 0, feature: 0, child: UInt32($0)) }
        let compacted = features <= BinnedTreePredictor.laneStride / 2
        var roots = [Int](), spans = [Range<Int>]()
        var base = sinkNodes.count
        for tree in trees {
            guard base + tree.nodeCount < Int(UInt32.max) else { return nil }
            roots.append(base)
            spans.append(base..<(base + tree.nodeCount))
            base += tree.nodeCount
        }
        let perTree = Parallel.map(trees.count, threads: threads) { [roots, distinct, sinkOfLocal] t -> [Node] in
            let tree = trees[t], base = roots[t], n = tree.nodeCount
            let localSlot = scans[t].localSlot, sinks = sinkOfLocal[t]
            // Children pairs allocated in depth-first order (left subtree first), so a walk
            // mostly moves forward through nearby memory, as in the depth-first numbering.
            // (Packing small subtrees breadth-first into cache lines, so one line serves two
            // or three steps, measured no faster: 0.149–0.151 vs 0.148–0.156 CPU s.)
            var position = [Int](repeating: 0, count: n)
            var stack = [0], free = 1
            while let i = stack.popLast() {
                guard !tree.isLeaf(i) else { continue }
                let right = Int(tree.rightChild[i]), left = Int(tree.leftChild[i])
                position[right] = free
                position[left] = free + 1
                free += 2
                stack.append(right)
                stack.append(left)
            }
            var nodes = [Node](repeating: Node(threshold: 0, shift: 0, feature: 0, child: 0), count: n)
            for i in 0..<n {
                if tree.isLeaf(i) {
                    nodes[position[i]] = Node(threshold: 0, shift: 0, feature: 0, child: sinks[Int(localSlot[i])])
                } else {
                    let f = Int(tree.feature[i])
                    let j = BinnedTreePredictor.lowerBound(distinct[f], tree.threshold[i])
                    let left = tree.missingGoesLeft[i]
                    // The feature as its offset in a lane's line of codes (`walkCompacted`: the
                    // shift is folded in, picking the line's second half) or in a group of
                    // interleaved lane codes (`walkSixteen`).
                    nodes[position[i]] = Node(threshold: UInt8(j + (left ? 2 : 1)), shift: left ? 1 : 0,
                                              feature: UInt16(compacted ? f + (left ? BinnedTreePredictor.laneStride / 2 : 0)
                                                                        : f * BinnedTreePredictor.lanes),
                                              child: UInt32(base + position[Int(tree.rightChild[i])]))
                }
            }
            return nodes
        }
        var nodes = sinkNodes
        nodes.reserveCapacity(base)
        for part in perTree { nodes.append(contentsOf: part) }
        self.nodes = nodes
        self.sinks = slots.count
        self.compacted = compacted
        self.roots = roots
        self.spans = spans
        self.table = table
        let padded = (outputs + 3) / 4 * 4
        var paddedTable = [Float](repeating: 0, count: slots.count * padded)
        for s in 0..<slots.count {
            for c in 0..<outputs { paddedTable[s * padded + c] = table[s * outputs + c] }
        }
        self.paddedTable = paddedTable
        self.paddedOutputs = padded
        self.edges = edges
        self.features = features
        self.outputs = outputs
    }

    /// Node records per 64-byte cache line (the prefetch stride).
    static let nodesPerLine = 64 / MemoryLayout<Node>.stride

    /// Index of `value` in the sorted distinct `list` (it is there).
    static func lowerBound(_ list: [Float], _ value: Float) -> Int {
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) >> 1
            if list[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// code(x) = #{edges < x} by an 8-step branch-free search of the 256 padded edges
    /// (the last is +∞, never below x); NaN → 255.
    @inline(__always)
    static func code(_ x: Float, _ e: UnsafePointer<Float>) -> UInt8 {
        var b = 0
        b &+= e[b &+ 127] < x ? 128 : 0
        b &+= e[b &+ 63] < x ? 64 : 0
        b &+= e[b &+ 31] < x ? 32 : 0
        b &+= e[b &+ 15] < x ? 16 : 0
        b &+= e[b &+ 7] < x ? 8 : 0
        b &+= e[b &+ 3] < x ? 4 : 0
        b &+= e[b &+ 1] < x ? 2 : 0
        b &+= e[b] < x ? 1 : 0
        return x.isNaN ? missingCode : UInt8(truncatingIfNeeded: b)
    }

    /// The node after `index` for lane `lane` of a coded group (a sink: itself). `feature` is
    /// already the feature's offset f·lanes in the group. The node is read as one 8-byte word
    /// and taken apart in registers: field by field it took four loads, and with 16 lanes the
    /// load ports were a bottleneck (0.149–0.154 vs 0.133–0.136 CPU s).
    @inline(__always)
    static func step(_ nodes: UnsafePointer<Node>, _ index: Int, _ group: UnsafePointer<UInt8>, _ lane: Int) -> Int {
        let word = UInt64(littleEndian: UnsafeRawPointer(nodes).load(fromByteOffset: index &* 8, as: UInt64.self))
        let c = group[Int(truncatingIfNeeded: (word >> 16) & 0xFFFF) &+ lane] &+ UInt8(truncatingIfNeeded: word >> 8)
        return Int(truncatingIfNeeded: word >> 32) &+ Int(unsafeBitCast(c < UInt8(truncatingIfNeeded: word), to: UInt8.self))
    }

    /// Rows walked down a tree in lockstep (`walkSixteen`), their dependent loads overlapping.
    /// 16 lanes took 0.15 CPU s where 8 took 0.17–0.19 (100 grown trees, 50 000 rows, with
    /// the prefetch); more lanes than registers spill, but the spills are cheaper than the
    /// latency they overlap.
    static let lanes = 16
    /// Most rows coded and scored together, tree by tree, by the lockstep walk of wide data
    /// (`walkSixteen`; narrow data uses `averageByTrees`). The larger a block, the more rows
    /// share each tree's trip into the cache. Without the prefetch, 100 grown trees over
    /// 50 000 rows took 0.50 CPU s in 2 048-row blocks, 0.31 in 8 192, 0.20 in 12 500, 0.19
    /// in one block; with it, 0.18 in 4 096-row blocks and 0.15 from 12 500 rows up.
    static let maxBlock = 16_384

    /// Mean over trees of the leaf outputs, rows × outputs. Per row the trees are added in
    /// model order, exactly as the float layout does, so the results match it to the bit and
    /// do not depend on the thread count.
    func averageOutputs(_ data: Matrix<Float>, trees selected: Range<Int>, threads: Int) -> Matrix<Float> {
        let rows = data.rows, columns = data.columns, k = outputs
        precondition(columns == features, "data has \(columns) columns, the trees expect \(features)")
        var result = Matrix<Float>(rows: rows, columns: k)
        guard rows > 0, !selected.isEmpty else { return result }
        if compacted {
            averageByTrees(data, trees: selected, threads: threads, into: &result)
            return result
        }
        let scale = 1 / Float(selected.count)
        // Blocks of equal size up to `maxBlock` rows, a multiple of the thread count: an
        // unbalanced last block would bring every tree into the cache for a few rows and
        // leave a thread idle. The blocking does not change any row's sum (each row adds its
        // trees in model order), so results are the same for any thread count.
        let lanes = BinnedTreePredictor.lanes
        let perThread = max(1, threads)
        var blocks = (rows + BinnedTreePredictor.maxBlock - 1) / BinnedTreePredictor.maxBlock
        blocks = (blocks + perThread - 1) / perThread * perThread
        let blockSize = max(lanes, (rows + blocks - 1) / blocks)
        blocks = (rows + blockSize - 1) / blockSize
        result.storage.withUnsafeMutableBufferPointer { out in
            let output = SendablePointer(out.baseAddress!)
            nodes.withUnsafeBufferPointer { nodeBuffer in
            table.withUnsafeBufferPointer { tableBuffer in
            edges.withUnsafeBufferPointer { edgeBuffer in
            data.storage.withUnsafeBufferPointer { input in
                nonisolated(unsafe) let n = nodeBuffer.baseAddress!
                nonisolated(unsafe) let values = tableBuffer.baseAddress!, e = edgeBuffer.baseAddress!
                nonisolated(unsafe) let x = input.baseAddress!
                let roots = self.roots, spans = self.spans
                Parallel.forEach(blocks, threads: threads) { b in
                    let start = b * blockSize, end = min(rows, start + blockSize), count = end - start
                    let groups = (count + lanes - 1) / lanes
                    // Codes interleaved by groups of `lanes` rows: feature f of lane j at
                    // f·lanes + j, so one base pointer serves all lanes of a group (with a
                    // pointer per row, the lanes' pointers spilled from the registers).
                    // Rows past the block's end are coded 0 and walked but not added.
                    let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: groups * columns * lanes)
                    defer { codes.deallocate() }
                    codes.initialize(repeating: 0, count: groups * columns * lanes)
                    for i in 0..<count {
                        let row = x + (start + i) * columns, coded = codes + (i / lanes) * columns * lanes + i % lanes
                        for f in 0..<columns {
                            coded[f * lanes] = BinnedTreePredictor.code(row[f], e + f * BinnedTreePredictor.edgeStride)
                        }
                    }
                    let acc = output.base + start * k
                    let perLine = BinnedTreePredictor.nodesPerLine
                    if let first = selected.first {
                        for line in stride(from: spans[first].lowerBound, to: spans[first].upperBound, by: perLine) { triage_prefetch(n + line) }
                    }
                    for t in selected {
                        let root = roots[t]
                        // The next tree's lines, an equal slice before each group, fetched while
                        // this tree is walked: left to the walk's dependent loads, these first
                        // touches took ≈ 40 % of the time (see `maxBlock`).
                        let next = t + 1 < selected.upperBound ? spans[t + 1] : 0..<0
                        let slice = ((next.count + perLine - 1) / perLine + groups - 1) / groups * perLine
                        var prefetched = next.lowerBound
                        for g in 0..<groups {
                            let until = min(next.upperBound, prefetched + slice)
                            while prefetched < until { triage_prefetch(n + prefetched); prefetched += perLine }
                            BinnedTreePredictor.walkSixteen(n, root: root, group: codes + g * columns * lanes,
                                                          valid: min(lanes, count - g * lanes),
                                                          table: values, outputs: k, accumulator: acc + g * lanes * k)
                        }
                    }
                    if selected.count > 1 {
                        for i in 0..<(count * k) { acc[i] *= scale }
                    }
                }
            }
            }
            }
            }
        }
        return result
    }

    /// Walks the `lanes` coded rows of a group down one tree in lockstep until each sits in
    /// its sink, then adds each sink's outputs to the row's accumulator (the first `valid`
    /// rows). Node indices are scalars, not an array: kept in a stack array, every step also
    /// paid a store-to-load round trip (1.5× the CPU time). Comparing old and new indices to
    /// stop looks wasteful, but both alternatives tried were slower: every lane's index in a
    /// power-of-two sink range (one OR of the indices) 1.3×, every lane's node a sink
    /// (threshold 0) 1.8×. Written out for exactly 16 lanes (`lanes`).
    @inline(__always)
    static func walkSixteen(_ nodes: UnsafePointer<Node>, root: Int, group: UnsafePointer<UInt8>, valid: Int,
                          table: UnsafePointer<Float>, outputs k: Int, accumulator: UnsafeMutablePointer<Float>) {
        var a0 = root, a1 = root, a2 = root, a3 = root, a4 = root, a5 = root, a6 = root, a7 = root
        var a8 = root, a9 = root, a10 = root, a11 = root, a12 = root, a13 = root, a14 = root, a15 = root
        var moving = 1
        while moving != 0 {
            let b0 = step(nodes, a0, group, 0), b1 = step(nodes, a1, group, 1), b2 = step(nodes, a2, group, 2), b3 = step(nodes, a3, group, 3)
            let b4 = step(nodes, a4, group, 4), b5 = step(nodes, a5, group, 5), b6 = step(nodes, a6, group, 6), b7 = step(nodes, a7, group, 7)
            let b8 = step(nodes, a8, group, 8), b9 = step(nodes, a9, group, 9), b10 = step(nodes, a10, group, 10), b11 = step(nodes, a11, group, 11)
            let b12 = step(nodes, a12, group, 12), b13 = step(nodes, a13, group, 13), b14 = step(nodes, a14, group, 14), b15 = step(nodes, a15, group, 15)
            moving = (b0 ^ a0) | (b1 ^ a1) | (b2 ^ a2) | (b3 ^ a3) | (b4 ^ a4) | (b5 ^ a5) | (b6 ^ a6) | (b7 ^ a7)
            moving |= (b8 ^ a8) | (b9 ^ a9) | (b10 ^ a10) | (b11 ^ a11) | (b12 ^ a12) | (b13 ^ a13) | (b14 ^ a14) | (b15 ^ a15)
            a0 = b0; a1 = b1; a2 = b2; a3 = b3; a4 = b4; a5 = b5; a6 = b6; a7 = b7
            a8 = b8; a9 = b9; a10 = b10; a11 = b11; a12 = b12; a13 = b13; a14 = b14; a15 = b15
        }
        // Sink index = row of `table` (no array literal here: it would allocate per call).
        func add(_ j: Int, _ sink: Int) {
            guard j < valid else { return }
            let a = accumulator + j * k, v = table + sink * k
            for c in 0..<k { a[c] += v[c] }
        }
        add(0, a0); add(1, a1); add(2, a2); add(3, a3); add(4, a4); add(5, a5); add(6, a6); add(7, a7)
        add(8, a8); add(9, a9); add(10, a10); add(11, a11); add(12, a12); add(13, a13); add(14, a14); add(15, a15)
    }

    /// Bytes of a lane's codes in `walkCompacted`: its row's codes c, then c &+ 1 (what a node
    /// sending missing values left compares), so a step needs no shift; half of it is the
    /// widest data served.
    static let laneStride = 128
    /// Steps walked between two looks for finished lanes in `walkCompacted`: a finished lane
    /// idles (K − 1) / 2 steps on average, a look costs ≈ 16 instructions plus the refills.
    /// 100 grown trees, 50 000 rows, 1 thread: K = 6 0.095 CPU s, 8 0.093, 12 0.095; in an
    /// earlier build 2 took 0.19, 4 0.13, 16 0.16.
    static let compactSteps = 8

    /// Most rows walked per pass of `averageByTrees`: their sink indices (4 bytes a row and
    /// tree) are kept until every tree has been walked, at most `maxPassSinks` of them (16 MB;
    /// large forests walk fewer rows a pass).
    static let maxPassRows = 32_768
    static let maxPassSinks = 1 << 22

    /// `averageOutputs` by `walkCompacted`, the trees shared out among the threads: each thread
    /// walks its run of trees over all rows of a pass (up to `maxPassRows`) and records each
    /// row's sink per tree; then, by rows, the sinks' outputs are added in model order (so the
    /// sums are those of the float layout, for any thread count). Split by rows instead, each
    /// thread streamed the whole forest (100 grown trees ≈ 32 MB, the size of the shared L3)
    /// once per block of rows, and two threads took 10–50 % more CPU time than one.
    private func averageByTrees(_ data: Matrix<Float>, trees selected: Range<Int>, threads: Int, into result: inout Matrix<Float>) {
        let rows = data.rows, columns = data.columns, k = outputs, kp = paddedOutputs
        let factor: Float = selected.count > 1 ? 1 / Float(selected.count) : 1
        let workers = max(1, min(threads, selected.count))
        let passRows = min(rows, BinnedTreePredictor.maxPassRows,
                           max(64 * BinnedTreePredictor.lanes, BinnedTreePredictor.maxPassSinks / selected.count))
        let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: passRows * columns + 16)
        defer { codes.deallocate() }
        codes.initialize(repeating: 0, count: passRows * columns + 16)
        let sinkOf = UnsafeMutablePointer<UInt32>.allocate(capacity: passRows * selected.count)
        defer { sinkOf.deallocate() }
        let runs = Parallel.ranges(selected.count, chunks: workers)
        result.storage.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let output = out.baseAddress!
            nodes.withUnsafeBufferPointer { nodeBuffer in
            paddedTable.withUnsafeBufferPointer { tableBuffer in
            edges.withUnsafeBufferPointer { edgeBuffer in
            data.storage.withUnsafeBufferPointer { input in
                nonisolated(unsafe) let n = nodeBuffer.baseAddress!
                nonisolated(unsafe) let values = tableBuffer.baseAddress!, e = edgeBuffer.baseAddress!
                nonisolated(unsafe) let x = input.baseAddress!
                nonisolated(unsafe) let coded = codes, sinks = sinkOf
                let roots = self.roots, spans = self.spans, sinkCount = self.sinks, first = selected.lowerBound
                for passStart in stride(from: 0, to: rows, by: passRows) {
                    let count = min(passRows, rows - passStart)
                    let chunks = Parallel.ranges(count, chunks: workers)
                    Parallel.forEach(chunks.count, threads: workers) { c in
                        for i in chunks[c] {
                            let row = x + (passStart + i) * columns, line = coded + i * columns
                            for f in 0..<columns {
                                line[f] = BinnedTreePredictor.code(row[f], e + f * BinnedTreePredictor.edgeStride)
                            }
                        }
                    }
                    Parallel.forEach(runs.count, threads: workers) { w in
                        let run = runs[w]
                        let laneCodes = UnsafeMutableRawPointer.allocate(byteCount: BinnedTreePredictor.lanes * BinnedTreePredictor.laneStride, alignment: 64)
                        defer { laneCodes.deallocate() }
                        laneCodes.initializeMemory(as: UInt8.self, repeating: 0, count: BinnedTreePredictor.lanes * BinnedTreePredictor.laneStride)
                        let laneState = UnsafeMutablePointer<Int>.allocate(capacity: 2 * BinnedTreePredictor.lanes)
                        defer { laneState.deallocate() }
                        let perLine = BinnedTreePredictor.nodesPerLine
                        let firstSpan = spans[first + run.lowerBound]
                        for line in stride(from: firstSpan.lowerBound, to: firstSpan.upperBound, by: perLine) { triage_prefetch(n + line) }
                        for r in run {
                            let t = first + r
                            let next = r + 1 < run.upperBound ? spans[t + 1] : 0..<0
                            BinnedTreePredictor.walkCompacted(n, root: roots[t], sinks: sinkCount, codes: coded, rows: count, columns: columns,
                                                              laneCodes: laneCodes, index: laneState, row: laneState + BinnedTreePredictor.lanes,
                                                              sinkOf: sinks + r * count, steps: BinnedTreePredictor.compactSteps, prefetch: next)
                        }
                    }
                    // Sums in rows padded to `kp` floats over small blocks of rows (in L1), the
                    // trees in model order.
                    let sumRows = 256
                    let blocks = (count + sumRows - 1) / sumRows
                    Parallel.forEach(blocks, threads: workers) { b in
                        let start = b * sumRows, end = min(count, start + sumRows)
                        let sums = UnsafeMutablePointer<Float>.allocate(capacity: sumRows * kp)
                        defer { sums.deallocate() }
                        sums.initialize(repeating: 0, count: sumRows * kp)
                        for r in 0..<selected.count {
                            let perRow = sinks + r * count
                            for i in start..<end {
                                BinnedTreePredictor.add(values + Int(perRow[i]) &* kp, to: sums + (i - start) * kp, kp)
                            }
                        }
                        for i in start..<end {
                            let target = output + (passStart + i) * k, sum = sums + (i - start) * kp
                            for c in 0..<k { target[c] = sum[c] * factor }
                        }
                    }
                }
            }
            }
            }
            }
        }
    }

    /// Copies row `r`'s codes c to lane `j`'s line, then c &+ 1 after them, in 16-byte chunks.
    @inline(__always)
    static func load(_ codes: UnsafePointer<UInt8>, row r: Int, columns: Int, into laneCodes: UnsafeMutableRawPointer, lane j: Int) {
        let from = UnsafeRawPointer(codes + r &* columns), to = laneCodes + j &* laneStride
        var offset = 0
        repeat {
            let c = from.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt8>.self)
            to.storeBytes(of: c, toByteOffset: offset, as: SIMD16<UInt8>.self)
            to.storeBytes(of: c &+ 1, toByteOffset: offset &+ laneStride / 2, as: SIMD16<UInt8>.self)
            offset &+= 16
        } while offset < columns
    }

    /// `step` for `walkCompacted`: `feature` is the code's offset in the lane's line, already
    /// past the first half when missing goes left, so no shift is added (3 instructions fewer).
    @inline(__always)
    static func stepCompacted(_ nodes: UnsafePointer<Node>, _ index: Int, _ line: UnsafePointer<UInt8>, _ lane: Int) -> Int {
        let word = UInt64(littleEndian: UnsafeRawPointer(nodes).load(fromByteOffset: index &* 8, as: UInt64.self))
        let c = line[Int(truncatingIfNeeded: (word >> 16) & 0xFFFF) &+ lane]
        return Int(truncatingIfNeeded: word >> 32) &+ Int(unsafeBitCast(c < UInt8(truncatingIfNeeded: word), to: UInt8.self))
    }

    /// Adds a sink's `k` outputs (a multiple of 4: rows of `paddedTable`) to a row's
    /// accumulator in SIMD4 chunks. The scalar loop over 5 outputs it replaced, with its own
    /// loop overhead, took ≈ 45 instructions a row and tree (≈ 180 for the walk's steps).
    @inline(__always)
    static func add(_ values: UnsafePointer<Float>, to accumulator: UnsafeMutablePointer<Float>, _ k: Int) {
        @inline(__always) func chunk(_ c: Int) {
            let sum = UnsafeRawPointer(accumulator + c).loadUnaligned(as: SIMD4<Float>.self)
                + UnsafeRawPointer(values + c).loadUnaligned(as: SIMD4<Float>.self)
            UnsafeMutableRawPointer(accumulator + c).storeBytes(of: sum, as: SIMD4<Float>.self)
        }
        // The common widths written out (a predictable branch), others by a loop.
        if k == 4 { chunk(0) } else if k == 8 { chunk(0); chunk(4) } else {
            var c = 0
            while c < k { chunk(c); c &+= 4 }
        }
    }

    /// Walks `count` rows down one tree, 16 at a time, and leaves each row's sink in `sinkOf`.
    /// Lanes move `steps` steps in lockstep between looks for lanes in a sink; each such lane
    /// hands its row's sink over and takes the next row, so no lane waits for the deepest row
    /// of a group (in lockstep groups ≈ 37 % of lane-steps were such waits): 0.130 → 0.108
    /// CPU s for 100 grown trees over 50 000 rows, 0.093 with `stepCompacted`. Lane indices
    /// stay in registers for the K steps and go through memory only at each look.
    @inline(__always)
    static func walkCompacted(_ nodes: UnsafePointer<Node>, root: Int, sinks: Int, codes: UnsafePointer<UInt8>, rows count: Int,
                              columns: Int, laneCodes: UnsafeMutableRawPointer, index: UnsafeMutablePointer<Int>,
                              row: UnsafeMutablePointer<Int>, sinkOf: UnsafeMutablePointer<UInt32>, steps: Int, prefetch next: Range<Int>) {
        let lanes = BinnedTreePredictor.lanes, idle = sinks
        var started = min(lanes, count), live = started
        for j in 0..<lanes {
            if j < count {
                row[j] = j
                load(codes, row: j, columns: columns, into: laneCodes, lane: j)
                index[j] = root
            } else {
                index[j] = idle
            }
        }
        let lineCount = (next.count + nodesPerLine - 1) / nodesPerLine
        let linesPerRow = (lineCount << 16) / max(1, count) + 1
        var prefetched = next.lowerBound
        let g = UnsafePointer<UInt8>(laneCodes.assumingMemoryBound(to: UInt8.self)), w = laneStride
        while live > 0 {
            var a0 = index[0], a1 = index[1], a2 = index[2], a3 = index[3], a4 = index[4], a5 = index[5], a6 = index[6], a7 = index[7]
            var a8 = index[8], a9 = index[9], a10 = index[10], a11 = index[11], a12 = index[12], a13 = index[13], a14 = index[14], a15 = index[15]
            var s = steps
            repeat {
                a0 = stepCompacted(nodes, a0, g, 0); a1 = stepCompacted(nodes, a1, g, w); a2 = stepCompacted(nodes, a2, g, 2 * w); a3 = stepCompacted(nodes, a3, g, 3 * w)
                a4 = stepCompacted(nodes, a4, g, 4 * w); a5 = stepCompacted(nodes, a5, g, 5 * w); a6 = stepCompacted(nodes, a6, g, 6 * w); a7 = stepCompacted(nodes, a7, g, 7 * w)
                a8 = stepCompacted(nodes, a8, g, 8 * w); a9 = stepCompacted(nodes, a9, g, 9 * w); a10 = stepCompacted(nodes, a10, g, 10 * w); a11 = stepCompacted(nodes, a11, g, 11 * w)
                a12 = stepCompacted(nodes, a12, g, 12 * w); a13 = stepCompacted(nodes, a13, g, 13 * w); a14 = stepCompacted(nodes, a14, g, 14 * w); a15 = stepCompacted(nodes, a15, g, 15 * w)
                s &-= 1
            } while s > 0
            index[0] = a0; index[1] = a1; index[2] = a2; index[3] = a3; index[4] = a4; index[5] = a5; index[6] = a6; index[7] = a7
            index[8] = a8; index[9] = a9; index[10] = a10; index[11] = a11; index[12] = a12; index[13] = a13; index[14] = a14; index[15] = a15
            // Bit j set when lane j is in a real sink (a − sinks < 0), by arithmetic: written as
            // a comparison, LLVM made each lane's test a branch, mispredicted about half the time.
            @inline(__always) func done(_ a: Int, _ bit: Int) -> UInt { (UInt(bitPattern: a &- sinks) >> 63) << UInt(bit) }
            var mask = done(a0, 0) | done(a1, 1) | done(a2, 2) | done(a3, 3) | done(a4, 4) | done(a5, 5) | done(a6, 6) | done(a7, 7)
            mask |= done(a8, 8) | done(a9, 9) | done(a10, 10) | done(a11, 11) | done(a12, 12) | done(a13, 13) | done(a14, 14) | done(a15, 15)
            while mask != 0 {
                let j = mask.trailingZeroBitCount
                mask &= mask &- 1
                sinkOf[row[j]] = UInt32(truncatingIfNeeded: index[j])
                if started < count {
                    row[j] = started
                    load(codes, row: started, columns: columns, into: laneCodes, lane: j)
                    index[j] = root
                    started &+= 1
                } else {
                    index[j] = idle
                    live &-= 1
                }
            }
            let until = min(next.upperBound, next.lowerBound &+ ((started &* linesPerRow) >> 16) &* nodesPerLine)
            while prefetched < until { triage_prefetch(nodes + prefetched); prefetched &+= nodesPerLine }
        }
    }
}

/// Distinct rows of `width` floats, compared by their bits, numbered in order of first
/// insertion (an open-addressing hash set over the rows' bits). It replaced a dictionary keyed
/// by `[UInt32]` arrays, which allocated a key per leaf of every tree while the predictor was
/// built (issue 17 §3, BENCHMARKS.md "Trees and forests → Speed").
struct DistinctRows {
    let width: Int
    /// The distinct rows, `width` floats each, in order of first insertion.
    private(set) var rows: [Float] = []
    private(set) var count = 0
    /// Row index + 1 per bucket; 0 = empty. A power of two in size, at most half full.
    private var buckets = [Int32](repeating: 0, count: 64)

    init(width: Int) { self.width = width }

    /// The index of the row `values[0..<width]`, added at the end when new.
    mutating func index(of values: UnsafePointer<Float>) -> Int {
        let mask = buckets.count - 1
        var bucket = Self.hash(values, width) & mask
        while true {
            let entry = Int(buckets[bucket])
            if entry == 0 { break }
            let found = rows.withUnsafeBufferPointer { stored in
                let row = stored.baseAddress! + (entry - 1) * width
                for k in 0..<width where row[k].bitPattern != values[k].bitPattern { return false }
                return true
            }
            if found { return entry - 1 }
            bucket = (bucket + 1) & mask
        }
        rows.append(contentsOf: UnsafeBufferPointer(start: values, count: width))
        count += 1
        buckets[bucket] = Int32(count)
        if count * 2 > buckets.count { rehash(buckets.count * 2) }
        return count - 1
    }

    private mutating func rehash(_ size: Int) {
        buckets = [Int32](repeating: 0, count: size)
        let mask = size - 1
        rows.withUnsafeBufferPointer { stored in
            for r in 0..<count {
                var bucket = Self.hash(stored.baseAddress! + r * width, width) & mask
                while buckets[bucket] != 0 { bucket = (bucket + 1) & mask }
                buckets[bucket] = Int32(r + 1)
            }
        }
    }

    /// FNV-1a over the floats' bit patterns, its high bits folded into the low ones.
    private static func hash(_ values: UnsafePointer<Float>, _ width: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for k in 0..<width { h = (h ^ UInt64(values[k].bitPattern)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }
}
