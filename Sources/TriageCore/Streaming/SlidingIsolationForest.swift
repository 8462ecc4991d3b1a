#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An isolation forest that follows a stream: trees are grown on random samples of a sliding
/// window of the most recent points and replaced one at a time, round-robin, as the stream moves.
///
/// Scores are the isolation forest's s(x, ψ) = 2^(−E[h(x)] / c(ψ)) (Liu, Ting & Zhou, ICDM 2008,
/// eq. 2), with c(n) = 2H(n − 1) − 2(n − 1)/n the average path length of an unsuccessful BST
/// search (eq. 1). Keeping the model on a sliding reservoir and refreshing it continuously is the
/// idea behind Random Cut Forest (Guha, Mishra, Roy & Schrijvers, ICML 2016); instead of RCF's
/// exact insert/delete of points in each tree we rebuild the oldest tree every `rebuildEvery`
/// points (the iForestASD scheme of Ding & Fei, 2013), which keeps every tree a plain isolation
/// tree on a uniform sample of the recent window and costs O(ψ log ψ) per rebuild.
///
/// Trees are stored as complete binary trees in flat arrays (children of node i at 2i+1, 2i+2):
/// an interior node holds its split feature and threshold; an external node at depth < limit is
/// padded with nodes that compare the constant slot `dimension` (0) against 1 and so go left,
/// down to the last level, which holds the path length depth + c(size) (eq. 1's adjustment).
/// Every traversal is exactly ⌈log₂ ψ⌉ branch-free steps of dependent loads.
///
/// - Complexity: scoring O(trees · log ψ); learning O(1) amortised plus one tree rebuild of
///   O(ψ log ψ) every `rebuildEvery` points; memory O(window · dimension + trees · 2^(height + 1)).
public struct SlidingIsolationForest: Codable, Sendable, Equatable {
    public struct Parameters: Codable, Sendable, Equatable {
        /// Number of trees (RCF and iForest use 100). 96 trees of depth 6 cost about what 64 of
        /// depth 8 did and make the scores depend less on the seed (BENCHMARKS.md, seed table;
        /// 128 scored the same within noise at a seventh more CPU).
        public var trees: Int = 96
        /// ψ, points per tree (the iForest paper's 256).
        public var sampleSize: Int = 256
        /// Points kept in the sliding window the trees are sampled from: about a month of
        /// 5-minute data, so last week's normal stays normal (RCF's default memory is longer
        /// still; 1 024 made every daily cycle look new).
        public var window: Int = 8192
        /// After warm-up, one tree is rebuilt every this many points (the whole forest turns over
        /// every trees × rebuildEvery points).
        public var rebuildEvery: Int = 128
        /// Points needed before the first tree is grown.
        public var minimumPoints: Int = 16
        /// Depth limit of the trees; nil: the paper's ⌈log₂ ψ⌉ (8 at ψ = 256). The limit exists
        /// because only short paths matter (Liu et al. 2008 §4): anomalies are isolated in the
        /// top levels, and the last levels only order ordinary points. 6 makes each walk a
        /// quarter shorter and a tree a quarter of the size, which pays for half as many trees again.
        public var heightLimit: Int? = 6

        public init() {}

        public func validate() throws(EstimatorError) {
            func check(_ name: String, _ value: Int, _ range: ClosedRange<Int>) throws(EstimatorError) {
                guard range.contains(value) else {
                    throw .invalidParameter(name: name, value: "\(value)", expected: "\(range.lowerBound)...\(range.upperBound)")
                }
            }
            try check("trees", trees, 1...1024)
            try check("sampleSize", sampleSize, 2...65_536)
            try check("window", window, 2...10_000_000)
            try check("rebuildEvery", rebuildEvery, 1...1_000_000)
            try check("minimumPoints", minimumPoints, 2...window)
            if let heightLimit { try check("heightLimit", heightLimit, 1...16) }
        }
    }

    public let parameters: Parameters
    public let dimension: Int
    /// Depth limit ⌈log₂ ψ⌉ (the paper's height limit).
    let heightLimit: Int
    let nodesPerTree: Int
    let seed: UInt64

    /// Ring buffer of the last `window` points, row-major.
    var points: [Float]
    var stored = 0
    var head = 0
    var seen = 0
    /// Split feature per node (`dimension` = padding), all trees back to back.
    var features: [Int8]
    /// Threshold of an interior node, or path length of a leaf.
    var values: [Float]
    /// 1 / c(ψ_tree) per tree (0 for a tree not yet grown).
    var normalisers: [Float]
    var grownTrees = 0
    var nextTree = 0
    var sinceRebuild = 0
    /// Counts rebuilds; each rebuild draws from its own RandomSource stream so the forest is a
    /// pure function of (seed, data) and a checkpoint needs no generator state.
    var rebuilds: UInt64 = 0

