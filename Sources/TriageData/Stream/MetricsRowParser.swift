/// Parses the lines of a metrics CSV one at a time (for streams, where the file is never
/// complete): the same rules as `CSVReader` (../shared/CLI.md "Data files": optional BOM,
/// RFC 4180 quotes within a line, numbers like `1`, `-2.5e-3`, `inf`; empty, `NaN`, `NA`,
/// `null` are missing), with a timestamp column kept as text and parsed by `Timestamp`.
///
/// A record must fit on one line (a quoted line break is reported as an unterminated quote).
public struct MetricsRowParser: Sendable {
    public let file: String
    public let header: [String]
    /// Field index of the timestamp column.
    public let timeField: Int
    /// Field indices of the metric columns (every other column except `excluded`), file order.
    public let metricFields: [Int]
    public var metricNames: [String] { metricFields.map { header[$0] } }

    /// One parsed row.
    public struct Row: Sendable {
        public var timestampText: String
        /// Seconds since 1970-01-01T00:00:00Z.
        public var time: Double
        /// One value per metric column; NaN when missing.
        public var values: [Double]
    }

    /// Reads the header line. `excluded` columns are neither metrics nor required.
    public init(file: String, headerLine: UnsafeBufferPointer<UInt8>, lineNumber: Int, timeColumn: String,
                excluded: Set<String> = []) throws(DataError) {
        self.file = file
        var bytes = headerLine
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
            bytes = UnsafeBufferPointer(rebasing: bytes[3...])
        }
        let fields = try Self.split(bytes, file: file, line: lineNumber)
        var names = [String]()
        for (i, range) in fields.enumerated() {
            let raw = Self.unquote(bytes, range)
            guard let name = String(validating: raw, as: UTF8.self) else {
                throw DataError(.invalidUTF8, file: file, line: lineNumber, column: i + 1)
            }
            let trimmed = name.trimmingBlanks()
            if let first = names.firstIndex(of: trimmed) {
                throw DataError(.duplicateColumn(firstField: first + 1), file: file, line: lineNumber, column: i + 1,
                                columnName: trimmed, value: trimmed)
            }
            names.append(trimmed)
        }
        guard let t = names.firstIndex(of: timeColumn) else {
            throw DataError(.missingColumn, file: file, line: lineNumber, columnName: timeColumn)
        }
        header = names
        timeField = t
        metricFields = names.indices.filter { $0 != t && !excluded.contains(names[$0]) }
        guard !metricFields.isEmpty else {
            throw DataError(.other("no metric columns besides '\(timeColumn)'"), file: file, line: lineNumber)
        }
    }

    /// Parses one data line.
    public func parse(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(DataError) -> Row {
        let fields = try Self.split(line, file: file, line: lineNumber)
        guard fields.count == header.count else {
            throw DataError(.raggedRow(expected: header.count, found: fields.count), file: file, line: lineNumber,
                            column: fields.count > header.count ? header.count + 1 : nil)
        }
        let timeBytes = Self.unquote(line, fields[timeField])
        let parsedTime: Double? = timeBytes.withUnsafeBufferPointer { Timestamp.parse($0) }
        guard let time = parsedTime else {
            throw DataError(.other("column '\(header[timeField])' expects a timestamp (ISO 8601 UTC, "
                                   + "YYYY-MM-DD HH:MM:SS or epoch seconds), got "
                                   + DataError.quote(String(decoding: timeBytes, as: UTF8.self))),
                            file: file, line: lineNumber, column: timeField + 1, columnName: header[timeField])
        }
        var values = [Double]()
        values.reserveCapacity(metricFields.count)
        for f in metricFields {
            let range = fields[f]
            let quoted = !range.isEmpty && line[range.lowerBound] == 0x22
            // Unquoted fields (the usual case) are parsed in place, without a copy.
            let parsed: Double? = quoted ? Self.unquote(line, range).withUnsafeBufferPointer { NumberParser.parseField($0) }
                : NumberParser.parseField(UnsafeBufferPointer(rebasing: line[range]))
            guard let value = parsed else {
                let bytes = Self.unquote(line, range)
                let text = String(decoding: bytes, as: UTF8.self)
                if bytes.contains(0) {
                    throw DataError(.nulByte, file: file, line: lineNumber, column: f + 1, columnName: header[f])
                }
                throw DataError(.notANumber, file: file, line: lineNumber, column: f + 1, columnName: header[f], value: text)
            }
            values.append(value)
        }
        return Row(timestampText: String(decoding: timeBytes, as: UTF8.self).trimmingBlanks(), time: time, values: values)
    }

    // MARK: Fields

    /// Field ranges of one line (quote-aware; a range includes its quotes).
    static func split(_ line: UnsafeBufferPointer<UInt8>, file: String, line lineNumber: Int) throws(DataError) -> [Range<Int>] {
        var fields = [Range<Int>]()
        var i = 0
        let n = line.count
        while true {
            let fieldStart = i
            if i < n && line[i] == 0x22 {
                i += 1
                var closed = false
                while i < n {
                    if line[i] == 0x22 {
                        if i + 1 < n && line[i + 1] == 0x22 { i += 2; continue }
                        closed = true
                        i += 1
                        break
                    }
                    i += 1
                }
                guard closed else {
                    throw DataError(.unterminatedQuote, file: file, line: lineNumber, column: fields.count + 1)
                }
                if i < n && line[i] != 0x2C {
                    throw DataError(.unexpectedAfterQuote, file: file, line: lineNumber, column: fields.count + 1,
                                    value: String(decoding: UnsafeBufferPointer(rebasing: line[i..<min(n, i + 20)]), as: UTF8.self))
                }
            } else {
                while i < n && line[i] != 0x2C { i += 1 }
            }
            fields.append(fieldStart..<i)
            if i >= n { return fields }
            i += 1 // the comma
        }
    }

    /// The content of a field: quotes removed and doubled quotes collapsed.
    static func unquote(_ line: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [UInt8] {
        guard range.count >= 2, line[range.lowerBound] == 0x22 else { return Array(line[range]) }
        var out = [UInt8]()
        out.reserveCapacity(range.count - 2)
        var i = range.lowerBound + 1
        let end = range.upperBound - 1
        while i < end {
            out.append(line[i])
            i += line[i] == 0x22 ? 2 : 1
        }
        return out
    }
}

/// Timestamps as every Triage reader accepts them (../shared/CLI.md): ISO 8601 UTC
/// (`2026-01-05T13:45:00Z`, optional fraction, `Z` or `+00:00`), `YYYY-MM-DD HH:MM:SS[.ffffff]`
/// taken as UTC, and Unix epoch seconds (a plain number).
public enum Timestamp {
    /// Seconds since the epoch, or nil when the text is none of the accepted forms.
    public static func parse(_ bytes: [UInt8]) -> Double? {
        bytes.withUnsafeBufferPointer { parse($0) }
    }

    /// Seconds since the epoch, or nil when the text is none of the accepted forms.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        var lower = 0, upper = bytes.count
        while lower < upper && (bytes[lower] == 0x20 || bytes[lower] == 0x09) { lower += 1 }
        while upper > lower && (bytes[upper - 1] == 0x20 || bytes[upper - 1] == 0x09) { upper -= 1 }
        guard lower < upper else { return nil }
        let text = UnsafeBufferPointer(rebasing: bytes[lower..<upper])
        if text.count >= 19, text[4] == 0x2D, text[7] == 0x2D, text[10] == 0x54 || text[10] == 0x20 {
            return parseCalendar(text)
        }
        // Epoch seconds: a finite number and nothing else.
        guard let value = NumberParser.parseField(text), value.isFinite else { return nil }
        return value
    }

    static func parseCalendar(_ t: UnsafeBufferPointer<UInt8>) -> Double? {
        func number(_ from: Int, _ count: Int) -> Int? {
            var v = 0
            for i in from..<(from + count) {
                let d = Int(t[i]) - 48
                guard d >= 0 && d <= 9 else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard t[13] == 0x3A, t[16] == 0x3A, let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 61 else { return nil }
        var i = 19
        var fraction = 0.0
        if i < t.count && t[i] == 0x2E {
            i += 1
            var scale = 0.1
            let digitsStart = i
            while i < t.count, t[i] >= 0x30, t[i] <= 0x39 {
                fraction += Double(t[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > digitsStart else { return nil }
        }
        // Zone: none (UTC by contract), Z, or a UTC offset ±HH:MM / ±HHMM.
        var offset = 0
        if i < t.count {
            if t[i] == 0x5A && i + 1 == t.count {
                i += 1
            } else if t[i] == 0x2B || t[i] == 0x2D {
                let sign = t[i] == 0x2D ? -1 : 1
                let rest = Array(t[(i + 1)...])
                let digits = rest.filter { $0 != 0x3A }
                guard digits.count == 4, rest.count == 4 || (rest.count == 5 && rest[2] == 0x3A) else { return nil }
                var v = [Int]()
                for d in digits {
                    guard d >= 0x30 && d <= 0x39 else { return nil }
                    v.append(Int(d) - 48)
                }
                offset = sign * ((v[0] * 10 + v[1]) * 3600 + (v[2] * 10 + v[3]) * 60)
                i = t.count
            } else {
                return nil
            }
        }
        guard i == t.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset) + fraction
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
