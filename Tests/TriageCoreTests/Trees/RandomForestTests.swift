import Foundation
import Testing
@testable import TriageCore

@Suite struct RandomForestTests {
    @Test func beatsASingleTreeAndEstimatesOutOfBagAccuracy() throws {
        let (x, y) = TreeTestData.blobs(rows: 600)
        let (xTest, yTest) = TreeTestData.blobs(rows: 600, seed: 8)
        var h = RandomForest.Hyperparameters()
        h.trees = 30
        let forest = try RandomForest.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 1, threads: 2)
        let tree = try DecisionTree.fit(x, labels: y, classCount: 3)
        let forestAccuracy = Metrics.accuracy(predicted: try forest.predict(xTest, threads: 2), truth: yTest)
        let treeAccuracy = Metrics.accuracy(predicted: try tree.predict(xTest, threads: 2), truth: yTest)
        #expect(forestAccuracy > treeAccuracy)
        #expect(forestAccuracy > 0.85)
        let oob = try #require(forest.outOfBagAccuracy)
        #expect(abs(oob - forestAccuracy) < 0.06)
        // Noise feature 3 matters least.
        #expect(forest.featureImportances.firstIndex(of: forest.featureImportances.min()!) == 3)
        #expect(abs(forest.featureImportances.reduce(0, +) - 1) < 1e-9)
        let p = try forest.probabilities(xTest, threads: 2)
        for i in 0..<p.rows { #expect(abs(p.row(i).reduce(0, +) - 1) < 1e-4) }
    }

