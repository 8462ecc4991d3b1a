/// Discretisation of each feature into ordered bins, computed once per fit so that split search
/// works on small integer codes instead of floats (the histogram method of LightGBM, Ke et al.,
/// NeurIPS 2017, and scikit-learn's `HistGradientBoosting`).
///
/// Bin b of feature f holds the values v with `edges[f][b−1] < v ≤ edges[f][b]`; a split
/// "code ≤ b" is therefore exactly the float test "v ≤ edges[f][b]", which is what a fitted tree
/// stores and applies to raw rows at prediction time. Edges sit midway between consecutive
/// distinct training values (as scikit-learn's thresholds do).
///
/// - `maxBins` ≤ 255 gives quantile bins: distinct values are grouped so that each bin holds
///   about n / maxBins samples; a value more frequent than that gets a bin of its own.
/// - `maxBins == nil` gives one bin per distinct value: the *exact* splitter of classic CART,
///   which evaluates every threshold between distinct values.
///
/// Missing values (NaN) get the code `Code.max`, past every real bin.
///
/// Where a split puts its threshold inside a gap is `threshold(feature:after:before:)`: the
/// edge nearest the middle of the node's gap, as scikit-learn's midpoint between the node's
/// neighbouring values (issue 17), not the edge just above the node's left value.
public struct FeatureBinning: Codable, Sendable, Equatable {
    /// Upper edges of every bin but the last, per feature (strictly increasing).
    public let edges: [[Float]]
    /// Smallest and largest fitted value in each bin, per feature (empty when the binning was
    /// made from edges alone): where a node's values in a bin lie, for threshold placement.
    public let lowest: [[Float]]
    public let highest: [[Float]]

    /// Number of real (non-missing) bins of feature f.
    public func binCount(_ feature: Int) -> Int { edges[feature].count + 1 }

    public var featureCount: Int { edges.count }

    /// Learns bin edges from the non-missing values of each column of `data`.
    ///
    /// - Complexity: O(n log n) per feature, features in parallel.
    public init(fitting data: Matrix<Float>, maxBins: Int?, threads: Int) {
        precondition(maxBins.map { $0 >= 2 } ?? true, "maxBins must be at least 2")
        let perFeature = Parallel.map(data.columns, threads: threads) { j in
            FeatureBinning.fitFeature(FeatureBinning.sortedNonMissing(data.column(j)), maxBins: maxBins)
        }
        self.init(edges: perFeature.map(\.edges), lowest: perFeature.map(\.lowest), highest: perFeature.map(\.highest))
    }

    private init(edges: [[Float]], lowest: [[Float]], highest: [[Float]]) {
        self.edges = edges
        self.lowest = lowest
        self.highest = highest
    }

    /// One feature's edges and each bin's lowest and highest value, from its sorted values.
    private static func fitFeature(_ sorted: [Float], maxBins: Int?) -> (edges: [Float], lowest: [Float], highest: [Float]) {
        let edges = FeatureBinning.edges(of: sorted, maxBins: maxBins)
        // Bin b holds the sorted values up to edges[b]: its first and last are its range.
        var lowest = [Float](), highest = [Float]()
        lowest.reserveCapacity(edges.count + 1); highest.reserveCapacity(edges.count + 1)
        var i = 0
        for b in 0...edges.count where i < sorted.count {
            lowest.append(sorted[i])
            while i < sorted.count && (b == edges.count || sorted[i] <= edges[b]) { i += 1 }
            highest.append(sorted[i - 1])
        }
        return (edges, lowest, highest)
    }

    /// `FeatureBinning(fitting:maxBins:threads:)` and `bin(_:as:threads:)` of the same data in
    /// one pass per feature, with the same edges and codes bit for bit: the sort that finds the
    /// edges also gives each row's rank, and walking the rows in value order the code is the
    /// bin reached so far, so no value is searched among the edges (that search, ≈ 8 dependent
    /// and mispredicted steps per value, was ≈ 4 % of a 30-tree forest fit on 150 000 × 20;
    /// BENCHMARKS.md "Trees and forests → Speed").
    static func fittingAndBinning<Code: FixedWidthInteger & UnsignedInteger & Sendable>(
        _ data: Matrix<Float>, maxBins: Int?, as _: Code.Type = Code.self, threads: Int
    ) throws(EstimatorError) -> (binning: FeatureBinning, binned: BinnedFeatures<Code>) {
        precondition(maxBins.map { $0 >= 2 } ?? true, "maxBins must be at least 2")
        let rows = data.rows
        var codes = [Code](repeating: Code.max, count: rows * data.columns) // Code.max: missing
        let perFeature = codes.withUnsafeMutableBufferPointer { buffer in
            let output = SendablePointer(buffer.baseAddress!)
            return Parallel.map(data.columns, threads: threads) { j -> (edges: [Float], lowest: [Float], highest: [Float]) in
                let column = data.column(j)
                let order = FeatureBinning.nonMissingOrder(column)
                let sorted = order.map { column[Int($0)] }
                let fitted = FeatureBinning.fitFeature(sorted, maxBins: maxBins)
                // A feature with too many edges for `Code` is refused below, codes unused.
                guard fitted.edges.count < Int(Code.max) else { return fitted }
                let edges = fitted.edges, codes = output.base + j * rows
                // The first b with value ≤ edges[b]: non-decreasing along the sorted values.
                var b = 0
                for (i, row) in order.enumerated() {
                    while b < edges.count && !(sorted[i] <= edges[b]) { b += 1 }
                    codes[Int(row)] = Code(truncatingIfNeeded: b)
                }
                return fitted
            }
        }
        let binning = FeatureBinning(edges: perFeature.map(\.edges), lowest: perFeature.map(\.lowest),
                                     highest: perFeature.map(\.highest))
        if let wide = binning.edges.firstIndex(where: { $0.count >= Int(Code.max) }) {
            throw .invalidParameter(name: "bin edges of feature \(wide + 1)", value: "\(binning.edges[wide].count)",
                                    expected: "fewer than \(Code.max) for \(Code.self) codes")
        }
        return (binning, BinnedFeatures(rows: rows, codes: codes, binCounts: binning.edges.map { $0.count + 1 }))
    }

