import Foundation
import Testing
import TriageData
@testable import TriageRuntime

/// Records what the loop hands over; skips bad rows unless told to stop at them.
private final class Recorder: FollowLoopHandler {
    var headers: [(columns: [String], line: Int, restart: Bool)] = []
    var rows: [(time: String, values: [Double], line: Int)] = []
    var bad: [DataError] = []
    var skipBadRows = true
    var completed = 0
    var caughtUpCount = 0
    var restarts = 0
    var stop = false
    /// Called on each catch-up (following); `caughtUpCount` already counts it.
    var onCaughtUp: () throws -> Void = {}
    /// Called after each row.
    var onRow: () -> Void = {}

    func readHeader(_ bytes: UnsafeBufferPointer<UInt8>, line: Int, previous: MetricsRowParser?) throws -> MetricsRowParser {
        let parser = try MetricsRowParser(file: "m.csv", headerLine: bytes, lineNumber: line, timeColumn: "timestamp",
                                          excluded: ["note"])
        headers.append((parser.header, line, previous != nil))
        return parser
    }

    func processRow(_ row: MetricsRowParser.Row, line: Int) throws {
        rows.append((row.timestampText, row.values, line))
        onRow()
    }

    func badRow(_ error: DataError) throws {
        guard skipBadRows else { throw error }
        bad.append(error)
    }

    func recordCompleted() throws { completed += 1 }

    func caughtUp() throws {
        caughtUpCount += 1
        // A bound, so a broken loop fails the test rather than hanging it.
        if caughtUpCount > 2_000 { stop = true }
        try onCaughtUp()
    }

    func fileRestarted() { restarts += 1 }
}

private func write(_ text: String, name: String = "m.csv") -> String {
    let path = temporaryFolder() + "/" + name
    #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
    return path
}

private func loop(_ path: String, follow: Bool = false, maxLineBytes: Int = 1 << 20, _ recorder: Recorder,
                  warnings: WarningLog = WarningLog()) throws -> FollowLoop {
    try FollowLoop(path: path, follow: follow, maxLineBytes: maxLineBytes, pollInterval: 0.001,
                   stopRequested: { [unowned recorder] in recorder.stop }, warn: { warnings.lines.append($0) })
}

private final class WarningLog { var lines: [String] = [] }

@Suite struct FollowLoopTests {
    @Test func theFirstRecordIsTheHeaderBlankLinesAreSkippedAndTheBoundaryEndsAfterTheLastRow() throws {
        let text = "\n  \r\ntimestamp,a,b\r\n1,10,20\n\n2,11,\n3,12,22"
        let path = write(text)
        let recorder = Recorder()
        let follow = try loop(path, recorder)
        try follow.run(recorder)
        #expect(recorder.headers.count == 1 && recorder.headers[0].columns == ["timestamp", "a", "b"])
        #expect(recorder.headers[0].line == 3 && !recorder.headers[0].restart)
        #expect(recorder.rows.map(\.time) == ["1", "2", "3"] && recorder.rows.map(\.line) == [4, 6, 7])
        #expect(recorder.rows[1].values[0] == 11 && recorder.rows[1].values[1].isNaN)
        #expect(follow.parser?.metricNames == ["a", "b"])
        #expect(follow.boundary == ReadBoundary(offset: Int64(text.utf8.count), line: 7))
        #expect(recorder.bad.isEmpty && recorder.restarts == 0)
    }

    @Test func aQuotedLineBreakJoinsTheLinesIntoOneRowAndTheBoundaryWaitsForIt() throws {
        let path = write("timestamp,note,value\n1,\"two\nlines\",5\n2,plain,6\n")
        let recorder = Recorder()
        let follow = try loop(path, recorder)
        var boundaries: [ReadBoundary] = []
        recorder.onRow = { boundaries.append(follow.boundary) }
        try follow.run(recorder)
        #expect(recorder.rows.map(\.values) == [[5], [6]] && recorder.rows.map(\.line) == [2, 4])
        // While the first row was processed the boundary was still before it (after the header).
        #expect(boundaries.first == ReadBoundary(offset: 21, line: 1))
        // Header and the two rows: the record's first physical line did not complete a record.
        #expect(recorder.completed == 3)
        #expect(recorder.bad.isEmpty)
    }

