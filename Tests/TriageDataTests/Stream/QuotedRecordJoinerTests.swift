import Testing
import TriageData

/// A record whose quoted field holds a line break (RFC 4180), fed line by line as `watch` reads.
@Suite struct QuotedRecordJoinerTests {
    let header = "timestamp,service,cpu,note"

    func parser() throws -> MetricsRowParser {
        try Array(header.utf8).withUnsafeBufferPointer { buffer throws(DataError) in
            try MetricsRowParser(file: "m.csv", headerLine: buffer, lineNumber: 1, timeColumn: "timestamp",
                                 serviceColumn: "service", excluded: ["note"])
        }
    }

    /// Feeds `lines` as a reader would: each line parsed alone, joined only after an unterminated
    /// quote. Returns the rows with their (first) line numbers, or the first error.
    func read(_ lines: [String], maxBytes: Int = 1 << 20) throws -> [(line: Int, row: MetricsRowParser.Row)] {
        let p = try parser()
        var joiner = QuotedRecordJoiner(maxBytes: maxBytes)
        var rows = [(line: Int, row: MetricsRowParser.Row)]()
        for (i, text) in lines.enumerated() {
            let number = i + 2
            let bytes = Array(text.utf8)
            var record = bytes, first = number
            if joiner.isOpen {
                guard joiner.append(bytes[...]) else { continue }
                guard !joiner.overflowed else { throw DataError(.other("too long"), file: "m.csv", line: joiner.firstLine) }
                record = joiner.bytes
                first = joiner.firstLine!
                joiner.reset()
            }
            switch Self.parse(p, record, at: first) {
            case .success(let row): rows.append((first, row))
            case .failure(let error) where error.kind == .unterminatedQuote: joiner.start(record[...], lineNumber: first)
            case .failure(let error): throw error
            }
        }
        if let first = joiner.firstLine {
            throw DataError(.unterminatedQuote, file: "m.csv", line: first, column: joiner.field + 1)
        }
        return rows
    }

    static func parse(_ p: MetricsRowParser, _ bytes: [UInt8], at line: Int) -> Result<MetricsRowParser.Row, DataError> {
        bytes.withUnsafeBufferPointer { buffer in Result { () throws(DataError) in try p.parse(buffer, lineNumber: line) } }
    }

    @Test func quotedLineBreaksJoinIntoOneRecord() throws {
        let rows = try read([
            "2026-01-05T13:45:00Z,\"svc\n-a\",1.5,plain",
            "2026-01-05T13:46:00Z,svc-b,2,\"two",
            "lines, with a comma",
            "and \"\"quotes\"\"\"",
            "2026-01-05T13:47:00Z,svc-c,3,\"\"",
        ].joined(separator: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
        #expect(rows.map(\.line) == [2, 4, 7])
        #expect(rows.map(\.row.service) == ["svc\n-a", "svc-b", "svc-c"])
        #expect(rows.map(\.row.values) == [[1.5], [2], [3]])
    }

    @Test func anUnclosedQuoteIsReportedAtItsFirstLineAndField() throws {
        let error = #expect(throws: DataError.self) {
            try read(["2026-01-05T13:45:00Z,svc,1,ok", "2026-01-05T13:46:00Z,svc,2,\"never", "closed", "at all"])
        }
        #expect(error?.kind == .unterminatedQuote && error?.line == 3 && error?.column == 4)
    }

    @Test func memoryStaysBoundedAndTheRecordEndIsStillFound() throws {
        var joiner = QuotedRecordJoiner(maxBytes: 64)
        joiner.start(Array("a,\"open".utf8)[...], lineNumber: 2)
        let long = Array(String(repeating: "x", count: 100).utf8)
        let completeEarly = joiner.append(long[...])
        #expect(!completeEarly)
        #expect(joiner.overflowed && joiner.bytes.isEmpty)
        let complete = joiner.append(Array("end\",1".utf8)[...])
        #expect(complete)
        #expect(joiner.firstLine == 2)
    }

    /// The scan agrees with the parser on where quotes open and close: a quote inside an unquoted
    /// field is an ordinary byte, a doubled quote stays inside.
    @Test func scanFollowsTheParsersQuoteRules() {
        func opens(_ text: String) -> Bool {
            var joiner = QuotedRecordJoiner(maxBytes: 1 << 10)
            joiner.start(Array(text.utf8)[...], lineNumber: 1)
            return !joiner.isComplete
        }
        #expect(opens("a,\"b"))
        #expect(opens("a,\"b\"\"c"))
        #expect(!opens("a,b\"c"))
        #expect(!opens("a,\"b\",c"))
        #expect(opens("a,\"b\",\"c"))
        #expect(!opens("\"\"\"\""))
    }
}

/// NUL is refused in every field of a metrics row, with the line and the column (README: NUL bytes
/// are refused), so a service name never carries one into the queue or the events.
@Suite struct MetricsRowParserNULTests {
    @Test func nulInAServiceNameHeaderOrTimestampIsALocatedError() throws {
        let p = try Array("timestamp,service,cpu".utf8).withUnsafeBufferPointer { buffer throws(DataError) in
            try MetricsRowParser(file: "m.csv", headerLine: buffer, lineNumber: 1, timeColumn: "timestamp", serviceColumn: "service")
        }
        func parse(_ text: String) throws -> MetricsRowParser.Row {
            try Array(text.utf8).withUnsafeBufferPointer { buffer throws(DataError) in try p.parse(buffer, lineNumber: 9) }
        }
        #expect(try parse("2026-01-05T13:45:00Z,svc-01,1").service == "svc-01")
        for (text, column) in [("2026-01-05T13:45:00Z,svc\u{0}01,1", 2), ("2026-01-05T13:45:00Z,\"svc\u{0}\",1", 2),
                               ("2026-01-05T13:45:00Z\u{0},svc,1", 1)] {
            let error = #expect(throws: DataError.self) { try parse(text) }
            #expect(error?.kind == .nulByte && error?.line == 9 && error?.column == column, "\(text.debugDescription)")
        }
        let header = #expect(throws: DataError.self) {
            try Array("timestamp,serv\u{0}ice,cpu".utf8).withUnsafeBufferPointer { buffer throws(DataError) in
                try MetricsRowParser(file: "m.csv", headerLine: buffer, lineNumber: 1, timeColumn: "timestamp")
            }
        }
        #expect(header?.kind == .nulByte && header?.line == 1 && header?.column == 2)
    }
}
