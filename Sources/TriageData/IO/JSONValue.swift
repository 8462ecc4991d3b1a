import Foundation

/// A JSON value with deterministic serialisation (sorted keys, shortest round-trip numbers).
public enum JSONValue: Equatable, Sendable {
    case number(Double)
    case integer(Int)
    case string(String)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    public static func numbers(_ values: [Double]) -> JSONValue { .array(values.map(JSONValue.number)) }
    public static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }

    /// The value as JSON text: keys sorted, shortest round-trip numbers (integral ones below
    /// 1e15 without a fraction), strings escaped by `quote`.
    ///
    /// Written into one byte buffer: building a String per value and joining them cost about
    /// 390 k instructions for a recommendation (~1.5 KB), a third of each `raise` in the queue.
    public func serialized() -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `serialized()`'s bytes.
    public func write(into bytes: inout [UInt8]) {
        switch self {
        case .number(let v):
            if !v.isFinite {
                bytes.append(contentsOf: "null".utf8)
            } else if v == v.rounded() && abs(v) < 1e15 {
                Self.appendInteger(Int64(v), to: &bytes)
            } else {
                bytes.append(contentsOf: v.description.utf8)
            }
        case .integer(let v): Self.appendInteger(Int64(v), to: &bytes)
        case .string(let s): Self.appendQuoted(s, to: &bytes)
        case .bool(let b): bytes.append(contentsOf: (b ? "true" : "false").utf8)
        case .null: bytes.append(contentsOf: "null".utf8)
        case .array(let items):
            bytes.append(0x5B)
            for (k, item) in items.enumerated() {
                if k > 0 { bytes.append(0x2C) }
                item.write(into: &bytes)
            }
            bytes.append(0x5D)
        case .object(let fields):
            bytes.append(0x7B)
            for (k, key) in fields.keys.sorted().enumerated() {
                if k > 0 { bytes.append(0x2C) }
                Self.appendQuoted(key, to: &bytes)
                bytes.append(0x3A)
                fields[key]!.write(into: &bytes)
            }
            bytes.append(0x7D)
        }
    }

    /// `String(v)`'s digits.
    static func appendInteger(_ v: Int64, to bytes: inout [UInt8]) {
        if v < 0 { bytes.append(0x2D) }
        var magnitude = v.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = 0x30 + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            bytes.append(contentsOf: buffer[(20 - count)...])
        }
    }

    public static func quote(_ s: String) -> String {
        var bytes: [UInt8] = []
        appendQuoted(s, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The JSON string of `s`: `"` and `\` escaped, `\n`, `\r`, `\t`, the other C0 controls
    /// as JSON requires, and DEL and C1 as `\u00XX` too (valid raw, but a terminal may act on
    /// them). Scanned as UTF-8 bytes: a C1 scalar is the two bytes C2 80–C2 9F, and every other
    /// byte of a multi-byte scalar is copied as it is.
    static func appendQuoted(_ s: String, to bytes: inout [UInt8]) {
        bytes.append(0x22)
        var s = s
        s.withUTF8 { utf8 in
            var i = 0
            let n = utf8.count
            while i < n {
                let b = utf8[i]
                switch b {
                case 0x22: bytes.append(0x5C); bytes.append(0x22)
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
                case 0x0D: bytes.append(0x5C); bytes.append(0x72)
                case 0x09: bytes.append(0x5C); bytes.append(0x74)
                case 0..<0x20, 0x7F: appendUnicodeEscape(b, to: &bytes)
                case 0xC2 where i + 1 < n && (0x80...0x9F).contains(utf8[i + 1]):
                    i += 1
                    appendUnicodeEscape(utf8[i], to: &bytes)
                default: bytes.append(b)
                }
                i += 1
            }
        }
        bytes.append(0x22)
    }

    /// `\u00XX` with lowercase hex digits, as `String(format: "\\u%04x", value)` wrote it.
    static func appendUnicodeEscape(_ value: UInt8, to bytes: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(value >> 4)], hex[Int(value & 0xF)]])
    }
}
