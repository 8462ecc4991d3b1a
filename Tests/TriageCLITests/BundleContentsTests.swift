import Foundation
import Testing
import TriageCore
import TriageData

/// What `triage train` puts in a bundle: every model file listed with a correct SHA-256, the
/// detector thresholds in the manifest, models that `triage score` applies, same bytes whatever
/// the thread count.
@Test func trainedBundleHoldsDetectorsClassifierAndPolicyWithChecksums() throws {
    let folder = CLIRunner.folder()
    let sim = folder + "/sim"
    #expect(try CLIRunner.run(["simulate", "--output", sim, "--services", "2", "--days", "4", "--interval", "300", "--seed", "3"]).status == 0)
    let bundle = folder + "/bundle"
    let trained = try CLIRunner.run(["train", "--metrics", sim + "/metrics.csv", "--incidents", sim + "/incidents.csv",
                                  "--output", bundle, "--threads", "1"])
    #expect(trained.status == 0, "\(trained.stderr)")

    // Every file is in the manifest with its SHA-256 and size; nothing else is in the folder.
    let expected = ["autoencoder.model", "baselines.json", "features.json", "forest.model", "iforest.model", "policy.model", "symptoms.csv"]
    let names = try FileManager.default.contentsOfDirectory(atPath: bundle).sorted()
    #expect(names == (expected + ["manifest.json"]).sorted())
    let opened = try ModelBundle.open(bundle)
    let manifest = opened.manifest
    #expect(manifest.files.keys.sorted() == expected)
    for name in expected {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: bundle + "/" + name)))
        #expect(manifest.files[name]!.sha256 == ModelFile.sha256Hex(bytes) && manifest.files[name]!.bytes == bytes.count)
    }
    #expect(manifest.models["iforest"] == "iforest.model" && manifest.models["autoencoder"] == "autoencoder.model")
    #expect(manifest.models["action_classifier"] == "forest.model" && manifest.models["features"] == "features.json")
    #expect(manifest.detectorFeatures == ServiceFeatureExtractor.featureNames)

    // Thresholds in the manifest are the models' own.
    let iforest = try #require(try opened.model(SavedModel<IsolationForest>.self, role: "iforest", kind: "iforest"))
    let autoencoder = try #require(try opened.model(SavedModel<Autoencoder>.self, role: "autoencoder", kind: "autoencoder"))
    #expect(manifest.thresholds["detector.iforest"] == iforest.model.threshold)
    #expect(manifest.thresholds["detector.autoencoder"] == autoencoder.model.threshold)
    #expect(iforest.features == ServiceFeatureExtractor.featureNames && autoencoder.features == iforest.features)
    let rows = try #require(manifest.training["detector_rows"])
    #expect(rows > 0 && Double(iforest.training.rows) == rows)
    let oob = try #require(manifest.training["action_classifier_oob_accuracy"])
    #expect(oob > 0.3 && oob <= 1)

    // A feature CSV made with the library from the bundle's baselines scores with both detectors;
    // a row far from the baseline is flagged by both.
    let extractor = try #require(try opened.json(ServiceFeatureExtractor.self, role: "features"))
    let baseline = try #require(try opened.json(BaselineSet.self, role: "baselines")?.baseline("svc-01"))
    var csv = ServiceFeatureExtractor.featureNames.joined(separator: ",") + "\n"
    // A dependency outage at its worst: idle CPU, no traffic, timeouts, errors, no heartbeats.
    var outlier = baseline.median
    outlier[ServiceMetric.cpu.rawValue] *= 0.1
    outlier[ServiceMetric.memory.rawValue] *= 1.5
    outlier[ServiceMetric.latency.rawValue] *= 50
    outlier[ServiceMetric.errorRate.rawValue] = 0.8
    outlier[ServiceMetric.requestRate.rawValue] *= 0.05
    outlier[ServiceMetric.heartbeatAge.rawValue] = 600
    for values in [baseline.median, outlier] {
        csv += extractor.row(values, baseline: baseline).map { "\($0)" }.joined(separator: ",") + "\n"
    }
    try csv.write(toFile: folder + "/features.csv", atomically: false, encoding: .utf8)
    var cliScores = [String: [Double]]()
    for model in ["iforest.model", "autoencoder.model"] {
        let scored = try CLIRunner.run(["score", bundle + "/" + model, folder + "/features.csv"])
        #expect(scored.status == 0, "\(scored.stderr)")
        let lines = scored.stdout.split(separator: "\n")
        #expect(lines.count == 3 && lines[0].hasPrefix("score,anomaly"))
        #expect(lines[1].split(separator: ",")[1] == "0" && lines[2].split(separator: ",")[1] == "1", "\(model): \(scored.stdout)")
        cliScores[model] = lines[1...].map { Double($0.split(separator: ",")[0])! }
    }
    // The online entry point (BundleDetectors, row by row from raw metrics) gives the same scores:
    // the isolation forest to the bit; the autoencoder to float rounding, because OpenBLAS may
    // take another kernel path for a 1-row product than for the CLI's 2-row one and add in
    // another order (its Prescott kernels do; SkylakeX ones happen to agree to the bit).
    let detectors = try #require(try BundleDetectors(opened))
    for (k, values) in [baseline.median, outlier].enumerated() {
        let row = try #require(try detectors.score(service: "svc-01", values: values))
        #expect(row.isolationForest?.score == cliScores["iforest.model"]![k] && row.isolationForest?.anomaly == (k == 1))
        let online = try #require(row.autoencoder), batch = cliScores["autoencoder.model"]![k]
        #expect(abs(online.score - batch) <= 1e-5 * max(abs(batch), 1e-3), "online \(online.score), batch \(batch)")
        #expect(online.anomaly == (k == 1))
    }
    #expect(try detectors.score(service: "svc-99", values: baseline.median) == nil)
    // `triage features` turns raw metrics into the same rows, in input order, for `score`.
    let features = try CLIRunner.run(["features", "--model", bundle, sim + "/metrics.csv", "--output", folder + "/all.csv"])
    #expect(features.status == 0, "\(features.stderr)")
    let featureLines = try String(contentsOfFile: folder + "/all.csv", encoding: .utf8).split(separator: "\n")
    let metricLines = try String(contentsOfFile: sim + "/metrics.csv", encoding: .utf8).split(separator: "\n")
    #expect(featureLines.count == metricLines.count)
    #expect(featureLines[0] == Substring((["timestamp", "service"] + ServiceFeatureExtractor.featureNames).joined(separator: ",")))
    let first = metricLines[1].split(separator: ",")
    let values = first[2...].map { Double($0)! }
    let expectedRow = extractor.row(values, baseline: try #require(try opened.json(BaselineSet.self, role: "baselines")?.baseline(String(first[1]))))
    #expect(featureLines[1].split(separator: ",")[2...].map { Float($0)! } == expectedRow)
    let scoredAll = try CLIRunner.run(["score", bundle + "/iforest.model", folder + "/all.csv"])
    #expect(scoredAll.status == 0 && scoredAll.stdout.split(separator: "\n").count == metricLines.count)
    try "timestamp,service,cpu,memory,latency_p99_ms,error_rate,request_rate,replicas,heartbeat_age_s\n2026-01-05T00:00:00Z,svc-09,1,1,1,1,1,1,1\n"
        .write(toFile: folder + "/unknown.csv", atomically: false, encoding: .utf8)
    let unknown = try CLIRunner.run(["features", "--model", bundle, folder + "/unknown.csv", "--output", folder + "/u.csv"])
    #expect(unknown.status == 1 && unknown.stderr.contains("unknown.csv:2:") && unknown.stderr.contains("svc-09"))
    #expect(!FileManager.default.fileExists(atPath: folder + "/u.csv"))

    // The action classifier applies to the symptom table it learned from.
    let predicted = try CLIRunner.run(["score", bundle + "/forest.model", bundle + "/symptoms.csv"])
    #expect(predicted.status == 0, "\(predicted.stderr)")
    #expect(predicted.stdout.hasPrefix("prediction,p_"))

    // Same bytes with two threads.
    let again = try CLIRunner.run(["train", "--metrics", sim + "/metrics.csv", "--incidents", sim + "/incidents.csv",
                                "--output", folder + "/again", "--threads", "2"])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(try CLIRunner.sameFiles(bundle, folder + "/again"))
}
