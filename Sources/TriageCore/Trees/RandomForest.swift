#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many features a forest's tree examines per node.
public enum MaxFeatures: Codable, Sendable, Equatable {
    /// ⌊√F⌋, Breiman's (2001) default for classification.
    case sqrt
    case log2
    case all
    /// ⌊fraction·F⌋, at least 1.
    case fraction(Double)

    public func count(features: Int) -> Int {
        switch self {
        case .sqrt: return max(1, Int(Double(features).squareRoot()))
        case .log2: return max(1, Int(Glibc.log2(Double(features))))
        case .all: return features
        case .fraction(let f): return min(features, max(1, Int(f * Double(features))))
        }
    }

    public var description: String {
        switch self {
        case .sqrt: return "sqrt"
        case .log2: return "log2"
        case .all: return "all"
        case .fraction(let f): return "\(f)"
        }
    }
}

/// A random forest of CART classification trees (Breiman, "Random Forests", Machine Learning
/// 45, 2001): each tree grows on a bootstrap sample of the rows, drawing `max_features`
/// candidate features at each node, and the forest predicts the mean of the trees' leaf class
/// distributions (scikit-learn's soft voting).
///
/// For speed every feature is binned once into ≤ 255 quantile bins and splits are found on
/// per-node histograms (LightGBM, Ke et al. 2017). A bootstrap sample is represented as row
/// weights (how often each row was drawn), as scikit-learn does. Tree t draws from its own
/// stream `RandomSource(seed:stream: t)`, so the forest is identical for any thread count.
///
/// Out-of-bag estimates (Breiman 2001, §3.1): each row is predicted by the trees whose
/// bootstrap missed it, giving the OOB accuracy and, optionally, permutation importances
/// (Breiman 2001, §10: the drop in a tree's OOB accuracy when one feature's values are shuffled
/// among its OOB rows, averaged over trees).
///
/// - Complexity: fit O(trees·n·√F·depth); predict O(trees·depth) per row.
public struct RandomForest: Classifier, SummarizableModel {
    public struct Hyperparameters: Codable, Sendable, Equatable {
        public var trees = 100
        public var criterion: ClassificationCriterion = .gini
        public var maxFeatures: MaxFeatures = .sqrt
        public var maxDepth: Int? = nil
        public var minSamplesSplit = 2
        public var minSamplesLeaf = 1
        public var minImpurityDecrease = 0.0
        public var classWeight: ClassWeight = .none
        public var bootstrap = true
        public var maxBins = 255
        /// Compute out-of-bag permutation importances at fit time (costs about one OOB
        /// prediction per feature).
        public var permutationImportance = false

        public init() {}
    }

    public let hyperparameters: Hyperparameters
    public let featureCount: Int
    public let classCount: Int
    public let trees: [TreeStructure]
    /// Mean decrease in impurity, normalised per tree, averaged, summing to 1 (scikit-learn's
    /// `feature_importances_`).
    public let featureImportances: [Double]
    /// Accuracy of out-of-bag predictions over rows left out by at least one tree (nil without
    /// bootstrap).
    public let outOfBagAccuracy: Double?
    /// Mean drop in per-tree OOB accuracy when the feature is permuted (nil unless asked for).
    public let permutationImportances: [Double]?
    let predictor: TreePredictor

    /// `predictor`: the same trees' predictor when one was already built (fit builds it once for
    /// the out-of-bag pass and keeps it; building it is ≈ 3 % of a 100-tree fit).
    init(hyperparameters: Hyperparameters, featureCount: Int, classCount: Int, trees: [TreeStructure],
         featureImportances: [Double], outOfBagAccuracy: Double?, permutationImportances: [Double]?,
         predictor: TreePredictor? = nil, threads: Int = 1) {
        self.hyperparameters = hyperparameters
        self.featureCount = featureCount
        self.classCount = classCount
        self.trees = trees
        self.featureImportances = featureImportances
        self.outOfBagAccuracy = outOfBagAccuracy
        self.permutationImportances = permutationImportances
        self.predictor = predictor
            ?? TreePredictor(classProbabilitiesOf: trees, features: featureCount, outputs: classCount, threads: threads)
    }

