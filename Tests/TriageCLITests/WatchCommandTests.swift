import Foundation
import Testing
import TriageData

private func folder() -> String { CLIRunner.folder() }

@discardableResult
private func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let result = try CLIRunner.run(arguments)
    return (result.status, result.stdout, result.stderr)
}

/// `count` rows of a noisy sine at 5-minute steps from `start`, with a spike at `spike`.
private func rows(_ count: Int, from first: Int = 0, spike: Int? = nil) -> String {
    var state: UInt64 = 12345
    var text = ""
    for i in first..<(first + count) {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let noise = Double(state >> 11) / Double(1 << 53) - 0.5
        var value = 50 + 10 * sin(Double(i) * 2 * .pi / 288) + noise
        if i == spike { value += 80 }
        text += "\(1_700_000_000 + 300 * i),\(value)\n"
    }
    return text
}

private func lines(_ path: String) -> [String] {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
}

@Suite(.serialized) struct WatchCommandTests {
    @Test func scoresEveryRowReproduciblyWithEvents() throws {
        let dir = folder()
        try ("timestamp,value\n" + rows(1200, spike: 1000)).write(toFile: dir + "/m.csv", atomically: true, encoding: .utf8)
        let first = try run(["watch", dir + "/m.csv", "--scores", dir + "/s1.csv", "--events", dir + "/e.jsonl"])
        #expect(first.status == 0, "\(first.stderr)")
        try run(["watch", dir + "/m.csv", "--scores", dir + "/s2.csv", "--quiet"])
        let scores = lines(dir + "/s1.csv")
        #expect(scores.count == 1201)
        #expect(scores[0] == "timestamp,anomaly_score")
        #expect(scores[1] == "1700000000,0.0")
        #expect(lines(dir + "/s2.csv") == scores)
        let values = scores.dropFirst().map { Double($0.split(separator: ",")[1])! }
        #expect(values.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(values.indices.max { values[$0] < values[$1] } == 1000)
        let event = try JSONSerialization.jsonObject(with: Data(lines(dir + "/e.jsonl").last!.utf8)) as! [String: Any]
        #expect(event["type"] as? String == "score" && event["column"] as? String == "value" && event["service"] as? String == "m")
        #expect(first.stderr.contains("1200 rows"))
    }

    @Test func badInputIsAnErrorWithLineOrASkippedRow() throws {
        let dir = folder()
        var text = "timestamp,value\n" + rows(300)
        text += "1700090000,oops\n" + "1700089700,\n" + "1700089000,3\n" + rows(10, from: 400)
        try text.write(toFile: dir + "/m.csv", atomically: true, encoding: .utf8)
        let failed = try run(["watch", dir + "/m.csv", "--scores", dir + "/s.csv"])
        #expect(failed.status == 1)
        #expect(failed.stderr.hasPrefix("error: \(dir)/m.csv:302:2: column 'value' expects a number, got \"oops\""))
        #expect(!FileManager.default.fileExists(atPath: dir + "/s.csv"))
        let skipped = try run(["watch", dir + "/m.csv", "--scores", dir + "/s.csv", "--skip-bad-rows", "--json"])
        #expect(skipped.status == 0)
        let summary = try JSONSerialization.jsonObject(with: Data(skipped.stderr.split(separator: "\n").last!.utf8)) as! [String: Any]
        #expect(summary["skipped"] as? Int == 1 && summary["gaps"] as? Int == 1)
        #expect(summary["out_of_order_timestamps"] as? Int == 1 && summary["repeated_timestamps"] as? Int == 1)
        #expect(lines(dir + "/s.csv").count == 1 + 300 + 2 + 10)

        // A 10 MB line, an empty file, a missing folder for the output.
        try ("timestamp,value\n" + rows(5) + String(repeating: "7", count: 10_000_000) + "\n" + rows(5, from: 5))
            .write(toFile: dir + "/long.csv", atomically: true, encoding: .utf8)
        let long = try run(["watch", dir + "/long.csv", "--scores", dir + "/l.csv"])
        #expect(long.status == 1 && long.stderr.contains("long.csv:7: line is longer than"))
        #expect(try run(["watch", dir + "/long.csv", "--scores", dir + "/l.csv", "--skip-bad-rows"]).status == 0)
        #expect(lines(dir + "/l.csv").count == 11)
        try "".write(toFile: dir + "/empty.csv", atomically: true, encoding: .utf8)
        #expect(try run(["watch", dir + "/empty.csv"]).status == 1)
        #expect(try run(["watch", dir + "/m.csv", "--scores", dir + "/nope/s.csv"]).status == 1)
        #expect(try run(["watch", dir + "/m.csv", "--poll-interval", "0"]).status == 64)
    }

