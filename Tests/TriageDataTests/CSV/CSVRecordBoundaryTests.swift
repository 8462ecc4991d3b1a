import Foundation
import Testing
@testable import TriageCore
@testable import TriageData

/// Where records end: the counting pass, the chunk cuts and the parse must agree on every
/// file, or the reader must say where the file is malformed. A stray quote once made them
/// disagree: pass 1 (quote parity) counted 27 rows of 300, pass 2 wrote 300 rows into a
/// 27-row matrix and corrupted the heap (issue 14, defect 1).
@Suite struct CSVRecordBoundaryTests {
    /// Every way the reader can be configured: thread counts, chunk sizes small enough to cut
    /// a tiny file into many chunks, the plain-record lane on and off.
    static let configurations: [(threads: Int, minimumChunk: Int, plain: Bool)] = [
        (1, 1 << 20, true), (1, 1 << 20, false), (2, 16, true), (4, 16, true), (4, 16, false), (3, 1, true),
    ]

    static func options(_ c: (threads: Int, minimumChunk: Int, plain: Bool), roles: ColumnRole = .numeric) -> CSVOptions {
        var options = CSVOptions(defaultRole: roles, threads: c.threads)
        options.minimumChunkBytes = c.minimumChunk
        options.plainRecordLane = c.plain
        return options
    }

    /// 300 rows of `alpha,beta,gamma,delta,label` as in the report.
    static func reportedFile(strayAt line: Int, suffix: String) -> String {
        var random = RandomSource(seed: 7)
        var lines = ["alpha,beta,gamma,delta,label"]
        for _ in 0..<300 {
            let values = (0..<4).map { _ in String(format: "%.5f", Double.random(in: -1...1, using: &random)) }
            lines.append(values.joined(separator: ",") + ",0")
        }
        lines[line - 1] += suffix
        return lines.joined(separator: "\n") + "\n"
    }

    @Test(arguments: [(28, "\"\"\""), (240, "\""), (2, "\""), (301, "\"\""), (150, "\"x\"")])
    func strayQuoteAtTheEndOfAnUnquotedFieldIsALocatedError(line: Int, suffix: String) {
        let path = temporaryFile(Self.reportedFile(strayAt: line, suffix: suffix))
        for configuration in Self.configurations {
            let error = readError(path, options: Self.options(configuration))
            #expect(error?.kind == .strayQuote, "\(configuration)")
            #expect(error?.line == line && error?.column == 5, "\(configuration): \(String(describing: error))")
            #expect(error?.columnName == "label")
        }
    }

    @Test func strayQuotesInTextAndSkippedColumns() {
        let text = readError(temporaryFile("a,b\n1,x\n2,ab\"c\n3,y\n"), options: CSVOptions(roles: ["b": .text]))
        #expect(text?.kind == .strayQuote)
        #expect(text?.line == 3 && text?.column == 2 && text?.value == "ab\"c")
        let skipped = readError(temporaryFile("a,b\n1,x\n2, \"c\"\n"), options: CSVOptions(roles: ["b": .skip]))
        #expect(skipped?.kind == .strayQuote)
        #expect(skipped?.line == 3)
        let header = readError(temporaryFile("a,b\"\n1,2\n"))
        #expect(header?.kind == .strayQuote)
        #expect(header?.line == 1 && header?.column == 2)
        // Quoted as a whole with doubled inner quotes, the same text is fine.
        let table = try? CSVReader.read(temporaryFile("a,b\n2,\"ab\"\"c\"\n"), options: CSVOptions(roles: ["b": .text]))
        #expect(table?.text["b"] == ["ab\"c"])
    }

    @Test func linesOfCarriageReturnsCountTheSameInBothPasses() throws {
        // A quote anywhere sends pass 1 down its quote-aware path; `\r\r\n` is a record there
        // as in the parser (it used to be counted as blank).
        for body in ["1,\"2\"\n\r\r\n3,4\n", "1,2\n\r\r\n3,4\n", "1,\"2\"\n\r\n3,4\n\r"] {
            for configuration in Self.configurations {
                let path = temporaryFile("a,b\n" + body)
                let result = Result { () throws(DataError) in try CSVReader.read(path, options: Self.options(configuration)) }
                switch result {
                case .success(let table): #expect(table.rowCount == 2, "\(body.debugDescription)")
                case .failure(let error): #expect(error.kind != .recordBoundary, "\(body.debugDescription): \(error)")
                }
            }
        }
    }

