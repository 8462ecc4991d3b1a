import Foundation
import FuzzSupport
import TriageData

// Fuzzes the JSON request-body parsers of `triage serve` (JSONRows, JSONFlatObject): arbitrary
// bytes must never trap, hang or recurse, and the parser must agree with Foundation's
// JSONSerialization (a differential check):
// - whatever JSONRows accepts, JSONSerialization accepts too, with the same rows, keys,
//   numbers and strings;
// - whatever JSONSerialization reads as {"rows": [flat objects of numbers, strings, nulls]}
//   JSONRows accepts, unless a row repeats a key (JSONRows refuses what JSON leaves undefined),
//   a number overflows a Double, or a trailing comma follows the last member (Foundation is
//   lenient there; RFC 8259 is not).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let bytes = Array(input.bytes)
    let ours: Result<JSONRows, JSONRows.Failure> = bytes.withUnsafeBytes { raw in
        Result { () throws(JSONRows.Failure) in try JSONRows.parse(raw, maxRows: 1_000) }
    }
    _ = bytes.withUnsafeBytes { raw in Result { () throws(JSONRows.Failure) in try JSONFlatObject.parse(raw) } }
    let theirs = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    switch ours {
    case .success(let rows):
        guard let object = theirs as? [String: Any], let list = object["rows"] as? [Any] else {
            preconditionFailure("JSONRows accepted what Foundation does not read as {\"rows\": [...]}")
        }
        precondition(object.count == 1 && list.count == rows.rowCount, "row counts differ")
        for (r, item) in list.enumerated() {
            guard let row = item as? [String: Any] else { preconditionFailure("row \(r) is not an object for Foundation") }
            for (key, value) in row {
                guard let c = rows.column(key) else { preconditionFailure("column \(key) missing") }
                if let text = value as? String {
                    precondition(rows.strings[c]?[r] == text, "string of rows[\(r)].\(key) differs")
                } else if value is NSNull {
                    precondition(rows.numbers[c][r].isNaN && rows.strings[c]?[r] == nil, "null of rows[\(r)].\(key) differs")
                } else if let number = value as? NSNumber {
                    let mine = rows.numbers[c][r], expected = number.doubleValue
                    precondition(mine == expected || abs(mine - expected) <= 1e-15 * abs(expected),
                                 "number of rows[\(r)].\(key): \(mine) vs \(expected)")
                }
            }
        }
    case .failure(let failure):
        guard let object = theirs as? [String: Any], object.count == 1, let list = object["rows"] as? [Any],
              list.count <= 1_000 else { break }
        let flat = list.allSatisfy { item in
            guard let row = item as? [String: Any] else { return false }
            return row.values.allSatisfy { v in
                v is NSNull || v is String || v is NSNumber
            }
        }
        let tolerated = failure.message.contains("given twice") || failure.message.contains("out of range")
            || failure.message.contains("boolean") || failure.message.contains("UTF-8")
            // Foundation accepts a trailing comma ({"a": 1,}); RFC 8259 does not.
            || failure.message.contains("found '}'") || failure.message.contains("found ']'")
        precondition(!flat || tolerated, "JSONRows refused a valid body: \(failure)")
    }
    return 0
}

@_cdecl("FuzzJSONRows_main")
public func harnessMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    return runFuzzer(argc, argv, fuzz)
}
