import Foundation
import Testing
import TriageCore
import TriageData
@testable import TriageRuntime

/// A metrics file of `services` services × `rows` rows, 600 s apart, with mild deterministic wiggle.
private func metricsFile(services: [String], rows: Int) throws -> String {
    var text = "timestamp,service,cpu,memory,latency_p99_ms,error_rate,request_rate,replicas,heartbeat_age_s\n"
    for i in 0..<rows {
        for (k, name) in services.enumerated() {
            let w = Double((i * 7 + k * 3) % 11) - 5
            text += "\(1_767_571_200 + i * 600),\(name),\(40 + w),\(55 + w / 2),\(80 + 2 * w),\(0.004 + w / 5000),\(300 + 5 * w),2,\(7 + w / 2)\n"
        }
    }
    let path = temporaryFolder() + "/metrics.csv"
    try text.write(toFile: path, atomically: false, encoding: .utf8)
    return path
}

private func record(_ service: String, startRow: Int, endRow: Int, action: RemediationAction, line: Int) -> IncidentRecord {
    IncidentRecord(id: "INC-\(line)-1", service: service, start: Int64(1_767_571_200 + startRow * 600),
                   end: Int64(1_767_571_200 + endRow * 600), fault: "memory_leak", action: action, succeeded: true,
                   seconds: Double((endRow - startRow) * 600), line: line)
}

@Test func detectorRowsLeaveOutIncidentsAndTheirLeadTime() throws {
    let history = try MetricsHistory.read(try metricsFile(services: ["a", "b"], rows: 40))
    var baselines = [String: ServiceBaseline]()
    for name in history.services { baselines[name] = ServiceBaseline(service: name, series: history.series[name]!) }
    // Incident on a from row 20 to row 22; the hour before (6 rows at 600 s) goes too: rows 14…22.
    let records = [record("a", startRow: 20, endRow: 22, action: .restart, line: 2)]
    let (matrix, excluded) = BundleTraining.detectorTrainingRows(history: history, baselines: baselines, records: records,
                                                                 extractor: ServiceFeatureExtractor())
    #expect(excluded == 9 && matrix.rows == 80 - 9 && matrix.columns == ServiceFeatureExtractor.featureCount)
    // Service b's rows are untouched and come after a's, in time order.
    let b = ServiceFeatureExtractor().matrix(history.series["b"]!, baseline: baselines["b"]!)
    #expect(Array(matrix.storage.suffix(b.storage.count)) == b.storage)

    // One fixing action only: no classifier (a note says why), detectors and policy still trained.
    let bundle = try BundleTraining.train(history: history, records: records, seed: 0)
    #expect(bundle.manifest.models["iforest"] == "iforest.model" && bundle.manifest.models["autoencoder"] == "autoencoder.model")
    #expect(bundle.manifest.models["action_classifier"] == nil && bundle.manifest.models["policy"] == "policy.model")
    #expect(bundle.manifest.notes.contains { $0.contains("without an action classifier") })
    #expect(bundle.manifest.training["detector_rows"] == 71 && bundle.manifest.thresholds["detector.iforest"] != nil)
}

@Test func tooFewRowsTrainNoDetectorsAndSaySo() throws {
    let history = try MetricsHistory.read(try metricsFile(services: ["a", "b"], rows: 10))
    let bundle = try BundleTraining.train(history: history, records: [], seed: 0)
    #expect(bundle.manifest.models["iforest"] == nil && bundle.manifest.models["autoencoder"] == nil)
    #expect(bundle.manifest.models["features"] == "features.json" && bundle.manifest.models["baselines"] == "baselines.json")
    #expect(bundle.manifest.notes.contains { $0.contains("trained without detectors") })
    #expect(bundle.manifest.notes.contains { $0.contains("no incidents") })
    #expect(bundle.manifest.thresholds["detector.iforest"] == nil)
}

@Test func actionClassifierLearnsTheFixingActionDeterministically() throws {
    let history = try MetricsHistory.read(try metricsFile(services: ["a", "b"], rows: 200))
    var records = [IncidentRecord]()
    for k in 0..<8 {
        records.append(record(k % 2 == 0 ? "a" : "b", startRow: 20 + k * 20, endRow: 21 + k * 20,
                              action: k % 3 == 0 ? .rollback : .restart, line: 2 + k))
    }
    let first = try BundleTraining.train(history: history, records: records, seed: 5, threads: 1)
    let second = try BundleTraining.train(history: history, records: records, seed: 5, threads: 2)
    #expect(first.manifest.models["action_classifier"] == "forest.model")
    #expect(first.manifest.training["action_classifier_incidents"] == 8)
    let firstFiles = try first.files(), secondFiles = try second.files()
    #expect(firstFiles.map(\.name) == secondFiles.map(\.name))
    for (x, y) in zip(firstFiles, secondFiles) { #expect(x.bytes == y.bytes, "\(x.name) differs between thread counts") }
    let path = temporaryFolder() + "/forest.model"
    try Data(firstFiles.first { $0.name == "forest.model" }!.bytes).write(to: URL(fileURLWithPath: path))
    let forest = try ModelFile.read(SavedModel<RandomForest>.self, kind: "forest", from: path)
    #expect(forest.classes == ["restart", "rollback"] && forest.target == "fixed_by")
    #expect(forest.features == SymptomExtractor.featureNames)
}
