import TriageCore

/// Rows of a JSON request body, `{"rows": [{"name": value, …}, …]}`, as columns: the JSON
/// counterpart of the numeric CSV loader, used by `POST /v1/score` and `POST /v1/metrics`.
///
/// It is written for bodies of up to 100 000 rows that arrive many times a second, so it parses
/// straight into per-column arrays, without building a document tree, and it is strict:
/// values are numbers, strings or null; anything nested (objects, arrays) is refused at once,
/// which bounds the depth of what it reads to two levels whatever the body holds. Every error
/// names the place (`rows[12].latency_p99_ms`) and what was expected.
public struct JSONRows: Sendable {
    /// Column names in first-seen order.
    public private(set) var names: [String] = []
    /// Numbers per column, NaN where the row has no number (absent, null or a string).
    public private(set) var numbers: [[Double]] = []
    /// Strings per column, for the columns where any row had a string (nil elsewhere).
    public private(set) var strings: [[String?]?] = []
    public private(set) var rowCount = 0
    var index: [String: Int] = [:]

    /// A body that is not what the route takes.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        /// Where: `rows[3].cpu`, `rows`, or "body".
        public var field: String
        public var message: String
        public var description: String { "\(field): \(message)" }
    }

    public func column(_ name: String) -> Int? { index[name] }

    /// Parses `bytes`. `maxRows` bounds the rows taken (more is an error, before they are read).
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxRows: Int) throws(Failure) -> JSONRows {
        var parser = JSONScanner(bytes)
        var rows = JSONRows()
        try parser.skipWhitespace()
        try parser.expect(UInt8(ascii: "{"), field: "body", what: "a JSON object {\"rows\": [...]}")
        var sawRows = false
        try parser.skipWhitespace()
        if try parser.peek(field: "body") == UInt8(ascii: "}") {
            parser.advance()
        } else {
            while true {
                let key = try parser.string(field: "body")
                try parser.skipWhitespace()
                try parser.expect(UInt8(ascii: ":"), field: key, what: "':'")
                guard key == "rows" else { throw Failure(field: key, message: "unknown field (the body has only \"rows\")") }
                guard !sawRows else { throw Failure(field: "rows", message: "given twice") }
                sawRows = true
                try rows.readRows(&parser, maxRows: maxRows)
                try parser.skipWhitespace()
                let next = try parser.take(field: "body")
                if next == UInt8(ascii: "}") { break }
                guard next == UInt8(ascii: ",") else { throw parser.unexpected(next, field: "body", what: "',' or '}'") }
                try parser.skipWhitespace()
            }
        }
        try parser.skipWhitespace()
        guard parser.atEnd else { throw Failure(field: "body", message: "unexpected data after the JSON object") }
        guard sawRows else { throw Failure(field: "rows", message: "missing (the body is {\"rows\": [{...}, ...]})") }
        return rows
    }

    private mutating func readRows(_ parser: inout JSONScanner, maxRows: Int) throws(Failure) {
        try parser.skipWhitespace()
        try parser.expect(UInt8(ascii: "["), field: "rows", what: "an array of row objects")
        try parser.skipWhitespace()
        if try parser.peek(field: "rows") == UInt8(ascii: "]") { parser.advance(); return }
        // The keys of the previous row, by position: rows usually repeat them in the same order,
        // so a key is matched by its bytes without making a String or hashing it.
        var previousKeys: [PreviousKey] = []
        while true {
            guard rowCount < maxRows else {
                throw Failure(field: "rows", message: "more than \(maxRows) rows in one request")
            }
            let row = rowCount
            for c in numbers.indices { numbers[c].append(.nan) }
            for c in strings.indices where strings[c] != nil { strings[c]!.append(nil) }
            rowCount += 1
            try parser.skipWhitespace()
            try parser.expect(UInt8(ascii: "{"), field: "rows[\(row)]", what: "an object of column values")
            try parser.skipWhitespace()
            var position = 0
            if try parser.peek(field: "rows[\(row)]") == UInt8(ascii: "}") {
                parser.advance()
            } else {
                while true {
                    let column = try key(&parser, row: row, position: position, previous: &previousKeys)
                    position += 1
                    try parser.skipWhitespace()
                    try parser.expect(UInt8(ascii: ":"), field: "rows[\(row)].\(names[column])", what: "':'")
                    try parser.skipWhitespace()
                    try value(&parser, row: row, column: column)
                    try parser.skipWhitespace()
                    let next = try parser.take(field: "rows[\(row)]")
                    if next == UInt8(ascii: "}") { break }
                    guard next == UInt8(ascii: ",") else { throw parser.unexpected(next, field: "rows[\(row)]", what: "',' or '}'") }
                    try parser.skipWhitespace()
                }
            }
            if position < previousKeys.count { previousKeys.removeLast(previousKeys.count - position) }
            try parser.skipWhitespace()
            let next = try parser.take(field: "rows")
            if next == UInt8(ascii: "]") { return }
            guard next == UInt8(ascii: ",") else { throw parser.unexpected(next, field: "rows", what: "',' or ']'") }
        }
    }

    /// Reads a key and returns its column (new columns are added, filled with NaN above).
    private mutating func key(_ parser: inout JSONScanner, row: Int, position: Int,
                              previous: inout [PreviousKey]) throws(Failure) -> Int {
        // Fast path: the bytes at the position are the previous row's key at this position,
        // quoted and without escapes. Compared in place: scanning the string first and then
        // comparing cost ~420 instructions a key, this ~160 (callgrind, 1 000-row bodies).
        if position < previous.count, previous[position].plain,
           previous[position].bytes.withUnsafeBytes({ parser.consumeString(equalTo: $0) }) {
            let column = previous[position].column
            guard numbers[column][row].isNaN, strings[column]?[row] == nil else {
                throw Failure(field: "rows[\(row)].\(names[column])", message: "given twice in one row")
            }
            return column
        }
        return try slowKey(&parser, row: row, position: position, previous: &previous)
    }

    private mutating func slowKey(_ parser: inout JSONScanner, row: Int, position: Int,
                                  previous: inout [PreviousKey]) throws(Failure) -> Int {
        let field = "rows[\(row)]"  // the slow path: once per column and row 0, or keys in a new order
        let name: String
        if let raw = parser.plainStringBytes() {
            // No escapes and ASCII only (what `plainStringBytes` takes): the bytes are the name.
            name = String(decoding: UnsafeRawBufferPointer(rebasing: raw), as: UTF8.self)
        } else {
            name = try parser.string(field: field)
        }
        let column: Int
        if let known = index[name] {
            column = known
            guard numbers[column][row].isNaN, strings[column]?[row] == nil else {
                throw Failure(field: "\(field).\(name)", message: "given twice in one row")
            }
        } else {
            guard names.count < JSONRows.maximumColumns else {
                throw Failure(field: field, message: "more than \(JSONRows.maximumColumns) distinct column names")
            }
            column = names.count
            names.append(name)
            index[name] = column
            numbers.append([Double](repeating: .nan, count: rowCount))
            strings.append(nil)
        }
        let entry = PreviousKey(bytes: Array(name.utf8), column: column)
        if position < previous.count { previous[position] = entry } else { previous.append(entry) }
        return column
    }

    /// A key of the previous row, by position, to match the next row's keys against.
    struct PreviousKey {
        let bytes: [UInt8]
        let column: Int
        /// No quote, backslash or control byte: a quoted copy of `bytes` in the body is then
        /// exactly this key (the closing quote cannot be escaped or inside it).
        let plain: Bool

        init(bytes: [UInt8], column: Int) {
            self.bytes = bytes
            self.column = column
            plain = !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
    }

    /// Distinct column names accepted (the CSV loader's bound).
    public static let maximumColumns = 100_000

    private mutating func value(_ parser: inout JSONScanner, row: Int, column: Int) throws(Failure) {
        // Built only for an error: formatting it for every value cost more than parsing the value.
        func field() -> String { "rows[\(row)].\(names[column])" }
        switch try parser.peek(field: field()) {
        case UInt8(ascii: "\""):
            let text = try parser.string(field: field())  // read before `strings` is changed: field() reads self
            if strings[column] == nil { strings[column] = [String?](repeating: nil, count: rowCount) }
            strings[column]![row] = text
        case UInt8(ascii: "n"):
            try parser.literal("null", field: field())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let number = try parser.number(field: field())
            numbers[column][row] = number
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            throw Failure(field: field(), message: "expected a number, a string or null, got a nested \(try parser.peek(field: field()) == UInt8(ascii: "{") ? "object" : "array")")
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            throw Failure(field: field(), message: "expected a number, a string or null, got a boolean")
        case let other:
            throw parser.unexpected(other, field: field(), what: "a number, a string or null")
        }
    }
}

/// A flat JSON object of scalars (`{"comment": "…"}`, `{"result": "success", …}`): the small
/// bodies of the decision routes. Nested values are refused, which bounds the depth to one.
public struct JSONFlatObject: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case number(Double)
        case string(String)
        case bool(Bool)
        case null
    }
    public private(set) var fields: [String: Value] = [:]

    /// Parses `bytes`; an empty body is an empty object.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONRows.Failure) -> JSONFlatObject {
        var parser = JSONScanner(bytes)
        var object = JSONFlatObject()
        try parser.skipWhitespace()
        if parser.atEnd { return object }
        try parser.expect(UInt8(ascii: "{"), field: "body", what: "a JSON object")
        try parser.skipWhitespace()
        if try parser.peek(field: "body") == UInt8(ascii: "}") {
            parser.advance()
        } else {
            while true {
                let key = try parser.string(field: "body")
                guard object.fields[key] == nil else { throw JSONRows.Failure(field: key, message: "given twice") }
                try parser.skipWhitespace()
                try parser.expect(UInt8(ascii: ":"), field: key, what: "':'")
                try parser.skipWhitespace()
                switch try parser.peek(field: key) {
                case UInt8(ascii: "\""): object.fields[key] = .string(try parser.string(field: key))
                case UInt8(ascii: "n"): try parser.literal("null", field: key); object.fields[key] = .null
                case UInt8(ascii: "t"): try parser.literal("true", field: key); object.fields[key] = .bool(true)
                case UInt8(ascii: "f"): try parser.literal("false", field: key); object.fields[key] = .bool(false)
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): object.fields[key] = .number(try parser.number(field: key))
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    throw JSONRows.Failure(field: key, message: "expected a string, a number, a boolean or null, got a nested value")
                case let other: throw parser.unexpected(other, field: key, what: "a value")
                }
                try parser.skipWhitespace()
                let next = try parser.take(field: "body")
                if next == UInt8(ascii: "}") { break }
                guard next == UInt8(ascii: ",") else { throw parser.unexpected(next, field: "body", what: "',' or '}'") }
                try parser.skipWhitespace()
            }
        }
        try parser.skipWhitespace()
        guard parser.atEnd else { throw JSONRows.Failure(field: "body", message: "unexpected data after the JSON object") }
        return object
    }
}

