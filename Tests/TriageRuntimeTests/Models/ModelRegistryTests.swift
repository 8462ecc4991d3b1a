import Foundation
import Testing
import TriageCore
import TriageData
@testable import TriageRuntime

/// An isolation forest on two features saved at `folder/m.model`, and `folder/data.csv` with the
/// second feature missing on data row 2 (file line 3).
private func forestAndDataWithAHole() throws -> (model: String, data: String) {
    let folder = temporaryFolder()
    let rows = (0..<64).map { i in [Float(i % 8), Float(i % 5) + 10] }
    let forest = try IsolationForest.fit(Matrix(rows), parameters: IsolationForest.Parameters(treeCount: 10, sampleSize: 32), seed: 1)
    let saved = SavedModel(features: ["a", "b"], medians: [3.5, 12], training: TrainingSummary(rows: rows.count), model: forest)
    let model = folder + "/m.model"
    try ModelFile.write(saved, kind: ModelKind.isolationForest, to: model)
    let data = folder + "/data.csv"
    try "a,b\n1,11\n2,\n3,13\n".write(toFile: data, atomically: false, encoding: .utf8)
    return (model, data)
}

@Test func aMissingValueNamesTheImputationSettingNotAFlag() throws {
    let (path, data) = try forestAndDataWithAHole()
    let model = try ModelRegistry.load(path)
    #expect(model.kind == ModelKind.isolationForest && model.features == ["a", "b"])
    let table = try CSVReader.read(data)
    #expect {
        try model.score(table, settings: ScoreSettings(threads: 1, imputeMedian: false))
    } throws: { error in
        guard let missing = error as? MissingFeatureValue else { return false }
        return missing.location.line == 3 && missing.location.columnName == "b" && !missing.description.contains("--")
    }
    let filled = try model.score(table, settings: ScoreSettings(threads: 1, imputeMedian: true))
    #expect(filled.rowCount == 3 && filled.names == ["score", "anomaly", "top_feature"])
}

@Test func anUnknownKindIsADataErrorNamingTheFile() throws {
    let folder = temporaryFolder()
    let path = folder + "/m.model"
    try ModelFile.write(["x": 1], kind: "no-such-kind", to: path)
    #expect {
        try ModelRegistry.load(path)
    } throws: { error in
        (error as? DataError)?.description.contains("unknown model kind 'no-such-kind'") == true
    }
}
