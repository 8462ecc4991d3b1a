import Foundation
import Testing
@testable import TriageCore

@Suite struct DecisionTreeTests {
    @Test(arguments: [SplitterKind.histogram, .exact], [ClassificationCriterion.gini, .entropy])
    func learnsXorAndGeneralises(splitter: SplitterKind, criterion: ClassificationCriterion) throws {
        let (x, y) = TreeTestData.xor(rows: 600)
        let (xTest, yTest) = TreeTestData.xor(rows: 300, seed: 9)
        var h = DecisionTree.Hyperparameters()
        h.splitter = splitter
        h.criterion = criterion
        let tree = try DecisionTree.fit(x, labels: y, classCount: 2, hyperparameters: h)
        #expect(Metrics.accuracy(predicted: try tree.predict(x, threads: 1), truth: y) == 1) // grown to purity
        #expect(Metrics.accuracy(predicted: try tree.predict(xTest, threads: 1), truth: yTest) > 0.9)
        // The informative features carry the importance.
        #expect(tree.featureImportances[0] + tree.featureImportances[1] > 0.8)
        #expect(abs(tree.featureImportances.reduce(0, +) - 1) < 1e-9)
    }

    @Test func exactAndHistogramAgreeWhenEveryValueHasItsOwnBin() throws {
        let (x, y) = TreeTestData.xor(rows: 200) // 200 distinct values per feature ≤ 255 bins
        var h = DecisionTree.Hyperparameters()
        let histogram = try DecisionTree.fit(x, labels: y, classCount: 2, hyperparameters: h, seed: 4)
        h.splitter = .exact
        let exact = try DecisionTree.fit(x, labels: y, classCount: 2, hyperparameters: h, seed: 4)
        #expect(histogram.tree == exact.tree)
    }

