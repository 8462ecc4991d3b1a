import Testing
@testable import TriageCore

@Suite("Availability, MTBF and MTTR")
struct AvailabilityTests {
    @Test func closedForm() throws {
        // Down 100 s, 300 s, 100 s; up 900 s and 3 700 s between them.
        let figures = try #require(Availability.of(outages: [(1_000, 1_300), (0, 100), (5_000, 5_100)]))
        #expect(figures.incidents == 3)
        #expect(abs(figures.mttr - 500.0 / 3) < 1e-9)
        #expect(figures.mtbf == 2_300)
        #expect(abs(figures.availability! - 2_300 / (2_300 + 500.0 / 3)) < 1e-12)
    }

    @Test func overlappingOutagesMerge() throws {
        let figures = try #require(Availability.of(outages: [(0, 100), (50, 200), (200, 300), (1_300, 1_400)]))
        #expect(figures.incidents == 2)
        #expect(figures.mttr == 200) // (300 + 100) / 2
        #expect(figures.mtbf == 1_000)
    }

    @Test func oneOutageLeavesMTBFUnknown() throws {
        let figures = try #require(Availability.of(outages: [(10, 70)]))
        #expect(figures.incidents == 1 && figures.mttr == 60)
        #expect(figures.mtbf == nil && figures.availability == nil)
        #expect(Availability.of(outages: []) == nil)
    }

    @Test func ratioOfZeroDowntime() {
        #expect(Availability.ratio(mtbf: 0, mttr: 0) == 1)
        #expect(Availability.ratio(mtbf: 3, mttr: 1) == 0.75)
    }
}
