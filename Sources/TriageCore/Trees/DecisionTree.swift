/// A CART classification tree (Breiman, Friedman, Olshen & Stone, *Classification and
/// Regression Trees*, Wadsworth 1984).
///
/// Each node chooses the feature and threshold maximising the impurity decrease
/// Δi(s, t) = w_t·i(t) − w_L·i(t_L) − w_R·i(t_R) (eq. 4.3), with i the Gini index or the
/// entropy; a leaf predicts the weighted class distribution of its training samples
/// (`predict_proba` of scikit-learn). Missing values are routed to the side learned at fit time.
///
/// Defaults are scikit-learn's `DecisionTreeClassifier`: Gini, grown until leaves are pure,
/// `min_samples_split` 2, `min_samples_leaf` 1, every feature considered at every node.
/// The default splitter is the histogram one (255 quantile bins, much faster on large data);
/// `.exact` evaluates every midpoint between distinct values as classic CART does.
///
/// - Complexity: fit O(n·F·depth) with histograms (O(n log n·F·depth) exact); predict
///   O(depth) per row.
public struct DecisionTree: Classifier, SummarizableModel {
    public struct Hyperparameters: Codable, Sendable, Equatable {
        public var criterion: ClassificationCriterion = .gini
        /// nil: grow until the other rules stop.
        public var maxDepth: Int? = nil
        public var minSamplesSplit = 2
        public var minSamplesLeaf = 1
        public var minImpurityDecrease = 0.0
        public var classWeight: ClassWeight = .none
        public var splitter: SplitterKind = .histogram
        /// Features drawn per node; nil = all (a plain CART tree).
        public var maxFeatures: Int? = nil
        /// Quantile bins per feature for the histogram splitter (2…255).
        public var maxBins = 255

        public init() {}
    }

    public let hyperparameters: Hyperparameters
    public let featureCount: Int
    public let classCount: Int
    public let tree: TreeStructure
    /// Mean decrease in impurity per feature, summing to 1 (Breiman et al. 1984, §5.3.4).
    public let featureImportances: [Double]
    let predictor: TreePredictor

    init(hyperparameters: Hyperparameters, featureCount: Int, classCount: Int, tree: TreeStructure, featureImportances: [Double]) {
        self.hyperparameters = hyperparameters
        self.featureCount = featureCount
        self.classCount = classCount
        self.tree = tree
        self.featureImportances = featureImportances
        predictor = TreePredictor(classProbabilitiesOf: [tree], features: featureCount, outputs: classCount)
    }

    /// Fits a tree to `data` (rows × features, NaN = missing) and class indices `labels`
    /// in 0..<classCount.
    ///
    /// - Throws: `EstimatorError` for empty data, fewer than two classes, labels out of range,
    ///   or hyperparameters out of range (e.g. `min_samples_leaf` above the row count).
    public static func fit(_ data: Matrix<Float>, labels: [Int], classCount: Int, hyperparameters h: Hyperparameters = .init(),
                           seed: UInt64 = 0, threads: Int = 1) throws(EstimatorError) -> DecisionTree {
        try TreeTraining.validate(data, labels: labels, classCount: classCount, maxDepth: h.maxDepth,
                                  minSamplesSplit: h.minSamplesSplit, minSamplesLeaf: h.minSamplesLeaf,
                                  minImpurityDecrease: h.minImpurityDecrease, classWeight: h.classWeight)
        if let m = h.maxFeatures, m < 1 || m > data.columns {
            throw .invalidParameter(name: "max_features", value: "\(m)", expected: "1…\(data.columns)")
        }
        guard h.maxBins >= 2 && h.maxBins <= 255 else {
            throw .invalidParameter(name: "max_bins", value: "\(h.maxBins)", expected: "2…255")
        }
        let growth = TreeGrowth(maxDepth: h.maxDepth ?? Int.max, minSamplesSplit: h.minSamplesSplit,
                                minSamplesLeaf: h.minSamplesLeaf, minImpurityDecrease: h.minImpurityDecrease,
                                maxFeatures: h.maxFeatures ?? data.columns)
        let classWeights = h.classWeight.weights(labels: labels, classCount: classCount)
        let weights = labels.map { classWeights[$0] }
        let targets = labels.map(Float.init)
        let samples = (0..<Int32(data.rows)).map { $0 }
        var random = RandomSource(seed: seed, stream: 0)
        let grown: (tree: TreeStructure, importance: [Double])
        switch h.splitter {
        case .histogram:
            let (binning, binned) = try FeatureBinning.fittingAndBinning(data, maxBins: h.maxBins, as: UInt8.self, threads: threads)
            grown = TreeTraining.growClassifier(criterion: h.criterion, classCount: classCount,
                                                data: binned, binning: binning,
                                                targets: targets, growth: growth, samples: samples, weights: weights,
                                                random: &random)
        case .exact:
            let (binning, binned) = try FeatureBinning.fittingAndBinning(data, maxBins: nil, as: UInt32.self, threads: threads)
            grown = TreeTraining.growClassifier(criterion: h.criterion, classCount: classCount,
                                                data: binned, binning: binning,
                                                targets: targets, growth: growth, samples: samples, weights: weights,
                                                random: &random)
        }
        return DecisionTree(hyperparameters: h, featureCount: data.columns, classCount: classCount, tree: grown.tree,
                            featureImportances: TreeTraining.normalised(grown.importance))
    }

