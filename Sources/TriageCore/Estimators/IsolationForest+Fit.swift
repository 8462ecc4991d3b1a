/// One isolation tree in the forest's heap layout (see `IsolationForest`).
struct IsolationTree: Sendable {
    var features: [Int32]
    var thresholds: [Float]
    var leaves: [Float]
    /// Training sub-sample rows reaching each heap slot (internal then leaf slots, zero-based
    /// heap order); padding below an external node repeats its count down the left chain.
    var slotRows: [Int32]
    /// (feature, rows reaching the split / ψ) for every real split.
    var splitMass: [(Int, Double)]
}

/// Grows isolation trees (TKDD 2012, Algorithms 1–2) from a shared, read-only data matrix.
struct IsolationTreeBuilder: Sendable {
    let data: Matrix<Float>
    let sampleSize: Int
    let height: Int
    let featuresPerTree: Int
    let seed: UInt64

    /// Tree `index`, drawn entirely from stream `index` of the seed.
    func build(tree index: Int) -> IsolationTree {
        var rng = RandomSource(seed: seed, stream: UInt64(index))
        let d = data.columns
        let features: [Int] = featuresPerTree >= d ? Array(0..<d)
            : rng.sampleWithoutReplacement(featuresPerTree, from: d).sorted()
        let sample = rng.sampleWithoutReplacement(sampleSize, from: data.rows)
        let psi = sampleSize
        let k = features.count

        // The sub-sample, column-major: min/max scans and partitions read one column contiguously.
        // Through buffers with wrapping index arithmetic: with checked `-O` the Array's bounds
        // and overflow checks made this gather 77 % more instructions (callgrind, 100 trees of
        // ψ = 256 over 16 features: 7.3 M → 12.9 M in `build`; BENCHMARKS.md, "Checked release builds").
        var values = [Float](repeating: 0, count: k * psi)
        data.storage.withUnsafeBufferPointer { x in
            values.withUnsafeMutableBufferPointer { out in
                features.withUnsafeBufferPointer { features in
                    for (s, row) in sample.enumerated() {
                        let source = row &* d
                        for j in 0..<k { out[j &* psi &+ s] = x[source &+ features[j]] }
                    }
                }
            }
        }

        let internalSlots = (1 << height) - 1
        var tree = IsolationTree(
            features: [Int32](repeating: 0, count: internalSlots),
            // Padding slots send every row left (nothing compares greater than +∞).
            thresholds: [Float](repeating: .infinity, count: internalSlots),
            leaves: [Float](repeating: 0, count: internalSlots + 1),
            slotRows: [Int32](repeating: 0, count: 2 * internalSlots + 1),
            splitMass: [])
        var order = [Int32](unsafeUninitializedCapacity: psi) { buffer, count in
            for i in 0..<psi { buffer[i] = Int32(i) }
            count = psi
        }
        var candidates = Array(0..<k)
        // Explicit stack of (heap slot, depth, row range in `order`).
        var stack: [(slot: Int, depth: Int, lower: Int, upper: Int)] = [(0, 0, 0, psi)]
        values.withUnsafeBufferPointer { v in
            order.withUnsafeMutableBufferPointer { order in
                while let node = stack.popLast() {
                    let size = node.upper - node.lower
                    tree.slotRows[node.slot] = Int32(size)
                    var split: (column: Int, threshold: Float)?
                    if node.depth < height && size > 1 {
                        split = drawSplit(v, order, node.lower, node.upper, psi, &candidates, &rng)
                    }
                    guard let split else {
                        // External node: its rows would need about c(size) more splits to isolate.
                        var slot = node.slot
                        for _ in node.depth..<height { slot = 2 * slot + 1; tree.slotRows[slot] = Int32(size) }
                        tree.leaves[slot - internalSlots] = Float(Double(node.depth) + isolationAveragePathLength(size))
                        continue
                    }
                    tree.features[node.slot] = Int32(features[split.column])
                    tree.thresholds[node.slot] = split.threshold
                    tree.splitMass.append((features[split.column], Double(size) / Double(psi)))
                    // Partition: rows ≤ threshold first.
                    let column = v.baseAddress! + split.column * psi
                    var i = node.lower, j = node.upper - 1
                    while i <= j {
                        if column[Int(order[i])] <= split.threshold { i += 1 } else { order.swapAt(i, j); j -= 1 }
                    }
                    stack.append((2 * node.slot + 2, node.depth + 1, i, node.upper))
                    stack.append((2 * node.slot + 1, node.depth + 1, node.lower, i))
                }
            }
        }
        return tree
    }

    /// A feature drawn uniformly among those not constant on the node's rows (redrawing without
    /// replacement past constant ones, as scikit-learn's random splitter does) and a threshold
    /// uniform in [min, max); nil when every candidate feature is constant here.
    private func drawSplit(_ v: UnsafeBufferPointer<Float>, _ order: UnsafeMutableBufferPointer<Int32>,
                           _ lower: Int, _ upper: Int, _ psi: Int, _ candidates: inout [Int],
                           _ rng: inout RandomSource) -> (column: Int, threshold: Float)? {
        var remaining = candidates.count
        while remaining > 0 {
            let pick = rng.integer(below: remaining)
            let column = candidates[pick]
            let values = v.baseAddress! + column * psi
            var low = values[Int(order[lower])], high = low
            for i in (lower + 1)..<upper {
                let x = values[Int(order[i])]
                low = min(low, x)
                high = max(high, x)
            }
            if high > low {
                var threshold = Float(Double(low) + rng.uniform() * (Double(high) - Double(low)))
                // Rounding to Float may land on `high`, which would send every row left.
                if !(threshold < high) { threshold = low }
                return (column, threshold)
            }
            // Constant here: move it past the live candidates so it is not drawn again below.
            remaining -= 1
            candidates.swapAt(pick, remaining)
        }
        return nil
    }
}
