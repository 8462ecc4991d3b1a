import FuzzSupport
import Foundation
import TriageCore
@testable import TriageData

// Fuzzes bundles as `watch --model` opens them, from a copy of models/simulated. First byte:
// mode 0 — the input replaces manifest.json (checks, versions, file list); otherwise the input
// replaces one of the bundle's JSON or model files (features.json, baselines.json,
// policy.model, iforest.model, autoencoder.model) and the manifest (of a bundle without its
// heavy models, see below) is rewritten with its true size and SHA-256, so the fuzzer gets past the checksums to the decoders. An opened bundle
// then loads its detectors and policy and scores one row, as EngineWatchSession does.
let names = ["features.json", "baselines.json", "policy.model", "iforest.model", "autoencoder.model"]
/// The bundle's heavy files (two 400 KB models, decoded on every open) would hold the harness
/// to a few inputs a second, so the base bundle leaves out the action classifier and the two
/// detectors; a detector comes back only in the modes that fuzz it (seeded with small models
/// fitted on the bundle's feature names, fuzz/corpus/bundle).
let heavyRoles = ["iforest": "iforest.model", "autoencoder": "autoencoder.model", "action_classifier": "forest.model"]
let originals: [String: [UInt8]] = {
    var files = [String: [UInt8]]()
    for name in ["features.json", "baselines.json", "policy.model", "symptoms.csv", "manifest.json"] {
        files[name] = Scratch.readRepositoryFile("models/simulated/" + name)
    }
    return files
}()
let baseManifest: BundleManifest = {
    var m = try! ModelFile.canonicalDecoder().decode(BundleManifest.self, from: Data(originals["manifest.json"]!))
    for (role, file) in heavyRoles {
        m.models[role] = nil
        m.files[file] = nil
    }
    return m
}()
let folder: String = {
    let path = Scratch.folder + "/bundle"
    mkdir(path, 0o700)
    return path
}()
/// What each file of the folder holds now, so an input rewrites only what differs.
nonisolated(unsafe) var written = [String: [UInt8]]()

func place(_ files: [String: [UInt8]]) {
    _ = folder  // globals are lazy: create the folder before the first write
    for (name, bytes) in files where written[name] != bytes {
        Scratch.write("bundle/" + name, bytes)
        written[name] = bytes
    }
    for name in written.keys where files[name] == nil {
        Scratch.remove("bundle/" + name)
        written[name] = nil
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let control = input.byte()
    var files = originals
    files["manifest.json"] = nil
    let bytes = Array(input.rest)
    if control % 6 == 0 {
        files = originals
        files["manifest.json"] = bytes
    } else {
        let name = names[Int(control % 6) - 1]
        files[name] = bytes
        var m = baseManifest
        if let role = heavyRoles.first(where: { $0.value == name })?.key { m.models[role] = name }
        m.files[name] = BundleManifest.FileEntry(sha256: ModelFile.sha256Hex(bytes), bytes: bytes.count,
                                                 kind: baseManifest.files[name]?.kind ?? "model")
        files["manifest.json"] = Array(try! ModelBundle.jsonEncoder().encode(m))
    }
    place(files)
    do {
        let bundle = try ModelBundle.open(folder)
        _ = try bundle.model(RemediationPolicy.self, role: "policy", kind: "remediation-policy")
        if let detectors = try BundleDetectors(bundle) {
            for service in detectors.baselines.keys.sorted().prefix(2) {
                _ = try? detectors.score(service: service, values: Array(repeating: 1.5, count: ServiceMetric.allCases.count))
            }
        }
    } catch {
        _ = error.description
    }
    return 0
}

@_cdecl("FuzzBundle_main")
public func harnessMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    return runFuzzer(argc, argv, fuzz)
}