    /// Found by the fuzzers (fuzz/crashes/csv-lone-cr-*): `a\n\r\r\n"y"\n` made the passes
    /// disagree (two text values, one matrix row); and a CR not followed by LF was data to
    /// Triage but a line end to Python's csv. RFC 4180 has CR only in CRLF: refused, located.
    @Test(arguments: [ColumnRole.text, .numeric])
    func aLoneCarriageReturnIsALocatedError(role: ColumnRole) {
        for configuration in Self.configurations {
            let options = Self.options(configuration, roles: role)
            let joined = readError(temporaryFile("a\n\r\r\n\"y\"\n"), options: options)
            #expect(joined?.kind == .loneCarriageReturn && joined?.line == 2 && joined?.column == 1, "\(String(describing: joined))")
            let oldMac = readError(temporaryFile("a,b\r1,2\r3,4\r"), options: options)
            #expect(oldMac?.kind == .loneCarriageReturn && oldMac?.line == 1 && oldMac?.column == 2, "\(String(describing: oldMac))")
            let inside = readError(temporaryFile("a,b\n1,2\n3\r4,5\n"), options: options)
            #expect(inside?.kind == .loneCarriageReturn && inside?.line == 3 && inside?.column == 1)
            // CRLF, a final CR and a quoted CR stay fine.
            let fine = Result { () throws(DataError) in
                try CSVReader.read(temporaryFile("a,b\r\n1,\"2\"\r\n\"3\r\",4\r"), options: Self.options(configuration, roles: .text))
            }
            #expect((try? fine.get())?.text["a"] == ["1", "3\r"])
        }
        #expect(readError(temporaryFile("a\",b\n1,2\n"))?.kind == .strayQuote)
    }

    /// The safety net under the rule above: a chunk holding more records than its rows (any
    /// disagreement between the passes) fails at the first extra record and writes nothing
    /// past its rows; fewer records than rows fails too.
    @Test(arguments: [true, false])
    func aChunkNeverWritesPastItsCountedRows(plain: Bool) {
        let text = "a,b\n" + String(repeating: "1.5,2.5\n", count: 40)
        let bytes = Array(text.utf8) + [UInt8](repeating: 0, count: 64)
        bytes.withUnsafeBufferPointer { buffer in
            var source = ByteSource(base: buffer.baseAddress!, count: text.utf8.count, path: "t.csv", maxFieldBytes: 65_536)
            source.plainRecordLane = plain
            let layout = RecordLayout(roles: [.numeric, .numeric])
            let canary: Float = -7
            var output = [Float](repeating: canary, count: 80)
            let (over, untouched, under) = output.withUnsafeMutableBufferPointer { out in
                let pointer = SendablePointer(out.baseAddress!)
                let over = source.parseChunk(4..<source.count, layout: layout, output: pointer, rows: 0..<30,
                                             firstLine: 2, recordLines: false)
                let untouched = out[60...].allSatisfy { $0 == canary }
                let under = source.parseChunk(4..<source.count, layout: layout, output: pointer, rows: 0..<39 + 2,
                                              firstLine: 2, recordLines: false)
                return (over, untouched, under)
            }
            #expect(over.failure?.reason == .recordBoundary)
            #expect(over.failure.map { source.lineNumber(at: $0.offset) } == 32)
            #expect(untouched)
            #expect(under.failure?.reason == .recordBoundary)
        }
    }

