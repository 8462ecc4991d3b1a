import Testing
@testable import TriageCore

@Suite struct FeatureBinningTests {
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
}