    @Test func probabilitiesAreLeafDistributions() throws {
        let (x, y) = TreeTestData.blobs(rows: 300)
        var h = DecisionTree.Hyperparameters()
        h.maxDepth = 2
        let tree = try DecisionTree.fit(x, labels: y, classCount: 3, hyperparameters: h)
        let p = try tree.probabilities(x, threads: 2)
        for i in 0..<p.rows { #expect(abs(p.row(i).reduce(0, +) - 1) < 1e-5) }
        #expect(tree.tree.depth == 2)
        #expect(tree.tree.leafCount <= 4)
    }

    @Test func stoppingRules() throws {
        let (x, y) = TreeTestData.xor(rows: 400, noise: 3)
        var h = DecisionTree.Hyperparameters()
        h.minSamplesLeaf = 25
        let leafy = try DecisionTree.fit(x, labels: y, classCount: 2, hyperparameters: h)
        for i in 0..<leafy.tree.nodeCount where leafy.tree.isLeaf(i) { #expect(leafy.tree.sampleCount[i] >= 25) }

        h = .init()
        h.minSamplesSplit = 100
        let coarse = try DecisionTree.fit(x, labels: y, classCount: 2, hyperparameters: h)
        for i in 0..<coarse.tree.nodeCount where !coarse.tree.isLeaf(i) { #expect(coarse.tree.sampleCount[i] >= 100) }

        h = .init()
        h.minImpurityDecrease = 0.6 // larger than any possible decrease of a two-class Gini (≤ 0.5)
        let stump = try DecisionTree.fit(x, labels: y, classCount: 2, hyperparameters: h)
        #expect(stump.tree.nodeCount == 1)
    }

    @Test func constantFeaturesGiveOneLeaf() throws {
        let x = Matrix<Float>(rows: 10, columns: 2, repeating: 3)
        let tree = try DecisionTree.fit(x, labels: [0, 1, 0, 1, 0, 1, 0, 1, 0, 0], classCount: 2)
        #expect(tree.tree.nodeCount == 1)
        let p = try tree.probabilities(Matrix<Float>([[3, 3]]), threads: 1)
        #expect(abs(p[0, 0] - 0.6) < 1e-6)
    }

    @Test func balancedClassWeightFavoursTheRareClass() throws {
        // Feature 0 only weakly separates a 10 % minority: unweighted leaves predict the majority.
        var random = RandomSource(seed: 5)
        var rows = [[Float]](), labels = [Int]()
        for i in 0..<500 {
            let minority = i % 10 == 0
            rows.append([Float(random.normal(mean: minority ? 1 : 0, standardDeviation: 1))])
            labels.append(minority ? 1 : 0)
        }
        let x = Matrix(rows)
        var h = DecisionTree.Hyperparameters()
        h.maxDepth = 2
        let plain = try DecisionTree.fit(x, labels: labels, classCount: 2, hyperparameters: h)
        h.classWeight = .balanced
        let balanced = try DecisionTree.fit(x, labels: labels, classCount: 2, hyperparameters: h)
        let plainPositives = try plain.predict(x, threads: 1).filter { $0 == 1 }.count
        let balancedPositives = try balanced.predict(x, threads: 1).filter { $0 == 1 }.count
        #expect(balancedPositives > plainPositives)
        h.classWeight = .explicit([1, 9])
        let explicit = try DecisionTree.fit(x, labels: labels, classCount: 2, hyperparameters: h)
        #expect(try explicit.predict(x, threads: 1).filter { $0 == 1 }.count > plainPositives)
    }

    @Test func missingValuesFollowTheLearnedSide() throws {
        // Class 1 rows have x0 > 0 or x0 missing; the tree must learn to send NaN with class 1.
        var rows = [[Float]](), labels = [Int]()
        for i in 0..<200 {
            let v = Float(i % 50) / 50
            switch i % 4 {
            case 0: rows.append([-v - 0.1]); labels.append(0)
            case 1: rows.append([v + 0.1]); labels.append(1)
            case 2: rows.append([.nan]); labels.append(1)
            default: rows.append([-v - 0.2]); labels.append(0)
            }
        }
        let tree = try DecisionTree.fit(Matrix(rows), labels: labels, classCount: 2)
        #expect(try tree.predict(Matrix([[Float.nan], [-0.5], [0.5]]), threads: 1) == [1, 0, 1])
        // Missing at prediction only (never seen in training): goes to the larger child.
        let clean = try DecisionTree.fit(Matrix<Float>([[0], [1], [2], [3], [4]]), labels: [0, 1, 1, 1, 1], classCount: 2)
        #expect(try clean.predict(Matrix([[Float.nan]]), threads: 1) == [1])
    }

    @Test func decisionPathAndRulesExplainThePrediction() throws {
        let (x, y) = TreeTestData.blobs(rows: 300)
        var h = DecisionTree.Hyperparameters()
        h.maxDepth = 3
        let tree = try DecisionTree.fit(x, labels: y, classCount: 3, hyperparameters: h)
        let row = Array(x.row(7))
        let path = try tree.decisionPath(row)
        #expect(!path.steps.isEmpty && path.steps.count <= 3)
        for step in path.steps { #expect(step.wentLeft == (row[step.feature] <= step.threshold)) }
        let p = try tree.probabilities(Matrix([row]), threads: 1)
        for c in 0..<3 { #expect(abs(Double(p[0, c]) - path.probabilities[c]) < 1e-6) }
        let names = ["cpu", "memory", "latency", "noise"]
        #expect(path.steps[0].describe(featureNames: names).hasPrefix(names[path.steps[0].feature] + " = "))

        let rules = TreeRules.render(tree.tree, featureNames: names, classNames: ["ok", "slow", "down"])
        #expect(rules.first!.hasPrefix("if "))
        #expect(rules.filter { $0.contains("predict ") }.count == tree.tree.leafCount)
        #expect(rules.contains { $0.contains("samples ") && $0.contains("ok: ") && $0.contains("%") })
        #expect(tree.summary(featureNames: names, classNames: ["ok", "slow", "down"]).rules == rules)
    }

    @Test func sameSeedSameTreeAndCodableRoundTrip() throws {
        let (x, y) = TreeTestData.blobs(rows: 200)
        var h = DecisionTree.Hyperparameters()
        h.maxFeatures = 2
        let a = try DecisionTree.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 11, threads: 1)
        let b = try DecisionTree.fit(x, labels: y, classCount: 3, hyperparameters: h, seed: 11, threads: 4)
        #expect(a.tree == b.tree)
        let data = try JSONEncoder().encode(a)
        let decoded = try JSONDecoder().decode(DecisionTree.self, from: data)
        #expect(decoded.tree == a.tree)
        #expect(try decoded.probabilities(x, threads: 2) == a.probabilities(x, threads: 1))
    }

    @Test func badInputIsRefused() {
        let (x, y) = TreeTestData.xor(rows: 20)
        #expect(throws: EstimatorError.invalidTarget("target has a single class; a classifier needs at least two")) {
            try DecisionTree.fit(x, labels: [Int](repeating: 0, count: 20), classCount: 2)
        }
        #expect(throws: EstimatorError.self) { try DecisionTree.fit(x, labels: Array(y.dropLast()), classCount: 2) }
        #expect(throws: EstimatorError.self) { try DecisionTree.fit(x, labels: y.map { $0 + 1 }, classCount: 2) }
        #expect(throws: EstimatorError.emptyData) { try DecisionTree.fit(Matrix(rows: 0, columns: 2), labels: [], classCount: 2) }
        var h = DecisionTree.Hyperparameters()
        h.minSamplesLeaf = 21
        #expect(throws: EstimatorError.invalidParameter(name: "min_samples_leaf", value: "21", expected: "at most the number of rows (20)")) {
            try DecisionTree.fit(x, labels: y, classCount: 2, hyperparameters: h)
        }
        h = .init()
        h.classWeight = .explicit([1])
        #expect(throws: EstimatorError.self) { try DecisionTree.fit(x, labels: y, classCount: 2, hyperparameters: h) }
        h.classWeight = .explicit([1, -2])
        #expect(throws: EstimatorError.self) { try DecisionTree.fit(x, labels: y, classCount: 2, hyperparameters: h) }
        h = .init()
        h.maxDepth = 0
        #expect(throws: EstimatorError.self) { try DecisionTree.fit(x, labels: y, classCount: 2, hyperparameters: h) }
    }

    @Test func aClassWithOneSampleIsLearned() throws {
        let x = Matrix<Float>([[0], [1], [2], [3], [10]])
        let tree = try DecisionTree.fit(x, labels: [0, 0, 1, 1, 2], classCount: 3)
        #expect(try tree.predict(x, threads: 1) == [0, 0, 1, 1, 2])
    }

    /// The regression variant is the same builder with the MSE criterion (no copy of the
    /// split search): leaves predict the mean of a step function exactly.
    @Test func meanSquaredErrorCriterionGrowsARegressionTree() throws {
        let x = Matrix<Float>(rows: 40, columns: 1) { i, _ in Float(i) }
        let targets: [Float] = (0..<40).map { $0 < 15 ? 2 : ($0 < 30 ? 5 : -1) }
        let binning = FeatureBinning(fitting: x, maxBins: 255, threads: 1)
        let builder = TreeBuilder(criterion: MeanSquaredErrorCriterion(), data: try binning.bin(x, as: UInt8.self, threads: 1),
                                  binning: binning, targets: targets,
                                  growth: TreeGrowth(maxDepth: .max, minSamplesSplit: 2, minSamplesLeaf: 1,
                                                     minImpurityDecrease: 0, maxFeatures: 1))
        var random = RandomSource(seed: 0)
        let (tree, _) = builder.grow(samples: (0..<40).map(Int32.init), weights: [Double](repeating: 1, count: 40), random: &random)
        #expect(tree.leafCount == 3)
        for i in 0..<tree.nodeCount where tree.isLeaf(i) {
            let s = tree.statistics(i)
            let mean = s[s.startIndex + 1] / s[s.startIndex]
            #expect([2.0, 5.0, -1.0].contains(mean))
        }
        #expect(Set(tree.threshold.enumerated().filter { !tree.isLeaf($0.offset) }.map(\.element)) == [14.5, 29.5])
    }
}

/// Found by the model-file fuzzer (fuzz/crashes/model-tree-negative-class-count.*): a tree file
/// with a valid checksum and a leaf weight of −5e262 trapped `triage inspect` converting it to
/// Int. Class counts are now checked on decode, and the rule text never traps on a weight.
@Suite struct TreeModelDecodingTests {
    static func tamperedJSON(_ tree: DecisionTree, _ change: (inout [Double]) -> Void) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(tree)) as! [String: Any]
        var structure = object["tree"] as! [String: Any]
        var values = tree.tree.value
        change(&values)
        structure["value"] = TreeStructure.pack(values.map(\.bitPattern))
        object["tree"] = structure
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test func negativeOrNonFiniteClassCountsAreRefused() throws {
        let (x, y) = TreeTestData.xor(rows: 200)
        let tree = try DecisionTree.fit(x, labels: y, classCount: 2)
        #expect(try JSONDecoder().decode(DecisionTree.self, from: Self.tamperedJSON(tree) { _ in }).tree == tree.tree)
        for bad in [-5.364e262, -1, Double.nan, Double.infinity] {
            let data = try Self.tamperedJSON(tree) { $0[$0.count - 1] = bad }
            #expect(throws: DecodingError.self, "\(bad)") { try JSONDecoder().decode(DecisionTree.self, from: data) }
        }
    }

    @Test func ruleTextPrintsAnyFiniteWeight() throws {
        var structure = TreeStructure(width: 2)
        let stats: [Double] = [1e300, 3]
        stats.withUnsafeBufferPointer { _ = structure.addNode(parent: -1, isLeft: false, statistics: $0.baseAddress!, samples: 4, impurity: 0.1) }
        let text = TreeRules.leafText(structure, 0, classNames: ["a", "b"])
        #expect(text.contains("a: 1e+300"))
    }

    /// Regression test for issue 17 §2: a node whose values have other rows' values in
    /// between (a bootstrap's left-out rows, or the other branches' rows deep in a tree) put
    /// its threshold on the edge just above its left value, so every "≤" region hugged the
    /// training points. Here the tree grows on rows 0 and 10 of 0 … 10 only, as a bagged tree
    /// whose sample left out the rest: scikit-learn would split at 5; the edges nearest are
    /// 4.5 and 5.5 (the old threshold was 0.5).
    @Test func thresholdSitsMidwayBetweenTheNodesValues() throws {
        let x = Matrix<Float>(rows: 11, columns: 1) { i, _ in Float(i) }
        let labels = (0...10).map { $0 < 5 ? 1 : 0 }
        for maxBins in [255, nil] {
            let binning = FeatureBinning(fitting: x, maxBins: maxBins, threads: 1)
            var random = RandomSource(seed: 0)
            let growth = TreeGrowth(maxDepth: .max, minSamplesSplit: 2, minSamplesLeaf: 1, minImpurityDecrease: 0, maxFeatures: 1)
            var weights = [Double](repeating: 0, count: 11)
            weights[0] = 2; weights[10] = 1
            let (tree, _) = TreeTraining.growClassifier(criterion: .gini, classCount: 2, data: try binning.bin(x, as: UInt32.self, threads: 1),
                                                        binning: binning, targets: labels.map(Float.init), growth: growth,
                                                        samples: [0, 10], weights: weights, random: &random)
            #expect(tree.nodeCount == 3)
            #expect(tree.threshold[0] >= 4.5 && tree.threshold[0] <= 5.5, "maxBins \(String(describing: maxBins))")
        }
    }
}
