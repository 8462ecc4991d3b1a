import Foundation
import Testing
import TriageCore
@testable import TriageData

private func sampleBundle() throws -> ModelBundle.Builder {
    var builder = ModelBundle.Builder(manifest: BundleManifest(
        created: "2026-01-05T00:00:00Z", triageVersion: "test", seed: 0, features: ["cpu"], thresholds: ["x": 1],
        services: ["svc-01"], interval: 60, training: ["rows": 2], notes: []))
    try builder.addJSON(BaselineSet(interval: 60, services: []), role: "baselines", file: "baselines.json")
    let policy = try QLearning(prior: [-1, -2, -3, -4, -5])
    try builder.addModel(policy, role: "policy", file: "policy.model", kind: "q-table")
    return builder
}

@Test func bundlesRoundTripWithChecksums() throws {
    let folder = temporaryFolder()
    let path = folder + "/bundle"
    try sampleBundle().write(to: path)
    let bundle = try ModelBundle.open(path + "/")
    #expect(bundle.manifest.models == ["baselines": "baselines.json", "policy": "policy.model"])
    #expect(bundle.manifest.files["policy.model"]!.kind == "q-table")
    #expect(try bundle.json(BaselineSet.self, role: "baselines")?.interval == 60)
    #expect(try bundle.model(QLearning.self, role: "policy", kind: "q-table")?.prior == [-1, -2, -3, -4, -5])
    #expect(try bundle.model(QLearning.self, role: "iforest", kind: "iforest") == nil)
    // Same content, same bytes.
    let again = folder + "/again"
    try sampleBundle().write(to: again)
    for name in ["manifest.json", "baselines.json", "policy.model"] {
        #expect(FileManager.default.contents(atPath: path + "/" + name) == FileManager.default.contents(atPath: again + "/" + name))
    }
    // No temporary folders are left behind.
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["again", "bundle"])
}

@Test func existingOutputsAndCorruptedBundlesAreRefused() throws {
    let folder = temporaryFolder()
    let path = folder + "/bundle"
    try sampleBundle().write(to: path)
    #expect(throws: DataError.self) { try sampleBundle().write(to: path) }
    #expect(throws: DataError.self) { try AtomicFolder.validateDestination(folder + "/no/such/child") }
    var bytes = try #require(FileManager.default.contents(atPath: path + "/baselines.json"))
    bytes[3] ^= 1
    try bytes.write(to: URL(fileURLWithPath: path + "/baselines.json"))
    do {
        _ = try ModelBundle.open(path)
        Issue.record("a corrupted bundle opened")
    } catch {
        #expect(error.description.contains("SHA-256"))
    }
    #expect(throws: DataError.self) { _ = try ModelBundle.open(folder + "/missing") }
    #expect(throws: DataError.self) { _ = try ModelBundle.open(path + "/manifest.json") }
}

@Test func baselinesWithMissingMetricsRoundTrip() throws {
    let nan = [Double](repeating: .nan, count: 2)
    let series = ServiceSeries(times: [0, 60], values: [[1, 2], nan, nan, nan, nan, nan, nan])
    var builder = ModelBundle.Builder(manifest: BundleManifest(
        created: "2026-01-05T00:00:00Z", triageVersion: "test", seed: 0, features: ["cpu"], thresholds: [:],
        services: ["a"], interval: 60, training: [:], notes: []))
    try builder.addJSON(BaselineSet(interval: 60, services: [ServiceBaseline(service: "a", series: series)]),
                        role: "baselines", file: "baselines.json")
    let path = temporaryFolder() + "/bundle"
    try builder.write(to: path)
    let read = try #require(try ModelBundle.open(path).json(BaselineSet.self, role: "baselines"))
    #expect(read.services[0].median[0] == 1.5 && read.services[0].median[1].isNaN)
}
