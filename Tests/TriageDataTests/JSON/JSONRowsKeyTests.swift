import Testing
@testable import TriageData

/// Keys are matched against the previous row's in place (the fast path of 1 000-row bodies);
/// these pin what that path must keep: the right columns, escapes, and refusals with their place.
@Suite struct JSONRowsKeyTests {
    static func parse(_ text: String, maxRows: Int = 1_000) throws -> JSONRows {
        try Array(text.utf8).withUnsafeBytes { raw in try JSONRows.parse(raw, maxRows: maxRows) }
    }

    static func value(_ rows: JSONRows, _ name: String, _ row: Int) -> Double? {
        rows.column(name).map { rows.numbers[$0][row] }
    }

    @Test func repeatedAndReorderedKeysFindTheirColumns() throws {
        let rows = try Self.parse(#"{"rows":[{"a":1,"b":2},{"a":3,"b":4},{"b":6,"a":5},{"a":7}]}"#)
        #expect(rows.names == ["a", "b"] && rows.rowCount == 4)
        #expect(rows.numbers[0] == [1, 3, 5, 7])
        #expect(rows.numbers[1][0...2] == [2, 4, 6] && rows.numbers[1][3].isNaN)
    }

    @Test func escapedAndPlainSpellingsAreOneColumn() throws {
        let rows = try Self.parse(#"{"rows":[{"c\u0070u":1},{"cpu":2},{"c\u0070u":3}]}"#)
        #expect(rows.names == ["cpu"] && rows.numbers[0] == [1, 2, 3])
    }

    @Test func keysWithQuotesBackslashesEmptyAndNonASCII() throws {
        let rows = try Self.parse(#"{"rows":[{"a\"b":1,"":2,"é":3,"x\\y":4},{"a\"b":5,"":6,"é":7,"x\\y":8}]}"#)
        #expect(rows.names == ["a\"b", "", "é", "x\\y"])
        #expect(rows.numbers == [[1, 5], [2, 6], [3, 7], [4, 8]])
    }

    @Test func aKeyCutShortAfterAnEscapedOneIsRefused() {
        // The previous key is a"b (escaped); the unescaped quote here ends the key "a".
        #expect(throws: JSONRows.Failure.self) { try Self.parse(#"{"rows":[{"a\"b":1},{"a"b":2}]}"#) }
    }

    @Test func refusalsNameTheirPlace() {
        #expect(throws: JSONRows.Failure(field: "rows[1].a", message: "given twice in one row")) {
            try Self.parse(#"{"rows":[{"a":1,"b":2},{"a":3,"a":4}]}"#)
        }
        #expect(throws: JSONRows.Failure(field: "rows[2].b", message: "not a JSON number (at byte 49)")) {
            try Self.parse(#"{"rows":[{"a":1,"b":2},{"a":3,"b":4},{"a":5,"b":-}]}"#)
        }
        #expect(throws: JSONRows.Failure(field: "rows[1]", message: "the body ends too early")) {
            try Self.parse(#"{"rows":[{"a":1},{"a":2,"#)
        }
        #expect(throws: JSONRows.Failure(field: "rows[1].a", message: "expected a number, a string or null, got a boolean")) {
            try Self.parse(#"{"rows":[{"a":1},{"a":true}]}"#)
        }
    }
}