    /// Fits a forest to `data` (NaN = missing) and class indices `labels` in 0..<classCount.
    public static func fit(_ data: Matrix<Float>, labels: [Int], classCount: Int, hyperparameters h: Hyperparameters = .init(),
                           seed: UInt64 = 0, threads: Int = 1) throws(EstimatorError) -> RandomForest {
        try TreeTraining.validate(data, labels: labels, classCount: classCount, maxDepth: h.maxDepth,
                                  minSamplesSplit: h.minSamplesSplit, minSamplesLeaf: h.minSamplesLeaf,
                                  minImpurityDecrease: h.minImpurityDecrease, classWeight: h.classWeight)
        guard h.trees >= 1 else { throw .invalidParameter(name: "trees", value: "\(h.trees)", expected: "at least 1") }
        if case .fraction(let f) = h.maxFeatures, !(f > 0 && f <= 1) {
            throw .invalidParameter(name: "max_features", value: "\(f)", expected: "a fraction in (0, 1]")
        }
        guard h.maxBins >= 2 && h.maxBins <= 255 else {
            throw .invalidParameter(name: "max_bins", value: "\(h.maxBins)", expected: "2…255")
        }
        let rows = data.rows
        let growth = TreeGrowth(maxDepth: h.maxDepth ?? Int.max, minSamplesSplit: h.minSamplesSplit,
                                minSamplesLeaf: h.minSamplesLeaf, minImpurityDecrease: h.minImpurityDecrease,
                                maxFeatures: h.maxFeatures.count(features: data.columns))
        let classWeights = h.classWeight.weights(labels: labels, classCount: classCount)
        let targets = labels.map(Float.init)
        let (binning, binned) = try FeatureBinning.fittingAndBinning(data, maxBins: h.maxBins, as: UInt8.self, threads: threads)

        let grown = Parallel.map(h.trees, threads: threads) {
            t -> (tree: TreeStructure, importance: [Double], inBag: [Bool], outOfBag: [Int32], outOfBagLeaves: [Int32]) in
            var random = RandomSource(seed: seed, stream: UInt64(t))
            var weights = [Double](repeating: 0, count: rows)
            // Which rows the tree saw: only the permutation importances read it (rows × trees
            // flags otherwise written and kept for nothing).
            var inBag = [Bool]()
            var samples = [Int32](), outOfBag = [Int32]()
            if h.bootstrap {
                var draws = [Int32](repeating: 0, count: rows)
                for _ in 0..<rows { draws[random.integer(below: rows)] += 1 }
                samples.reserveCapacity(rows * 2 / 3)
                outOfBag.reserveCapacity(rows * 3 / 8)
                if h.permutationImportance { inBag = draws.map { $0 > 0 } }
                for i in 0..<rows {
                    if draws[i] > 0 {
                        samples.append(Int32(i))
                        weights[i] = Double(draws[i]) * classWeights[labels[i]]
                    } else {
                        outOfBag.append(Int32(i))
                    }
                }
            } else {
                samples = (0..<Int32(rows)).map { $0 }
                if h.permutationImportance { inBag = [Bool](repeating: true, count: rows) }
                for i in 0..<rows { weights[i] = classWeights[labels[i]] }
            }
            let result = TreeTraining.growClassifier(criterion: h.criterion, classCount: classCount, data: binned,
                                                     binning: binning, targets: targets, growth: growth, samples: samples,
                                                     weights: weights, outOfBag: outOfBag, random: &random)
            // Each out-of-bag row's leaf as its number among the tree's leaves in node order, which
            // is where its outputs sit in the predictor (`TreePredictor.leafBases`): the OOB pass
            // then reads them with one random load instead of two (node, then outputs).
            var leafNumber = [Int32](repeating: -1, count: result.tree.nodeCount), leaves = Int32(0)
            for i in 0..<result.tree.nodeCount where result.tree.isLeaf(i) { leafNumber[i] = leaves; leaves += 1 }
            let outOfBagLeaves = result.outOfBagLeaves.map { leafNumber[Int($0)] }
            return (result.tree, result.importance, inBag, outOfBag, outOfBagLeaves)
        }
        let trees = grown.map(\.tree)
        var importances = [Double](repeating: 0, count: data.columns)
        for g in grown {
            for (j, v) in TreeTraining.normalised(g.importance).enumerated() { importances[j] += v }
        }
        var forest = RandomForest(hyperparameters: h, featureCount: data.columns, classCount: classCount, trees: trees,
                                  featureImportances: TreeTraining.normalised(importances), outOfBagAccuracy: nil,
                                  permutationImportances: nil, threads: threads)
        if h.bootstrap {
            let inBag = grown.map(\.inBag)
            let oob = forest.outOfBagAccuracy(labels: labels, outOfBag: grown.map(\.outOfBag),
                                              leaves: grown.map(\.outOfBagLeaves), threads: threads)
            let permutation = h.permutationImportance
                ? forest.outOfBagPermutationImportances(data, labels: labels, inBag: inBag, seed: seed, threads: threads) : nil
            forest = RandomForest(hyperparameters: h, featureCount: data.columns, classCount: classCount, trees: trees,
                                  featureImportances: forest.featureImportances, outOfBagAccuracy: oob,
                                  permutationImportances: permutation, predictor: forest.predictor)
        }
        return forest
    }

