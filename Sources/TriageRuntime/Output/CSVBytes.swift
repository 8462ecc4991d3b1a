/// Byte-level writers for result CSVs: the same text as `OutputTable.format` and `String(int)`,
/// appended straight to a byte buffer instead of interpolated and joined as Strings.
enum CSVBytes {
    /// Appends Swift's shortest round-trip form of `value` (exactly `value.description`, e.g.
    /// `0.4312`, `1e-05`, `5.0`), or `nan` / `inf` / `-inf` as `OutputTable.format` writes them.
    /// The text still comes from `description` (the standard library's exact shortest
    /// round-trip printer); only the per-value string building and joining are avoided.
    @inline(__always)
    static func appendReal(_ value: Double, to out: inout [UInt8]) {
        if value.isNaN { out.append(contentsOf: nanBytes); return }
        if value.isInfinite { out.append(contentsOf: value > 0 ? infBytes : negativeInfBytes); return }
        var text = value.description
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    /// Appends the decimal form of `value`, as `String(value)` writes it.
    @inline(__always)
    static func appendInteger(_ value: Int, to out: inout [UInt8]) {
        if value >= 0 && value < 10 { out.append(0x30 &+ UInt8(truncatingIfNeeded: value)); return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes ≥ 20 digits + sign
        var magnitude = value.magnitude
        withUnsafeMutableBytes(of: &digits) { raw in
            var i = raw.count
            repeat {
                i -= 1
                raw[i] = 0x30 &+ UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 { i -= 1; raw[i] = 0x2D }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[i...]))
        }
    }

    static let nanBytes = Array("nan".utf8)
    static let infBytes = Array("inf".utf8)
    static let negativeInfBytes = Array("-inf".utf8)
}