    public func probabilities(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> Matrix<Float> {
        try checkColumns(data, expected: featureCount)
        return predictor.averageOutputs(data, threads: threads)
    }

    /// One test on the way from the root to a row's leaf.
    public struct DecisionStep: Sendable, Equatable {
        public var node: Int
        public var feature: Int
        public var threshold: Float
        /// The row's value (NaN when missing).
        public var value: Float
        /// True when the row went to the "≤ threshold" side.
        public var wentLeft: Bool

        /// "glucose = 148 > 127.5", "bmi missing → ≤ 26.45 side".
        public func describe(featureNames: [String]) -> String {
            let name = featureNames[feature]
            if value.isNaN { return "\(name) missing → \(wentLeft ? "≤" : ">") \(threshold) side" }
            return "\(name) = \(value) \(wentLeft ? "≤" : ">") \(threshold)"
        }
    }

    /// The tests a row passes from the root to its leaf, the leaf, and the leaf's class
    /// probabilities: the "reasons" behind a prediction.
    ///
    /// - Throws: `shapeMismatch` unless `row` has `featureCount` values.
    public func decisionPath(_ row: [Float]) throws(EstimatorError) -> (steps: [DecisionStep], leaf: Int, probabilities: [Double]) {
        if row.count != featureCount { throw .shapeMismatch(expectedColumns: featureCount, gotColumns: row.count) }
        let nodes = tree.path(of: row)
        var steps = [DecisionStep]()
        for (node, next) in zip(nodes, nodes.dropFirst()) {
            let f = Int(tree.feature[node])
            steps.append(DecisionStep(node: node, feature: f, threshold: tree.threshold[node], value: row[f],
                                      wentLeft: next == Int(tree.leftChild[node])))
        }
        let leaf = nodes.last!
        return (steps, leaf, TreeTraining.classProbabilities(tree, leaf).map(Double.init))
    }

    public func summary(featureNames: [String]) -> ModelSummary {
        summary(featureNames: featureNames, classNames: (0..<classCount).map(String.init))
    }

    /// The summary with rules naming classes by their labels.
    public func summary(featureNames: [String], classNames: [String]) -> ModelSummary {
        ModelSummary(parameters: DecisionTree.describe(hyperparameters),
                     values: ["nodes": Double(tree.nodeCount), "leaves": Double(tree.leafCount), "depth": Double(tree.depth),
                              "classes": Double(classCount)],
                     importances: featureImportances,
                     rules: TreeRules.render(tree, featureNames: featureNames, classNames: classNames))
    }

    static func describe(_ h: Hyperparameters) -> [String: String] {
        ["criterion": h.criterion.rawValue, "max_depth": h.maxDepth.map(String.init) ?? "none",
         "min_samples_split": "\(h.minSamplesSplit)", "min_samples_leaf": "\(h.minSamplesLeaf)",
         "min_impurity_decrease": "\(h.minImpurityDecrease)", "class_weight": h.classWeight.description,
         "splitter": h.splitter.rawValue, "max_features": h.maxFeatures.map(String.init) ?? "all",
         "max_bins": "\(h.maxBins)"]
    }
}

extension DecisionTree: Codable {
    enum CodingKeys: String, CodingKey {
        case hyperparameters, featureCount = "feature_count", classCount = "class_count", tree
        case featureImportances = "feature_importances"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let featureCount = try c.decode(Int.self, forKey: .featureCount)
        let classCount = try c.decode(Int.self, forKey: .classCount)
        let tree = try c.decode(TreeStructure.self, forKey: .tree)
        guard tree.validate(featureCount: featureCount), tree.hasClassCounts, tree.width == classCount, classCount >= 2 else {
            throw DecodingError.dataCorruptedError(forKey: .tree, in: c, debugDescription: "tree does not match its feature or class count")
        }
        self.init(hyperparameters: try c.decode(Hyperparameters.self, forKey: .hyperparameters), featureCount: featureCount,
                  classCount: classCount, tree: tree,
                  featureImportances: try c.decode([Double].self, forKey: .featureImportances))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hyperparameters, forKey: .hyperparameters)
        try c.encode(featureCount, forKey: .featureCount)
        try c.encode(classCount, forKey: .classCount)
        try c.encode(tree, forKey: .tree)
        try c.encode(featureImportances, forKey: .featureImportances)
    }
}