    public func probabilities(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> Matrix<Float> {
        try checkColumns(data, expected: featureCount)
        return predictor.averageOutputs(data, threads: threads)
    }

    /// OOB accuracy from the leaves the growth routed each tree's out-of-bag rows to
    /// (`outOfBag[t]` ascending, `leaves[t][i]` the leaf of row `outOfBag[t][i]` in tree t,
    /// numbered among the tree's leaves in node order):
    /// each row's class probabilities summed over those trees, in tree order as the walk below
    /// adds them, so the result is the same bit for bit.
    func outOfBagAccuracy(labels: [Int], outOfBag: [[Int32]], leaves: [[Int32]], threads: Int) -> Double? {
        let rows = labels.count, k = classCount, predictor = self.predictor
        let blocks = Parallel.ranges(rows, chunks: max(1, min(rows / 1024, 4 * threads)))
        let perBlock = Parallel.map(blocks.count, threads: threads) { b -> (correct: Int, counted: Int) in
            let block = blocks[b]
            var sums = [Float](repeating: 0, count: block.count * k)
            var voted = [Bool](repeating: false, count: block.count)
            predictor.leafValues.withUnsafeBufferPointer { values in
                for t in 0..<outOfBag.count {
                    let treeRows = outOfBag[t], treeLeaves = leaves[t], leafBase = predictor.leafBases[t]
                    // First out-of-bag row of tree t inside the block (rows are ascending).
                    var low = 0, high = treeRows.count
                    while low < high {
                        let mid = (low + high) >> 1
                        if Int(treeRows[mid]) < block.lowerBound { low = mid + 1 } else { high = mid }
                    }
                    var i = low
                    while i < treeRows.count && Int(treeRows[i]) < block.upperBound {
                        let r = Int(treeRows[i]) - block.lowerBound
                        voted[r] = true
                        let o = leafBase + Int(treeLeaves[i]) * k
                        for c in 0..<k { sums[r * k + c] += values[o + c] }
                        i += 1
                    }
                }
            }
            return Self.tally(sums: sums, voted: voted, classes: k, labels: labels, from: block.lowerBound)
        }
        let counted = perBlock.reduce(0) { $0 + $1.counted }
        return counted > 0 ? Double(perBlock.reduce(0) { $0 + $1.correct }) / Double(counted) : nil
    }

    /// Rows of a block whose summed class outputs' argmax equals their label, among the rows
    /// that had an out-of-bag tree.
    private static func tally(sums: [Float], voted: [Bool], classes k: Int, labels: [Int], from first: Int)
        -> (correct: Int, counted: Int)
    {
        var correct = 0, counted = 0
        for r in voted.indices where voted[r] {
            counted += 1
            if argmax(sums[(r * k)..<((r + 1) * k)]) == labels[first + r] { correct += 1 }
        }
        return (correct, counted)
    }

    /// OOB accuracy by walking each row down the trees that did not see it (the reference the
    /// tests hold the growth's routing to): each row's class probabilities summed over them.
    func outOfBagAccuracy(_ data: Matrix<Float>, labels: [Int], inBag: [[Bool]], threads: Int) -> Double? {
        let rows = data.rows, k = classCount, predictor = self.predictor
        // Few large blocks (4 per thread): every block walks every tree, so each block reads all
        // the forest's nodes once; with blocks of 1 024 rows that was 146 reads of the whole forest
        // (48 MB) for 150 000 rows, ~1.2 s of a 8.8 s `fit forest` (BENCHMARKS.md, trees speed).
        let blocks = Parallel.ranges(rows, chunks: max(1, min(rows / 1024, 4 * threads)))
        let perBlock = Parallel.map(blocks.count, threads: threads) { b -> (correct: Int, counted: Int) in
            let block = blocks[b]
            var sums = [Float](repeating: 0, count: block.count * k)
            var voted = [Bool](repeating: false, count: block.count)
            // Tree by tree over the block's rows, so one tree's nodes stay cached across the
            // block's walks (row by row, each row visited its ≈ 37 % of the trees: a cache miss
            // per level; this pass was a quarter of `fit forest`, BENCHMARKS.md). Each row still
            // adds its trees' outputs in tree order: the same sums, bit for bit, whatever the blocks.
            for t in 0..<inBag.count {
                let bag = inBag[t]
                for i in block where !bag[i] {
                    let r = i - block.lowerBound
                    voted[r] = true
                    data.withRow(i) { row in
                        for (c, p) in predictor.outputs(tree: t, row: row.baseAddress!).enumerated() { sums[r * k + c] += p }
                    }
                }
            }
            return Self.tally(sums: sums, voted: voted, classes: k, labels: labels, from: block.lowerBound)
        }
        let counted = perBlock.reduce(0) { $0 + $1.counted }
        return counted > 0 ? Double(perBlock.reduce(0) { $0 + $1.correct }) / Double(counted) : nil
    }

    /// Breiman's permutation importance: per tree, OOB accuracy minus OOB accuracy with feature
    /// j shuffled among the OOB rows; averaged over trees. Shuffles use stream 2³² + t.
    func outOfBagPermutationImportances(_ data: Matrix<Float>, labels: [Int], inBag: [[Bool]], seed: UInt64,
                                        threads: Int) -> [Double] {
        let features = featureCount, columns = data.columns, predictor = self.predictor
        let perTree = Parallel.map(inBag.count, threads: threads) { t -> [Double] in
            let oob = (0..<data.rows).filter { !inBag[t][$0] }
            guard !oob.isEmpty else { return [Double](repeating: 0, count: features) }
            var random = RandomSource(seed: seed, stream: (1 << 32) + UInt64(t))
            var row = [Float](repeating: 0, count: columns)
            func correct(_ permuted: Int?, _ order: [Int]) -> Int {
                var hits = 0
                for (position, i) in oob.enumerated() {
                    for j in 0..<columns { row[j] = data[i, j] }
                    if let f = permuted { row[f] = data[order[position], f] }
                    let p = row.withUnsafeBufferPointer { predictor.outputs(tree: t, row: $0.baseAddress!) }
                    if argmax(p) == labels[i] { hits += 1 }
                }
                return hits
            }
            let base = correct(nil, oob)
            return (0..<features).map { f in
                var order = oob
                random.shuffle(&order)
                return Double(base - correct(f, order)) / Double(oob.count)
            }
        }
        return (0..<features).map { f in perTree.reduce(0) { $0 + $1[f] } / Double(perTree.count) }
    }

    public func summary(featureNames: [String]) -> ModelSummary {
        var values: [String: Double] = [
            "trees": Double(trees.count), "classes": Double(classCount),
            "mean_nodes": Double(trees.reduce(0) { $0 + $1.nodeCount }) / Double(trees.count),
            "mean_depth": Double(trees.reduce(0) { $0 + $1.depth }) / Double(trees.count),
            "max_features_resolved": Double(hyperparameters.maxFeatures.count(features: featureCount)),
        ]
        if let oob = outOfBagAccuracy { values["oob_accuracy"] = oob }
        if let permutation = permutationImportances {
            for (name, v) in zip(featureNames, permutation) { values["permutation_importance.\(name)"] = v }
        }
        let h = hyperparameters
        return ModelSummary(
            parameters: ["trees": "\(h.trees)", "criterion": h.criterion.rawValue, "max_features": h.maxFeatures.description,
                         "max_depth": h.maxDepth.map(String.init) ?? "none", "min_samples_split": "\(h.minSamplesSplit)",
                         "min_samples_leaf": "\(h.minSamplesLeaf)", "min_impurity_decrease": "\(h.minImpurityDecrease)",
                         "class_weight": h.classWeight.description, "bootstrap": "\(h.bootstrap)", "max_bins": "\(h.maxBins)"],
            values: values, importances: featureImportances)
    }
}

extension RandomForest: Codable {
    enum CodingKeys: String, CodingKey {
        case hyperparameters, featureCount = "feature_count", classCount = "class_count", trees
        case featureImportances = "feature_importances", outOfBagAccuracy = "oob_accuracy"
        case permutationImportances = "permutation_importances"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let featureCount = try c.decode(Int.self, forKey: .featureCount)
        let classCount = try c.decode(Int.self, forKey: .classCount)
        let trees = try c.decode([TreeStructure].self, forKey: .trees)
        guard !trees.isEmpty, classCount >= 2,
              trees.allSatisfy({ $0.validate(featureCount: featureCount) && $0.hasClassCounts && $0.width == classCount }) else {
            throw DecodingError.dataCorruptedError(forKey: .trees, in: c, debugDescription: "trees do not match the forest's feature or class count")
        }
        self.init(hyperparameters: try c.decode(Hyperparameters.self, forKey: .hyperparameters), featureCount: featureCount,
                  classCount: classCount, trees: trees,
                  featureImportances: try c.decode([Double].self, forKey: .featureImportances),
                  outOfBagAccuracy: try c.decodeIfPresent(Double.self, forKey: .outOfBagAccuracy),
                  permutationImportances: try c.decodeIfPresent([Double].self, forKey: .permutationImportances))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hyperparameters, forKey: .hyperparameters)
        try c.encode(featureCount, forKey: .featureCount)
        try c.encode(classCount, forKey: .classCount)
        try c.encode(trees, forKey: .trees)
        try c.encode(featureImportances, forKey: .featureImportances)
        try c.encodeIfPresent(outOfBagAccuracy, forKey: .outOfBagAccuracy)
        try c.encodeIfPresent(permutationImportances, forKey: .permutationImportances)
    }
}

