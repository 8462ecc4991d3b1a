import FuzzSupport
import Foundation
import TriageCore
@testable import TriageData

// Fuzzes bundles as `watch --model` opens them, from a copy of models/simulated. First byte:
// mode 0 — the input replaces manifest.json (checks, versions, file list); otherwise the input
// replaces one of the bundle's JSON or model files (features.json, baselines.json,
// policy.model, iforest.model, autoencoder.model) and the manifest is rewritten with its true
// size and SHA-256, so the fuzzer gets past the checksums to the decoders. An opened bundle
// then loads its detectors and policy and scores one row, as EngineWatchSession does.
let names = ["features.json", "baselines.json", "policy.model", "iforest.model", "autoencoder.model"]
let originals: [String: [UInt8]] = {
    var files = [String: [UInt8]]()
    for name in names + ["manifest.json", "forest.model", "symptoms.csv"] {
        files[name] = Scratch.readRepositoryFile("models/simulated/" + name)
    }
    return files
}()
let manifest = try! ModelFile.canonicalDecoder().decode(BundleManifest.self, from: Data(originals["manifest.json"]!))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let control = input.byte()
    let folder = Scratch.folder + "/bundle"
    mkdir(folder, 0o700)
    var files = originals
    if control % 6 == 0 {
        files["manifest.json"] = Array(input.rest)
    } else {
        let name = names[Int(control % 6) - 1]
        let bytes = Array(input.rest)
        files[name] = bytes
        var m = manifest
        m.files[name] = BundleManifest.FileEntry(sha256: ModelFile.sha256Hex(bytes), bytes: bytes.count,
                                                 kind: m.files[name]?.kind ?? "json")
        files["manifest.json"] = Array(try! ModelBundle.jsonEncoder().encode(m))
    }
    for (name, bytes) in files { Scratch.write("bundle/" + name, bytes) }
    do {
        let bundle = try ModelBundle.open(folder)
        _ = try bundle.model(RemediationPolicy.self, role: "policy", kind: "remediation-policy")
        if let detectors = try BundleDetectors(bundle) {
            for service in detectors.baselines.keys.sorted().prefix(2) {
                _ = detectors.score(service: service, values: Array(repeating: 1.5, count: ServiceMetric.allCases.count))
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
