/// Impurity measure of a classification tree.
public enum ClassificationCriterion: String, Codable, Sendable, CaseIterable {
    case gini, entropy
}

/// How thresholds are searched.
public enum SplitterKind: String, Codable, Sendable, CaseIterable {
    /// Every midpoint between distinct training values (classic CART, scikit-learn's "best").
    case exact
    /// Midpoints between ≤ 255 quantile bins per feature (LightGBM-style histograms).
    case histogram
}

/// Per-class sample weights (scikit-learn's `class_weight`).
public enum ClassWeight: Codable, Sendable, Equatable {
    case none
    /// w_c = n / (classes · n_c): every class weighs the same in total.
    case balanced
    /// One positive weight per class, in class order.
    case explicit([Double])

    /// The weight of each class for `labels`.
    func weights(labels: [Int], classCount: Int) -> [Double] {
        switch self {
        case .none: return [Double](repeating: 1, count: classCount)
        case .balanced:
            var counts = [Int](repeating: 0, count: classCount)
            for y in labels { counts[y] += 1 }
            return counts.map { $0 > 0 ? Double(labels.count) / (Double(classCount) * Double($0)) : 1 }
        case .explicit(let weights): return weights
        }
    }

    var description: String {
        switch self {
        case .none: return "none"
        case .balanced: return "balanced"
        case .explicit(let w): return w.map { "\($0)" }.joined(separator: ",")
        }
    }
}

/// Checks shared by tree and forest fits; errors name the parameter and the valid range.
enum TreeTraining {
    static func validate(_ data: Matrix<Float>, labels: [Int], classCount: Int, maxDepth: Int?, minSamplesSplit: Int,
                         minSamplesLeaf: Int, minImpurityDecrease: Double, classWeight: ClassWeight) throws(EstimatorError) {
        guard data.rows > 0, data.columns > 0 else { throw .emptyData }
        guard labels.count == data.rows else {
            throw .invalidTarget("target has \(labels.count) values for \(data.rows) rows")
        }
        guard classCount >= 2 else {
            throw .invalidTarget("target has a single class; a classifier needs at least two")
        }
        var present = Set<Int>()
        for (row, y) in labels.enumerated() {
            guard y >= 0 && y < classCount else {
                throw .invalidTarget("label \(y) of row \(row + 1) is outside 0..<\(classCount)")
            }
            present.insert(y)
        }
        guard present.count >= 2 else {
            throw .invalidTarget("target has a single class; a classifier needs at least two")
        }
        if let maxDepth, maxDepth < 1 {
            throw .invalidParameter(name: "max_depth", value: "\(maxDepth)", expected: "at least 1")
        }
        guard minSamplesSplit >= 2 else {
            throw .invalidParameter(name: "min_samples_split", value: "\(minSamplesSplit)", expected: "at least 2")
        }
        guard minSamplesLeaf >= 1 else {
            throw .invalidParameter(name: "min_samples_leaf", value: "\(minSamplesLeaf)", expected: "at least 1")
        }
        guard minSamplesLeaf <= data.rows else {
            throw .invalidParameter(name: "min_samples_leaf", value: "\(minSamplesLeaf)",
                                    expected: "at most the number of rows (\(data.rows))")
        }
        guard minImpurityDecrease >= 0, minImpurityDecrease.isFinite else {
            throw .invalidParameter(name: "min_impurity_decrease", value: "\(minImpurityDecrease)", expected: "a finite number ≥ 0")
        }
        if case .explicit(let weights) = classWeight {
            guard weights.count == classCount else {
                throw .invalidParameter(name: "class_weight", value: "\(weights.count) weights",
                                        expected: "one weight per class (\(classCount))")
            }
            if let bad = weights.first(where: { !($0 > 0 && $0.isFinite) }) {
                throw .invalidParameter(name: "class_weight", value: "\(bad)", expected: "positive finite weights")
            }
        }
    }

    /// Grows a classification tree with the chosen criterion over `binned` codes.
    static func growClassifier<Code: FixedWidthInteger & UnsignedInteger & Sendable>(
        criterion: ClassificationCriterion, classCount: Int, data: BinnedFeatures<Code>, binning: FeatureBinning,
        targets: [Float], growth: TreeGrowth, samples: [Int32], weights: [Double], random: inout RandomSource
    ) -> (tree: TreeStructure, importance: [Double]) {
        let grown = growClassifier(criterion: criterion, classCount: classCount, data: data, binning: binning, targets: targets,
                                   growth: growth, samples: samples, weights: weights, outOfBag: [], random: &random)
        return (grown.tree, grown.importance)
    }

    /// The same, also giving the leaf of each row of `outOfBag` (`TreeBuilder.grow`).
    static func growClassifier<Code: FixedWidthInteger & UnsignedInteger & Sendable>(
        criterion: ClassificationCriterion, classCount: Int, data: BinnedFeatures<Code>, binning: FeatureBinning,
        targets: [Float], growth: TreeGrowth, samples: [Int32], weights: [Double], outOfBag: [Int32], random: inout RandomSource
    ) -> (tree: TreeStructure, importance: [Double], outOfBagLeaves: [Int32]) {
        switch criterion {
        case .gini:
            return TreeBuilder(criterion: GiniCriterion(classCount: classCount), data: data, binning: binning, targets: targets,
                               growth: growth).grow(samples: samples, weights: weights, outOfBag: outOfBag, random: &random)
        case .entropy:
            return TreeBuilder(criterion: EntropyCriterion(classCount: classCount), data: data, binning: binning, targets: targets,
                               growth: growth).grow(samples: samples, weights: weights, outOfBag: outOfBag, random: &random)
        }
    }

    /// Normalised class distribution of a classification leaf.
    static func classProbabilities(_ tree: TreeStructure, _ node: Int) -> [Float] {
        let stats = tree.statistics(node)
        let total = stats.reduce(0, +)
        return stats.map { total > 0 ? Float($0 / total) : 1 / Float(stats.count) }
    }

    /// Appends `classProbabilities(tree, node)` to `values`, the same floats without the
    /// arrays (the predictor build computes them for every leaf of a forest: 2 million).
    static func appendClassProbabilities(_ tree: TreeStructure, _ node: Int, to values: inout [Float]) {
        let width = tree.width
        tree.value.withUnsafeBufferPointer { all in
            let stats = all.baseAddress! + node * width
            var total = 0.0
            for k in 0..<width { total += stats[k] }
            for k in 0..<width { values.append(total > 0 ? Float(stats[k] / total) : 1 / Float(width)) }
        }
    }

    /// Importances scaled to sum to 1 (all zero when the tree never split).
    static func normalised(_ values: [Double]) -> [Double] {
        let total = values.reduce(0, +)
        return total > 0 ? values.map { $0 / total } : values.map { _ in 0 }
    }
}
