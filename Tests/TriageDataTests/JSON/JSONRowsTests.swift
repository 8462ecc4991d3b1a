import Foundation
import Testing
@testable import TriageData

private func parse(_ text: String, maxRows: Int = 100_000) throws(JSONRows.Failure) -> JSONRows {
    try Array(text.utf8).withUnsafeBytes { raw in Result { () throws(JSONRows.Failure) in try JSONRows.parse(raw, maxRows: maxRows) } }.get()
}

private func flat(_ text: String) throws(JSONRows.Failure) -> JSONFlatObject {
    try Array(text.utf8).withUnsafeBytes { raw in Result { () throws(JSONRows.Failure) in try JSONFlatObject.parse(raw) } }.get()
}

private func failure(_ text: String, maxRows: Int = 100_000) -> JSONRows.Failure? {
    do { _ = try parse(text, maxRows: maxRows); return nil } catch { return error }
}

@Suite struct JSONRowsTests {
    @Test func rowsBecomeColumnsInFirstSeenOrder() throws {
        let rows = try parse(#" { "rows" : [ {"a": 1, "b": "x"}, {"b": null, "c": -2.5e3, "a": 0.1}, {} ] } "#)
        #expect(rows.names == ["a", "b", "c"] && rows.rowCount == 3)
        #expect(rows.numbers[0][0] == 1 && rows.numbers[0][1] == 0.1 && rows.numbers[0][2].isNaN)
        #expect(rows.numbers[2][0].isNaN && rows.numbers[2][1] == -2500)
        #expect(rows.strings[1] == ["x", nil, nil] && rows.strings[0] == nil)
        #expect(try parse(#"{"rows": []}"#).rowCount == 0)
    }

    @Test func stringsAreUnescapedStrictly() throws {
        let rows = try parse(#"{"rows": [{"s": "a\"b\\c\/d\n\u00e9\ud83d\ude00"}]}"#)
        #expect(rows.strings[0]?[0] == "a\"b\\c/d\né😀")
        #expect(failure(#"{"rows": [{"s": "\x"}]}"#)?.field == "rows[0].s")
        #expect(failure(#"{"rows": [{"s": "\ud83d"}]}"#)?.message.contains("surrogate") == true)
        #expect(failure(#"{"rows": [{"s": "\ude00"}]}"#)?.message.contains("surrogate") == true)
        #expect(failure("{\"rows\": [{\"s\": \"a\tb\"}]}")?.message.contains("control character") == true)
        let invalid: [UInt8] = Array(#"{"rows": [{"s": ""#.utf8) + [0xFF, 0xFE] + Array(#""}]}"#.utf8)
        let error = invalid.withUnsafeBytes { raw in Result { () throws(JSONRows.Failure) in try JSONRows.parse(raw, maxRows: 10) } }
        guard case .failure(let f) = error else { Issue.record("invalid UTF-8 accepted"); return }
        #expect(f.message.contains("UTF-8"))
    }

    @Test func numbersFollowJSONsGrammar() throws {
        let rows = try parse(#"{"rows": [{"n": 0}, {"n": -0.5}, {"n": 1E+2}, {"n": 12345678901234567890}, {"n": 5e-324}]}"#)
        #expect(rows.numbers[0].prefix(4) == [0, -0.5, 100, 12345678901234567168])
        #expect(rows.numbers[0][4] == Double.leastNonzeroMagnitude)
        for bad in ["01", "1.", ".5", "+1", "1e", "-", "NaN", "Infinity", "0x10", "1e400"] {
            #expect(failure("{\"rows\": [{\"n\": \(bad)}]}") != nil, "\(bad)")
        }
    }

    @Test func everyMistakeNamesItsPlace() {
        let cases: [(String, String)] = [
            ("", "body"), ("[]", "body"), ("{", "body"), (#"{"rows": {}}"#, "rows"), (#"{"rows": [1]}"#, "rows[0]"),
            (#"{"rows": [{"a": 1}, {"a": [1]}]}"#, "rows[1].a"), (#"{"rows": [{"a": {"b": 1}}]}"#, "rows[0].a"),
            (#"{"rows": [{"a": true}]}"#, "rows[0].a"), (#"{"rows": [{"a": 1, "a": 2}]}"#, "rows[0].a"),
            (#"{"rows": [{"a": 1}, {"b": 1, "a": 2, "a": 3}]}"#, "rows[1].a"),
            (#"{"rows": [], "more": 1}"#, "more"), (#"{"rows": [], "rows": []}"#, "rows"), (#"{}"#, "rows"),
            (#"{"rows": [{"a" 1}]}"#, "rows[0].a"), (#"{"rows": [{"a": 1}] "#, "body"), (#"{"rows": []} {}"#, "body"),
            (#"{"rows": [{"a": 1},]}"#, "rows[1]"),
        ]
        for (text, field) in cases {
            let error = failure(text)
            #expect(error?.field == field, "\(text): \(String(describing: error))")
        }
    }

    /// Nesting is refused at the first level it could start, so a deeply nested body costs no
    /// more than reading up to its first bracket (no recursion, no stack to exhaust).
    @Test func deepNestingIsRefusedAtOnce() {
        let deep = #"{"rows": [{"a": "# + String(repeating: "[", count: 1_000_000) + "]}"
        #expect(failure(deep)?.field == "rows[0].a")
        let deepTop = String(repeating: "[", count: 1_000_000)
        #expect(failure(deepTop)?.field == "body")
    }

    @Test func theRowLimitIsCheckedBeforeMoreRowsAreRead() {
        #expect(failure(#"{"rows": [{}, {}, {}]}"#, maxRows: 2)?.field == "rows")
        #expect((try? parse(#"{"rows": [{}, {}]}"#, maxRows: 2))?.rowCount == 2)
    }

    @Test func keysInAnotherOrderOrEscapedStillMatchTheirColumns() throws {
        let rows = try parse(#"{"rows": [{"a": 1, "b": 2}, {"b": 3, "a": 4}, {"\u0061": 5, "b": 6}]}"#)
        #expect(rows.names == ["a", "b"] && rows.numbers[0] == [1, 4, 5] && rows.numbers[1] == [2, 3, 6])
    }

    @Test func flatObjectsForDecisionBodies() throws {
        let parsed = try flat(#"{"comment": "ok", "n": 2, "t": true, "z": null}"#)
        #expect(parsed.fields == ["comment": .string("ok"), "n": .number(2), "t": .bool(true), "z": .null])
        let empty = try flat("  ")
        #expect(empty.fields.isEmpty)
        for (text, field) in [(#"{"a": [1]}"#, "a"), (#"{"a": 1, "a": 2}"#, "a"), ("[", "body"), (#"{"a": 1} x"#, "body")] {
            let error = Array(text.utf8).withUnsafeBytes { raw in Result { () throws(JSONRows.Failure) in try JSONFlatObject.parse(raw) } }
            guard case .failure(let f) = error else { Issue.record("\(text) accepted"); continue }
            #expect(f.field == field, "\(text)")
        }
    }
}