    public init(dimension: Int, parameters: Parameters = Parameters(), seed: UInt64 = 0) throws(EstimatorError) {
        try parameters.validate()
        guard dimension >= 1 && dimension <= 126 else {  // feature codes are Int8, `dimension` is padding
            throw .invalidParameter(name: "dimension", value: "\(dimension)", expected: "1...126")
        }
        self.parameters = parameters
        self.dimension = dimension
        self.seed = seed
        let paperLimit = max(1, Int((log2(Double(parameters.sampleSize))).rounded(.up)))
        heightLimit = min(parameters.heightLimit ?? paperLimit, paperLimit)
        nodesPerTree = (1 << (heightLimit + 1)) - 1
        points = [Float](repeating: 0, count: parameters.window * dimension)
        features = [Int8](repeating: Int8(dimension), count: parameters.trees * nodesPerTree)
        values = [Float](repeating: 0, count: parameters.trees * nodesPerTree)
        normalisers = [Float](repeating: 0, count: parameters.trees)
    }

    /// True once at least one tree has been grown.
    public var isReady: Bool { grownTrees > 0 }

    /// s(x, ψ) in (0, 1]; 0.5 or less is ordinary, near 1 is isolated at once. 0 before any tree.
    /// `x` must hold `dimension` values.
    @inline(__always)
    public func score(_ x: UnsafePointer<Float>) -> Double {
        guard grownTrees > 0 else { return 0 }
        let d = dimension
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: d + 1) { padded in
            // Slot `dimension` is the constant 0 that padding nodes compare against.
            for j in 0..<d { padded[j] = x[j] }
            padded[d] = 0
            return score(padded: UnsafePointer(padded.baseAddress!))
        }
    }

    @inline(__always)
    func score(padded x: UnsafePointer<Float>) -> Double {
        var total: Float = 0
        let nodes = nodesPerTree, steps = heightLimit
        // Index arithmetic wraps (&*, &+) and `normalisers` is read through a buffer: with
        // checked `-O` the overflow and bounds checks in this walk made
        // `SeriesAnomalyDetector.process`, which inlines it, 71 % more instructions (callgrind,
        // `watch` of 30 000 rows: 223 M → 381 M; BENCHMARKS.md, "Checked release builds").
        // Indices stay below trees · nodesPerTree: a walk takes `steps` = heightLimit steps
        // from slot 0 in a tree of 2^(heightLimit+1) − 1 slots.
        features.withUnsafeBufferPointer { feature in
            values.withUnsafeBufferPointer { value in
            normalisers.withUnsafeBufferPointer { normalisers in
                // Eight trees walked in lockstep: their loads are independent, so the core
                // overlaps eight cache misses instead of waiting for each in turn (one row at a
                // time cannot be interleaved across rows). Every walk takes exactly `steps`
                // steps (leaves are padded down to the last level), so there is no branch.
                var t = 0
                while t + 8 <= grownTrees {
                    let b0 = t &* nodes
                    let b1 = b0 &+ nodes
                    let b2 = b1 &+ nodes
                    let b3 = b2 &+ nodes
                    let b4 = b3 &+ nodes
                    let b5 = b4 &+ nodes
                    let b6 = b5 &+ nodes
                    let b7 = b6 &+ nodes
                    var i0 = 0; var i1 = 0; var i2 = 0; var i3 = 0; var i4 = 0; var i5 = 0; var i6 = 0; var i7 = 0
                    for _ in 0..<steps {
                        i0 = 2 &* i0 &+ (x[Int(feature[b0 &+ i0])] < value[b0 &+ i0] ? 1 : 2)
                        i1 = 2 &* i1 &+ (x[Int(feature[b1 &+ i1])] < value[b1 &+ i1] ? 1 : 2)
                        i2 = 2 &* i2 &+ (x[Int(feature[b2 &+ i2])] < value[b2 &+ i2] ? 1 : 2)
                        i3 = 2 &* i3 &+ (x[Int(feature[b3 &+ i3])] < value[b3 &+ i3] ? 1 : 2)
                        i4 = 2 &* i4 &+ (x[Int(feature[b4 &+ i4])] < value[b4 &+ i4] ? 1 : 2)
                        i5 = 2 &* i5 &+ (x[Int(feature[b5 &+ i5])] < value[b5 &+ i5] ? 1 : 2)
                        i6 = 2 &* i6 &+ (x[Int(feature[b6 &+ i6])] < value[b6 &+ i6] ? 1 : 2)
                        i7 = 2 &* i7 &+ (x[Int(feature[b7 &+ i7])] < value[b7 &+ i7] ? 1 : 2)
                    }
                    var group: Float = 0
                    group += value[b0 &+ i0] * normalisers[t &+ 0]
                    group += value[b1 &+ i1] * normalisers[t &+ 1]
                    group += value[b2 &+ i2] * normalisers[t &+ 2]
                    group += value[b3 &+ i3] * normalisers[t &+ 3]
                    group += value[b4 &+ i4] * normalisers[t &+ 4]
                    group += value[b5 &+ i5] * normalisers[t &+ 5]
                    group += value[b6 &+ i6] * normalisers[t &+ 6]
                    group += value[b7 &+ i7] * normalisers[t &+ 7]
                    total += group
                    t &+= 8
                }
                while t < grownTrees {
                    let base = t &* nodes
                    var i = 0
                    for _ in 0..<steps { i = 2 &* i &+ (x[Int(feature[base &+ i])] < value[base &+ i] ? 1 : 2) }
                    total += value[base &+ i] * normalisers[t]
                    t &+= 1
                }
            }
            }
        }
        return exp2(-Double(total) / Double(grownTrees))
    }

    /// Adds `x` to the window; grows or replaces a tree when due.
    public mutating func learn(_ x: UnsafePointer<Float>) {
        let d = dimension
        points.withUnsafeMutableBufferPointer { buffer in
            for j in 0..<d { buffer[head * d + j] = x[j] }
        }
        head = head + 1 == parameters.window ? 0 : head + 1
        stored = min(stored + 1, parameters.window)
        seen += 1
        guard stored >= parameters.minimumPoints else { return }
        if grownTrees < parameters.trees {
            grow(tree: grownTrees)
            grownTrees += 1
            return
        }
        // While the window still fills, trees are on small samples: refresh one per point.
        sinceRebuild += 1
        if stored < parameters.sampleSize || sinceRebuild >= parameters.rebuildEvery {
            sinceRebuild = 0
            grow(tree: nextTree)
            nextTree = (nextTree + 1) % parameters.trees
        }
    }

    /// Grows tree `t` on a uniform sample (without replacement) of the window.
    mutating func grow(tree t: Int) {
        var random = RandomSource(seed: seed, stream: rebuilds)
        rebuilds &+= 1
        let n = min(parameters.sampleSize, stored)
        var sample = random.sampleWithoutReplacement(n, from: stored)
        let base = t * nodesPerTree
        let d = dimension
        let limit = heightLimit
        points.withUnsafeBufferPointer { pts in
            features.withUnsafeMutableBufferPointer { feature in
                values.withUnsafeMutableBufferPointer { value in
                    sample.withUnsafeMutableBufferPointer { idx in
                        // Explicit stack of (node, lo, hi, depth) instead of recursion.
                        var stack: [(Int, Int, Int, Int)] = [(0, 0, n, 0)]
                        stack.reserveCapacity(2 * limit + 2)
                        while let (node, lo, hi, depth) = stack.popLast() {
                            let size = hi - lo
                            var split: (feature: Int, threshold: Float)?
                            if depth < limit && size > 1 {
                                // Try random features until one is not constant on this node.
                                let start = random.integer(below: d)
                                for k in 0..<d {
                                    let f = (start + k) % d
                                    var low = pts[idx[lo] * d + f], high = low
                                    for r in (lo + 1)..<hi {
                                        let v = pts[idx[r] * d + f]
                                        low = min(low, v); high = max(high, v)
                                    }
                                    if high > low {
                                        var threshold = low + Float(random.uniform()) * (high - low)
                                        if threshold <= low { threshold = low.nextUp }
                                        split = (f, threshold)
                                        break
                                    }
                                }
                            }
                            guard let (f, threshold) = split else {
                                // External node: padded down to the last level through nodes
                                // that send every point left (the padding slot 0 < 1); the
                                // last-level node holds the path length depth + c(size).
                                var n = node
                                for _ in depth..<limit {
                                    feature[base + n] = Int8(d)
                                    value[base + n] = 1
                                    n = 2 * n + 1
                                }
                                feature[base + n] = Int8(d)
                                value[base + n] = Float(Double(depth) + averagePathLength(size))
                                continue
                            }
                            feature[base + node] = Int8(f)
                            value[base + node] = threshold
                            // Partition: left holds x[f] < threshold.
                            var i = lo, j = hi - 1
                            while i <= j {
                                if pts[idx[i] * d + f] < threshold { i += 1 } else { idx.swapAt(i, j); j -= 1 }
                            }
                            stack.append((2 * node + 1, lo, i, depth + 1))
                            stack.append((2 * node + 2, i, hi, depth + 1))
                        }
                    }
                }
            }
        }
        normalisers[t] = Float(1 / max(averagePathLength(n), 1))
    }
}

/// c(n) = 2H(n − 1) − 2(n − 1)/n, the average path length of an unsuccessful search in a binary
/// search tree of n points (Liu et al. 2008, eq. 1); H(i) ≈ ln i + γ (Euler's constant 0.5772…).
/// c(1) = 0 and c(2) = 1 exactly.
@inline(__always)
public func averagePathLength(_ n: Int) -> Double {
    if n <= 1 { return 0 }
    if n == 2 { return 1 }
    let m = Double(n - 1)
    return 2 * (log(m) + 0.577_215_664_901_532_9) - 2 * m / Double(n)
}
