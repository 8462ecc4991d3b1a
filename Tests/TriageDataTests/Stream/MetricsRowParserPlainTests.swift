import Testing
@testable import TriageCore
@testable import TriageData

/// `MetricsRowParser.parse` takes a one-pass path for plain rows and falls back to the general
/// parser for anything else: on any line, both must give the same row, or the same error.
@Suite struct MetricsRowParserPlainTests {
    func parser(_ header: String, service: String? = "service", excluded: Set<String> = []) throws -> MetricsRowParser {
        try Array(header.utf8).withUnsafeBufferPointer { buffer throws(DataError) in
            try MetricsRowParser(file: "m.csv", headerLine: buffer, lineNumber: 1, timeColumn: "timestamp",
                                 serviceColumn: service, excluded: excluded)
        }
    }

    /// What a parse gave, comparable: the row's fields (values by bit pattern) or the error's text.
    func outcome(_ body: () throws(DataError) -> MetricsRowParser.Row) -> String {
        do {
            let row = try body()
            return "\(row.timestampText)|\(row.time.bitPattern)|\(row.values.map(\.bitPattern))|\(row.service)"
        } catch {
            return "error: \(error.description) kind \(error.kind) column \(String(describing: error.column))"
        }
    }

    func check(_ p: MetricsRowParser, _ line: String) {
        let bytes = Array(line.utf8)
        let both = bytes.withUnsafeBufferPointer { buffer in
            (outcome { () throws(DataError) in try p.parse(buffer, lineNumber: 9) },
             outcome { () throws(DataError) in try p.parseGeneral(buffer, lineNumber: 9) })
        }
        #expect(both.0 == both.1, "\(line.debugDescription)")
    }

    @Test func plainRowsAndTheirVariantsParseAsTheGeneralParserDoes() throws {
        let p = try parser("timestamp,service,cpu,memory,label,latency", excluded: ["label"])
        let lines = [
            "2026-01-05T00:00:00Z,svc-01,33.8,55.4,x,38.8",
            "2026-01-05 00:00:00,svc-01,1e3,-2.5e-3,,inf",
            " 2026-01-05T00:00:00Z ,svc-01, 1 ,2,y,3",
            "2026-01-05T00:00:00Z, svc-01,1,2,y,3",
            "2026-01-05T00:00:00Z,svc-01 ,1,2,y,3",
            "2026-01-05T00:00:00Z,\tsvc,1,2,y,3",
            "2026-01-05T00:00:00Z,sv\u{0}c,1,2,y,3",
            "2026-01-05T00:00:00Z,svc-é,1,2,y,3",
            "2026-01-05T00:00:00Zé,svc,1,2,y,3",
            "2026-01-05T00:00:00Z,\"svc,01\",1,2,y,3",
            "\"2026-01-05T00:00:00Z\",svc,1,\"2\",y,3",
            "2026-01-05T00:00:00Z,svc,NaN,NA,null,",
            "2026-01-05T00:00:00Z,svc,1,2,y",
            "2026-01-05T00:00:00Z,svc,1,2,y,3,4",
            "2026-01-05T00:00:00Z,,1,2,y,3",
            "2026-01-05T00:00:00Z,   ,1,2,y,3",
            "soon,svc,1,2,y,3",
            ",svc,1,2,y,3",
            "2026-01-05T00:00:00Z,svc,oops,2,y,3",
            "2026-01-05T00:00:00Z,svc,1\u{0},2,y,3",
            "2026-01-05T00:00:00Z,svc,1,2,y,3\r",
            "1767620700,svc,1,2,y,3",
            "2026-01-05T00:00:00Z,svc,1,2,\"unclosed,3",
            "",
            ",",
        ]
        for line in lines { check(p, line) }
        // Without a service column, and with the time column last.
        let q = try parser("value,timestamp", service: nil)
        for line in ["1.5,2026-01-05 13:45:00", "x,2026-01-05 13:45:00", "1.5,", "1.5,2026-01-05 13:45:00,3", "1.5"] {
            check(q, line)
        }
    }

    @Test func randomLinesParseAsTheGeneralParserDoes() throws {
        let p = try parser("timestamp,service,a,b")
        let pieces = ["2026-01-05T00:00:00Z", "svc", "1.25", "-3e2", "", " ", "\"", "\"q\"", "é", "\u{0}", "\t", "nan", "x", "7"]
        var random = RandomSource(seed: 17)
        for _ in 0..<2_000 {
            let fields = (0..<(2 + Int(random.next() % 4))).map { _ in
                (0..<Int(random.next() % 3)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
            }
            var line = fields.joined(separator: ",")
            if random.next() % 2 == 0 { line = "2026-01-05T00:00:00Z,svc-" + line }
            check(p, line)
        }
    }
}
