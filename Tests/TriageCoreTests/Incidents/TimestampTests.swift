import Testing
@testable import TriageCore

@Test func isoFormattingAndParsingRoundTrip() {
    #expect(Timestamp.iso(1_767_571_200) == "2026-01-05T00:00:00Z")
    #expect(Timestamp.iso(0) == "1970-01-01T00:00:00Z")
    #expect(Timestamp.iso(951_782_400) == "2000-02-29T00:00:00Z")
    for t: Int64 in [-86_401, 0, 1, 951_868_799, 1_767_621_900, 4_102_444_800] {
        #expect(Timestamp.parse(Timestamp.iso(t)) == t)
    }
}

@Test func everyContractFormParses() {
    let t: Int64 = 1_767_620_700 // 2026-01-05T13:45:00Z
    #expect(Timestamp.parse("2026-01-05T13:45:00Z") == t)
    #expect(Timestamp.parse("2026-01-05 13:45:00") == t)
    #expect(Timestamp.parse("1767620700") == t)
    #expect(Timestamp.parse("1767620700.75") == t)
    #expect(Timestamp.parse("2026-01-05T15:45:00+02:00") == t)
    #expect(Timestamp.parse("2026-01-05T13:45:00.250Z") == t)
}

@Test func malformedTimesAreRejected() {
    for bad in ["", "yesterday", "2026-13-05T00:00:00Z", "2026-02-30 00:00:00", "2026-01-05T25:00:00Z",
                "2026-01-05T13:45:00Zjunk", "12ab", "2026/01/05 13:45:00", "99999999999999", "-99999999999999",
                "0000-01-01T00:00:00Z"] {
        #expect(Timestamp.parse(bad) == nil, "\(bad)")
    }
}

@Test func formattingNeverTrapsOutsideFourDigitYears() {
    #expect(Timestamp.iso(.min) == "0001-01-01T00:00:00Z")
    #expect(Timestamp.iso(.max) == "9999-12-31T23:59:59Z")
}