    public init(edges: [[Float]]) {
        self.edges = edges
        lowest = edges.map { _ in [] }
        highest = edges.map { _ in [] }
    }

    /// The threshold of a split whose left child's largest code is `low` and whose right
    /// child's smallest code is `high` (> low): any of edges[low] … edges[high − 1] separates
    /// the node's samples alike. This takes scikit-learn's threshold, the midpoint m between
    /// the largest value of bin `low` and the smallest of bin `high` (`_splitter.pyx`:
    /// `(Xf[p - 1] + Xf[p]) / 2`), rounded to the edge that sends every fitted value the way
    /// "x ≤ m" does: edges[k] for the last bin k whose values are all ≤ m.
    ///
    /// The edge just above bin `low` (the old rule) hugs the left value whenever the bins in
    /// between hold no sample of the node — in a bootstrap sample or deep in a tree, most
    /// gaps — and so shrinks every "≤" region to the node's data and widens every ">" one. On
    /// small sets that cost the forest 0.02–0.03 test ROC-AUC against scikit-learn (issue 17,
    /// BENCHMARKS.md "Trees and forests"). Staying on an edge keeps at most 254 distinct
    /// thresholds per feature for the compact predictor. `high == nil` (no non-missing sample
    /// on the right) gives edges[low].
    public func threshold(feature f: Int, after low: Int, before high: Int?) -> Float {
        threshold(feature: f, edge: thresholdEdge(feature: f, after: low, before: high))
    }

    /// edges[edge], or +∞ for `edge == edges[f].count` (no edge above the last bin).
    public func threshold(feature f: Int, edge: Int) -> Float {
        edge < edges[f].count ? edges[f][edge] : .infinity
    }

    /// The index a of the edge `threshold(feature:after:before:)` returns (edges[f].count for
    /// +∞), so that for any value x, x ≤ threshold ⟺ code(x) ≤ a.
    public func thresholdEdge(feature f: Int, after low: Int, before high: Int?) -> Int {
        let edgeCount = edges[f].count
        guard low < edgeCount else { return edgeCount }
        let top = highest[f]
        guard let high, high > low + 1, high <= edgeCount, top.count == edgeCount + 1 else { return low }
        let m = Double(top[low]) / 2 + Double(lowest[f][high]) / 2
        // Last k in low..<high with highest[k] ≤ m (k = low qualifies; bin `high` lies above m).
        var a = low, b = high - 1
        while a < b {
            let mid = (a + b + 1) >> 1
            if Double(top[mid]) <= m { a = mid } else { b = mid - 1 }
        }
        return a
    }

    /// The non-missing values of `values` in ascending order: exactly what
    /// `values.filter { !$0.isNaN }.sorted()` gives, bit for bit (a stable order, so equal
    /// values such as −0 and +0 keep their order), by a least-significant-digit radix sort on
    /// order-preserving keys of the floats' bits: 4 passes of 8 bits, O(n), a pass skipped when
    /// every key shares its byte. Swift's merge sort was 8 % of a 30-tree forest fit on 150 000
    /// × 20 (perf, BENCHMARKS.md "Trees and forests → Speed").
    static func sortedNonMissing(_ values: [Float]) -> [Float] {
        nonMissingOrder(values).map { values[Int($0)] }
    }