    /// Seeded random files, mostly well formed with a few special bytes dropped in, read in
    /// every configuration and compared with a reference RFC 4180 parser written for this test:
    /// every configuration gives the same answer, the same rows and texts as the reference when
    /// it accepts, an error when it refuses, never fewer rows without an error, never a crash.
    @Test func randomFilesAgreeWithTheReferenceInEveryConfiguration() throws {
        var random = RandomSource(seed: 14)
        var accepted = 0, refused = 0
        for _ in 0..<400 {
            let bytes = Self.randomFile(&random)
            let path = temporaryFile(bytes)
            let expected = ReferenceCSV.parse(bytes)
            var answers = [String]()
            for configuration in Self.configurations {
                let result = Result { () throws(DataError) in
                    try CSVReader.read(path, options: Self.options(configuration, roles: .text))
                }
                switch (result, expected) {
                case (.success(let table), .some(let reference)):
                    #expect(table.rowCount == reference.rows.count, "\(bytes)")
                    for (i, name) in reference.header.enumerated() {
                        #expect(table.text[name] == reference.rows.map { $0[i] }, "\(bytes) \(configuration)")
                    }
                case (.success(let table), nil):
                    Issue.record("accepted \(table.rowCount) rows the reference refuses: \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                case (.failure(let error), .some):
                    Issue.record("refused a file the reference accepts: \(error) \(String(decoding: bytes, as: UTF8.self).debugDescription)")
                case (.failure(let error), nil):
                    #expect(error.kind != .recordBoundary, "the malformed record itself is reported: \(error)")
                }
                answers.append(Self.describe(result))
                // Numeric roles: the same structure, so never more rows than the reference and
                // an error whenever it refuses.
                let numeric = Result { () throws(DataError) in
                    try CSVReader.read(path, options: Self.options(configuration, roles: .numeric))
                }
                if case .success(let table) = numeric {
                    #expect(table.rowCount == expected?.rows.count, "\(bytes)")
                }
                answers.append(Self.describe(numeric))
            }
            #expect(Set(answers.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)).count == 1, "text answers differ: \(answers)")
            #expect(Set(answers.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)).count == 1, "numeric answers differ: \(answers)")
            if expected == nil { refused += 1 } else { accepted += 1 }
        }
        // The generator must exercise both sides.
        #expect(accepted > 100 && refused > 100, "accepted \(accepted), refused \(refused)")
    }

    static func describe(_ result: Result<CSVTable<Float>, DataError>) -> String {
        switch result {
        case .success(let table):
            let values = table.numeric.storage.map { $0.isNaN ? "nan" : "\($0)" }.joined(separator: ",")
            return "rows \(table.rowCount) \(values) \(table.text.sorted { $0.key < $1.key })"
        case .failure(let error): return "error \(error)"
        }
    }

    /// A small CSV of 3 columns: numbers, quoted texts with doubled quotes, commas and line
    /// breaks, empty fields, blank lines, CRLF; then up to three bytes inserted, replaced or
    /// deleted among the ones that matter to record boundaries.
    static func randomFile(_ random: inout RandomSource) -> [UInt8] {
        var text = Bool.random(using: &random) ? "\u{FEFF}" : ""
        text += "a,b,c"
        let crlf = Int.random(in: 0..<4, using: &random) == 0
        let rows = Int.random(in: 0...12, using: &random)
        for _ in 0..<rows {
            text += crlf ? "\r\n" : "\n"
            if Int.random(in: 0..<10, using: &random) == 0 { text += crlf ? "\r\n" : "\n" }
            let fields = (0..<3).map { _ -> String in
                switch Int.random(in: 0..<6, using: &random) {
                case 0: return ""
                case 1: return "\"" + ["x", "a\"\"b", "1,2", "l1\nl2", "", "-3.5"].randomElement(using: &random)! + "\""
                case 2: return "t\(Int.random(in: 0..<100, using: &random))"
                default: return String(format: "%.3f", Double.random(in: -10...10, using: &random))
                }
            }
            text += fields.joined(separator: ",")
        }
        if Bool.random(using: &random) { text += crlf ? "\r\n" : "\n" }
        var bytes = Array(text.utf8)
        let specials: [UInt8] = [0x22, 0x22, 0x22, 0x2C, 0x0A, 0x0D, 0x20, 0x00, 0x31, 0xFF]
        for _ in 0..<Int.random(in: 0...3, using: &random) where !bytes.isEmpty {
            let at = Int.random(in: 0..<bytes.count, using: &random)
            let special = specials.randomElement(using: &random)!
            switch Int.random(in: 0..<3, using: &random) {
            case 0: bytes.insert(special, at: at)
            case 1: bytes[at] = special
            default: bytes.remove(at: at)
            }
        }
        return bytes
    }
}

/// A plain, slow, obviously-correct reader of the CSV dialect CLI.md describes (RFC 4180, strict
/// about quotes and carriage returns), for tests only: optional BOM, leading line breaks ignored, blank lines (empty
/// or a lone `\r`) skipped, `\n` or `\r\n` ends a record, a quoted field opens with its first
/// byte and closes with a quote followed by a delimiter, `""` inside it is a quote, a quote
/// anywhere else is an error; every record has the header's field count; no NUL bytes; valid
/// UTF-8; at least one row. Header names are trimmed of blanks, as the reader does.
enum ReferenceCSV {
    struct Table: Equatable {
        var header: [String]
        var rows: [[String]]
    }

