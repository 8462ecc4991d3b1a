import Testing
@testable import TriageCore

@Suite struct FeatureBinningTests {
    /// The radix sort behind the bin edges gives the stable sort's result bit for bit: NaN
    /// dropped, −0 and +0 in their original order, infinities, subnormals, duplicates.
    @Test func radixSortEqualsTheStableSortBitForBit() {
        var random = RandomSource(seed: 11)
        let specials: [Float] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                                 .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, -1, 1, 0, -0.0]
        for size in [0, 1, 2, 3, 17, 1000, 5000] {
            var values = [Float]()
            for i in 0..<size {
                switch random.integer(below: 4) {
                case 0: values.append(specials[i % specials.count])
                case 1: values.append(Float(random.integer(below: 5)) - 2)
                case 2: values.append(Float(random.normal()) * 1e-30)
                default: values.append(Float(random.normal()) * 1000)
                }
            }
            let expected = values.filter { !$0.isNaN }.sorted().map(\.bitPattern)
            #expect(FeatureBinning.sortedNonMissing(values).map(\.bitPattern) == expected, "size \(size)")
        }
        #expect(FeatureBinning.sortedNonMissing([.nan, .nan]).isEmpty)
        #expect(FeatureBinning.sortedNonMissing([-0.0, 0]).map(\.bitPattern) == [Float(-0.0).bitPattern, Float(0).bitPattern])
        #expect(FeatureBinning.sortedNonMissing([0, -0.0]).map(\.bitPattern) == [Float(0).bitPattern, Float(-0.0).bitPattern])
    }

    /// The fit's one-pass binning (codes from the sort's order) gives the same edges, bin
    /// ranges and codes as fitting the edges and then searching each value among them.
    @Test func fittingAndBinningEqualsFitThenBin() throws {
        var random = RandomSource(seed: 12)
        let specials: [Float] = [0, -0.0, .infinity, -.infinity, .nan, 1, -1, 1, 0, -0.0]
        let data = Matrix<Float>(rows: 3000, columns: 4) { i, j in
            switch j {
            case 0: return Float(random.normal()) * 100
            case 1: return Float(random.integer(below: 7)) - 3
            case 2: return specials[(i * 7 + Int(random.integer(below: 3))) % specials.count]
            default: return i % 5 == 0 ? .nan : Float(random.normal())
            }
        }
        for maxBins in [2, 16, 255, nil] as [Int?] {
            let reference = FeatureBinning(fitting: data, maxBins: maxBins, threads: 1)
            let one = try FeatureBinning.fittingAndBinning(data, maxBins: maxBins, as: UInt32.self, threads: 2)
            #expect(one.binning.edges.map { $0.map(\.bitPattern) } == reference.edges.map { $0.map(\.bitPattern) })
            #expect(one.binning.lowest.map { $0.map(\.bitPattern) } == reference.lowest.map { $0.map(\.bitPattern) })
            #expect(one.binning.highest.map { $0.map(\.bitPattern) } == reference.highest.map { $0.map(\.bitPattern) })
            #expect(one.binned.codes == (try reference.bin(data, as: UInt32.self, threads: 1)).codes, "maxBins \(String(describing: maxBins))")
            #expect(one.binned.binCounts == reference.edges.map { $0.count + 1 })
            if let maxBins {
                let narrow = try FeatureBinning.fittingAndBinning(data, maxBins: maxBins, as: UInt8.self, threads: 1)
                #expect(narrow.binned.codes == (try reference.bin(data, as: UInt8.self, threads: 1)).codes)
            }
        }
        // More distinct values than one-byte codes hold: refused as `bin` refuses them.
        let wide = Matrix<Float>(rows: 300, columns: 1) { i, _ in Float(i) }
        #expect(throws: EstimatorError.self) { try FeatureBinning.fittingAndBinning(wide, maxBins: nil, as: UInt8.self, threads: 1) }
    }

    @Test func fewDistinctValuesGetOneBinEach() throws {
        let data = Matrix<Float>([[1], [2], [2], [4], [.nan]])
        let binning = FeatureBinning(fitting: data, maxBins: 255, threads: 1)
        #expect(binning.edges[0] == [1.5, 3])
        let binned = try binning.bin(data, as: UInt8.self, threads: 1)
        #expect(binned.codes == [0, 1, 1, 2, 255])
    }

    @Test func quantileBinsRespectTheLimitAndTheThresholdContract() throws {
        var random = RandomSource(seed: 3)
        let data = Matrix<Float>(rows: 5000, columns: 2) { _, j in j == 0 ? Float(random.normal()) : Float(random.integer(below: 3)) }
        let binning = FeatureBinning(fitting: data, maxBins: 16, threads: 2)
        #expect(binning.binCount(0) <= 16 && binning.binCount(0) >= 12)
        #expect(binning.binCount(1) == 3)
        let binned = try binning.bin(data, as: UInt8.self, threads: 2)
        // code ≤ b exactly when value ≤ edges[b]: what lets a tree store float thresholds.
        for i in 0..<data.rows {
            let code = Int(binned.codes[i])
            for (b, edge) in binning.edges[0].enumerated() { #expect((code <= b) == (data[i, 0] <= edge)) }
        }
        // Bins hold roughly equal counts.
        var counts = [Int](repeating: 0, count: binning.binCount(0))
        for i in 0..<data.rows { counts[Int(binned.codes[i])] += 1 }
        #expect(counts.max()! < 3 * 5000 / 16)
    }

    @Test func midpointStaysBetweenAdjacentFloats() {
        let a: Float = 1, b = a.nextUp
        let m = FeatureBinning.midpoint(a, b)
        #expect(m >= a && m < b)
        #expect(FeatureBinning.midpoint(3, .infinity) == 3)
    }

    @Test func exactModeHasOneBinPerDistinctValue() throws {
        let data = Matrix<Float>(rows: 1000, columns: 1) { i, _ in Float(i % 700) }
        let binning = FeatureBinning(fitting: data, maxBins: nil, threads: 1)
        #expect(binning.binCount(0) == 700)
        let binned = try binning.bin(data, as: UInt32.self, threads: 1)
        #expect(binned.codes[699] == 699 && binned.codes[700] == 0)
    }

    /// A split's threshold is scikit-learn's midpoint between the node's neighbouring values,
    /// rounded to the edge that sends every fitted value the same way (issue 17).
    @Test func thresholdSitsMidGapOnAnEdge() throws {
        let data = Matrix<Float>(rows: 11, columns: 1) { i, _ in Float(i) }   // edges 0.5 … 9.5
        let binning = FeatureBinning(fitting: data, maxBins: 255, threads: 1)
        #expect(binning.lowest[0] == (0...10).map(Float.init) && binning.highest[0] == binning.lowest[0])
        // Node values 0 (bin 0) and 10 (bin 10): midpoint 5, and "x ≤ 5" sends 5 left: edge 5.5.
        #expect(binning.threshold(feature: 0, after: 0, before: 10) == 5.5)
        #expect(binning.threshold(feature: 0, after: 0, before: 9) == 4.5)   // midpoint 4.5
        #expect(binning.threshold(feature: 0, after: 2, before: 9) == 5.5)   // midpoint 5.5 is an edge
        #expect(binning.threshold(feature: 0, after: 3, before: 4) == 3.5)   // neighbouring bins: their edge
        #expect(binning.threshold(feature: 0, after: 3, before: nil) == 3.5) // nothing non-missing on the right
        #expect(binning.threshold(feature: 0, after: 10, before: nil) == .infinity)
        // Quantile bins: ranges of values per bin, the threshold still one of the edges.
        let wide = Matrix<Float>(rows: 1000, columns: 1) { i, _ in Float(i) }
        let coarse = FeatureBinning(fitting: wide, maxBins: 10, threads: 1)
        #expect(coarse.lowest[0].first == 0 && coarse.highest[0].last == 999)
        for b in 1..<coarse.binCount(0) { #expect(coarse.lowest[0][b] > coarse.highest[0][b - 1]) }
        let t = coarse.threshold(feature: 0, after: 0, before: 9)
        #expect(coarse.edges[0].contains(t) && abs(t - 499.5) <= 100)
        // Made from edges alone there are no value ranges: the edge above the left bin.
        #expect(FeatureBinning(edges: [[0.5, 1.5, 2.5]]).threshold(feature: 0, after: 0, before: 3) == 0.5)
    }
}
