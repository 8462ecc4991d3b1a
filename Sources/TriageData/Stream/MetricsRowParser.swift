import TriageCore
/// Parses the lines of a metrics CSV one at a time (for streams, where the file is never
/// complete): the same rules as `CSVReader` (../shared/CLI.md "Data files": optional BOM,
/// RFC 4180 quotes within a line, numbers like `1`, `-2.5e-3`, `inf`; empty, `NaN`, `NA`,
/// `null` are missing), with a timestamp column kept as text and parsed by `Timestamp`.
///
/// The parser sees one record at a time. A record whose quoted field holds a line break (RFC 4180)
/// spans several physical lines: `parse` reports its first line as an unterminated quote, and
/// the reader joins the lines with `QuotedRecordJoiner` before parsing the whole record.
///
/// NUL bytes are refused in every field (CLI.md: the data rules of `CSVReader`), with the line and
/// the column, so a service name can never carry one into the queue, the events or a terminal.
public struct MetricsRowParser: Sendable {
    public let file: String
    public let header: [String]
    /// Field index of the timestamp column.
    public let timeField: Int
    /// Field indices of the metric columns (every other column except `excluded`), file order.
    public let metricFields: [Int]
    /// Field index of the service column of a long-format file (one row per service and time).
    public let serviceField: Int?
    public var metricNames: [String] { metricFields.map { header[$0] } }

    /// One parsed row.
    public struct Row: Sendable {
        public var timestampText: String
        /// Seconds since 1970-01-01T00:00:00Z.
        public var time: Double
        /// One value per metric column; NaN when missing.
        public var values: [Double]
        /// The service column's text ("" without a service column).
        public var service: String = ""
    }

    /// Reads the header line. `excluded` columns are neither metrics nor required.
    public init(file: String, headerLine: UnsafeBufferPointer<UInt8>, lineNumber: Int, timeColumn: String,
                serviceColumn: String? = nil, excluded: Set<String> = []) throws(DataError) {
        self.file = file
        var bytes = headerLine
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
            bytes = UnsafeBufferPointer(rebasing: bytes[3...])
        }
        let fields = try Self.split(bytes, file: file, line: lineNumber)
        var names = [String]()
        for (i, range) in fields.enumerated() {
            let raw = Self.unquote(bytes, range)
            if raw.contains(0) { throw DataError(.nulByte, file: file, line: lineNumber, column: i + 1) }
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
        if let serviceColumn {
            guard let f = names.firstIndex(of: serviceColumn) else {
                throw DataError(.missingColumn, file: file, line: lineNumber, columnName: serviceColumn)
            }
            serviceField = f
        } else {
            serviceField = nil
        }
        header = names
        timeField = t
        metricFields = names.indices.filter { [serviceField] in $0 != t && $0 != serviceField && !excluded.contains(names[$0]) }
        guard !metricFields.isEmpty else {
            throw DataError(.other("no metric columns besides '\(timeColumn)'"), file: file, line: lineNumber)
        }
        var roles = [Int](repeating: Self.ignoredRole, count: names.count)
        for (k, f) in metricFields.enumerated() { roles[f] = k }
        roles[t] = Self.timeRole
        if let serviceField { roles[serviceField] = Self.serviceRole }
        fieldRoles = roles
    }

    /// Parses one data line.
    public func parse(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(DataError) -> Row {
        if let row = parsePlain(line) { return row }
        return try parseGeneral(line, lineNumber: lineNumber)
    }

    /// What each field of a row is, by field index: `timeRole`, `serviceRole`, `ignoredRole`, or
    /// the field's index among the metric values.
    let fieldRoles: [Int]
    static let timeRole = -1, serviceRole = -2, ignoredRole = -3

    /// The usual row in one pass and with no allocation besides the row's own: no quotes, the
    /// expected number of fields, a valid timestamp, numbers everywhere, an ASCII service name
    /// without NUL or blanks at its ends. Anything else returns nil and the row goes through
    /// `parseGeneral`, which then gives the same row or the error, so this path changes no
    /// result. (`triage watch` over 345 600 rows: 7.2 k instructions a row in `parseGeneral`,
    /// most of it the field array, the copies of the time and service fields and the String
    /// validation and trimming.)
    @inline(__always)
    func parsePlain(_ line: UnsafeBufferPointer<UInt8>) -> Row? {
        let n = line.count
        guard n > 0, let base = line.baseAddress else { return nil }
        var values = [Double](repeating: 0, count: metricFields.count)
        var timeStart = 0, timeEnd = -1, serviceStart = 0, serviceEnd = -1
        let complete = values.withUnsafeMutableBufferPointer { out -> Bool in
            fieldRoles.withUnsafeBufferPointer { roles -> Bool in
                var i = 0, field = 0
                while true {
                    let start = i
                    while i < n && base[i] != 0x2C {
                        if base[i] == 0x22 { return false }
                        i &+= 1
                    }
                    guard field < roles.count else { return false }
                    let role = roles[field]
                    if role >= 0 {
                        guard let value = NumberParser.parseField(UnsafeBufferPointer(start: base + start, count: i - start)) else {
                            return false
                        }
                        out[role] = value
                    } else if role == Self.timeRole {
                        timeStart = start
                        timeEnd = i
                    } else if role == Self.serviceRole {
                        serviceStart = start
                        serviceEnd = i
                    }
                    field &+= 1
                    if i >= n { return field == roles.count }
                    i &+= 1  // the comma
                }
            }
        }
        guard complete, timeEnd >= timeStart else { return nil }
        let timeBytes = UnsafeBufferPointer(start: base + timeStart, count: timeEnd - timeStart)
        guard let time = Timestamp.seconds(timeBytes), let timestampText = Self.asciiBlankTrimmedText(timeBytes) else {
            return nil
        }
        var service = ""
        if serviceField != nil {
            guard serviceEnd > serviceStart else { return nil }
            let bytes = UnsafeBufferPointer(start: base + serviceStart, count: serviceEnd - serviceStart)
            // ASCII without NUL, blanks not at the ends: valid UTF-8 that trimming leaves as it is.
            guard bytes.first! > 0x20, bytes.last! > 0x20, bytes.allSatisfy({ $0 != 0 && $0 < 0x80 }) else { return nil }
            service = String(decoding: bytes, as: UTF8.self)
        }
        return Row(timestampText: timestampText, time: time, values: values, service: service)
    }

    /// `blankTrimmedText` of ASCII bytes in place; nil when a byte is not ASCII.
    static func asciiBlankTrimmedText(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        var lower = 0, upper = bytes.count
        while lower < upper && (bytes[lower] == 0x20 || bytes[lower] == 0x09) { lower += 1 }
        while upper > lower && (bytes[upper - 1] == 0x20 || bytes[upper - 1] == 0x09) { upper -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[lower..<upper]), as: UTF8.self)
    }

