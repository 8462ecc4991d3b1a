import Foundation
import Testing
import TriageCore
import TriageData
@testable import TriageRuntime

/// `ModelRegistry.preparedForRepeatedScoring` must not change what `score` answers: the same
/// bytes, the same errors, for every setting.
@Suite struct PreparedForestModelTests {
    static func forestFile() throws -> (model: String, folder: String) {
        let folder = temporaryFolder()
        var rng = RandomSource(seed: 3)
        let rows = (0..<400).map { _ in [Float(rng.normal()), Float(rng.normal()) * 3, Float(rng.uniform())] }
        let forest = try IsolationForest.fit(Matrix(rows), parameters: IsolationForest.Parameters(treeCount: 25, sampleSize: 64), seed: 2)
        let saved = SavedModel(features: ["a", "b", "c"], medians: [0, 0, 0.5], training: TrainingSummary(rows: rows.count), model: forest)
        let model = folder + "/m.model"
        try ModelFile.write(saved, kind: ModelKind.isolationForest, to: model)
        return (model, folder)
    }

    @Test func sameBytesAsTheUnpreparedModel() throws {
        let (path, folder) = try Self.forestFile()
        let model = try ModelRegistry.load(path)
        let prepared = ModelRegistry.preparedForRepeatedScoring(model)
        #expect(prepared is PreparedForestModel)
        #expect(prepared.kind == model.kind && prepared.features == model.features)
        var csv = "c,b,extra,a\n"  // columns by name, in any order, extras ignored
        var rng = RandomSource(seed: 9)
        for _ in 0..<300 { csv += "\(rng.uniform()),\(rng.normal() * 4),7,\(rng.normal() * 2)\n" }
        let file = folder + "/data.csv"
        try csv.write(toFile: file, atomically: false, encoding: .utf8)
        let table = try CSVReader.read(file)
        for settings in [ScoreSettings(threads: 1, imputeMedian: false), ScoreSettings(threads: 2, imputeMedian: true),
                         ScoreSettings(threads: 1, imputeMedian: false, explain: false)] {
            #expect(try prepared.score(table, settings: settings).render() == model.score(table, settings: settings).render())
            #expect(try prepared.score(table, settings: settings).renderJSON() == model.score(table, settings: settings).renderJSON())
        }
        #expect(prepared.inspection().lines == model.inspection().lines)
    }

    @Test func aMissingValueIsTheSameError() throws {
        let (path, folder) = try Self.forestFile()
        let prepared = ModelRegistry.preparedForRepeatedScoring(try ModelRegistry.load(path))
        let file = folder + "/hole.csv"
        try "a,b,c\n1,2,0.5\n1,,0.5\n".write(toFile: file, atomically: false, encoding: .utf8)
        let table = try CSVReader.read(file)
        #expect {
            try prepared.score(table, settings: ScoreSettings(threads: 1, imputeMedian: false))
        } throws: { error in
            guard let missing = error as? MissingFeatureValue else { return false }
            return missing.location.line == 3 && missing.location.columnName == "b"
        }
    }

    @Test func otherKindsAreReturnedAsTheyAre() throws {
        let folder = temporaryFolder()
        let rows = (0..<40).map { i in [Float(i % 4), Float(i % 3)] }
        let tree = try DecisionTree.fit(Matrix(rows), labels: rows.map { Int($0[0]) % 2 }, classCount: 2)
        let path = folder + "/t.model"
        try ModelFile.write(SavedModel(features: ["a", "b"], classes: ["0", "1"], medians: [0, 0], training: TrainingSummary(rows: 40),
                                       model: tree),
                            kind: ModelKind.decisionTree, to: path)
        #expect(!(ModelRegistry.preparedForRepeatedScoring(try ModelRegistry.load(path)) is PreparedForestModel))
    }
}
