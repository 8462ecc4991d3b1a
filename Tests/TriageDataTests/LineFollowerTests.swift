import Foundation
import Testing
import TriageCore
@testable import TriageData

private func append(_ text: String, to path: String) {
    let handle = FileHandle(forWritingAtPath: path)!
    handle.seekToEndOfFile()
    handle.write(Data(text.utf8))
    handle.closeFile()
}

/// Lines returned until the follower has nothing more now.
private func drain(_ follower: inout LineFollower) throws -> [String] {
    var lines = [String]()
    while true {
        switch try follower.next() {
        case .line(let range, _): lines.append(String(decoding: follower.buffer[range], as: UTF8.self))
        case .tooLong(let line): lines.append("<too long \(line)>")
        case .waiting, .end: return lines
        }
    }
}

@Suite struct LineFollowerTests {
    @Test func partialLastLineWaitsForItsNewlineWhenFollowing() throws {
        let folder = temporaryFolder()
        let path = folder + "/m.csv"
        try "a,b\n1,2\n3,".write(toFile: path, atomically: true, encoding: .utf8)
        var follower = try LineFollower(path: path, follow: true)
        #expect(try drain(&follower) == ["a,b", "1,2"])
        append("4\r\n", to: path)
        let v1 = follower.poll()
        #expect(v1 == .none)
        #expect(try drain(&follower) == ["3,4"])
    }

    @Test func completeFileReturnsUnterminatedLastLine() throws {
        let path = temporaryFolder() + "/m.csv"
        try "a\n1\n2".write(toFile: path, atomically: true, encoding: .utf8)
        var follower = try LineFollower(path: path, follow: false)
        #expect(try drain(&follower) == ["a", "1", "2"])
        let v2 = try follower.next()
        #expect(v2 == .end)
    }

    @Test func overlongLineIsSkippedWithBoundedMemory() throws {
        let path = temporaryFolder() + "/m.csv"
        let long = String(repeating: "9", count: 3_000_000)
        try "a\n\(long)\n5\n".write(toFile: path, atomically: true, encoding: .utf8)
        var follower = try LineFollower(path: path, follow: false, maxLineBytes: 1024)
        #expect(try drain(&follower) == ["a", "<too long 2>", "5"])
        let capacity = follower.buffer.capacity
        #expect(capacity < 1 << 20)
    }

    @Test func truncationAndRotationRestartAtTheFirstLine() throws {
        let folder = temporaryFolder()
        let path = folder + "/m.csv"
        try "h\n1\n2\n".write(toFile: path, atomically: true, encoding: .utf8)
        var follower = try LineFollower(path: path, follow: true)
        #expect(try drain(&follower) == ["h", "1", "2"])
        // Truncate in place (same inode), then write less than before.
        let handle = FileHandle(forWritingAtPath: path)!
        handle.truncateFile(atOffset: 0)
        handle.write(Data("h\n".utf8))
        handle.closeFile()
        let v3 = follower.poll()
        #expect(v3 == .truncated)
        #expect(try drain(&follower) == ["h"])
        // Rotate: move away, create a new file under the same name.
        try FileManager.default.moveItem(atPath: path, toPath: folder + "/m.csv.1")
        try "h\n7\n".write(toFile: path, atomically: false, encoding: .utf8)
        let v4 = follower.poll()
        #expect(v4 == .rotated)
        #expect(try drain(&follower) == ["h", "7"])
    }

    @Test func disappearingAndLateFilesAreWaitedFor() throws {
        let folder = temporaryFolder()
        let path = folder + "/late.csv"
        #expect(throws: DataError.self) { _ = try LineFollower(path: path, follow: false) }
        var follower = try LineFollower(path: path, follow: true)
        let v5 = try follower.next()
        #expect(v5 == .waiting)
        try "".write(toFile: path, atomically: true, encoding: .utf8)
        let v6 = follower.poll()
        #expect(v6 == .reappeared)
        #expect(try drain(&follower) == [])
        append("h\n1\n", to: path)
        _ = follower.poll()
        #expect(try drain(&follower) == ["h", "1"])
        try FileManager.default.removeItem(atPath: path)
        let v7 = follower.poll()
        #expect(v7 == .disappeared)
        let v8 = follower.poll()
        #expect(v8 == .none)
    }

    @Test func resumeContinuesAfterCheckpoint() throws {
        let path = temporaryFolder() + "/m.csv"
        try "h\n1\n2\n3\n".write(toFile: path, atomically: true, encoding: .utf8)
        var first = try LineFollower(path: path, follow: false)
        _ = try first.next(); _ = try first.next()
        let offset = first.consumedOffset, line = first.consumedLine, id = first.identity!
        var second = try LineFollower(path: path, follow: false)
        let v9 = second.resume(device: id.device, inode: id.inode, offset: offset, line: line)
        #expect(v9)
        #expect(try drain(&second) == ["2", "3"])
        var third = try LineFollower(path: path, follow: false)
        let resumedOther = third.resume(device: id.device, inode: id.inode &+ 1, offset: offset, line: line)
        #expect(!resumedOther)
    }
}

@Suite struct MetricsRowParserTests {
    func parser(_ header: String, excluded: Set<String> = []) throws -> MetricsRowParser {
        let bytes = Array(header.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(DataError) in
            try MetricsRowParser(file: "m.csv", headerLine: buffer, lineNumber: 1, timeColumn: "timestamp", excluded: excluded)
        }
    }

    func parse(_ parser: MetricsRowParser, _ line: String, at number: Int = 2) throws -> MetricsRowParser.Row {
        let bytes = Array(line.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(DataError) in try parser.parse(buffer, lineNumber: number) }
    }

