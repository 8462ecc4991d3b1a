import TriageCore
import TriageData

extension OutputTable {
    /// The table as `{"results": [{"name": value, …}, …]}` (`POST /v1/score`): the fields of the
    /// CSV that `triage score` writes, one object per row in order. NaN and infinities, which
    /// JSON has no number for, are null.
    public func renderJSON() -> [UInt8] {
        let keys = names.map { name -> [UInt8] in
            var key = Self.quoted(name)
            key.append(0x3A)
            return key
        }
        // Label names are quoted when first used: a one-row answer names one feature of many.
        var labelBytes: [[[UInt8]?]] = columns.map { column in
            if case .labels(_, let names) = column { return [[UInt8]?](repeating: nil, count: names.count) }
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
                case .text(let values): out.append(contentsOf: Self.quoted(values[row]))
                case .labels(let codes, let names):
                    let code = codes[row]
                    if labelBytes[c][code] == nil { labelBytes[c][code] = Self.quoted(names[code]) }
                    out.append(contentsOf: labelBytes[c][code]!)
                }
            }
            out.append(0x7D)
        }
        out.append(contentsOf: Array("]}".utf8))
        return out
    }

    private static let null = Array("null".utf8)

    /// `JSONValue.quote(text)` as bytes. Text of printable ASCII without `"` or `\` (column and
    /// feature names, services, timestamps) needs no escape and is copied as it is; anything
    /// else goes through `JSONValue.quote`, which cost ~4 k instructions a name (callgrind,
    /// one-row `POST /v1/score`) where the copy costs a few hundred.
    static func quoted(_ text: String) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(text.utf8.count + 2)
        bytes.append(0x22)
        for byte in text.utf8 {
            guard byte >= 0x20, byte < 0x7F, byte != 0x22, byte != 0x5C else { return Array(JSONValue.quote(text).utf8) }
            bytes.append(byte)
        }
        bytes.append(0x22)
        return bytes
    }
}
