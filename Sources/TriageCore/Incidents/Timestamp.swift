/// UTC timestamps as Unix seconds, with the text forms of the CLI contract: ISO 8601
/// (`2026-01-05T13:45:00Z`, what `simulate` writes), `YYYY-MM-DD HH:MM:SS` (taken as UTC) and
/// Unix epoch seconds. Pure calendar arithmetic (Hinnant's days-from-civil), no clock, no locale.
public enum Timestamp {
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    public static func iso(_ seconds: Int64) -> String {
        String(decoding: isoBytes(seconds), as: UTF8.self)
    }

    /// Earliest and latest times with a four-digit year (0001-01-01 … 9999-12-31); `parse`
    /// accepts only these, and `iso` clamps to them.
    public static let range: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// The 20 ASCII bytes of `iso(seconds)`.
    public static func isoBytes(_ time: Int64) -> [UInt8] {
        let seconds = min(max(time, range.lowerBound), range.upperBound)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = Int(seconds - days * 86_400)
        let (y, m, d) = civil(fromDays: days)
        var out = [UInt8]()
        out.reserveCapacity(20)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var v = value
            for _ in 0..<count { out.append(UInt8(48 + v / divisor % 10)); v %= divisor; divisor /= 10 }
        }
        digits(Int(y), 4); out.append(45); digits(m, 2); out.append(45); digits(d, 2)
        out.append(84); digits(rest / 3600, 2); out.append(58); digits(rest / 60 % 60, 2); out.append(58)
        digits(rest % 60, 2); out.append(90)
        return out
    }

    /// Parses any accepted form to whole seconds (a fraction is truncated toward the past);
    /// nil when `text` is none of them.
    public static func parse(_ text: String) -> Int64? {
        seconds(Array(text.utf8)).map { Int64($0.rounded(.down)) }
    }

    /// Parses any accepted form to seconds since the epoch, keeping a fraction; nil when the
    /// bytes are none of them. Blanks around the value are ignored; an ISO offset (`+02:00`)
    /// is applied.
    public static func seconds(_ text: [UInt8]) -> Double? {
        text.withUnsafeBufferPointer { seconds($0) }
    }

    /// `seconds(_:)` of bytes in place: the watch loop's row parser reads each row's timestamp
    /// field where it lies, without copying it into an array first.
    public static func seconds(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        var lower = 0, upper = text.count
        while lower < upper && (text[lower] == 32 || text[lower] == 9) { lower += 1 }
        while upper > lower && (text[upper - 1] == 32 || text[upper - 1] == 9) { upper -= 1 }
        guard lower < upper else { return nil }
        let bytes = text[lower..<upper]
        let b = bytes.startIndex
        if bytes.count >= 19, bytes[b + 4] == 45, bytes[b + 7] == 45,
           bytes[b + 10] == 84 || bytes[b + 10] == 32 || bytes[b + 10] == 116,
           bytes[b + 13] == 58, bytes[b + 16] == 58 {
            guard let y = number(bytes[b..<(b + 4)]), let mo = number(bytes[(b + 5)..<(b + 7)]),
                  let d = number(bytes[(b + 8)..<(b + 10)]), let h = number(bytes[(b + 11)..<(b + 13)]),
                  let mi = number(bytes[(b + 14)..<(b + 16)]), let s = number(bytes[(b + 17)..<(b + 19)]),
                  (1...12).contains(mo), d >= 1, d <= daysInMonth(y, mo), h < 24, mi < 60, s < 61 else { return nil }
            var i = b + 19
            var fraction = 0.0
            if i < upper && bytes[i] == 46 { // fractional seconds
                i += 1
                let start = i
                var scale = 0.1
                while i < upper && bytes[i] >= 48 && bytes[i] <= 57 {
                    fraction += Double(bytes[i] - 48) * scale
                    scale /= 10
                    i += 1
                }
                if i == start { return nil }
            }
            var offset: Int64 = 0
            if i < upper {
                if (bytes[i] == 90 || bytes[i] == 122) && i == upper - 1 {
                    i += 1
                } else if bytes[i] == 43 || bytes[i] == 45, upper - i == 6, bytes[i + 3] == 58,
                          let oh = number(bytes[(i + 1)..<(i + 3)]), let om = number(bytes[(i + 4)..<(i + 6)]), oh < 24, om < 60 {
                    offset = Int64(oh * 3600 + om * 60) * (bytes[i] == 43 ? 1 : -1)
                    i = upper
                } else {
                    return nil
                }
            }
            guard i == upper else { return nil }
            let whole = days(fromCivil: Int64(y), mo, d) * 86_400 + Int64(h * 3600 + mi * 60 + s) - offset
            return range.contains(whole) ? Double(whole) + fraction : nil
        }
        // Unix epoch seconds, optionally signed and with a fraction.
        var i = b
        var negative = false
        if bytes[i] == 45 || bytes[i] == 43 { negative = bytes[i] == 45; i += 1 }
        var value = 0.0
        let start = i
        while i < upper && bytes[i] >= 48 && bytes[i] <= 57 {
            value = value * 10 + Double(bytes[i] - 48)
            i += 1
        }
        guard i > start else { return nil }
        if i < upper && bytes[i] == 46 {
            i += 1
            var scale = 0.1
            while i < upper && bytes[i] >= 48 && bytes[i] <= 57 {
                value += Double(bytes[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        guard i == upper else { return nil }
        let signed = negative ? -value : value
        return signed >= Double(range.lowerBound) && signed <= Double(range.upperBound) ? signed : nil
    }

    static func number(_ slice: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        var v = 0
        for b in slice {
            guard b >= 48 && b <= 57 else { return nil }
            v = v * 10 + Int(b - 48)
        }
        return v
    }

    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-compatible
    /// low-level date algorithms", days_from_civil).
    public static func days(fromCivil year: Int64, _ month: Int, _ day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of `days(fromCivil:)`.
    public static func civil(fromDays z0: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
