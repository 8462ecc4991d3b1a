import Foundation
import Testing
@testable import TriageCore
@testable import TriageData

/// `JSONValue.serialized()` writes bytes into one buffer; these check it against the String
/// building it replaced (kept here as the reference), on the edge cases and on random values.
@Suite struct JSONValueSerializationTests {
    static func referenceSerialized(_ value: JSONValue) -> String {
        switch value {
        case .number(let v): return v.isFinite ? (v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : "\(v)") : "null"
        case .integer(let v): return String(v)
        case .string(let s): return referenceQuote(s)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let items): return "[" + items.map { referenceSerialized($0) }.joined(separator: ",") + "]"
        case .object(let fields):
            return "{" + fields.keys.sorted().map { referenceQuote($0) + ":" + referenceSerialized(fields[$0]!) }.joined(separator: ",") + "}"
        }
    }

    static func referenceQuote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value):
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    @Test func edgeCasesMatchTheReference() {
        let strings = ["", "plain", "quote \" and \\ back", "line\nbreak\r\ttab", "\u{0}\u{1}\u{1F}\u{7F}\u{80}\u{9F}\u{A0}",
                       "é ü 日本 🚀", "\u{C2}\u{85}", "a\u{2028}b", "\u{FEFF}bom"]
        let numbers: [Double] = [0, -0.0, 1, -1, 0.1, 1e15, 1e15 - 1, -1e15 + 1, 1e16, 123456789012345, 2.5e-8,
                                 .nan, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 3.0000000000000004]
        for s in strings {
            #expect(JSONValue.string(s).serialized() == Self.referenceSerialized(.string(s)), "\(s.debugDescription)")
            #expect(JSONValue.quote(s) == Self.referenceQuote(s))
        }
        for x in numbers { #expect(JSONValue.number(x).serialized() == Self.referenceSerialized(.number(x)), "\(x)") }
        for i in [0, 1, -1, Int.max, Int.min, 1_000_000] {
            #expect(JSONValue.integer(i).serialized() == Self.referenceSerialized(.integer(i)))
        }
        let nested = JSONValue.object(["b": .array([.null, .bool(true), .bool(false), .number(2.5)]), "a": .object([:]),
                                       "é": .string("x"), "A": .array([])])
        #expect(nested.serialized() == Self.referenceSerialized(nested))
    }

    @Test func randomValuesMatchTheReference() {
        var random = RandomSource(seed: 5)
        let scalars: [Unicode.Scalar] = ["a", "\"", "\\", "\n", "\u{1}", "\u{7F}", "\u{85}", "\u{9F}", "\u{A0}", "é", "日", "🚀", " "]
        func string() -> String {
            String(String.UnicodeScalarView((0..<Int(random.next() % 6)).map { _ in scalars[Int(random.next() % UInt64(scalars.count))] }))
        }
        func value(_ depth: Int) -> JSONValue {
            switch random.next() % (depth > 2 ? 5 : 7) {
            case 0: return .number(Double(bitPattern: random.next()))
            case 1: return .number(Double(Int64(bitPattern: random.next()) >> 20) / 8)
            case 2: return .integer(Int(bitPattern: UInt(random.next())))
            case 3: return .string(string())
            case 4: return random.next() % 2 == 0 ? .bool(random.next() % 2 == 0) : .null
            case 5: return .array((0..<Int(random.next() % 4)).map { _ in value(depth + 1) })
            default:
                var fields = [String: JSONValue]()
                for _ in 0..<Int(random.next() % 4) { fields[string()] = value(depth + 1) }
                return .object(fields)
            }
        }
        for _ in 0..<500 {
            let v = value(0)
            #expect(v.serialized() == Self.referenceSerialized(v))
        }
    }
}
