import Foundation
import TriageCore

/// Columns of a result CSV (scores, predictions), rendered with full-precision numbers. The
/// bytes are the product; where they go (a file, standard output, an HTTP body) is the caller's.
public struct OutputTable: Sendable {
    public enum Values: Sendable {
        case real([Double])
        case integer([Int])
        case text([String])
        /// Text from a small vocabulary: `names[codes[row]]` (e.g. a feature name per row),
        /// escaped once per name instead of once per row.
        case labels([Int], names: [String])

        public var count: Int {
            switch self {
            case .real(let v): return v.count
            case .integer(let v): return v.count
            case .text(let v): return v.count
            case .labels(let v, _): return v.count
            }
        }
    }

    public var names: [String] = []
    public var columns: [Values] = []

    public init() {}

    public mutating func add(_ name: String, _ values: Values) {
        precondition(columns.isEmpty || columns[0].count == values.count, "output columns differ in length")
        names.append(name)
        columns.append(values)
    }

    public var rowCount: Int { columns.first?.count ?? 0 }

    /// CSV bytes: header, then one line per row. Doubles use Swift's shortest round-trip form.
    /// Rows are rendered in chunks on `threads` workers and joined in order, so the bytes do
    /// not depend on the thread count.
    public func render(threads: Int = 1) -> [UInt8] {
        var out = Array(names.map(OutputTable.escape).joined(separator: ",").utf8)
        out.append(0x0A)
        let labelBytes: [[[UInt8]]] = columns.map { column in
            if case .labels(_, let names) = column { return names.map { Array(OutputTable.escape($0).utf8) } }
            return []
        }
        let chunkRows = 65_536
        let chunkCount = (rowCount + chunkRows - 1) / chunkRows
        let columns = self.columns, rowCount = self.rowCount
        let chunks = Parallel.map(chunkCount, threads: threads) { chunk -> [UInt8] in
            let rows = (chunk * chunkRows)..<min(rowCount, (chunk + 1) * chunkRows)
            var bytes = [UInt8]()
            bytes.reserveCapacity(rows.count * 24 * max(1, columns.count))
            for row in rows {
                for c in columns.indices {
                    if c > 0 { bytes.append(0x2C) }
                    switch columns[c] {
                    case .real(let values): CSVBytes.appendReal(values[row], to: &bytes)
                    case .integer(let values): CSVBytes.appendInteger(values[row], to: &bytes)
                    case .text(let values): bytes.append(contentsOf: OutputTable.escape(values[row]).utf8)
                    case .labels(let codes, _): bytes.append(contentsOf: labelBytes[c][codes[row]])
                    }
                }
                bytes.append(0x0A)
            }
            return bytes
        }
        out.reserveCapacity(out.count + chunks.reduce(0) { $0 + $1.count })
        for chunk in chunks { out.append(contentsOf: chunk) }
        return out
    }

    public static func format(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        // `description` is what interpolation writes, without building an interpolation
        // (half the cost of formatting each `triage watch` score).
        return value.description
    }

    /// RFC 4180 quoting when the text needs it.
    public static func escape(_ text: String) -> String {
        // Scanned as UTF-8 bytes (the four are ASCII, never part of a multi-byte scalar): a
        // Character comparison per character cost 7 % of `watch` in a profile.
        guard text.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
