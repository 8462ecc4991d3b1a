/// How far a tree grows (scikit-learn's stopping rules, with its defaults in the estimators).
public struct TreeGrowth: Sendable, Equatable {
    /// Depth limit (root = depth 0); `Int.max` grows until another rule stops.
    public var maxDepth: Int
    /// A node with fewer samples is a leaf.
    public var minSamplesSplit: Int
    /// Each child must keep at least this many samples.
    public var minSamplesLeaf: Int
    /// A split must decrease the weighted impurity, (w_t/W)·Δi, by at least this much.
    public var minImpurityDecrease: Double
    /// Features examined per node (drawn without replacement; constant ones do not count).
    public var maxFeatures: Int

    public init(maxDepth: Int, minSamplesSplit: Int, minSamplesLeaf: Int, minImpurityDecrease: Double, maxFeatures: Int) {
        self.maxDepth = maxDepth
        self.minSamplesSplit = minSamplesSplit
        self.minSamplesLeaf = minSamplesLeaf
        self.minImpurityDecrease = minImpurityDecrease
        self.maxFeatures = maxFeatures
    }
}

/// Grows one CART tree depth-first over binned features: the splitter and builder of
/// Breiman et al. (1984), generic over the impurity criterion and the width of the bin codes.
///
/// For each node and each drawn feature the best threshold is found from a histogram of per-bin
/// statistics: over every bin for large nodes (O(n_node + bins), LightGBM's method), over the
/// bins the node touched for small ones (O(n_node), a bit per touched bin), or by sorting the
/// node's codes when there are more than 255 bins (the exact splitter's one bin per value,
/// O(n_node log n_node)). All give the same split for the same codes (the same bits with
/// whole-number weights; other weights are summed in another order).
///
/// The samples' codes, targets and weights travel with them through the partitions, so each
/// node reads one contiguous run (LightGBM's ordered partitions); rows of codes are padded to
/// 8-byte words. Issue 17 §3 (BENCHMARKS.md, "Trees and forests → Speed") has the figures.
///
/// Missing values are learned as scikit-learn ≥ 1.3 does: every threshold is tried with the
/// node's missing samples sent left and sent right, and "non-missing vs missing" is itself a
/// candidate; when a node saw no missing value, missing goes to the child with more samples.
/// A node waiting to be split: its sample range, depth and parent link. Its statistics wait on
/// a stack of their own beside it (`width` Doubles per pending node), so a split allocates no
/// arrays.
struct PendingNode {
    var start: Int, end: Int, depth: Int, parent: Int, isLeft: Bool
    /// The node's out-of-bag rows: a range of the out-of-bag order, partitioned like the samples.
    var outOfBagStart = 0, outOfBagEnd = 0
}

struct TreeBuilder<Criterion: SplitCriterion, Code: FixedWidthInteger & UnsignedInteger & Sendable> {
    let criterion: Criterion
    let data: BinnedFeatures<Code>
    let binning: FeatureBinning
    let targets: [Float]
    let growth: TreeGrowth

    /// Nodes at least this many times larger than their bin count use the histogram path.
    static var histogramBins: Int { 256 }
    /// Slots (bins + missing) the small-node histogram covers: one bit each in `touched`.
    static var sparseSlots: Int { 256 }
    /// A node takes the dense histogram when it has at least (bins + 1)·(width + 1) / this
    /// many samples, the small-node path below that (512 samples for 255 bins and 5 classes).
    /// Both give the same split bit for bit (the same per-bin sums in the same order, the same
    /// candidates in code order); the touched-bins scan is the cheaper one up to there: 12
    /// (128 samples) → 3 took `grow` from 2.33 G to 2.26 G instructions (callgrind, 4 trees on
    /// 150 000 × 20; BENCHMARKS.md "Trees and forests → Speed").
    static var denseFactor: Int { 3 }

    /// Grows a tree on `samples` (distinct row indices with weight > 0) with row weights
    /// `weights` (indexed by row). Returns the tree and each feature's total impurity decrease
    /// Σ (w_t·i_t − w_L·i_L − w_R·i_R) over its splits (unnormalised mean decrease in impurity).
    func grow(samples initial: [Int32], weights: [Double], random: inout RandomSource) -> (tree: TreeStructure, importance: [Double]) {
        let grown = grow(samples: initial, weights: weights, outOfBag: [], random: &random)
        return (grown.tree, grown.importance)
    }

    /// Grows a tree as above and also routes the rows `outOfBag` (row indices the sample does
    /// not hold) down it while it grows: `outOfBagLeaves[i]` is the leaf of row `outOfBag[i]`,
    /// the leaf a prediction on its float values reaches. A split "code ≤ b" of the sample is
    /// stored as the threshold edges[a] (a ≥ b, `FeatureBinning.thresholdEdge`), and
    /// x ≤ edges[a] ⟺ code(x) ≤ a, so the out-of-bag rows are partitioned on their codes with
    /// the edge index: sequential reads, where walking each finished tree from the root (≈ 36
    /// dependent loads per row and tree) was 14 % of a forest's fit (issue 17 §3).
    func grow(samples initial: [Int32], weights: [Double], outOfBag: [Int32], random: inout RandomSource)
        -> (tree: TreeStructure, importance: [Double], outOfBagLeaves: [Int32]) {
        let width = criterion.statisticsWidth
        let featureCount = data.featureCount
        let rows = data.rows
        let sampleTotal = initial.count
        var tree = TreeStructure(width: width)
        var importance = [Double](repeating: 0, count: featureCount)
        var outOfBagLeaves = [Int32](repeating: 0, count: outOfBag.count)
        guard sampleTotal > 0 else { return (tree, importance, outOfBagLeaves) }

        // Every sample's codes, target and weight in node order ("ordered partitions", as
        // LightGBM keeps its row indices): a node's samples are one contiguous run of rows,
        // partitioned in place at each split, so the split search reads them sequentially.
        // Gathering each code through the sample's row index (`codes[f·rows + row]`, random
        // reads over a 3 MB code matrix) stalled on the loads: a quarter of `grow`'s time
        // (perf, BENCHMARKS.md "Trees and forests → Speed", issue 17 §3). A row of codes is
        // padded to whole 8-byte words so a partition swaps words, not single codes.
        let codeSize = MemoryLayout<Code>.stride
        let rowWords = (featureCount * codeSize + 7) / 8
        let rowStride = rowWords * 8 / codeSize
        let orderedWords = UnsafeMutablePointer<UInt64>.allocate(capacity: sampleTotal * rowWords)
        orderedWords.initialize(repeating: 0, count: sampleTotal * rowWords)
        let ordered = UnsafeMutableRawPointer(orderedWords).bindMemory(to: Code.self, capacity: sampleTotal * rowStride)
        let outOfBagTotal = outOfBag.count
        let outOfBagWords = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, outOfBagTotal * rowWords))
        outOfBagWords.initialize(repeating: 0, count: max(1, outOfBagTotal * rowWords))
        let outOfBagOrdered = UnsafeMutableRawPointer(outOfBagWords).bindMemory(to: Code.self, capacity: outOfBagTotal * rowStride)
        // Position in `outOfBag` of the row at each place of the out-of-bag order.
        let outOfBagPosition = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, outOfBagTotal))
        for q in 0..<outOfBagTotal { outOfBagPosition[q] = Int32(truncatingIfNeeded: q) }
        let positionTarget = UnsafeMutablePointer<Float>.allocate(capacity: sampleTotal)
        let positionWeight = UnsafeMutablePointer<Double>.allocate(capacity: sampleTotal)
        initial.withUnsafeBufferPointer { rowsOf in
            data.codes.withUnsafeBufferPointer { codeBuffer in
                // Row by row, each row's codes written once: the samples and out-of-bag rows are
                // ascending, so the feature-major matrix is read as `featureCount` forward streams
                // (column by column, the writes strided over the whole ordered copy once per feature).
                let codes = codeBuffer.baseAddress!
                for p in 0..<sampleTotal {
                    let row = Int(rowsOf[p]), destination = ordered + p &* rowStride
                    for f in 0..<featureCount { destination[f] = codes[f &* rows &+ row] }
                }
                for q in 0..<outOfBagTotal {
                    let row = Int(outOfBag[q]), destination = outOfBagOrdered + q &* rowStride
                    for f in 0..<featureCount { destination[f] = codes[f &* rows &+ row] }
                }
            }
            for p in 0..<sampleTotal {
                let s = Int(rowsOf[p])
                positionTarget[p] = targets[s]
                positionWeight[p] = weights[s]
            }
        }
        let histogramSlots = Self.histogramBins + 1
        let histogram = UnsafeMutablePointer<Double>.allocate(capacity: histogramSlots * width)
        let binSamples = UnsafeMutablePointer<Int32>.allocate(capacity: histogramSlots)
        // The small-node histogram: all zero between uses (the scan clears what it read), with
        // a bit per slot marking the bins a node touched, so a node of n samples costs O(n) and
        // not O(bins). It replaced sorting the node's codes, which was a fifth of the fit.
        let sparseHistogram = UnsafeMutablePointer<Double>.allocate(capacity: histogramSlots * width)
        sparseHistogram.initialize(repeating: 0, count: histogramSlots * width)
        let sparseCounts = UnsafeMutablePointer<Int32>.allocate(capacity: histogramSlots)
        sparseCounts.initialize(repeating: 0, count: histogramSlots)
        let slotClass = UnsafeMutablePointer<Int32>.allocate(capacity: histogramSlots)
        let touched = UnsafeMutablePointer<UInt64>.allocate(capacity: Self.sparseSlots / 64)
        touched.initialize(repeating: 0, count: Self.sparseSlots / 64)
        let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: sampleTotal)
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: 7 * width)
        let left = scratch, right = scratch + width, missing = scratch + 2 * width
        let bestLeft = scratch + 3 * width, bestRight = scratch + 4 * width
        let altLeft = scratch + 5 * width, altRight = scratch + 6 * width
        defer {
            orderedWords.deallocate(); outOfBagWords.deallocate(); outOfBagPosition.deallocate(); positionTarget.deallocate(); positionWeight.deallocate(); histogram.deallocate()
            binSamples.deallocate(); sparseHistogram.deallocate(); sparseCounts.deallocate(); slotClass.deallocate(); touched.deallocate()
            keys.deallocate(); scratch.deallocate()
        }
        var featurePool = Array(0..<featureCount)

        // The popped node's statistics, copied off `pendingStatistics` (`width` per node of
        // `stack`, grown by doubling like the stack itself).
        let nodeStats = UnsafeMutablePointer<Double>.allocate(capacity: width)
        var pendingCapacity = 64
        var pendingStatistics = UnsafeMutablePointer<Double>.allocate(capacity: pendingCapacity * width)
        defer { nodeStats.deallocate(); pendingStatistics.deallocate() }
        pendingStatistics.initialize(repeating: 0, count: width)
        for p in 0..<sampleTotal {
            criterion.accumulate(pendingStatistics, target: positionTarget[p], weight: positionWeight[p])
        }
        let totalWeight = criterion.weight(pendingStatistics)
        /// Pushes a pending node and its statistics.
        func push(_ node: PendingNode, statistics: UnsafePointer<Double>, on stack: inout [PendingNode]) {
            if stack.count == pendingCapacity {
                let grown = UnsafeMutablePointer<Double>.allocate(capacity: 2 * pendingCapacity * width)
                grown.update(from: pendingStatistics, count: pendingCapacity * width)
                pendingStatistics.deallocate()
                pendingStatistics = grown
                pendingCapacity *= 2
            }
            (pendingStatistics + stack.count * width).update(from: statistics, count: width)
            stack.append(node)
        }
        // Gini with whole-number weights (bootstrap counts, no class weights): every class count,
        // ΣL_k² and ΣR_k² is an integer below 2⁵², held exactly, so the small-node search may
        // update them bin by bin instead of summing over the classes at every candidate and
        // get the same bits. Per candidate that was most of the search (issue 17 §3).
        var wholeWeights = true
        for p in 0..<sampleTotal where positionWeight[p] != positionWeight[p].rounded(.towardZero) { wholeWeights = false; break }
        let exactGini = criterion is GiniCriterion && wholeWeights && totalWeight * totalWeight < 0x1p52
        var stack = [PendingNode(start: 0, end: sampleTotal, depth: 0, parent: -1, isLeft: false,
                                 outOfBagStart: 0, outOfBagEnd: outOfBagTotal)]

        do {
            while let node = stack.popLast() {
                let count = node.end - node.start
                nodeStats.update(from: pendingStatistics + stack.count * width, count: width)
                let nodeImpurity = criterion.impurity(nodeStats), nodeWeight = criterion.weight(nodeStats)
                let index = tree.addNode(parent: node.parent, isLeft: node.isLeft, statistics: nodeStats, samples: count,
                                         impurity: nodeImpurity)
                /// The node stays a leaf: its out-of-bag rows end here.
                func settleOutOfBag() {
                    for q in node.outOfBagStart..<node.outOfBagEnd { outOfBagLeaves[Int(outOfBagPosition[q])] = Int32(truncatingIfNeeded: index) }
                }
                // Impurity below 1e-12 is a pure node up to rounding of the weighted sums.
                if node.depth >= growth.maxDepth || count < growth.minSamplesSplit
                    || count < 2 * growth.minSamplesLeaf || nodeImpurity <= 1e-12 {
                    settleOutOfBag()
                    continue
                }

                // Best split so far: feature, last bin on the left, missing direction.
                var bestProxy = -Double.infinity
                var bestFeature = -1, bestBin = 0, bestMissingLeft = false, bestLeftCount = 0

                do {
                    let total = UnsafePointer(nodeStats)
                    let minLeaf = growth.minSamplesLeaf

                    /// Scores "codes ≤ bin go left" given non-missing left statistics `left`
                    /// (count `leftCount`) and the node's missing statistics (count `missingCount`).
                    func consider(feature: Int, bin: Int, leftCount: Int, missingCount: Int) {
                        // Missing samples to the right.
                        let rightCount = count - leftCount
                        if leftCount >= minLeaf && rightCount >= minLeaf {
                            let proxy = criterion.proxyImprovement(left: left, total: total, ifAbove: bestProxy)
                            if proxy > bestProxy {
                                for k in 0..<width { right[k] = total[k] - left[k] }
                                bestProxy = proxy; bestFeature = feature; bestBin = bin; bestLeftCount = leftCount
                                // With no missing sample here, missing follows the larger child.
                                bestMissingLeft = missingCount == 0 && leftCount >= rightCount
                                for k in 0..<width { bestLeft[k] = left[k]; bestRight[k] = right[k] }
                            }
                        }
                        // Missing samples to the left.
                        guard missingCount > 0 else { return }
                        let leftWithMissing = leftCount + missingCount
                        if leftWithMissing >= minLeaf && count - leftWithMissing >= minLeaf {
                            for k in 0..<width { altLeft[k] = left[k] + missing[k] }
                            let proxy = criterion.proxyImprovement(left: altLeft, total: total, ifAbove: bestProxy)
                            if proxy > bestProxy {
                                for k in 0..<width { altRight[k] = total[k] - altLeft[k] }
                                bestProxy = proxy; bestFeature = feature; bestBin = bin; bestLeftCount = leftWithMissing
                                bestMissingLeft = true
                                for k in 0..<width { bestLeft[k] = altLeft[k]; bestRight[k] = altRight[k] }
                            }
                        }
                    }

                    /// Evaluates every threshold of feature f; false when f is constant here.
                    ///
                    /// Index arithmetic in the per-sample loops wraps (&+, &*) and casts truncate:
                    /// with checked `-O` the overflow and conversion checks made `grow` 17 % more
                    /// instructions (callgrind, 20 trees on 15 000 × 20: 1.11 G → 1.30 G;
                    /// BENCHMARKS.md, "Checked release builds"). Every index is a sample position
                    /// (< 2³¹), a code (≤ bins) or a class, so none can overflow.
                    func evaluate(_ f: Int) -> Bool {
                        let bins = data.binCounts[f]
                        let column = ordered + f
                        var anyCandidate = false
                        for k in 0..<width { left[k] = 0; missing[k] = 0 }
                        if bins < Self.sparseSlots && count * Self.denseFactor < (bins + 1) * (width + 1) {
                            // Small node: touched bins only, in code order through the bit set.
                            for p in node.start..<node.end {
                                let slot = min(Int(column[p &* rowStride]), bins)
                                touched[slot &>> 6] |= 1 &<< UInt64(truncatingIfNeeded: slot & 63)
                                let target = positionTarget[p]
                                criterion.accumulate(sparseHistogram + slot &* width, target: target, weight: positionWeight[p])
                                sparseCounts[slot] &+= 1
                                slotClass[slot] = Int32(truncatingIfNeeded: (target + 8_388_608).bitPattern & 0x7F_FFFF)
                            }
                            var missingCount = 0
                            let missingWord = bins &>> 6, missingBit = UInt64(1) &<< UInt64(truncatingIfNeeded: bins & 63)
                            if touched[missingWord] & missingBit != 0 {
                                touched[missingWord] &= ~missingBit
                                missingCount = Int(sparseCounts[bins]); sparseCounts[bins] = 0
                                let h = sparseHistogram + bins &* width
                                for k in 0..<width { missing[k] = h[k]; h[k] = 0 }
                            }
                            let nonMissing = count - missingCount
                            var leftCount = 0, searching = nonMissing > 0
                            // Gini sums kept up to date bin by bin (exact, see `exactGini`).
                            let incremental = exactGini && missingCount == 0
                            var wl = 0.0, wr = 0.0, sl = 0.0, sr = 0.0
                            if incremental { for k in 0..<width { wr += total[k]; sr += total[k] * total[k] } }
                            for word in 0...missingWord {
                                var bitsLeft = touched[word]
                                touched[word] = 0
                                while bitsLeft != 0 {
                                    let b = word &<< 6 | bitsLeft.trailingZeroBitCount
                                    bitsLeft &= bitsLeft &- 1
                                    let h = sparseHistogram + b &* width
                                    let binCount = Int(sparseCounts[b])
                                    leftCount &+= binCount; sparseCounts[b] = 0
                                    if incremental && binCount == 1 {
                                        // One sample, one class c: L_c and R_c move by its weight w, and
                                        // ΣL² by (L_c + L_c')·w, ΣR² by −(R_c + R_c')·w.
                                        let c = Int(slotClass[b]), w = h[c]
                                        h[c] = 0
                                        let leftBefore = left[c], leftAfter = leftBefore + w
                                        left[c] = leftAfter
                                        let rightAfter = total[c] - leftAfter
                                        sl += (leftBefore + leftAfter) * w
                                        sr -= (rightAfter + w + rightAfter) * w
                                        wl += w; wr -= w
                                    } else {
                                        for k in 0..<width { left[k] += h[k]; h[k] = 0 }
                                        if incremental {
                                            wl = 0; wr = 0; sl = 0; sr = 0
                                            for k in 0..<width {
                                                let l = left[k], r = total[k] - l
                                                wl += l; wr += r; sl += l * l; sr += r * r
                                            }
                                        }
                                    }
                                    guard searching else { continue }
                                    if leftCount == nonMissing {
                                        searching = false
                                        if missingCount == 0 { continue }
                                    }
                                    anyCandidate = true
                                    guard incremental else {
                                        consider(feature: f, bin: b, leftCount: leftCount, missingCount: missingCount)
                                        continue
                                    }
                                    // `consider` without missing samples, on the sums above: the same
                                    // proxy bits, the same skip test as `GiniCriterion`.
                                    let rightCount = count - leftCount
                                    guard leftCount >= minLeaf && rightCount >= minLeaf else { continue }
                                    if bestProxy > 0 && sl * wr + sr * wl < bestProxy * (wl * wr) * (1 - 1e-9) { continue }
                                    let proxy = sl / wl + sr / wr
                                    if proxy > bestProxy {
                                        bestProxy = proxy; bestFeature = f; bestBin = b; bestLeftCount = leftCount
                                        bestMissingLeft = leftCount >= rightCount
                                        for k in 0..<width { bestLeft[k] = left[k]; bestRight[k] = total[k] - left[k] }
                                    }
                                }
                            }
                            if nonMissing == 0 { return false }
                        } else if bins <= Self.histogramBins && count * Self.denseFactor >= (bins + 1) * (width + 1) {
                            let slots = bins + 1
                            histogram.update(repeating: 0, count: slots * width)
                            binSamples.update(repeating: 0, count: slots)
                            for p in node.start..<node.end {
                                let slot = min(Int(column[p &* rowStride]), bins) // Code.max (missing) → slot `bins`
                                criterion.accumulate(histogram + slot &* width, target: positionTarget[p], weight: positionWeight[p])
                                binSamples[slot] &+= 1
                            }
                            let missingCount = Int(binSamples[bins])
                            for k in 0..<width { missing[k] = histogram[bins * width + k] }
                            let nonMissing = count - missingCount
                            if nonMissing == 0 { return false }
                            var leftCount = 0
                            for b in 0..<bins where binSamples[b] > 0 {
                                let h = histogram + b &* width
                                for k in 0..<width { left[k] += h[k] }
                                leftCount &+= Int(binSamples[b])
                                if leftCount == nonMissing && missingCount == 0 { break }
                                anyCandidate = true
                                consider(feature: f, bin: b, leftCount: leftCount, missingCount: missingCount)
                                if leftCount == nonMissing { break }
                            }
                        } else {
                            for p in node.start..<node.end {
                                keys[p &- node.start] = UInt64(truncatingIfNeeded: column[p &* rowStride]) << 32
                                    | UInt64(truncatingIfNeeded: p)
                            }
                            sortKeys(keys, count)
                            let missingKey = UInt64(Code.max)
                            var nonMissing = count
                            while nonMissing > 0 && keys[nonMissing - 1] >> 32 == missingKey {
                                nonMissing -= 1
                                let p = Int(keys[nonMissing] & 0xFFFF_FFFF)
                                criterion.accumulate(missing, target: positionTarget[p], weight: positionWeight[p])
                            }
                            let missingCount = count - nonMissing
                            if nonMissing == 0 { return false }
                            for q in 0..<nonMissing {
                                let key = keys[q]
                                let p = Int(truncatingIfNeeded: key & 0xFFFF_FFFF)
                                criterion.accumulate(left, target: positionTarget[p], weight: positionWeight[p])
                                let code = key >> 32
                                let next = q &+ 1
                                if next < nonMissing && keys[next] >> 32 == code { continue }
                                if next == nonMissing && missingCount == 0 { break }
                                anyCandidate = true
                                consider(feature: f, bin: Int(truncatingIfNeeded: code), leftCount: next, missingCount: missingCount)
                            }
                        }
                        return anyCandidate
                    }

                    // Draw features without replacement until maxFeatures non-constant ones were seen
                    // (scikit-learn keeps drawing past constant features the same way).
                    var drawn = 0, informative = 0
                    while drawn < featureCount && informative < growth.maxFeatures {
                        let j = drawn + random.integer(below: featureCount - drawn)
                        featurePool.swapAt(drawn, j)
                        let f = featurePool[drawn]
                        drawn += 1
                        if evaluate(f) { informative += 1 }
                    }
                }
                guard bestFeature >= 0 else { settleOutOfBag(); continue }

                let leftWeight = criterion.weight(bestLeft), rightWeight = criterion.weight(bestRight)
                let decrease = nodeWeight * nodeImpurity - leftWeight * criterion.impurity(bestLeft)
                    - rightWeight * criterion.impurity(bestRight)
                if decrease / totalWeight + 1e-12 < growth.minImpurityDecrease { settleOutOfBag(); continue }

                // Partition the node's samples: codes ≤ bestBin (and missing, if it goes left) first.
                // The smallest code going right places the threshold in the node's gap.
                let column = ordered + bestFeature
                var low = node.start, high = node.end - 1
                var nextBin = Int.max
                while low <= high {
                    let code = column[low &* rowStride]
                    let goesLeft = code == Code.max ? bestMissingLeft : Int(code) <= bestBin
                    if goesLeft { low &+= 1 } else {
                        if code != Code.max { nextBin = min(nextBin, Int(code)) }
                        let a = orderedWords + low &* rowWords, b = orderedWords + high &* rowWords
                        for w in 0..<rowWords { swap(&a[w], &b[w]) }
                        swap(&positionTarget[low], &positionTarget[high])
                        swap(&positionWeight[low], &positionWeight[high])
                        high &-= 1
                    }
                }
                precondition(low - node.start == bestLeftCount, "partition disagrees with the split statistics")
                let edge = binning.thresholdEdge(feature: bestFeature, after: bestBin,
                                                 before: nextBin == Int.max ? nil : nextBin)
                tree.setSplit(index, feature: bestFeature, threshold: binning.threshold(feature: bestFeature, edge: edge),
                              missingGoesLeft: bestMissingLeft)
                // The out-of-bag rows go where their float values would: x ≤ edges[edge] ⟺ code ≤ edge.
                let outOfBagColumn = outOfBagOrdered + bestFeature
                var outOfBagLow = node.outOfBagStart, outOfBagHigh = node.outOfBagEnd - 1
                while outOfBagLow <= outOfBagHigh {
                    let code = outOfBagColumn[outOfBagLow &* rowStride]
                    let goesLeft = code == Code.max ? bestMissingLeft : Int(code) <= edge
                    if goesLeft { outOfBagLow &+= 1 } else {
                        let a = outOfBagWords + outOfBagLow &* rowWords, b = outOfBagWords + outOfBagHigh &* rowWords
                        for w in 0..<rowWords { swap(&a[w], &b[w]) }
                        swap(&outOfBagPosition[outOfBagLow], &outOfBagPosition[outOfBagHigh])
                        outOfBagHigh &-= 1
                    }
                }
                importance[bestFeature] += max(0, decrease)
                // Right first so the left child is popped next and numbered index + 1.
                push(PendingNode(start: low, end: node.end, depth: node.depth + 1, parent: index, isLeft: false,
                                 outOfBagStart: outOfBagLow, outOfBagEnd: node.outOfBagEnd), statistics: bestRight, on: &stack)
                push(PendingNode(start: node.start, end: low, depth: node.depth + 1, parent: index, isLeft: true,
                                 outOfBagStart: node.outOfBagStart, outOfBagEnd: outOfBagLow), statistics: bestLeft, on: &stack)
            }
        }
        return (tree, importance, outOfBagLeaves)
    }
}

