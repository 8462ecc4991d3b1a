/// A problem with an input or output file, located as precisely as the data allows.
///
/// `description` follows the CLI contract: `<file>:<line>:<column>: <what>`, where `line` is the
/// physical line (header = 1) and `column` the 1-based field number; the message names the
/// column and quotes the offending value.
public struct DataError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case notFound
        case isDirectory
        case unreadable(String)
        case emptyFile
        case noRows
        case raggedRow(expected: Int, found: Int)
        case notANumber
        case unterminatedQuote
        case unexpectedAfterQuote
        /// A `"` inside a field that did not start with one (RFC 4180: a field holding quotes
        /// is quoted as a whole, its inner quotes doubled).
        case strayQuote
        /// The two passes of the reader disagreed on where records end: only possible after a
        /// malformed record, reported where the disagreement showed.
        case recordBoundary
        /// A `\r` outside quotes that is not part of a `\r\n` line end.
        case loneCarriageReturn
        case invalidUTF8
        case nulByte
        case fieldTooLong(limit: Int)
        case duplicateColumn(firstField: Int)
        case tooManyColumns(limit: Int)
        case missingColumn
        case allMissing
        case missingValue
        case invalidOutput(String)
        case invalidModel(String)
        case other(String)
    }

    public let kind: Kind
    public let file: String
    public let line: Int?
    public let column: Int?
    public let columnName: String?
    public let value: String?

    public init(_ kind: Kind, file: String, line: Int? = nil, column: Int? = nil,
                columnName: String? = nil, value: String? = nil) {
        self.kind = kind
        self.file = file
        self.line = line
        self.column = column
        self.columnName = columnName
        self.value = value
    }

    public var location: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        return text
    }

    public var description: String { "\(location): \(message)" }

    public var message: String {
        let named = columnName.map { " '\($0)'" } ?? ""
        let quoted = value.map { " \(DataError.quote($0))" } ?? ""
        switch kind {
        case .notFound: return "no such file"
        case .isDirectory: return "is a directory, expected a file"
        case .unreadable(let reason): return "cannot read: \(reason)"
        case .emptyFile: return "file is empty (a header row is required)"
        case .noRows: return "no data rows after the header"
        case .raggedRow(let expected, let found):
            return "row has \(found) field\(found == 1 ? "" : "s"), expected \(expected) as in the header"
        case .notANumber: return "column\(named) expects a number, got\(quoted)"
        case .unterminatedQuote: return "unterminated quoted field in column\(named) (opening quote never closed)"
        case .unexpectedAfterQuote: return "unexpected character after closing quote in column\(named)\(quoted.isEmpty ? "" : ":\(quoted)")"
        case .strayQuote:
            return "quote inside an unquoted field in column\(named)\(quoted.isEmpty ? "" : ":\(quoted)")"
                + " (a field holding quotes must be quoted as a whole, with inner quotes doubled: \"a \"\"b\"\"\")"
        case .loneCarriageReturn:
            return "carriage return not followed by a line feed in column\(named) (lines end with \\n or \\r\\n; quote a field that holds a \\r)"
        case .recordBoundary:
            return "cannot tell where this record ends (a quote out of place before it?)"
        case .invalidUTF8: return "invalid UTF-8 bytes in column\(named)"
        case .nulByte: return "NUL byte in column\(named)"
        case .fieldTooLong(let limit): return "field in column\(named) is longer than \(limit) bytes"
        case .duplicateColumn(let first): return "duplicate column name\(quoted) (also field \(first))"
        case .tooManyColumns(let limit): return "header has more than \(limit) columns"
        case .missingColumn: return "required column\(named) not found in header"
        case .allMissing: return "column\(named) has no values (all missing)"
        case .missingValue: return "missing value in column\(named)\(quoted.isEmpty ? "" : " (\(quoted.dropFirst()))")"
        case .invalidOutput(let reason): return reason
        case .invalidModel(let reason): return reason
        case .other(let reason): return reason
        }
    }

    /// Quotes a value for a message, shortening long ones and escaping control characters.
    static func quote(_ value: String) -> String {
        let limit = 60
        var shown = value.count > limit ? String(value.prefix(limit)) + "…" : value
        shown = shown.unicodeScalars.map { scalar -> String in
            switch scalar {
            case "\"": return "\\\""
            case "\\": return "\\\\"
            case "\n": return "\\n"
            case "\r": return "\\r"
            case "\t": return "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                return String(format: "\\x%02X", scalar.value)
            default: return String(scalar)
            }
        }.joined()
        return "\"\(shown)\""
    }
}

import Foundation
