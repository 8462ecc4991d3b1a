import FuzzSupport
import TriageCore
import TriageData

// Fuzzes model files as `score` and `inspect` load them. First byte: bit 0 raw mode (the input
// is the whole file: magic line, header, payload) or wrapped mode (the input is the payload,
// given a valid header with the right length and SHA-256, so the fuzzer reaches the decoders
// and the models rather than stopping at the checksum); bits 1-3 the kind in wrapped mode.
// A model that loads is then summarised and scores three rows built as the CLI builds them
// (one column per saved feature, missing values imputed from the saved medians), because a
// file can decode yet describe an impossible model (a child index past the tree, fewer
// medians than features), and that must be an error at load, never a trap at scoring.
let kinds = ["iforest", "autoencoder", "tree", "forest", "remediation-policy"]

func rows<Model>(_ saved: SavedModel<Model>) -> Matrix<Float>? {
    let columns = saved.features.count
    guard columns > 0, columns <= 512 else { return nil }
    var m = Matrix<Float>(rows: 3, columns: columns) { r, c in r == 1 && c == 0 ? .nan : Float(r * 7 + c) * 0.37 - 1 }
    for i in 0..<m.storage.count where m.storage[i].isNaN { m.storage[i] = saved.medians[i % columns] }
    return m
}

func exercise(path: String, kind: String) {
    do {
        switch kind {
        case "iforest":
            let saved = try ModelFile.read(SavedModel<IsolationForest>.self, kind: kind, from: path)
            _ = saved.model.summary(featureNames: saved.features)
            if let data = rows(saved) { _ = try saved.model.scores(data, threads: 1) }
        case "autoencoder":
            let saved = try ModelFile.read(SavedModel<Autoencoder>.self, kind: kind, from: path)
            _ = saved.model.summary(featureNames: saved.features)
            if let data = rows(saved) { _ = try saved.model.scores(data, threads: 1) }
        case "tree":
            let saved = try ModelFile.read(SavedModel<DecisionTree>.self, kind: kind, from: path)
            try classify(saved, path: path)
        case "forest":
            let saved = try ModelFile.read(SavedModel<RandomForest>.self, kind: kind, from: path)
            try classify(saved, path: path)
        default:
            let policy = try ModelFile.read(RemediationPolicy.self, kind: kind, from: path)
            _ = policy
        }
    } catch {
        _ = "\(error)"
    }
}

/// As ClassifierModel (Sources/TriageRuntime/Models/ClassifierModel.swift): the checks it makes at
/// load, then probabilities and the predicted class names.
func classify<C: Classifier & SummarizableModel>(_ saved: SavedModel<C>, path: String) throws {
    guard let classes = saved.classes, classes.count == saved.model.classCount, Set(classes).count == classes.count,
          saved.features.count == saved.model.featureCount, Set(saved.features).count == saved.features.count else {
        throw DataError(.invalidModel("model's classes or features do not match the fitted classifier"), file: path)
    }
    _ = saved.model.summary(featureNames: saved.features)
    guard let data = rows(saved) else { return }
    let p = try saved.model.probabilities(data, threads: 1)
    _ = p.argmaxPerRow().map { classes[$0] }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let control = input.byte()
    if control & 1 == 1 {
        let path = Scratch.write("raw.model", input.rest)
        guard let header = try? ModelFile.readHeader(path) else { return 0 }
        exercise(path: path, kind: header.kind)
    } else {
        let kind = kinds[Int(control >> 1) % kinds.count]
        let payload = Array(input.rest)
        var file = Array("\(ModelFile.magic)\n".utf8)
        file += Array("{\"format_version\":1,\"kind\":\"\(kind)\",\"payload_bytes\":\(payload.count),\"payload_sha256\":\"\(ModelFile.sha256Hex(payload))\"}\n".utf8)
        file += payload
        exercise(path: Scratch.write("wrapped.model", file), kind: kind)
    }
    return 0
}

@_cdecl("FuzzModelFile_main")
public func harnessMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    return runFuzzer(argc, argv, fuzz)
}
