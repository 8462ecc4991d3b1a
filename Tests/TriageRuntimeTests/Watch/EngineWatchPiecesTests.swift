import Foundation
import Testing
import TriageCore
@testable import TriageData
import TriageEngine
@testable import TriageRuntime

private func columns(_ header: String) throws(DataError) -> ServiceMetricColumns {
    let bytes = Array(header.utf8)
    return try bytes.withUnsafeBufferPointer { buffer throws(DataError) in
        try ServiceMetricColumns(file: "m.csv", headerLine: buffer, lineNumber: 1, timeColumn: "timestamp",
                                 serviceColumn: "service", excluded: ["label"])
    }
}

@Suite struct ServiceMetricColumnsTests {
    @Test func eachMetricIsFoundByNameInAnyOrder() throws {
        let names = ServiceMetric.names
        let header = "service,extra," + names.reversed().joined(separator: ",") + ",timestamp,label"
        let mapped = try columns(header)
        #expect(mapped.parser.metricNames == ["extra"] + names.reversed())
        #expect(mapped.slots == ServiceMetric.allCases.map { names.count - $0.rawValue })
        let row = MetricsRowParser.Row(timestampText: "0", time: 0, values: [99] + (0..<names.count).reversed().map(Double.init))
        #expect(mapped.values(of: row) == (0..<names.count).map(Double.init))
    }

    @Test func aMissingMetricIsRefusedAtTheHeaderNamingIt() {
        let header = "timestamp,service," + ServiceMetric.names.filter { $0 != "memory" && $0 != "replicas" }.joined(separator: ",")
        #expect {
            try columns(header)
        } throws: { error in
            (error as? DataError)?.description == "m.csv:1: the bundle's detectors need the metric columns 'memory', "
                + "'replicas', not in the header (expected \(ServiceMetric.names.joined(separator: ", ")))"
        }
    }
}

@Suite struct ReportedScoreTests {
    @Test func theForestScoreWinsThenTheAutoencoderMappedToHalfAtItsThresholdThenZero() throws {
        let detectors = try #require(try BundleDetectors(ModelBundle.open(shippedBundle)))
        let threshold = try #require(detectors.autoencoder?.threshold)
        let both = BundleDetectors.RowScore(features: [], isolationForest: (0.7, true), autoencoder: (threshold * 3, true))
        #expect(detectors.reportedScore(both) == 0.7)
        let autoencoderOnly = BundleDetectors.RowScore(features: [], autoencoder: (threshold, true))
        #expect(detectors.reportedScore(autoencoderOnly) == 0.5)
        let higher = BundleDetectors.RowScore(features: [], autoencoder: (threshold * 3, true))
        #expect(detectors.reportedScore(higher) == 0.75)
        #expect(detectors.reportedScore(BundleDetectors.RowScore(features: [])) == 0)
    }
}

@Suite struct CheckpointCadenceTests {
    @Test func midRunCommitsOnlyWhenFollowingOrWithoutOutputs() {
        #expect(CheckpointCadence.checkpointsMidRun(following: true, hasOutputs: true))
        #expect(CheckpointCadence.checkpointsMidRun(following: false, hasOutputs: false))
        #expect(!CheckpointCadence.checkpointsMidRun(following: false, hasOutputs: true))
    }

    @Test func aCheckpointNeedsAThousandRowsAndASecond() {
        let cadence = CheckpointCadence()
        #expect(cadence.isDue(rowsSinceCommit: 1_000, secondsSinceCommit: 1))
        #expect(!cadence.isDue(rowsSinceCommit: 999, secondsSinceCommit: 60))
        #expect(!cadence.isDue(rowsSinceCommit: 100_000, secondsSinceCommit: 0.999))
    }
}

@Suite struct WatchSummaryTests {
    @Test func theModelFreeSummaryRendersAsTextAndSortedJSON() {
        var summary = WatchSummary()
        summary.rows = 5
        summary.scored = 3
        summary.warmup = 2
        summary.restarts = 1
        summary.resumed = true
        summary.maxScore = 0.25
        #expect(summary.text(stateName: "--state") == "watch: 5 rows (2 in warm-up, 3 scored), 0 skipped, 0 with gaps, "
                + "0 out-of-order and 0 repeated timestamps, 1 file restarts, resumed from --state, max score 0.25")
        #expect(summary.jsonText == "{\"file_restarts\":1,\"gaps\":0,\"max_score\":0.25,\"out_of_order_timestamps\":0,"
                + "\"repeated_timestamps\":0,\"resumed\":true,\"rows\":5,\"scored\":3,\"skipped\":0,\"warmup\":2}")
    }

    @Test func theEngineSummaryRendersAsTextAndJSONAndDecodesWhatItEncodes() throws {
        var summary = EngineWatchSummary()
        summary.rows = 10
        summary.services = 2
        summary.stateChanges = 1
        summary.recommendations = 1
        summary.skipped = 2
        summary.notHealthy = ["b"]
        summary.unknownServices = ["x"]
        #expect(summary.text(metrics: "m.csv", database: "q.db")
                == "m.csv: 10 rows of 2 services, 1 state changes, 1 recommendations raised into q.db, 2 rows skipped; "
                + "not healthy now: b")
        #expect(summary.json.serialized() == "{\"not_healthy\":[\"b\"],\"recommendations\":1,\"resumed\":false,\"rows\":10,"
                + "\"services\":2,\"skipped\":2,\"state_changes\":1,\"unknown_services\":[\"x\"]}")
        let decoded = try JSONDecoder().decode(EngineWatchSummary.self, from: Data(summary.json.serialized().utf8))
        #expect(decoded == summary)
    }
}

@Suite struct WatchStateTests {
    @Test func aStateOfAnotherVersionIsRefusedWithWhatToDo() throws {
        let path = temporaryFolder() + "/state"
        var state = WatchState(timeColumn: "timestamp", metrics: ["v"], device: 1, inode: 2, offset: 3, line: 4, lastTime: nil,
                               detector: try MetricStreamDetector(columns: 1, seed: 0))
        try state.write(to: path)
        #expect(try WatchState.read(from: path).offset == 3)
        state.version = WatchState.currentVersion + 1
        try state.write(to: path)
        #expect {
            try WatchState.read(from: path)
        } throws: { error in
            (error as? DataError)?.description == "\(path): state file was written by a newer triage (state version "
                + "\(WatchState.currentVersion + 1), this one reads \(WatchState.currentVersion)); delete it to start learning afresh"
        }
    }

    /// A version-4 state (before the forest's score was averaged) lacks the averaging's fields: it
    /// gets the version message, not a decoding error about a missing key.
    @Test func aStateWrittenBeforeForestAveragingIsRefusedByItsVersion() throws {
        let path = temporaryFolder() + "/state"
        var state = WatchState(timeColumn: "timestamp", metrics: ["v"], device: 1, inode: 2, offset: 3, line: 4, lastTime: nil,
                               detector: try MetricStreamDetector(columns: 1, seed: 0))
        state.version = 4
        try state.write(to: path)
        #expect {
            try WatchState.read(from: path)
        } throws: { error in
            (error as? DataError)?.description == "\(path): state file was written by an older triage (state version 4, "
                + "this one reads 5); delete it to start learning afresh"
        }
    }
}