    /// RFC 4180: a quoted field may hold a line break. The record is read whole, later lines keep
    /// their physical numbers, and a quote still open at the end of the file is reported at the
    /// record's first line.
    @Test func aQuotedLineBreakStaysInItsRecord() throws {
        let dir = folder()
        var text = "timestamp,value,note\n"
        for (i, row) in rows(300).split(separator: "\n").enumerated() {
            text += row + (i == 150 ? ",\"two\nlines, \"\"quoted\"\"\"\n" : ",x\n")
        }
        try text.write(toFile: dir + "/m.csv", atomically: true, encoding: .utf8)
        let result = try run(["watch", dir + "/m.csv", "--exclude", "note", "--scores", dir + "/s.csv", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(lines(dir + "/s.csv").count == 301)
        try (text + "1800000000,oops,x\n").write(toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
        let bad = try run(["watch", dir + "/bad.csv", "--exclude", "note", "--scores", dir + "/b.csv"])
        #expect(bad.status == 1 && bad.stderr.hasPrefix("error: \(dir)/bad.csv:303:2: column 'value'"), "\(bad.stderr)")
        try (text + "1800000000,1,\"never closed\n1800000300,2,x\n").write(toFile: dir + "/open.csv", atomically: true, encoding: .utf8)
        let open = try run(["watch", dir + "/open.csv", "--exclude", "note", "--scores", dir + "/o.csv"])
        #expect(open.status == 1, "\(open.stderr)")
        #expect(open.stderr.hasPrefix("error: \(dir)/open.csv:303:3: unterminated quoted field in column 'note'"), "\(open.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/o.csv"))
    }

    @Test func stateResumesWhereTheLastRunStopped() throws {
        let dir = folder()
        let all = rows(900, spike: 800)
        let parts = all.split(separator: "\n", omittingEmptySubsequences: true)
        try ("timestamp,value\n" + all).write(toFile: dir + "/full.csv", atomically: true, encoding: .utf8)
        try run(["watch", dir + "/full.csv", "--scores", dir + "/full-scores.csv", "--quiet"])
        try ("timestamp,value\n" + parts[..<500].joined(separator: "\n") + "\n").write(toFile: dir + "/m.csv", atomically: false, encoding: .utf8)
        #expect(try run(["watch", dir + "/m.csv", "--scores", dir + "/a.csv", "--state", dir + "/state", "--quiet"]).status == 0)
        let handle = FileHandle(forWritingAtPath: dir + "/m.csv")!
        handle.seekToEndOfFile()
        handle.write(Data((parts[500...].joined(separator: "\n") + "\n").utf8))
        handle.closeFile()
        let second = try run(["watch", dir + "/m.csv", "--scores", dir + "/b.csv", "--state", dir + "/state"])
        #expect(second.stderr.contains("resumed"))
        let full = lines(dir + "/full-scores.csv")
        #expect(lines(dir + "/a.csv") == Array(full[..<501]))
        #expect(Array(lines(dir + "/b.csv").dropFirst()) == Array(full[501...]))
        try "garbage".write(toFile: dir + "/bad-state", atomically: true, encoding: .utf8)
        #expect(try run(["watch", dir + "/m.csv", "--state", dir + "/bad-state"]).status == 1)
    }

    /// A state from before the seasonal detector (no `version` field) is refused with a message
    /// saying what to do, and nothing is written.
    @Test func olderStateLayoutIsAClearError() throws {
        struct OldState: Codable { var timeColumn = "timestamp"; var metrics = ["value"]; var offset = 0; var line = 1 }
        let dir = folder()
        try ("timestamp,value\n" + rows(50)).write(toFile: dir + "/m.csv", atomically: true, encoding: .utf8)
        try ModelFile.write(OldState(), kind: "watch-state", to: dir + "/old-state")
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/old-state"))
        let result = try run(["watch", dir + "/m.csv", "--scores", dir + "/s.csv", "--state", dir + "/old-state"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("older triage (state version 1") && result.stderr.contains("delete it"), "\(result.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/old-state")) == before)
        #expect(!FileManager.default.fileExists(atPath: dir + "/s.csv"))
    }

    /// Multi-column files: each `score` event names the column that drove the row's score and
    /// carries every column's score; the row score is the largest of them.
    @Test func eventsNameTheDrivingColumn() throws {
        let dir = folder()
        let a = rows(1200).split(separator: "\n"), b = rows(1200, spike: 1000).split(separator: "\n")
        var text = "timestamp,a,b\n"
        for (x, y) in zip(a, b) { text += "\(x),\(y.split(separator: ",")[1])\n" }
        try text.write(toFile: dir + "/svc.csv", atomically: true, encoding: .utf8)
        let result = try run(["watch", dir + "/svc.csv", "--scores", dir + "/s.csv", "--events", dir + "/e.jsonl", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let events = try lines(dir + "/e.jsonl").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(!events.isEmpty && events.allSatisfy { $0["type"] as? String == "score" && $0["service"] as? String == "svc" })
        let spike = try #require(events.first { $0["timestamp"] as? String == "\(1_700_000_000 + 300 * 1000)" })
        #expect(spike["column"] as? String == "b")
        let perColumn = try #require(spike["column_scores"] as? [String: Double])
        #expect(Set(perColumn.keys) == ["a", "b"] && perColumn["b"]! > perColumn["a"]!)
        #expect(spike["anomaly_score"] as? Double == perColumn["b"])
        let top = try #require(events.max { ($0["anomaly_score"] as! Double) < ($1["anomaly_score"] as! Double) })
        #expect(top["timestamp"] as? String == spike["timestamp"] as? String)
    }

    @Test func followSurvivesRotationAndStopsCleanlyOnSIGTERM() throws {
        let dir = folder()
        let path = dir + "/m.csv"
        try "".write(toFile: path, atomically: true, encoding: .utf8)  // empty file that fills later
        let process = Process()
        process.executableURL = CLIRunner.binary
        process.arguments = ["watch", path, "--follow", "--scores", dir + "/s.csv", "--events", dir + "/e.jsonl",
                             "--poll-interval", "0.02", "--quiet"]
        try process.run()
        func append(_ text: String) {
            let handle = FileHandle(forWritingAtPath: path)!
            handle.seekToEndOfFile()
            handle.write(Data(text.utf8))
            handle.closeFile()
            usleep(150_000)
        }
        append("timestamp,value\n" + rows(100))
        append("1700030000,5")           // partial line: must not be parsed as 5
        append("1.5\n" + rows(50, from: 101))
        try FileManager.default.moveItem(atPath: path, toPath: dir + "/m.csv.1")  // rotation
        usleep(150_000)
        try ("timestamp,value\n" + rows(30, from: 200)).write(toFile: path, atomically: false, encoding: .utf8)
        usleep(300_000)
        try FileManager.default.removeItem(atPath: path)  // disappears while followed
        usleep(150_000)
        try ("timestamp,value\n" + rows(20, from: 300)).write(toFile: path, atomically: false, encoding: .utf8)
        usleep(300_000)
        process.terminate()  // SIGTERM
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let scores = lines(dir + "/s.csv")
        #expect(scores.count == 1 + 100 + 1 + 50 + 30 + 20)
        #expect(scores.contains { $0.hasPrefix("1700030000,") })
        #expect(!lines(dir + "/e.jsonl").isEmpty)
    }
}
