import Testing
@testable import TriageCore

@Suite("Hodges-Lehmann shift")
struct HodgesLehmannShiftTests {
    /// The definition, spelled out: every pairwise difference, sorted, middle one(s).
    static func bruteForce(baseline x: [Double], canary y: [Double]) -> Double {
        let differences = y.flatMap { yj in x.map { yj - $0 } }.sorted()
        let n = differences.count
        return n % 2 == 1 ? differences[n / 2] : (differences[n / 2 - 1] + differences[n / 2]) / 2
    }

    @Test func matchesNumpyReference() throws {
        // numpy.median(numpy.subtract.outer(y, x)) for the samples of MannWhitneyUTestTests.
        let x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
        let y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
        #expect(abs(try HodgesLehmannShift.estimate(baseline: x, canary: y) + 0.56) < 1e-12)
    }

    @Test func equalsTheDefinitionOnRandomSamples() throws {
        var random = RandomSource(seed: 11)
        for trial in 0..<60 {
            let m = 1 + random.integer(below: 40), n = 1 + random.integer(below: 40)
            // Coarse values every third trial, so ties and zero differences are common.
            let coarse = trial % 3 == 0
            func draw() -> Double { coarse ? Double(random.integer(below: 5)) : random.normal() * 10 - 3 }
            let x = (0..<m).map { _ in draw() }, y = (0..<n).map { _ in draw() }
            #expect(try HodgesLehmannShift.estimate(baseline: x, canary: y) == Self.bruteForce(baseline: x, canary: y))
        }
    }

    @Test func shiftOfAShiftedCopyIsTheShift() throws {
        let x = (0..<50).map { Double($0) * 0.5 }
        #expect(try HodgesLehmannShift.estimate(baseline: x, canary: x.map { $0 + 4 }) == 4)
        #expect(try HodgesLehmannShift.estimate(baseline: x, canary: x) == 0)
    }

    @Test func orderKeysSortLikeTheNumbers() {
        let values: [Double] = [-1e300, -3.5, -1, -Double.leastNonzeroMagnitude, -0.0, 0, 1e-300, 2, 7.25, 1e300]
        let keys = values.map(HodgesLehmannShift.orderKey)
        #expect(keys == keys.sorted())
        for v in values { #expect(HodgesLehmannShift.value(ofKey: HodgesLehmannShift.orderKey(v)) == v) }
    }

    @Test func refusesEmptyAndNonFiniteSamples() {
        #expect(throws: EstimatorError.emptyData) { try HodgesLehmannShift.estimate(baseline: [1], canary: []) }
        #expect(throws: EstimatorError.nonFinite(row: 0, column: 0)) {
            try HodgesLehmannShift.estimate(baseline: [.nan], canary: [1])
        }
    }
}