/// Permutation importance on held-out data for any classifier (Breiman 2001, §10; scikit-learn's
/// `permutation_importance` with accuracy): the mean drop in accuracy over `repeats` shuffles of
/// each feature. Shuffle r of feature j uses stream j·repeats + r, so results do not depend on
/// the thread count.
public enum PermutationImportance {
    public static func accuracyDrops<C: Classifier>(_ model: C, data: Matrix<Float>, labels: [Int], repeats: Int = 5,
                                                    seed: UInt64 = 0, threads: Int = 1) throws(EstimatorError) -> [Double] {
        try Metrics.checkPaired("labels", labels.count, with: data.rows)
        if repeats < 1 { throw .invalidParameter(name: "repeats", value: "\(repeats)", expected: "at least 1") }
        let base = Metrics.accuracy(predicted: try model.predict(data, threads: threads), truth: labels)
        return try (0..<data.columns).map { j throws(EstimatorError) in
            var total = 0.0
            for r in 0..<repeats {
                var random = RandomSource(seed: seed, stream: UInt64(j * repeats + r))
                var column = data.column(j)
                random.shuffle(&column)
                var shuffled = data
                for i in 0..<data.rows { shuffled[i, j] = column[i] }
                total += base - Metrics.accuracy(predicted: try model.predict(shuffled, threads: threads), truth: labels)
            }
            return total / Double(repeats)
        }
    }
}