/// The byte-level reader under both (RFC 8259: strings with escapes and surrogate pairs,
/// numbers in JSON's grammar, literals, whitespace).
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { position >= bytes.count }

    mutating func advance() { position += 1 }

    mutating func skipWhitespace() throws(JSONRows.Failure) {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    func peek(field: @autoclosure () -> String) throws(JSONRows.Failure) -> UInt8 {
        guard position < bytes.count else { throw JSONRows.Failure(field: field(), message: "the body ends too early") }
        return bytes[position]
    }

    mutating func take(field: @autoclosure () -> String) throws(JSONRows.Failure) -> UInt8 {
        let byte = try peek(field: field())
        position += 1
        return byte
    }

    mutating func expect(_ byte: UInt8, field: @autoclosure () -> String, what: String) throws(JSONRows.Failure) {
        let found = try take(field: field())
        guard found == byte else {
            position -= 1
            throw unexpected(found, field: field(), what: what)
        }
    }

    func unexpected(_ byte: UInt8, field: @autoclosure () -> String, what: String) -> JSONRows.Failure {
        let shown = (0x21...0x7E).contains(byte) ? "'\(Character(UnicodeScalar(byte)))'" : "byte 0x" + String(byte, radix: 16, uppercase: true)
        return JSONRows.Failure(field: field(), message: "expected \(what), found \(shown) at byte \(position + 1)")
    }

    mutating func literal(_ word: StaticString, field: @autoclosure () -> String) throws(JSONRows.Failure) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw JSONRows.Failure(field: field(), message: "the body ends too early") }
        for i in 0..<count where bytes[position + i] != word.utf8Start[i] {
            throw unexpected(bytes[position + i], field: field(), what: "\(word)")
        }
        position += count
    }

    /// The bytes of a string without escapes at the position, consumed; nil (nothing consumed)
    /// when there is no such string there.
    mutating func plainStringBytes() -> UnsafeRawBufferPointer.SubSequence? {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { return nil }
        var end = position + 1
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") {
                let slice = bytes[(position + 1)..<end]
                position = end + 1
                return slice
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { return nil }
            end += 1
        }
        return nil
    }

    /// Consumes `"expected"` when the bytes at the position are exactly that, else consumes
    /// nothing. `expected` must hold no quote, backslash or control byte, so a match is the
    /// whole string token, unescaped.
    mutating func consumeString(equalTo expected: UnsafeRawBufferPointer) -> Bool {
        let end = position &+ expected.count &+ 2
        guard end <= bytes.count, bytes[position] == UInt8(ascii: "\""), bytes[end &- 1] == UInt8(ascii: "\"") else { return false }
        let start = position &+ 1
        for i in 0..<expected.count where bytes[start &+ i] != expected[i] { return false }
        position = end
        return true
    }

    /// A string, unescaped; invalid UTF-8, control characters and bad escapes are errors.
    mutating func string(field: @autoclosure () -> String) throws(JSONRows.Failure) -> String {
        try expect(UInt8(ascii: "\""), field: field(), what: "a string")
        var text = [UInt8]()
        while true {
            guard position < bytes.count else { throw JSONRows.Failure(field: field(), message: "unterminated string") }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: text, as: UTF8.self) else {
                    throw JSONRows.Failure(field: field(), message: "a string is not valid UTF-8")
                }
                return string
            case UInt8(ascii: "\\"):
                let escape = try take(field: field())
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escape)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4(field: field())
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                            throw JSONRows.Failure(field: field(), message: "a \\u escape is half of a surrogate pair")
                        }
                        position += 2
                        let low = try hex4(field: field())
                        guard (0xDC00..<0xE000).contains(low) else {
                            throw JSONRows.Failure(field: field(), message: "a \\u escape is half of a surrogate pair")
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw JSONRows.Failure(field: field(), message: "a \\u escape is half of a surrogate pair")
                    }
                    text.append(contentsOf: Array(String(Character(UnicodeScalar(scalar)!)).utf8))
                default:
                    position -= 1
                    throw unexpected(escape, field: field(), what: "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
                }
            case 0x00..<0x20:
                throw JSONRows.Failure(field: field(), message: "a control character (byte \(byte)) inside a string must be escaped")
            default:
                text.append(byte)
            }
        }
    }

    private mutating func hex4(field: @autoclosure () -> String) throws(JSONRows.Failure) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = try take(field: field())
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default:
                position -= 1
                throw unexpected(byte, field: field(), what: "a hex digit of a \\u escape")
            }
            value = value << 4 | digit
        }
        return value
    }

    /// A number in JSON's grammar (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`),
    /// converted by the CSV loader's correctly rounded parser.
    mutating func number(field: @autoclosure () -> String) throws(JSONRows.Failure) -> Double {
        let start = position
        if position < bytes.count && bytes[position] == UInt8(ascii: "-") { position += 1 }
        func digits(_ scanner: inout JSONScanner) -> Int {
            let from = scanner.position
            while scanner.position < scanner.bytes.count,
                  (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(scanner.bytes[scanner.position]) { scanner.position += 1 }
            return scanner.position - from
        }
        let integerStart = position
        let integerDigits = digits(&self)
        guard integerDigits > 0, !(integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0")) else {
            throw JSONRows.Failure(field: field(), message: "not a JSON number (at byte \(start + 1))")
        }
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw JSONRows.Failure(field: field(), message: "not a JSON number (at byte \(start + 1))") }
        }
        if position < bytes.count && (bytes[position] | 0x20) == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) { position += 1 }
            guard digits(&self) > 0 else { throw JSONRows.Failure(field: field(), message: "not a JSON number (at byte \(start + 1))") }
        }
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard let parsed = NumberParser.parsePrefix(base + start, base + position), parsed.next == base + position,
              parsed.value.isFinite else {
            throw JSONRows.Failure(field: field(), message: "number out of range")
        }
        return parsed.value
    }
}
