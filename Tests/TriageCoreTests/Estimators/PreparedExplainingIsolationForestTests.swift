import Testing
@testable import TriageCore

/// Tables built once must give the values the forest computes with per-call tables, in one
/// batch, one row at a time, and on any thread count (the server scores one row per request).
@Suite struct PreparedExplainingIsolationForestTests {
    static func data(rows: Int, features: Int, seed: UInt64) -> Matrix<Float> {
        var rng = RandomSource(seed: seed)
        return Matrix(rows: rows, columns: features) { _, _ in Float(rng.normal()) }
    }

    // 3 and 7 features: dense credit rows in SIMD4 lanes; 16: one SIMD16; 70: past the
    // dense-credit limit, the sparse walk.
    @Test(arguments: [3, 7, 16, 70])
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
        // Fewer rows than an interleaved group are walked one by one: the same values.
        for (first, count) in [(0, 1), (4_321, 1), (8_499, 1), (17, 5), (100, 11), (200, 12)] {
            let rows = Matrix(rows: count, columns: features, storage: Array(data.storage[first * features..<(first + count) * features]))
            let few = try prepared.scoresAndTopFeatures(rows, threads: 1)
            #expect(few.scores == Array(expected.scores[first..<(first + count)]))
            #expect(few.topFeatures == Array(expected.topFeatures[first..<(first + count)]))
        }
        // NaN goes left at every split, alone as in a block.
        var holes = Self.data(rows: 3, features: features, seed: 5)
        holes.storage[1] = .nan
        holes.storage[features + features - 1] = .nan
        let padded = Matrix(rows: 23, columns: features, storage: holes.storage + Self.data(rows: 20, features: features, seed: 6).storage)
        let alone = try prepared.scoresAndTopFeatures(holes, threads: 1)
        let inBlock = try prepared.scoresAndTopFeatures(padded, threads: 1)
        #expect(alone.scores == Array(inBlock.scores[0..<3]) && alone.topFeatures == Array(inBlock.topFeatures[0..<3]))
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
