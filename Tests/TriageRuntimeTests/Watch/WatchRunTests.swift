import Foundation
import Testing
import TriageCore
import TriageData
import TriageEngine
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

    /// Rows go through the engine in pipelined batches (one scored on the scoring thread while
    /// the one before is applied): the events equal those of the engine fed row by row, with an
    /// unknown service and a bad row (skipped) in the middle, and several batches in flight.
    @Test func pipelinedBatchesGiveTheEventsOfRowByRowProcessing() throws {
        let folder = temporaryFolder()
        let metrics = try String(contentsOfFile: packageRoot + "/datasets/simulated/metrics.csv", encoding: .utf8)
        var lines = metrics.split(separator: "\n").prefix(3 * EngineWatch.batchRows + 501).map(String.init)
        let header = lines[0].split(separator: ",").map(String.init)
        let serviceColumn = header.firstIndex(of: "service")!
        var stranger = lines[700].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        stranger[serviceColumn] = "svc-unknown"
        lines.insert(stranger.joined(separator: ","), at: 701)
        lines.insert("not,a,row", at: 1_500)
        let input = folder + "/metrics.csv"
        #expect(FileManager.default.createFile(atPath: input, contents: Data((lines.joined(separator: "\n") + "\n").utf8)))
        var configuration = WatchConfiguration(metrics: input, scores: .none)
        configuration.events = .file(folder + "/events.jsonl")
        configuration.skipBadRows = true
        var warnings: [String] = []
        let watch = try EngineWatch(bundle: packageRoot + "/models/simulated", configuration: configuration,
                                    stopRequested: { false }, warn: { warnings.append($0) })
        let summary = try watch.run()
        #expect(summary.rows == 3 * EngineWatch.batchRows + 501 && summary.skipped == 1)
        // Warnings in file order: the unknown service (line 702) before the bad row (line 1 501).
        #expect(warnings.count == 2 && warnings[0].contains(":702:") && warnings[1].contains(":1501"), "\(warnings)")

        let bundle = try ModelBundle.open(packageRoot + "/models/simulated")
        let engine = try EngineSetup(bundle: bundle, path: "bundle", database: nil, settings: RemediationEngine.Settings())
            .makeEngine(now: 0)
        let slots = ServiceMetric.names.map { header.firstIndex(of: $0)! }
        var expected: [String] = []
        for line in lines.dropFirst() where line != "not,a,row" {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let time = Int64(Timestamp.seconds(Array(fields[0].utf8))!)
            for event in try engine.process(service: fields[serviceColumn], time: time, values: slots.map { Double(fields[$0]) ?? .nan }, now: 0) {
                expected.append(event.json.serialized())
            }
        }
        let written = try String(contentsOfFile: folder + "/events.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(written.count == expected.count)
        // Recommendation events carry wall-clock times (raised_at, expires): compare the rest.
        func stable(_ line: String) -> String {
            line.replacingOccurrences(of: #""(raised_at|expires)":"[^"]*""#, with: "", options: .regularExpression)
        }
        let differing = zip(written, expected).filter { stable($0) != stable($1) }
        #expect(differing.isEmpty, "\(differing.count) differ, first: \(differing.first.map { "\($0.0)\n vs \($0.1)" } ?? "")")
    }
}