    /// Parses one data line, any form the rules allow, with the errors they name.
    func parseGeneral(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(DataError) -> Row {
        let fields = try Self.split(line, file: file, line: lineNumber)
        guard fields.count == header.count else {
            throw DataError(.raggedRow(expected: header.count, found: fields.count), file: file, line: lineNumber,
                            column: fields.count > header.count ? header.count + 1 : nil)
        }
        let timeBytes = Self.unquote(line, fields[timeField])
        guard let time = Timestamp.seconds(timeBytes) else {
            if timeBytes.contains(0) {
                throw DataError(.nulByte, file: file, line: lineNumber, column: timeField + 1, columnName: header[timeField])
            }
            throw DataError(.other("column '\(header[timeField])' expects a timestamp (ISO 8601 UTC, "
                                   + "YYYY-MM-DD HH:MM:SS or epoch seconds), got "
                                   + DataError.quote(String(decoding: timeBytes, as: UTF8.self))),
                            file: file, line: lineNumber, column: timeField + 1, columnName: header[timeField])
        }
        var values = [Double]()
        values.reserveCapacity(metricFields.count)
        for f in metricFields {
            let range = fields[f]
            // An unquoted field is parsed in place (a copy per field was ≈ 5 % of `triage watch`).
            let quoted = range.count >= 2 && line[range.lowerBound] == 0x22
            let parsed: Double? = quoted
                ? Self.unquote(line, range).withUnsafeBufferPointer { NumberParser.parseField($0) }
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
        var service = ""
        if let serviceField {
            let bytes = Self.unquote(line, fields[serviceField])
            // Valid UTF-8 may hold NUL: checked apart (a name is a few bytes, so the scan is cheap).
            if bytes.contains(0) {
                throw DataError(.nulByte, file: file, line: lineNumber, column: serviceField + 1, columnName: header[serviceField])
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw DataError(.invalidUTF8, file: file, line: lineNumber, column: serviceField + 1,
                                columnName: header[serviceField])
            }
            service = text.trimmingBlanks()
            guard !service.isEmpty else {
                throw DataError(.missingValue, file: file, line: lineNumber, column: serviceField + 1,
                                columnName: header[serviceField])
            }
        }
        return Row(timestampText: Self.blankTrimmedText(timeBytes), time: time, values: values, service: service)
    }

    /// `String(decoding: bytes, as: UTF8.self).trimmingBlanks()`, trimmed as bytes when all are
    /// ASCII (then each byte is one Character, so both trim the same): trimming the String
    /// took ≈ 1 000 instructions a row, 5 % of `triage watch`.
    static func blankTrimmedText(_ bytes: [UInt8]) -> String {
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return String(decoding: bytes, as: UTF8.self).trimmingBlanks() }
        var lower = 0, upper = bytes.count
        while lower < upper && (bytes[lower] == 0x20 || bytes[lower] == 0x09) { lower += 1 }
        while upper > lower && (bytes[upper - 1] == 0x20 || bytes[upper - 1] == 0x09) { upper -= 1 }
        return String(decoding: bytes[lower..<upper], as: UTF8.self)
    }

    // MARK: Fields

    /// Field ranges of one line (quote-aware; a range includes its quotes).
    static func split(_ line: UnsafeBufferPointer<UInt8>, file: String, line lineNumber: Int) throws(DataError) -> [Range<Int>] {
        var fields = [Range<Int>]()
        fields.reserveCapacity(8)  // not grown (and reallocated) field by field
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
