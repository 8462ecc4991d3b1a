import Testing
@testable import TriageCore

/// Tables built once must give the values the forest computes with per-call tables, in one
/// batch, one row at a time, and on any thread count (the server scores one row per request).
@Suite struct PreparedExplainingIsolationForestTests {
    static func data(rows: Int, features: Int, seed: UInt64) -> Matrix<Float> {
        var rng = RandomSource(seed: seed)
        return Matrix(rows: rows, columns: features) { _, _ in Float(rng.normal()) }
    }

    @Test(arguments: [3, 7, 70])  // 70 features: past the dense-credit limit, the sparse walk
    func sameScoresAndTopFeaturesAsTheForest(features: Int) throws {
        let training = Self.data(rows: 2_000, features: features, seed: 1)
        let forest = try IsolationForest.fit(training, parameters: .init(treeCount: 20, sampleSize: 128), seed: 4, threads: 1)
        let prepared = PreparedExplainingIsolationForest(forest)
        // More rows than a task (8 192) and a block (256), with a ragged tail.
        let data = Self.data(rows: 8_500, features: features, seed: 2)
        let expected = try forest.scoresAndTopFeatures(data, threads: 1)
        for threads in [1, 2, 3] {
            let got = try prepared.scoresAndTopFeatures(data, threads: threads)
            #expect(got.scores == expected.scores && got.topFeatures == expected.topFeatures)
            #expect(try prepared.scores(data, threads: threads) == forest.scores(data, threads: 1))
        }
        for i in [0, 4_321, 8_499] {
            let row = Matrix(rows: 1, columns: features, storage: Array(data.storage[i * features..<(i + 1) * features]))
            let one = try prepared.scoresAndTopFeatures(row, threads: 1)
            #expect(one.scores == [expected.scores[i]] && one.topFeatures == [expected.topFeatures[i]])
        }
        let none = try prepared.scoresAndTopFeatures(Matrix(rows: 0, columns: features), threads: 1)
        #expect(none.scores.isEmpty && none.topFeatures.isEmpty)
    }

    @Test func aWrongShapeIsATypedError() throws {
        let forest = try IsolationForest.fit(Self.data(rows: 300, features: 4, seed: 1), parameters: .init(treeCount: 5, sampleSize: 64),
                                             seed: 1, threads: 1)
        let prepared = PreparedExplainingIsolationForest(forest)
        let wrong = Self.data(rows: 2, features: 3, seed: 1)
        #expect(throws: EstimatorError.self) { try prepared.scoresAndTopFeatures(wrong, threads: 1) }
        #expect(throws: EstimatorError.self) { try prepared.scores(wrong, threads: 1) }
    }
}