    @Test func timestampFormats() {
        let expected = 1_767_620_700.0 // 2026-01-05T13:45:00Z
        #expect(Timestamp.seconds(Array("2026-01-05T13:45:00Z".utf8)) == expected)
        #expect(Timestamp.seconds(Array("2026-01-05 13:45:00".utf8)) == expected)
        #expect(Timestamp.seconds(Array("2026-01-05T14:45:00+01:00".utf8)) == expected)
        #expect(Timestamp.seconds(Array("2026-01-05 13:45:00.500000".utf8)) == expected + 0.5)
        #expect(Timestamp.seconds(Array("1767620700".utf8)) == expected)
        #expect(Timestamp.seconds(Array("2026-02-30 00:00:00".utf8)) == nil)
        #expect(Timestamp.seconds(Array("yesterday".utf8)) == nil)
        #expect(Timestamp.seconds(Array("".utf8)) == nil)
    }

    @Test func parsesValuesQuotesAndMissing() throws {
        let p = try parser("\u{FEFF}timestamp,cpu,\"mem\",label", excluded: ["label"])
        #expect(p.metricNames == ["cpu", "mem"])
        let row = try parse(p, "2026-01-05 13:45:00,\"1.5\",NA,1")
        #expect(row.values[0] == 1.5)
        #expect(row.values[1].isNaN)
        #expect(row.timestampText == "2026-01-05 13:45:00")
    }

    @Test func timestampTextIsTrimmedAsTheStringWouldBe() throws {
        let p = try parser("timestamp,value")
        let row = try parse(p, " \t2026-01-05 13:45:00 \t,\" 2.5\"")
        #expect(row.timestampText == "2026-01-05 13:45:00")
        #expect(row.values == [2.5])
        // The byte trim (ASCII) and the Character trim (anything else) agree.
        for text in ["  a b\t", "\t\t", "", "x", " é ", "\u{301} a ", " \u{301}a", "a \u{301}"] {
            #expect(MetricsRowParser.blankTrimmedText(Array(text.utf8)) == text.trimmingBlanks(), "\(text.debugDescription)")
        }
    }

    @Test func badRowsNameLineColumnAndValue() throws {
        let p = try parser("timestamp,value")
        let text = #expect(throws: DataError.self) { try parse(p, "2026-01-05 13:45:00,oops", at: 7) }
        #expect(text?.description == "m.csv:7:2: column 'value' expects a number, got \"oops\"")
        let ragged = #expect(throws: DataError.self) { try parse(p, "2026-01-05 13:45:00,1,2", at: 3) }
        #expect(ragged?.line == 3)
        let time = #expect(throws: DataError.self) { try parse(p, "soon,1", at: 4) }
        #expect(time?.column == 1)
        #expect(throws: DataError.self) { try parse(p, "\"2026-01-05 13:45:00,1", at: 5) }
        #expect(throws: DataError.self) { try parser("time,value") }
        #expect(throws: DataError.self) { try parser("timestamp") }
        #expect(throws: DataError.self) { try parser("timestamp,a,a") }
    }
}

/// Stop requests and over-long lines on inputs that never end or never send anything.
@Suite struct LineFollowerStreamTests {
    /// True from its `after`-th question on: a stop request that arrives while waiting.
    final class StopAfter: @unchecked Sendable {
        var asked = 0
        let after: Int
        init(after: Int) { self.after = after }
        func callAsFunction() -> Bool {
            asked += 1
            return asked >= after
        }
    }

    @Test func aFIFOWithoutWriterEndsOnAStopRequest() throws {
        let path = temporaryFolder() + "/pipe"
        #expect(mkfifo(path, 0o600) == 0)
        for follow in [false, true] {
            let stop = StopAfter(after: 2)
            // Opening must not wait for a writer, and reading must not wait past the stop.
            var follower = try LineFollower(path: path, follow: follow, stopRequested: { stop() })
            let event = try follower.next()
            #expect(event == .end)
            #expect(stop.asked >= 2)
        }
    }

    @Test func aFIFOIsReadToItsEnd() throws {
        let path = temporaryFolder() + "/pipe"
        #expect(mkfifo(path, 0o600) == 0)
        var follower = try LineFollower(path: path, follow: false)
        let writer = open(path, O_WRONLY | O_CLOEXEC)
        #expect(writer >= 0)
        let text = Array("h\n1\n2".utf8)
        _ = text.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
        close(writer)
        #expect(try drain(&follower) == ["h", "1", "2"])
    }

    @Test func aLineWithoutEndIsReportedOnceItPassesTheLimit() throws {
        // /dev/zero never sends a newline: the line is reported as soon as it passes the limit,
        // and a stop request then ends the skipping.
        let stop = StopAfter(after: 50)
        var follower = try LineFollower(path: "/dev/zero", follow: false, maxLineBytes: 1024, stopRequested: { stop() })
        let first = try follower.next()
        #expect(first == .tooLong(line: 1))
        let second = try follower.next()
        #expect(second == .end)
        #expect(follower.buffer.capacity < 1 << 20)
    }

    @Test func aHugeSingleLineFileIsReportedAtTheLimit() throws {
        let path = temporaryFolder() + "/one-line.csv"
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        #expect(fd >= 0 && ftruncate(fd, 2_000_000_000) == 0) // sparse: 2 GB of NUL bytes, no newline
        close(fd)
        var follower = try LineFollower(path: path, follow: false, maxLineBytes: 1 << 20)
        let event = try follower.next()
        #expect(event == .tooLong(line: 1))
        #expect(follower.consumedOffset < 4 << 20)
    }
}
