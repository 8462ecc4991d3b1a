import Foundation
import Testing
import TriageCore
@testable import TriageData
#if canImport(Glibc)
import Glibc
#endif

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

/// Rewrites the bundle's manifest.json through `edit` (a JSON object), keeping it canonical.
private func editManifest(_ bundle: String, _ edit: (inout [String: Any]) -> Void) throws {
    let url = URL(fileURLWithPath: bundle + "/manifest.json")
    var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    edit(&object)
    try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
}

private func openError(_ path: String) -> DataError? {
    #expect(throws: DataError.self) { _ = try ModelBundle.open(path) }
}

@Suite struct BundleIntegrityTests {
    @Test func aRoleFileMissingFromTheChecksumListIsRefused() throws {
        let path = temporaryFolder() + "/bundle"
        try sampleBundle().write(to: path)
        try editManifest(path) { manifest in
            var files = manifest["files"] as! [String: Any]
            files["policy.model"] = nil
            manifest["files"] = files
        }
        let error = openError(path)
        #expect(error?.message == "bundle file 'policy.model' (role 'policy') has no checksum in manifest.json; refusing to load it unchecked")
    }

    @Test func aListedFileThatIsMissingIsNamed() throws {
        let path = temporaryFolder() + "/bundle"
        try sampleBundle().write(to: path)
        try FileManager.default.removeItem(atPath: path + "/policy.model")
        let error = openError(path)
        #expect(error?.description == "\(path)/policy.model: bundle file 'policy.model' listed in manifest.json is missing")
    }

    @Test func aRoleNamingAFileOutsideTheBundleIsRefused() throws {
        let path = temporaryFolder() + "/bundle"
        try sampleBundle().write(to: path)
        try editManifest(path) { manifest in
            var models = manifest["models"] as! [String: Any]
            models["policy"] = "../policy.model"
            manifest["models"] = models
        }
        #expect(openError(path)?.message.contains("outside the bundle") == true)
    }

    @Test func aFileChangedAfterOpeningIsRefusedWhenDecoded() throws {
        let path = temporaryFolder() + "/bundle"
        try sampleBundle().write(to: path)
        let bundle = try ModelBundle.open(path)
        var bytes = try #require(FileManager.default.contents(atPath: path + "/policy.model"))
        bytes[bytes.count - 2] ^= 1
        try bytes.write(to: URL(fileURLWithPath: path + "/policy.model"))
        let error = #expect(throws: DataError.self) { _ = try bundle.model(QLearning.self, role: "policy", kind: "q-table") }
        #expect(error?.message.contains("SHA-256") == true)
    }

    @Test func devicesFIFOsAndSparseFilesInABundleAreRefusedQuickly() throws {
        for replacement in ["/dev/zero", "/dev/urandom", "fifo", "sparse"] {
            for name in ["manifest.json", "policy.model"] {
                let path = temporaryFolder() + "/bundle"
                try sampleBundle().write(to: path)
                let file = path + "/" + name
                try FileManager.default.removeItem(atPath: file)
                switch replacement {
                case "fifo": #expect(mkfifo(file, 0o600) == 0)
                case "sparse":
                    let fd = open(file, O_WRONLY | O_CREAT, 0o644)
                    #expect(fd >= 0 && ftruncate(fd, off_t(64) << 30) == 0)
                    close(fd)
                default: try FileManager.default.createSymbolicLink(atPath: file, withDestinationPath: replacement)
                }
                let error = openError(path)
                let message = error?.message ?? ""
                #expect(message.contains("not a regular file") || message.contains("above the limit") || message.contains("manifest.json states"),
                        "\(replacement) as \(name): \(message)")
            }
        }
    }
}
