import Foundation
import Testing
@testable import TriageCore

/// Every public entry point that takes caller data checks its shape and throws a typed error:
/// a request with the wrong width or paired inputs of different lengths must never trap (these
/// were `precondition`s, which `-Ounchecked` release builds removed, so a bad request read out
/// of bounds). Empty inputs of the right width give empty results; empty fits throw.
@Suite("Shape errors at public entry points")
struct ShapeErrorTests {
    static func data(rows: Int, columns: Int, seed: UInt64 = 3) -> Matrix<Float> {
        var random = RandomSource(seed: seed)
        return Matrix(rows: rows, columns: columns) { _, _ in Float(random.normal()) }
    }

    static let wrong = data(rows: 5, columns: 3)
    static let mismatch = EstimatorError.shapeMismatch(expectedColumns: 4, gotColumns: 3)

    @Test func isolationForestEntryPointsThrow() throws {
        let forest = try IsolationForest.fit(Self.data(rows: 300, columns: 4), parameters: .init(treeCount: 10), seed: 1)
        #expect(throws: Self.mismatch) { try forest.scores(Self.wrong, threads: 2) }
        #expect(throws: Self.mismatch) { try forest.predict(Self.wrong, threads: 1) }
        #expect(throws: Self.mismatch) { try forest.topFeatures(Self.wrong, threads: 1) }
        #expect(throws: Self.mismatch) { try forest.scoresAndTopFeatures(Self.wrong, threads: 1) }
        #expect(throws: Self.mismatch) { try forest.pathContributions(Self.wrong, threads: 1) }
        #expect(throws: Self.mismatch) { try forest.meanPathLengths(Self.wrong, threads: 1) }
        #expect(throws: Self.mismatch) { try PreparedIsolationForest(forest).scores(Self.wrong, threads: 1) }
        // No columns at all, and a row wider than the model.
        #expect(throws: EstimatorError.shapeMismatch(expectedColumns: 4, gotColumns: 0)) {
            try forest.scores(Matrix(rows: 0, columns: 0), threads: 1)
        }
        #expect(throws: EstimatorError.shapeMismatch(expectedColumns: 4, gotColumns: 9)) {
            try forest.scores(Self.data(rows: 2, columns: 9), threads: 1)
        }
        // Zero rows of the right width: nothing to score, no error.
        let empty = Matrix<Float>(rows: 0, columns: 4)
        #expect(try forest.scores(empty, threads: 2).isEmpty)
        #expect(try forest.scoresAndTopFeatures(empty, threads: 2).scores.isEmpty)
        #expect(try forest.pathContributions(empty, threads: 2).rows == 0)
        #expect(throws: EstimatorError.emptyData) { try IsolationForest.fit(empty) }
    }

    @Test func autoencoderEntryPointsThrow() throws {
        var parameters = Autoencoder.Parameters()
        parameters.hiddenLayers = [3]
        parameters.epochs = 2
        parameters.ensembleSize = 1
        let (model, _) = try Autoencoder.fit(Self.data(rows: 60, columns: 4), parameters: parameters, seed: 1)
        #expect(throws: Self.mismatch) { try model.scores(Self.wrong, threads: 2) }
        #expect(throws: Self.mismatch) { try model.predict(Self.wrong, threads: 1) }
        #expect(throws: Self.mismatch) { try model.topFeatures(Self.wrong, threads: 1) }
        #expect(throws: Self.mismatch) { try model.featureErrors(Self.wrong, threads: 1) }
        #expect(throws: Self.mismatch) { try model.scoresAndTopFeatures(Self.wrong, threads: 1) }
        #expect(throws: Self.mismatch) { try model.standardizer.transform(Self.wrong) }
        #expect(throws: Self.mismatch) { try model.standardizer.inverseTransform(Self.wrong) }
        let empty = Matrix<Float>(rows: 0, columns: 4)
        #expect(try model.scores(empty, threads: 2).isEmpty)
        #expect(try model.featureErrors(empty, threads: 2).rows == 0)
        #expect(throws: EstimatorError.emptyData) { try Autoencoder.fit(empty, parameters: parameters) }
    }

    @Test func classifierEntryPointsThrow() throws {
        let x = Self.data(rows: 80, columns: 4)
        let y = (0..<80).map { $0 % 2 }
        var h = RandomForest.Hyperparameters()
        h.trees = 5
        let forest = try RandomForest.fit(x, labels: y, classCount: 2, hyperparameters: h, seed: 1)
        let tree = try DecisionTree.fit(x, labels: y, classCount: 2)
        #expect(throws: Self.mismatch) { try forest.probabilities(Self.wrong, threads: 2) }
        #expect(throws: Self.mismatch) { try forest.predict(Self.wrong, threads: 1) }
        #expect(throws: Self.mismatch) { try tree.probabilities(Self.wrong, threads: 1) }
        #expect(throws: Self.mismatch) { try tree.predict(Self.wrong, threads: 1) }
        #expect(throws: Self.mismatch) { try tree.decisionPath([1, 2, 3]) }
        #expect(throws: EstimatorError.lengthMismatch(what: "labels", expected: 5, got: 2)) {
            try PermutationImportance.accuracyDrops(forest, data: Self.data(rows: 5, columns: 4), labels: [0, 1])
        }
        #expect(try forest.probabilities(Matrix(rows: 0, columns: 4), threads: 2).rows == 0)
        #expect(throws: EstimatorError.emptyData) {
            try RandomForest.fit(Matrix(rows: 0, columns: 4), labels: [], classCount: 2)
        }
        #expect(throws: Self.mismatch) { try FeatureBinning(fitting: x, maxBins: 8, threads: 1).bin(Self.wrong, as: UInt8.self, threads: 1) }
    }

    @Test func pairedInputsOfDifferentLengthsThrow() {
        let lengths = EstimatorError.lengthMismatch(what: "labels", expected: 3, got: 2)
        #expect(throws: lengths) { try Metrics.rocAUC(scores: [0.1, 0.2, 0.3], labels: [true, false]) }
        #expect(throws: lengths) { try Metrics.averagePrecision(scores: [0.1, 0.2, 0.3], labels: [true, false]) }
        #expect(throws: lengths) { try Metrics.precisionRecallF1(predicted: [true, false, true], labels: [true, false]) }
    }

    @Test func streamingDetectorRowOfTheWrongWidthThrows() throws {
        var detector = try MetricStreamDetector(columns: 2)
        #expect(throws: EstimatorError.shapeMismatch(expectedColumns: 2, gotColumns: 3)) {
            try detector.process([1, 2, 3])
        }
        #expect(throws: EstimatorError.shapeMismatch(expectedColumns: 2, gotColumns: 1)) { try detector.learnOne([1]) }
        #expect(throws: EstimatorError.shapeMismatch(expectedColumns: 2, gotColumns: 0)) { try detector.scoreOne([]) }
    }
}

/// Model files come from outside: a decoded autoencoder whose shapes do not fit together is a
/// decoding error, not a model that traps (or reads out of bounds) at its first score.
@Suite("Decoding checks shapes")
struct DecodingShapeTests {
    static func mutated(_ model: Autoencoder, _ change: (inout [String: Any]) -> Void) throws -> Data {
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(model)) as! [String: Any]
        change(&json)
        return try JSONSerialization.data(withJSONObject: json)
    }

    @Test func inconsistentAutoencoderFilesAreRefused() throws {
        var parameters = Autoencoder.Parameters()
        parameters.hiddenLayers = [3]
        parameters.epochs = 1
        parameters.ensembleSize = 1
        let (model, _) = try Autoencoder.fit(ShapeErrorTests.data(rows: 40, columns: 4), parameters: parameters, seed: 1)
        #expect(try JSONDecoder().decode(Autoencoder.self, from: JSONEncoder().encode(model)) == model)
        let breakages: [(String, (inout [String: Any]) -> Void)] = [
            ("a mean dropped", { json in
                var s = json["standardizer"] as! [String: Any]
                s["means"] = Array((s["means"] as! [Any]).dropLast())
                json["standardizer"] = s
            }),
            ("no networks", { json in json["networks"] = [Any]() }),
            ("a weight dropped", { json in
                var networks = json["networks"] as! [[String: Any]]
                var weights = networks[0]["weights"] as! [[String: Any]]
                weights[0]["storage"] = Array((weights[0]["storage"] as! [Any]).dropLast())
                networks[0]["weights"] = weights
                json["networks"] = networks
            }),
            ("layers that do not chain", { json in
                var networks = json["networks"] as! [[String: Any]]
                var weights = networks[0]["weights"] as! [[String: Any]]
                weights[0]["columns"] = 2
                weights[0]["rows"] = 6
                networks[0]["weights"] = weights
                json["networks"] = networks
            }),
        ]
        for (what, change) in breakages {
            let data = try Self.mutated(model, change)
            #expect(throws: DecodingError.self, "\(what)") { try JSONDecoder().decode(Autoencoder.self, from: data) }
        }
    }

    @Test func inconsistentIsolationForestFilesAreRefused() throws {
        let forest = try IsolationForest.fit(ShapeErrorTests.data(rows: 100, columns: 3), parameters: .init(treeCount: 4), seed: 1)
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let json = try JSONSerialization.jsonObject(with: encoder.encode(forest)) as! [String: Any]
        #expect(try decoder.decode(IsolationForest.self, from: encoder.encode(forest)) == forest)
        let breakages: [(String, (inout [String: Any]) -> Void)] = [
            ("a split feature past the columns", { $0["splitFeatures"] = ($0["splitFeatures"] as! [Int]).map { _ in 7 } }),
            ("a negative split feature", { $0["splitFeatures"] = ($0["splitFeatures"] as! [Int]).map { _ in -1 } }),
            ("a leaf dropped", { $0["leafPathLengths"] = Array(($0["leafPathLengths"] as! [Any]).dropLast()) }),
            ("slot rows dropped", { $0["slotRows"] = Array(($0["slotRows"] as! [Any]).dropLast(3)) }),
            ("a height that does not fit the sample size", { $0["height"] = 12 }),
            ("no trees", { json in
                for key in ["splitFeatures", "splitThresholds", "leafPathLengths", "slotRows"] { json[key] = [Any]() }
            }),
        ]
        for (what, change) in breakages {
            var broken = json
            change(&broken)
            let data = try JSONSerialization.data(withJSONObject: broken)
            #expect(throws: DecodingError.self, "\(what)") { try decoder.decode(IsolationForest.self, from: data) }
        }
    }
}
