import Foundation
import Testing
import TriageData
@testable import TriageRuntime

private final class Lines { var all: [String] = [] }

@Suite struct WatchRunTests {
    @Test func theModelFreeWatchScoresEveryRowWarnsThroughTheSinkAndCommitsItsOutputs() throws {
        let folder = temporaryFolder()
        let rows = (0..<300).map { "\($0 * 60),\(Double($0 % 7) + ($0 == 250 ? 90 : 0))" }
        let input = folder + "/m.csv"
        let text = "timestamp,value\n" + rows[..<10].joined(separator: "\n") + "\n5," + String(repeating: "1", count: 80)
            + "\n" + rows[10...].joined(separator: "\n") + "\n"
        #expect(FileManager.default.createFile(atPath: input, contents: Data(text.utf8)))
        var configuration = WatchConfiguration(metrics: input, scores: .file(folder + "/scores.csv"))
        configuration.events = .file(folder + "/events.jsonl")
        configuration.maxLineBytes = 64
        configuration.skipBadRows = true
        let warnings = Lines()
        let summary = try DetectorWatch(configuration: configuration, stopRequested: { false },
                                        warn: { warnings.all.append($0) }).run()
        #expect(summary.rows == 300 && summary.skipped == 1 && summary.scored + summary.warmup == 300)
        #expect(warnings.all == ["warning: \(input):12: line is longer than 64 bytes (max line bytes) (row skipped)"])
        let scores = try String(contentsOfFile: folder + "/scores.csv", encoding: .utf8).split(separator: "\n")
        #expect(scores.count == 301 && scores[0] == "timestamp,anomaly_score")
        let events = try String(contentsOfFile: folder + "/events.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(events.count == summary.scored && events.allSatisfy { $0.contains("\"service\":\"m\",\"type\":\"score\"") })
    }

    @Test func theEngineWatchReportsTheReportedScoreOfEachRowAndCountsInItsSummary() throws {
        let folder = temporaryFolder()
        let metrics = try String(contentsOfFile: packageRoot + "/datasets/simulated/metrics.csv", encoding: .utf8)
        let input = folder + "/metrics.csv"
        #expect(FileManager.default.createFile(atPath: input,
                                               contents: Data((metrics.split(separator: "\n").prefix(401).joined(separator: "\n") + "\n").utf8)))
        var configuration = WatchConfiguration(metrics: input, scores: .file(folder + "/scores.csv"))
        configuration.database = folder + "/queue.db"
        let watch = try EngineWatch(bundle: packageRoot + "/models/simulated", configuration: configuration,
                                    stopRequested: { false }, warn: { Issue.record("unexpected warning \($0)") })
        let summary = try watch.run()
        #expect(summary.rows == 400 && summary.skipped == 0 && summary.services > 0 && !summary.resumed)
        let scores = try String(contentsOfFile: folder + "/scores.csv", encoding: .utf8).split(separator: "\n")
        #expect(scores.first == "timestamp,anomaly_score,service,state" && scores.count > 1)
        #expect(scores.dropFirst().allSatisfy { line in
            let score = Double(line.split(separator: ",")[1]) ?? -1
            return (0...1).contains(score)
        })

        // The same run again resumes after the last committed row: nothing new to read.
        let again = try EngineWatch(bundle: packageRoot + "/models/simulated", configuration: configuration,
                                    stopRequested: { false }, warn: { _ in }).run()
        #expect(again.resumed && again.rows == 0)
    }
}
