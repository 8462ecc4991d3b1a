#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decimal text → Double, correctly rounded, without allocating.
///
/// Fast path (Clinger, "How to read floating point numbers accurately", PLDI 1990): when the
/// significand has at most 19 digits and fits in 53 bits, and the decimal exponent is within
/// ±22, `m · 10^e` (or `m / 10^-e`) is one correctly rounded IEEE operation on exact operands.
/// Anything else (long significands, big exponents) falls back to `strtod`, which is exact.
enum NumberParser {
    /// 10^e for 0 ≤ e ≤ 22, the powers of ten exactly representable as Double. A switch of
    /// literals compiles to a constant table; a `static let` array would cost a `swift_once`
    /// check on every number parsed (4 % of parse time, measured with perf).
    @inline(__always)
    static func exactPower(_ e: Int) -> Double {
        switch e {
        case 0: return 1e0
        case 1: return 1e1
        case 2: return 1e2
        case 3: return 1e3
        case 4: return 1e4
        case 5: return 1e5
        case 6: return 1e6
        case 7: return 1e7
        case 8: return 1e8
        case 9: return 1e9
        case 10: return 1e10
        case 11: return 1e11
        case 12: return 1e12
        case 13: return 1e13
        case 14: return 1e14
        case 15: return 1e15
        case 16: return 1e16
        case 17: return 1e17
        case 18: return 1e18
        case 19: return 1e19
        case 20: return 1e20
        case 21: return 1e21
        default: return 1e22
        }
    }

    /// Parses a number starting at `start`, stopping at the first byte that cannot continue it.
    /// Returns nil when no digits are found (the caller then classifies the field).
    @inline(__always)
    static func parsePrefix(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>)
        -> (value: Double, next: UnsafePointer<UInt8>)?
    {
        var p = start
        var negative = false
        if p < end && (p.pointee == UInt8(ascii: "-") || p.pointee == UInt8(ascii: "+")) {
            negative = p.pointee == UInt8(ascii: "-")
            p += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0          // significant digits accumulated in `mantissa`
        var droppedDigits = 0   // integer digits beyond 19 (shift the exponent up)
        var sawDigit = false
        var exponent = 0
        while p < end {
            let d = p.pointee &- 48
            if d > 9 { break }
            sawDigit = true
            if digits < 19 {
                if mantissa != 0 || d != 0 { digits += 1 }
                mantissa = mantissa &* 10 &+ UInt64(d)
            } else {
                droppedDigits += 1
            }
            p += 1
        }
        exponent += droppedDigits
        var inexact = droppedDigits > 0
        if p < end && p.pointee == UInt8(ascii: ".") {
            p += 1
            while p < end {
                let d = p.pointee &- 48
                if d > 9 { break }
                sawDigit = true
                if digits < 19 {
                    if mantissa != 0 || d != 0 { digits += 1 }
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    exponent -= 1
                } else if d != 0 {
                    inexact = true
                }
                p += 1
            }
        }
        guard sawDigit else { return nil }
        if p < end && (p.pointee | 0x20) == UInt8(ascii: "e") {
            var q = p + 1
            var exponentNegative = false
            if q < end && (q.pointee == UInt8(ascii: "-") || q.pointee == UInt8(ascii: "+")) {
                exponentNegative = q.pointee == UInt8(ascii: "-")
                q += 1
            }
            var explicit = 0
            var sawExponentDigit = false
            while q < end {
                let d = q.pointee &- 48
                if d > 9 { break }
                sawExponentDigit = true
                if explicit < 100_000 { explicit = explicit * 10 + Int(d) }
                q += 1
            }
            if sawExponentDigit {
                exponent += exponentNegative ? -explicit : explicit
                p = q
            }
        }
        if !inexact && mantissa < (1 << 53) && exponent >= -22 && exponent <= 22 {
            var value = Double(mantissa)
            if exponent < 0 { value /= exactPower(-exponent) } else if exponent > 0 { value *= exactPower(exponent) }
            return (negative ? -value : value, p)
        }
        if mantissa == 0 && !inexact { return (negative ? -0.0 : 0.0, p) }
        return (slowParse(start, p), p)
    }

    /// Exact conversion of the already-validated text [start, stop) with `strtod`.
    private static func slowParse(_ start: UnsafePointer<UInt8>, _ stop: UnsafePointer<UInt8>) -> Double {
        let length = stop - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            for i in 0..<length { buffer[i] = CChar(bitPattern: start[i]) }
            buffer[length] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    /// Parses a whole field (already stripped of quotes) the slow, thorough way: trims blanks,
    /// recognises missing-value tokens and infinities, and requires the number to span it all.
    /// Returns nil when the field is not a number.
    static func parseField(_ field: UnsafeBufferPointer<UInt8>) -> Double? {
        guard var start = field.baseAddress else { return .nan }
        var end = start + field.count
        while start < end && (start.pointee == 0x20 || start.pointee == 0x09) { start += 1 }
        while end > start && ((end - 1).pointee == 0x20 || (end - 1).pointee == 0x09) { end -= 1 }
        if start == end { return .nan }
        if let parsed = parsePrefix(start, end), parsed.next == end { return parsed.value }
        return parseToken(start, end)
    }

    /// Missing-value tokens (NaN, NA, N/A, null, None) and infinities, case-insensitively.
    private static func parseToken(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> Double? {
        let length = end - start
        guard length <= 9 else { return nil }
        var lowered = [UInt8](repeating: 0, count: length)
        for i in 0..<length {
            let b = start[i]
            lowered[i] = (b >= 65 && b <= 90) ? b | 0x20 : b
        }
        var sign = 1.0
        var body = lowered[...]
        if let first = body.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            sign = first == UInt8(ascii: "-") ? -1 : 1
            body = body.dropFirst()
        }
        switch String(decoding: body, as: UTF8.self) {
        case "inf", "infinity": return sign * .infinity
        case "nan": return .nan
        case "na", "n/a", "null", "none": return body.count == length ? .nan : nil
        default: return nil
        }
    }
}