    /// The growth routes each tree's out-of-bag rows down it on their bin codes (issue 17 §3);
    /// the OOB accuracy must equal the one from walking every row down the finished trees on
    /// its float values, missing values and every leaf included.
    @Test(arguments: [ClassificationCriterion.gini, .entropy])
    func outOfBagRoutingDuringGrowthMatchesWalkingTheTrees(criterion: ClassificationCriterion) throws {
        var (x, y) = TreeTestData.blobs(rows: 500)
        var random = RandomSource(seed: 3, stream: 0)
        for i in 0..<x.rows where random.integer(below: 6) == 0 { x[i, random.integer(below: x.columns)] = .nan }
        for depth in [nil, 3] as [Int?] {
            var h = RandomForest.Hyperparameters()
            h.trees = 15
            h.criterion = criterion
            h.maxDepth = depth
            h.classWeight = depth == nil ? .none : .balanced
            let forest = try RandomForest.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 4, threads: 2)
            // The bootstrap draws of fit, replayed: tree t draws from stream t.
            let inBag = (0..<h.trees).map { t -> [Bool] in
                var random = RandomSource(seed: 4, stream: UInt64(t))
                var drawn = [Bool](repeating: false, count: x.rows)
                for _ in 0..<x.rows { drawn[random.integer(below: x.rows)] = true }
                return drawn
            }
            let walked = forest.outOfBagAccuracy(x, labels: y, inBag: inBag, threads: 1)
            #expect(try #require(forest.outOfBagAccuracy) == #require(walked))
        }
    }

    /// Each out-of-bag row's leaf from the growth is the leaf its float values reach.
    @Test func outOfBagLeavesAreTheLeavesOfTheRowsValues() throws {
        var (x, y) = TreeTestData.blobs(rows: 400)
        var random = RandomSource(seed: 9, stream: 0)
        for i in 0..<x.rows where random.integer(below: 5) == 0 { x[i, random.integer(below: x.columns)] = .nan }
        let binning = FeatureBinning(fitting: x, maxBins: 255, threads: 1)
        let binned = try binning.bin(x, as: UInt8.self, threads: 1)
        // Rows i with i mod 5 < 3 grow the tree (labels cycle with period 3, so every class is in it).
        let samples = (0..<Int32(x.rows)).filter { $0 % 5 < 3 }
        let outOfBag = (0..<Int32(x.rows)).filter { $0 % 5 >= 3 }
        for depth in [Int.max, 4] {
            let growth = TreeGrowth(maxDepth: depth, minSamplesSplit: 2, minSamplesLeaf: 1, minImpurityDecrease: 0, maxFeatures: 2)
            var treeRandom = RandomSource(seed: 1, stream: 0)
            let grown = TreeTraining.growClassifier(criterion: .gini, classCount: 3, data: binned, binning: binning,
                                                    targets: y.map(Float.init), growth: growth, samples: samples,
                                                    weights: [Double](repeating: 1, count: x.rows), outOfBag: outOfBag,
                                                    random: &treeRandom)
            #expect(grown.tree.nodeCount > 9)
            for (i, row) in outOfBag.enumerated() {
                let leaf = x.withRow(Int(row)) { grown.tree.leaf(of: $0.baseAddress!) }
                #expect(Int(grown.outOfBagLeaves[i]) == leaf)
            }
        }
    }

    @Test func identicalForAnyThreadCountAndAfterSaving() throws {
        let (x, y) = TreeTestData.xor(rows: 300, noise: 3)
        var h = RandomForest.Hyperparameters()
        h.trees = 12
        h.permutationImportance = true
        let one = try RandomForest.fit(x, labels: y, classCount: 2, hyperparameters: h, seed: 5, threads: 1)
        let three = try RandomForest.fit(x, labels: y, classCount: 2, hyperparameters: h, seed: 5, threads: 3)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(try encoder.encode(one) == encoder.encode(three))
        let other = try RandomForest.fit(x, labels: y, classCount: 2, hyperparameters: h, seed: 6, threads: 1)
        #expect(other.trees != one.trees)
        let decoded = try JSONDecoder().decode(RandomForest.self, from: encoder.encode(one))
        #expect(try decoded.probabilities(x, threads: 3) == one.probabilities(x, threads: 1))
        #expect(decoded.outOfBagAccuracy == one.outOfBagAccuracy)
    }

    @Test func permutationImportancesFindTheInformativeFeatures() throws {
        let (x, y) = TreeTestData.xor(rows: 400, noise: 2)
        var h = RandomForest.Hyperparameters()
        h.trees = 20
        h.permutationImportance = true
        let forest = try RandomForest.fit(x, labels: y, classCount: 2, hyperparameters: h, seed: 2, threads: 2)
        let oobDrops = try #require(forest.permutationImportances)
        #expect(min(oobDrops[0], oobDrops[1]) > max(oobDrops[2], oobDrops[3]) + 0.05)
        let heldOut = TreeTestData.xor(rows: 200, noise: 2, seed: 3)
        let drops = try PermutationImportance.accuracyDrops(forest, data: heldOut.0, labels: heldOut.1, repeats: 3, seed: 1, threads: 2)
        #expect(min(drops[0], drops[1]) > max(drops[2], drops[3]) + 0.1)
    }

    @Test func maxFeaturesResolution() {
        #expect(MaxFeatures.sqrt.count(features: 20) == 4)
        #expect(MaxFeatures.log2.count(features: 20) == 4)
        #expect(MaxFeatures.all.count(features: 20) == 20)
        #expect(MaxFeatures.fraction(0.3).count(features: 20) == 6)
        #expect(MaxFeatures.fraction(0.01).count(features: 20) == 1)
        #expect(MaxFeatures.sqrt.count(features: 1) == 1)
    }

    @Test func badParametersAreRefused() {
        let (x, y) = TreeTestData.xor(rows: 30)
        var h = RandomForest.Hyperparameters()
        h.trees = 0
        #expect(throws: EstimatorError.self) { try RandomForest.fit(x, labels: y, classCount: 2, hyperparameters: h) }
        h = .init()
        h.maxFeatures = .fraction(1.5)
        #expect(throws: EstimatorError.self) { try RandomForest.fit(x, labels: y, classCount: 2, hyperparameters: h) }
        h = .init()
        h.minSamplesLeaf = 31
        #expect(throws: EstimatorError.self) { try RandomForest.fit(x, labels: y, classCount: 2, hyperparameters: h) }
    }

    @Test func withoutBootstrapThereIsNoOutOfBagEstimate() throws {
        let (x, y) = TreeTestData.xor(rows: 100)
        var h = RandomForest.Hyperparameters()
        h.trees = 3
        h.bootstrap = false
        let forest = try RandomForest.fit(x, labels: y, classCount: 2, hyperparameters: h)
        #expect(forest.outOfBagAccuracy == nil)
        #expect(Metrics.accuracy(predicted: try forest.predict(x, threads: 1), truth: y) == 1)
    }

    @Test func corruptTreesAreRejectedOnDecode() throws {
        let (x, y) = TreeTestData.xor(rows: 50)
        var h = RandomForest.Hyperparameters()
        h.trees = 2
        let forest = try RandomForest.fit(x, labels: y, classCount: 2, hyperparameters: h)
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(forest)) as! [String: Any]
        json["feature_count"] = 1 // trees split on features ≥ 1
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(RandomForest.self, from: JSONSerialization.data(withJSONObject: json))
        }
    }

    /// The forest predicts the mean of its trees' leaf class distributions, each tree walked
    /// on its own from the stored structure (issue 17: what a forest is, checked directly).
    @Test func bootstrapForestIsTheMeanOfItsTreesWalkedOneByOne() throws {
        let (x, y) = TreeTestData.xor(rows: 240, noise: 4)
        let (xTest, _) = TreeTestData.xor(rows: 200, noise: 4, seed: 9)
        for maxFeatures in [MaxFeatures.sqrt, .all] {
            var h = RandomForest.Hyperparameters()
            h.trees = 25
            h.maxFeatures = maxFeatures
            let forest = try RandomForest.fit(x, labels: y, classCount: 2, hyperparameters: h, seed: 3, threads: 2)
            let p = try forest.probabilities(xTest, threads: 2)
            for i in 0..<xTest.rows {
                var mean = [Double](repeating: 0, count: 2)
                let row = xTest.row(i)
                for tree in forest.trees {
                    let leaf = row.withUnsafeBufferPointer { tree.leaf(of: $0.baseAddress!) }
                    for (c, v) in TreeTraining.classProbabilities(tree, leaf).enumerated() { mean[c] += Double(v) }
                }
                for c in 0..<2 { #expect(abs(Double(p[i, c]) - mean[c] / Double(forest.trees.count)) < 1e-5) }
            }
        }
    }

    /// Without bootstrap and with every feature a forest's tree is a plain CART tree: tree 0
    /// draws from the same stream as `DecisionTree` with the same seed, so they are equal.
    @Test func unbaggedForestOfAllFeaturesIsTheDecisionTree() throws {
        let (x, y) = TreeTestData.blobs(rows: 300)
        var h = RandomForest.Hyperparameters()
        h.trees = 3
        h.bootstrap = false
        h.maxFeatures = .all
        let forest = try RandomForest.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 7, threads: 2)
        let tree = try DecisionTree.fit(x, labels: y, classCount: 3, seed: 7)
        #expect(forest.trees[0] == tree.tree)
        h.trees = 1
        let single = try RandomForest.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 7, threads: 1)
        let (xTest, _) = TreeTestData.blobs(rows: 150, seed: 5)
        #expect(try single.probabilities(xTest, threads: 1) == tree.probabilities(xTest, threads: 1))
    }

    /// Regression test for issue 17 §2 at the forest level: ten rows placed symmetrically
    /// about 0 (class 1 below, class 0 above). Bagged trees put each threshold mid-gap among
    /// their own sample, so the forest is symmetric about 0 as scikit-learn's is. With the
    /// old rule (the edge just above the sample's left value) the class-1 side shrank to its
    /// sampled points: |P(1 | −d) − P(0 | d)| was 0.335 at d = 0.3 and 0.095 at d = 1.3.
    @Test func baggedThresholdsAreSymmetricAboutTheBoundary() throws {
        let side: [Float] = [0.5, 1.6, 2.4, 3.7, 4.3]
        let x = Matrix<Float>((side.reversed().map { [-$0] }) + side.map { [$0] })
        let y = side.map { _ in 1 } + side.map { _ in 0 }
        var h = RandomForest.Hyperparameters()
        h.trees = 400
        let forest = try RandomForest.fit(x, labels: y, classCount: 2, hyperparameters: h, seed: 1, threads: 2)
        for d: Float in [0.3, 1.3] {
            let p = try forest.probabilities(Matrix<Float>([[-d], [d]]), threads: 1)
            #expect(abs(Double(p[0, 1]) - Double(p[1, 0])) < 0.06, "P(1 | −\(d)) = \(p[0, 1]), P(0 | \(d)) = \(p[1, 0])")
        }
    }
}