/// Sorts `count` distinct keys in place: quicksort (median of three) with insertion sort below
/// 24 elements. Faster than the standard library's stable merge sort for the small nodes the
/// sort path serves, and stability is moot since keys are distinct.
///
/// Index steps wrap (&+=, &-=): indices stay within 0..<count (the insertion loop stops at
/// b = low − 1 ≥ −1), and overflow checks cost 31 % more instructions with checked `-O`
/// (callgrind: 138 M → 181 M; BENCHMARKS.md, "Checked release builds").
func sortKeys(_ keys: UnsafeMutablePointer<UInt64>, _ count: Int) {
    var low = 0, high = count &- 1
    while high &- low >= 24 {
        let mid = low &+ (high &- low) >> 1
        if keys[mid] < keys[low] { swap(&keys[mid], &keys[low]) }
        if keys[high] < keys[low] { swap(&keys[high], &keys[low]) }
        if keys[high] < keys[mid] { swap(&keys[high], &keys[mid]) }
        let pivot = keys[mid]
        var i = low, j = high
        while i <= j {
            while keys[i] < pivot { i &+= 1 }
            while keys[j] > pivot { j &-= 1 }
            if i <= j { swap(&keys[i], &keys[j]); i &+= 1; j &-= 1 }
        }
        // Recurse into the smaller part, loop on the larger: O(log n) stack.
        if j - low < high - i {
            if low < j { sortKeys(keys + low, j - low + 1) }
            low = i
        } else {
            if i < high { sortKeys(keys + i, high - i + 1) }
            high = j
        }
    }
    if high > low {
        for a in (low + 1)...high {
            let key = keys[a]
            var b = a &- 1
            while b >= low && keys[b] > key { keys[b &+ 1] = keys[b]; b &-= 1 }
            keys[b &+ 1] = key
        }
    }
}
