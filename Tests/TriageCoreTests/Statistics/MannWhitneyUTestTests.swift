import Testing
@testable import TriageCore

/// The U test against scipy 1.17.1's `mannwhitneyu(x, y, method="asymptotic")` (reference
/// values computed once and pasted here; the tests do not need Python).
@Suite("Mann-Whitney U test")
struct MannWhitneyUTestTests {
    @Test func matchesScipyWithoutTies() throws {
        let x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
        let y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
        let test = try MannWhitneyUTest(x, y)
        #expect(test.u1 == 58)
        #expect(test.u1 + test.u2 == 81)
        #expect(abs(test.pValue - 0.13291945818531892) < 1e-14)
        // Two-sided: the order of the samples does not change p.
        #expect(abs(try MannWhitneyUTest(y, x).pValue - test.pValue) < 1e-15)
    }

    @Test func matchesScipyWithTies() throws {
        let a: [Double] = Array(repeating: [1.0, 2, 2, 3, 3, 3, 4, 5, 5, 6], count: 3).flatMap { $0 }
        let b: [Double] = Array(repeating: [2.0, 3, 3, 4, 4, 4, 5, 6, 6, 7], count: 3).flatMap { $0 }
        let test = try MannWhitneyUTest(b, a)
        #expect(test.u1 == 607.5)
        #expect(abs(test.pValue - 0.01820991160657683) < 1e-14)
    }

    @Test func midranksAverageTiesAndCountThem() {
        let ranked = MannWhitneyUTest.midranks([5, 1, 5, 3, 5])
        #expect(ranked.ranks == [4, 1, 4, 2, 4])
        #expect(ranked.tieTerm == 24) // one group of 3: 27 − 3
    }

    @Test func allValuesEqualGivesNoEvidenceNotNaN() throws {
        let test = try MannWhitneyUTest(Array(repeating: 0.25, count: 30), Array(repeating: 0.25, count: 25))
        #expect(test.pValue == 1)
        #expect(test.z == 0)
        #expect(!test.pValue.isNaN)
    }

    @Test func twoDifferentConstantsAreSignificant() throws {
        let test = try MannWhitneyUTest(Array(repeating: 1, count: 30), Array(repeating: 0, count: 30))
        #expect(test.u1 == 900)
        #expect(test.pValue < 1e-10)
    }

    @Test func refusesEmptyAndNonFiniteSamples() {
        #expect(throws: EstimatorError.emptyData) { try MannWhitneyUTest([], [1]) }
        #expect(throws: EstimatorError.nonFinite(row: 1, column: 1)) { try MannWhitneyUTest([1, 2], [3, .nan]) }
        #expect(throws: EstimatorError.nonFinite(row: 0, column: 0)) { try MannWhitneyUTest([.infinity], [3]) }
    }
}
