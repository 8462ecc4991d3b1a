import TriageData

/// Columns of a result CSV (scores, predictions), rendered with full-precision numbers.
struct OutputTable {
    enum Values {
        case real([Double])
        case integer([Int])
        case text([String])

        var count: Int {
            switch self {
            case .real(let v): return v.count
            case .integer(let v): return v.count
            case .text(let v): return v.count
            }
        }
    }

    var names: [String] = []
    var columns: [Values] = []

    mutating func add(_ name: String, _ values: Values) {
        precondition(columns.isEmpty || columns[0].count == values.count, "output columns differ in length")
        names.append(name)
        columns.append(values)
    }

    var rowCount: Int { columns.first?.count ?? 0 }

    /// CSV bytes: header, then one line per row. Doubles use Swift's shortest round-trip form.
    func render() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity((rowCount + 1) * 12 * max(1, names.count))
        out.append(contentsOf: names.map(OutputTable.escape).joined(separator: ",").utf8)
        out.append(0x0A)
        for row in 0..<rowCount {
            for (c, column) in columns.enumerated() {
                if c > 0 { out.append(0x2C) }
                switch column {
                case .real(let values): out.append(contentsOf: OutputTable.format(values[row]).utf8)
                case .integer(let values): out.append(contentsOf: String(values[row]).utf8)
                case .text(let values): out.append(contentsOf: OutputTable.escape(values[row]).utf8)
                }
            }
            out.append(0x0A)
        }
        return out
    }

    /// Writes atomically to `path`, or to stdout when nil.
    func write(to path: String?) throws {
        let bytes = render()
        if let path {
            try AtomicFile.write(bytes, to: path)
        } else {
            try StandardOutput.write(bytes)
        }
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        return "\(value)"
    }

    /// RFC 4180 quoting when the text needs it.
    static func escape(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

enum StandardOutput {
    static func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(1, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CLIFailure.failed("cannot write to standard output: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
    }

    static func write(_ text: String) throws { try write(Array(text.utf8)) }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif
