import Foundation
import Testing
@testable import TriageCore

/// Gaussian cluster of `rows` points with `features` columns, seeded.
private func cluster(rows: Int, features: Int, seed: UInt64 = 1) -> Matrix<Float> {
    var rng = RandomSource(seed: seed)
    return Matrix(rows: rows, columns: features) { _, _ in Float(rng.normal()) }
}

/// JSON round trip with the model file's float strategy (padding thresholds are +∞).
private func encodeDecode(_ forest: IsolationForest) throws -> IsolationForest {
    let encoder = JSONEncoder()
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try decoder.decode(IsolationForest.self, from: encoder.encode(forest))
}

@Suite struct AveragePathLengthTests {
    @Test func closedForm() {
        #expect(isolationAveragePathLength(0) == 0)
        #expect(isolationAveragePathLength(1) == 0)
        #expect(isolationAveragePathLength(2) == 1)
        // c(n) = 2(ln(n − 1) + γ) − 2(n − 1)/n
        let expected10 = 2 * (log(9.0) + 0.5772156649015329) - 2 * 9.0 / 10
        #expect(abs(isolationAveragePathLength(10) - expected10) < 1e-12)
        #expect(abs(isolationAveragePathLength(256) - 10.244770920119917) < 1e-9)
        #expect(abs(harmonicNumberApproximation(1000) - 7.485470860550345) < 1e-3) // H(1000) exactly
    }
}

@Suite struct IsolationForestTests {
    @Test func outlierScoresHighAndIsExplainedByItsFeature() throws {
        var data = cluster(rows: 500, features: 4)
        data[17, 2] = 9 // far out in feature 2 only
        let forest = try IsolationForest.fit(data, seed: 3, threads: 2)
        let scores = try forest.scores(data, threads: 2)
        #expect(scores.allSatisfy { $0 > 0 && $0 <= 1 })
        #expect(scores[17] == scores.max())
        #expect(scores[17] > 0.6)
        let median = scores.sorted()[250]
        #expect(median < 0.5)
        #expect(try forest.topFeatures(data, threads: 2)[17] == 2)
        let contributions = try forest.pathContributions(data, threads: 1)
        #expect(contributions.rows == 500 && contributions.columns == 4)
        #expect(argmax(contributions.row(17)) == 2)
        #expect(try forest.predict(data, threads: 1) == scores.map { $0 >= forest.threshold })
        let both = try forest.scoresAndTopFeatures(data, threads: 3)
        #expect(both.scores == scores)
        #expect(try both.topFeatures == forest.topFeatures(data, threads: 1))
    }

    @Test func wideDataUsesSparseCreditsWithTheSameMeaning() throws {
        // Above 64 features the per-leaf credits stay sparse lists instead of dense rows.
        var data = cluster(rows: 300, features: 70)
        data[5, 66] = 12
        let forest = try IsolationForest.fit(data, parameters: .init(treeCount: 60), seed: 2)
        let top = try forest.topFeatures(data, threads: 2)
        #expect(top[5] == 66)
        let contributions = try forest.pathContributions(data, threads: 1)
        for row in [0, 5, 299] { #expect(argmax(contributions.row(row)) == top[row]) }
        #expect(try forest.scoresAndTopFeatures(data, threads: 1).topFeatures == top)
    }

    @Test func paperDefaultsAndHeightLimit() throws {
        let forest = try IsolationForest.fit(cluster(rows: 300, features: 3))
        #expect(forest.treeCount == 100 && forest.sampleSize == 256 && forest.height == 8)
        #expect(forest.threshold == 0.5)
        let small = try IsolationForest.fit(cluster(rows: 40, features: 3))
        #expect(small.sampleSize == 40 && small.height == 6) // ψ capped at the rows, ⌈log₂ 40⌉ = 6
    }

    @Test func identicalForAnyThreadCountAndAfterSaveLoad() throws {
        let data = cluster(rows: 3000, features: 5)
        let parameters = IsolationForest.Parameters(treeCount: 37, sampleSize: 128, maxFeatures: 0.6)
        let one = try IsolationForest.fit(data, parameters: parameters, seed: 9, threads: 1)
        let three = try IsolationForest.fit(data, parameters: parameters, seed: 9, threads: 3)
        #expect(one == three)
        let s1 = try one.scores(data, threads: 1), s3 = try one.scores(data, threads: 3)
        #expect(s1 == s3)
        #expect(try one.topFeatures(data, threads: 1) == one.topFeatures(data, threads: 3))
        let loaded = try encodeDecode(one)
        #expect(loaded == one)
        #expect(try loaded.scores(data, threads: 2) == s1)
        let other = try IsolationForest.fit(data, parameters: parameters, seed: 10, threads: 1)
        #expect(other != one)
        // Tables built once score the same, in one batch or one row at a time.
        let prepared = PreparedIsolationForest(one)
        #expect(try prepared.scores(data, threads: 2) == s1)
        for i in [0, 1_499, 2_999] {
            let row = Matrix(rows: 1, columns: 5, storage: Array(data.storage[i * 5..<(i + 1) * 5]))
            #expect(try prepared.scores(row, threads: 1) == [s1[i]])
        }
    }

    @Test func manyRowTasksGiveTheSameScoresForAnyThreadCount() throws {
        // More rows than one task (8 192) so several tasks, blocks and a ragged tail run.
        let data = cluster(rows: 20_011, features: 3)
        let forest = try IsolationForest.fit(data, parameters: .init(treeCount: 8, sampleSize: 64), seed: 6, threads: 2)
        let one = try forest.scoresAndTopFeatures(data, threads: 1)
        let three = try forest.scoresAndTopFeatures(data, threads: 3)
        #expect(one.scores == three.scores && one.topFeatures == three.topFeatures)
        #expect(try forest.scores(data, threads: 2) == one.scores)
        #expect(try forest.topFeatures(data, threads: 2) == one.topFeatures)
    }

    @Test func scoresMatchAPlainTreeWalk() throws {
        // The interleaved, transposed kernel must equal the definition: walk each stored tree.
        let data = cluster(rows: 1000, features: 3) // 1000 rows: several blocks and a partial group
        let forest = try IsolationForest.fit(data, parameters: .init(treeCount: 10, sampleSize: 64), seed: 2)
        let fast = try forest.meanPathLengths(data, threads: 2)
        for row in [0, 1, 255, 256, 999] {
            var total = 0.0
            for t in 0..<forest.treeCount {
                var slot = 0
                for _ in 0..<forest.height {
                    let node = t * forest.internalSlots + slot
                    let goRight = data[row, Int(forest.splitFeatures[node])] > forest.splitThresholds[node]
                    slot = 2 * slot + (goRight ? 2 : 1)
                }
                total += Double(forest.leafPathLengths[t * forest.leafSlots + slot - forest.internalSlots])
            }
            #expect(abs(total / 10 - fast[row]) < 1e-9)
        }
    }

    @Test func warmStartEqualsFittingAllTreesAtOnce() throws {
        let data = cluster(rows: 600, features: 4)
        let parameters = IsolationForest.Parameters(treeCount: 30, sampleSize: 100)
        let base = try IsolationForest.fit(data, parameters: parameters, seed: 5, threads: 2)
        let grown = try base.addingTrees(20, on: data, threads: 1)
        var all = parameters
        all.treeCount = 50
        let direct = try IsolationForest.fit(data, parameters: all, seed: 5, threads: 2)
        #expect(grown.treeCount == 50)
        #expect(grown == direct)
        #expect(throws: EstimatorError.shapeMismatch(expectedColumns: 4, gotColumns: 3)) {
            try base.addingTrees(5, on: cluster(rows: 600, features: 3))
        }
        #expect(throws: EstimatorError.tooFewRows(needed: 100, got: 50)) {
            try base.addingTrees(5, on: cluster(rows: 50, features: 4))
        }
    }

    @Test func contaminationFractionFlagsThatShareOfTrainingRows() throws {
        let data = cluster(rows: 2000, features: 3)
        let forest = try IsolationForest.fit(data, parameters: .init(contamination: .fraction(0.05)), seed: 1)
        let flagged = try forest.predict(data, threads: 2).filter { $0 }.count
        #expect(abs(flagged - 100) <= 2)
        #expect(forest.threshold != 0.5)
    }

    @Test func constantColumnsAreNeverSplitOn() throws {
        var data = cluster(rows: 400, features: 3)
        for i in 0..<data.rows { data[i, 1] = 7 }
        let forest = try IsolationForest.fit(data, seed: 4)
        for (feature, threshold) in zip(forest.splitFeatures, forest.splitThresholds) where threshold.isFinite {
            #expect(feature != 1)
        }
        #expect(forest.featureImportances[1] == 0)
        #expect(abs(forest.featureImportances.reduce(0, +) - 1) < 1e-9)
        #expect(forest.summary(featureNames: ["a", "b", "c"]).parameters["trees"] == "100")
    }

    @Test func nanRowsAreRoutedLeftAtEverySplit() throws {
        let data = cluster(rows: 300, features: 3)
        let forest = try IsolationForest.fit(data, seed: 8)
        var probe = Matrix<Float>(rows: 2, columns: 3, storage: [0.1, .nan, 0.3, 0.1, -.infinity, 0.3])
        let scores = try forest.scores(probe, threads: 1)
        #expect(scores[0] == scores[1]) // NaN behaves like −∞: never greater than a threshold
        probe[0, 1] = 0.2
        #expect(try forest.scores(probe, threads: 1)[0].isFinite)
    }

    @Test func badParametersAndDataAreRefused() throws {
        let data = cluster(rows: 50, features: 2)
        #expect(throws: EstimatorError.invalidParameter(name: "tree count", value: "0", expected: "at least 1")) {
            try IsolationForest.fit(data, parameters: .init(treeCount: 0))
        }
        #expect(throws: EstimatorError.self) { try IsolationForest.fit(data, parameters: .init(sampleSize: 1)) }
        #expect(throws: EstimatorError.self) { try IsolationForest.fit(data, parameters: .init(maxFeatures: 0)) }
        #expect(throws: EstimatorError.self) { try IsolationForest.fit(data, parameters: .init(maxFeatures: 1.5)) }
        #expect(throws: EstimatorError.self) { try IsolationForest.fit(data, parameters: .init(contamination: .fraction(0.6))) }
        #expect(throws: EstimatorError.self) { try IsolationForest.fit(data, parameters: .init(contamination: .fraction(0))) }
        #expect(throws: EstimatorError.tooFewRows(needed: 2, got: 1)) {
            try IsolationForest.fit(Matrix(rows: 1, columns: 2, storage: [1, 2]))
        }
        #expect(throws: EstimatorError.emptyData) { try IsolationForest.fit(Matrix(rows: 0, columns: 2)) }
        var missing = data
        for i in 0..<missing.rows { missing[i, 1] = .nan }
        #expect(throws: EstimatorError.allMissingColumn(column: 1)) { try IsolationForest.fit(missing) }
        var hole = data
        hole[7, 0] = .nan
        #expect(throws: EstimatorError.nonFinite(row: 7, column: 0)) { try IsolationForest.fit(hole) }
        #expect(throws: EstimatorError.self) { try IsolationForest.fit(Matrix(rows: 10, columns: 2, repeating: 3)) }
        // Two rows is the least that can be isolated.
        let two = try IsolationForest.fit(Matrix(rows: 2, columns: 1, storage: [0, 1]))
        #expect(try two.height == 1 && two.scores(Matrix(rows: 1, columns: 1, storage: [0.5]), threads: 1)[0] == 0.5)
    }
}