    static func parse(_ bytes: [UInt8]) -> Table? {
        var i = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < bytes.count && (bytes[i] == 0x0A || bytes[i] == 0x0D) { i += 1 }
        guard i < bytes.count else { return nil }
        var records = [[String]]()
        while i < bytes.count {
            if bytes[i] == 0x0A { i += 1; continue }
            if bytes[i] == 0x0D && (i + 1 == bytes.count || bytes[i + 1] == 0x0A) { i += 2; continue }
            guard let (record, next) = parseRecord(bytes, at: i) else { return nil }
            records.append(record)
            i = next
        }
        guard let header = records.first?.map({ trim($0) }), Set(header).count == header.count else { return nil }
        let rows = Array(records.dropFirst())
        guard !rows.isEmpty, rows.allSatisfy({ $0.count == header.count }) else { return nil }
        return Table(header: header, rows: rows)
    }

    private static func parseRecord(_ bytes: [UInt8], at start: Int) -> ([String], Int)? {
        var fields = [String]()
        var i = start
        while true {
            var content = [UInt8]()
            var endsRecord = false
            if i < bytes.count && bytes[i] == 0x22 {
                i += 1
                while true {
                    guard i < bytes.count else { return nil }
                    if bytes[i] == 0x22 {
                        if i + 1 < bytes.count && bytes[i + 1] == 0x22 { content.append(0x22); i += 2; continue }
                        i += 1
                        break
                    }
                    content.append(bytes[i])
                    i += 1
                }
                if i == bytes.count { endsRecord = true }
                else if bytes[i] == 0x2C { i += 1 }
                else if bytes[i] == 0x0A { i += 1; endsRecord = true }
                else if bytes[i] == 0x0D && (i + 1 == bytes.count || bytes[i + 1] == 0x0A) { i += 2; endsRecord = true }
                else { return nil }
            } else {
                while i < bytes.count && bytes[i] != 0x2C && bytes[i] != 0x0A {
                    if bytes[i] == 0x22 { return nil }
                    // A CR outside quotes only as part of CRLF, or as the file's last byte.
                    if bytes[i] == 0x0D && i + 1 < bytes.count && bytes[i + 1] != 0x0A { return nil }
                    content.append(bytes[i])
                    i += 1
                }
                if i == bytes.count || bytes[i] == 0x0A {
                    if content.last == 0x0D { content.removeLast() }
                    endsRecord = true
                }
                i += 1
            }
            guard !content.contains(0), let text = String(validating: content, as: UTF8.self) else { return nil }
            fields.append(text)
            if endsRecord { return (fields, min(i, bytes.count)) }
        }
    }

    private static func trim(_ s: String) -> String {
        var t = Substring(s)
        while let c = t.first, c == " " || c == "\t" { t = t.dropFirst() }
        while let c = t.last, c == " " || c == "\t" { t = t.dropLast() }
        return String(t)
    }
}

/// Issue 14, bounded resources: a header of 10 M columns took 39 s and 1.2 GB before an error.
@Suite struct CSVHeaderBoundTests {
    @Test func aHeaderWiderThanTheLimitIsRefusedAtOnce() {
        let names = (0..<3_000).map { "c\($0)" }.joined(separator: ",")
        var options = CSVOptions()
        options.maxColumns = 2_000
        let error = readError(temporaryFile(names + "\n" + String(repeating: "1,", count: 2_999) + "1\n"), options: options)
        #expect(error?.kind == .tooManyColumns(limit: 2_000))
        #expect(error?.line == 1)
        // At the limit it reads.
        options.maxColumns = 3_000
        #expect(readError(temporaryFile(names + "\n" + String(repeating: "1,", count: 2_999) + "1\n"), options: options) == nil)
    }

    @Test func tenMillionColumnsFailWithinTheDefaultLimit() {
        let header = String(repeating: "a,", count: 10_000_000) + "a\n1\n"
        let error = readError(temporaryFile(header))
        #expect(error?.kind == .tooManyColumns(limit: 100_000))
    }
}
