import TriageCore
import TriageData

extension OutputTable {
    /// The table as `{"results": [{"name": value, …}, …]}` (`POST /v1/score`): the fields of the
    /// CSV that `triage score` writes, one object per row in order. NaN and infinities, which
    /// JSON has no number for, are null.
    public func renderJSON() -> [UInt8] {
        let keys = names.map { Array((JSONValue.quote($0) + ":").utf8) }
        let labelBytes: [[[UInt8]]] = columns.map { column in
            if case .labels(_, let names) = column { return names.map { Array(JSONValue.quote($0).utf8) } }
            return []
        }
        var out = Array("{\"results\":[".utf8)
        out.reserveCapacity(16 + rowCount * max(1, columns.count) * 32)
        for row in 0..<rowCount {
            out.append(row == 0 ? 0x7B : 0x2C)
            if row > 0 { out.append(0x7B) }
            for c in columns.indices {
                if c > 0 { out.append(0x2C) }
                out.append(contentsOf: keys[c])
                switch columns[c] {
                case .real(let values):
                    if values[row].isFinite { CSVBytes.appendReal(values[row], to: &out) } else { out.append(contentsOf: Self.null) }
                case .integer(let values): CSVBytes.appendInteger(values[row], to: &out)
                case .text(let values): out.append(contentsOf: JSONValue.quote(values[row]).utf8)
                case .labels(let codes, _): out.append(contentsOf: labelBytes[c][codes[row]])
                }
            }
            out.append(0x7D)
        }
        out.append(contentsOf: Array("]}".utf8))
        return out
    }

    private static let null = Array("null".utf8)
}