@Suite struct IsolationForestExplanationKernelTests {
    /// The dense kernel (credit rows summed per row in registers) must give exactly the values
    /// of adding each tree's path credits feature by feature, tree by tree.
    @Test(arguments: [3, 5, 16, 20])
    func contributionsEqualTreeByTreeSums(features: Int) throws {
        var data = cluster(rows: 700, features: features, seed: UInt64(features))
        data[3, features - 1] = 8
        let forest = try IsolationForest.fit(data, parameters: .init(treeCount: 23, sampleSize: 128), seed: 5)
        let paths = LeafPaths(forest)
        let fast = try forest.pathContributions(data, threads: 2)
        let both = try forest.scoresAndTopFeatures(data, threads: 3)
        #expect(try both.scores == forest.scores(data, threads: 1))
        for row in [0, 3, 11, 12, 255, 256, 699] {
            var reference = [Float](repeating: 0, count: features)
            for t in 0..<forest.treeCount {
                var slot = 0
                for _ in 0..<forest.height {
                    let node = t * forest.internalSlots + slot
                    let goRight = data[row, Int(forest.splitFeatures[node])] > forest.splitThresholds[node]
                    slot = 2 * slot + (goRight ? 2 : 1)
                }
                let leaf = t * forest.leafSlots + slot - forest.internalSlots
                var vector = [Float](repeating: 0, count: features)
                for s in 0..<Int(paths.counts[leaf]) {
                    vector[Int(paths.features[leaf * paths.height + s])] += paths.credits[leaf * paths.height + s]
                }
                for j in 0..<features { reference[j] += vector[j] }
            }
            #expect(Array(fast.row(row)) == reference.map(Double.init))
            var best = 0
            for j in 1..<features where reference[j] > reference[best] { best = j }
            #expect(both.topFeatures[row] == best)
        }
    }
}