    /// Indices of the non-missing values of `values` in ascending order of value, equal values
    /// in index order (the order `sortedNonMissing` returns them in).
    static func nonMissingOrder(_ values: [Float]) -> [UInt32] {
        precondition(values.count <= Int(UInt32.max), "more rows than 32-bit indices")
        // The high 32 bits: the key (sign flipped for positives, all bits for negatives, so
        // unsigned order is float order; both zeros share +0's key); the low 32: the index, so
        // the stable sort keeps equal keys in index order.
        var items = [UInt64]()
        items.reserveCapacity(values.count)
        for (i, v) in values.enumerated() where !v.isNaN {
            let bits = v.bitPattern
            let key: UInt32 = v == 0 ? 0x8000_0000 : (bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000)
            items.append(UInt64(key) << 32 | UInt64(i))
        }
        let n = items.count
        guard n > 1 else { return items.map { UInt32(truncatingIfNeeded: $0) } }
        var counts = [Int](repeating: 0, count: 4 * 256)
        for item in items {
            for pass in 0..<4 { counts[pass * 256 + Int(truncatingIfNeeded: item >> (32 + 8 * pass)) & 255] += 1 }
        }
        var scratch = [UInt64](repeating: 0, count: n)
        for pass in 0..<4 where !counts[(pass * 256)..<(pass * 256 + 256)].contains(n) {
            var offsets = [Int](repeating: 0, count: 256)
            var total = 0
            for b in 0..<256 { offsets[b] = total; total += counts[pass * 256 + b] }
            let shift = UInt64(32 + 8 * pass)
            for item in items {
                let b = Int(truncatingIfNeeded: item >> shift) & 255
                scratch[offsets[b]] = item
                offsets[b] += 1
            }
            swap(&items, &scratch)
        }
        return items.map { UInt32(truncatingIfNeeded: $0) }
    }

    static func edges(of sorted: [Float], maxBins: Int?) -> [Float] {
        guard !sorted.isEmpty else { return [] }
        var distinct = [Float](), counts = [Int]()
        for v in sorted {
            if let last = distinct.last, last == v { counts[counts.count - 1] += 1 } else {
                distinct.append(v); counts.append(1)
            }
        }
        var result = [Float]()
        if maxBins == nil || distinct.count <= maxBins! {
            result.reserveCapacity(distinct.count - 1)
            for j in 0..<(distinct.count - 1) { result.append(midpoint(distinct[j], distinct[j + 1])) }
            return result
        }
        // Greedy quantile cut: close a bin after value j once the cumulative count reaches the
        // next multiple of n / maxBins, so bins hold about equal numbers of samples.
        let bins = maxBins!
        let perBin = Double(sorted.count) / Double(bins)
        var cumulative = 0
        for j in 0..<(distinct.count - 1) {
            cumulative += counts[j]
            if Double(cumulative) >= perBin * Double(result.count + 1) {
                result.append(midpoint(distinct[j], distinct[j + 1]))
                if result.count == bins - 1 { break }
            }
        }
        return result
    }

    /// A float m with a ≤ m < b (a < b): the midpoint when it is representable, else a.
    static func midpoint(_ a: Float, _ b: Float) -> Float {
        guard a.isFinite, b.isFinite else { return a }
        let m = a + (b - a) / 2
        return m >= b || m < a ? a : m
    }

    /// The bin of `value` (Code.max for NaN): the first b with value ≤ edges[b].
    @inline(__always)
    public static func code<Code: FixedWidthInteger & UnsignedInteger>(_ value: Float, edges: UnsafeBufferPointer<Float>) -> Code {
        if value.isNaN { return Code.max }
        var low = 0, high = edges.count
        while low < high {
            let mid = (low + high) >> 1
            if value <= edges[mid] { high = mid } else { low = mid + 1 }
        }
        return Code(truncatingIfNeeded: low)
    }

    /// Codes of every value of `data`, stored feature-major (all rows of feature 0 first) so
    /// that a histogram pass over one feature reads one contiguous array.
    public func bin<Code: FixedWidthInteger & UnsignedInteger & Sendable>(_ data: Matrix<Float>, as _: Code.Type = Code.self,
                                                                threads: Int) throws(EstimatorError) -> BinnedFeatures<Code> {
        try checkColumns(data, expected: featureCount)
        if let wide = edges.firstIndex(where: { $0.count >= Int(Code.max) }) {
            throw .invalidParameter(name: "bin edges of feature \(wide + 1)", value: "\(edges[wide].count)",
                                    expected: "fewer than \(Code.max) for \(Code.self) codes")
        }
        let rows = data.rows
        var codes = [Code](repeating: 0, count: rows * featureCount)
        codes.withUnsafeMutableBufferPointer { buffer in
            let output = SendablePointer(buffer.baseAddress!)
            Parallel.forEach(featureCount, threads: threads) { f in
                self.edges[f].withUnsafeBufferPointer { e in
                    data.storage.withUnsafeBufferPointer { values in
                        for i in 0..<rows {
                            output[f * rows + i] = FeatureBinning.code(values[i * self.featureCount + f], edges: e)
                        }
                    }
                }
            }
        }
        return BinnedFeatures(rows: rows, codes: codes, binCounts: edges.map { $0.count + 1 })
    }
}

/// Feature codes of a data set, feature-major, with `Code.max` for missing values.
public struct BinnedFeatures<Code: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    public let rows: Int
    public let codes: [Code]
    public let binCounts: [Int]
    public var featureCount: Int { binCounts.count }
    public static var missingCode: Code { Code.max }
}