    @Test func aQuoteNeverClosedIsABadRowAtItsFirstLine() throws {
        let path = write("timestamp,note,value\n1,ok,5\n2,\"open,6\n3,x,7\n")
        let recorder = Recorder()
        try loop(path, recorder).run(recorder)
        #expect(recorder.rows.map(\.line) == [2])
        #expect(recorder.bad.count == 1 && recorder.bad[0].kind == .unterminatedQuote)
        #expect(recorder.bad[0].line == 3 && recorder.bad[0].column == 2 && recorder.bad[0].columnName == "note")
    }

    @Test func anOverlongLineIsABadRowNamingTheSettingAndReadingGoesOn() throws {
        let long = "2," + String(repeating: "9", count: 100)
        let path = write("timestamp,value\n1,1\n\(long)\n3,3\n")
        let recorder = Recorder()
        try loop(path, maxLineBytes: 64, recorder).run(recorder)
        #expect(recorder.rows.map(\.time) == ["1", "3"])
        #expect(recorder.bad.map(\.description) == ["\(path):3: line is longer than 64 bytes (max line bytes)"])

        let stopping = Recorder()
        stopping.skipBadRows = false
        #expect(throws: DataError.self) { try loop(path, maxLineBytes: 64, stopping).run(stopping) }
        #expect(stopping.rows.map(\.time) == ["1"])
    }

    @Test func aRecordOverTheLimitAcrossLinesIsReportedAtItsFirstLine() throws {
        let path = write("timestamp,note,value\n1,\"" + String(repeating: "x\n", count: 40) + "\",5\n2,y,6\n")
        let recorder = Recorder()
        try loop(path, maxLineBytes: 64, recorder).run(recorder)
        #expect(recorder.rows.map(\.time) == ["2"])
        #expect(recorder.bad.map(\.description)
                == ["\(path):2: record (a quoted field spanning lines) is longer than 64 bytes (max line bytes)"])
    }

    @Test func theStopRequestEndsTheLoopAfterTheCurrentRow() throws {
        let path = write("timestamp,value\n" + (1...10).map { "\($0),\($0)" }.joined(separator: "\n") + "\n")
        let recorder = Recorder()
        recorder.onRow = { if recorder.rows.count == 3 { recorder.stop = true } }
        let follow = try loop(path, recorder)
        try follow.run(recorder)
        #expect(recorder.rows.count == 3)
        #expect(follow.boundary.line == 4)
    }

    @Test func aFollowedFileReplacedWhileFollowedIsReadFromItsStartWithItsHeader() throws {
        let path = write("timestamp,value\n1,1\n2,2\n")
        let recorder = Recorder()
        let warnings = WarningLog()
        let follow = try loop(path, follow: true, recorder, warnings: warnings)
        var replaced = false
        recorder.onCaughtUp = {
            if !replaced {
                // Rotation: a new file renamed over the path.
                let next = path + ".next"
                #expect(FileManager.default.createFile(atPath: next, contents: Data("timestamp,value\n3,3\n4,4\n5,5\n".utf8)))
                #expect(rename(next, path) == 0)
                replaced = true
            } else if recorder.rows.count == 5 {
                recorder.stop = true
            }
        }
        try follow.run(recorder)
        #expect(recorder.rows.map(\.time) == ["1", "2", "3", "4", "5"])
        #expect(recorder.rows.map(\.line) == [2, 3, 2, 3, 4])
        #expect(recorder.headers.map(\.restart) == [false, true] && recorder.restarts == 1)
        #expect(warnings.lines == ["\(path): file was replaced or truncated; reading it from the start"])
        #expect(follow.boundary.line == 4)
    }
}
