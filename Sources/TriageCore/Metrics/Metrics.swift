/// Evaluation metrics, computed exactly as scikit-learn does so side-by-side numbers agree.
public enum Metrics {
    /// Area under the ROC curve of `scores` (higher = positive) against binary `labels`, with
    /// ties counted as half (Mann–Whitney U / (n₊·n₋)); NaN when only one class is present.
    ///
    /// - Complexity: O(n log n).
    ///
    /// - Throws: `lengthMismatch` when there is not one label per score.
    public static func rocAUC(scores: [Double], labels: [Bool]) throws(EstimatorError) -> Double {
        try checkPaired("labels", labels.count, with: scores.count)
        let positives = labels.filter { $0 }.count
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return .nan }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSumPositive = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let averageRank = Double(i + j) / 2 + 1
            for k in i...j where labels[order[k]] { rankSumPositive += averageRank }
            i = j + 1
        }
        let u = rankSumPositive - Double(positives) * Double(positives + 1) / 2
        return u / (Double(positives) * Double(negatives))
    }

    /// Average precision (scikit-learn's `average_precision_score`): Σ (Rₙ − Rₙ₋₁)·Pₙ over
    /// distinct score thresholds, highest first.
    ///
    /// - Throws: `lengthMismatch` when there is not one label per score.
    public static func averagePrecision(scores: [Double], labels: [Bool]) throws(EstimatorError) -> Double {
        try checkPaired("labels", labels.count, with: scores.count)
        let positives = labels.filter { $0 }.count
        guard positives > 0 else { return .nan }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var truePositives = 0, seen = 0
        var previousRecall = 0.0, result = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            for k in i...j where labels[order[k]] { truePositives += 1 }
            seen = j + 1
            let recall = Double(truePositives) / Double(positives)
            let precision = Double(truePositives) / Double(seen)
            result += (recall - previousRecall) * precision
            previousRecall = recall
            i = j + 1
        }
        return result
    }

    /// Precision, recall and F1 of binary predictions (0 where undefined, as scikit-learn's
    /// `zero_division=0`).
    ///
    /// - Throws: `lengthMismatch` when there is not one label per prediction.
    public static func precisionRecallF1(predicted: [Bool], labels: [Bool]) throws(EstimatorError) -> (precision: Double, recall: Double, f1: Double) {
        try checkPaired("labels", labels.count, with: predicted.count)
        var tp = 0, fp = 0, fn = 0
        for (p, y) in zip(predicted, labels) {
            if p && y { tp += 1 } else if p { fp += 1 } else if y { fn += 1 }
        }
        let precision = tp + fp > 0 ? Double(tp) / Double(tp + fp) : 0
        let recall = tp + fn > 0 ? Double(tp) / Double(tp + fn) : 0
        let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        return (precision, recall, f1)
    }

    /// Throws unless `count` (of `what`) equals `expected`: paired inputs come from callers'
    /// files, so a length difference is a data error, not a trap.
    static func checkPaired(_ what: String, _ count: Int, with expected: Int) throws(EstimatorError) {
        if count != expected { throw .lengthMismatch(what: what, expected: expected, got: count) }
    }

    /// confusion[i][j] = rows of true class i predicted as j.
    public static func confusionMatrix(predicted: [Int], truth: [Int], classCount: Int) -> [[Int]] {
        var matrix = Array(repeating: Array(repeating: 0, count: classCount), count: classCount)
        for (p, t) in zip(predicted, truth) { matrix[t][p] += 1 }
        return matrix
    }

    public static func accuracy(predicted: [Int], truth: [Int]) -> Double {
        guard !truth.isEmpty else { return .nan }
        return Double(zip(predicted, truth).filter { $0 == $1 }.count) / Double(truth.count)
    }

    /// Mean per-class recall over the classes present in `truth`.
    public static func balancedAccuracy(predicted: [Int], truth: [Int], classCount: Int) -> Double {
        let confusion = confusionMatrix(predicted: predicted, truth: truth, classCount: classCount)
        let recalls = confusion.enumerated().compactMap { i, row -> Double? in
            let total = row.reduce(0, +)
            return total > 0 ? Double(row[i]) / Double(total) : nil
        }
        return recalls.isEmpty ? .nan : recalls.reduce(0, +) / Double(recalls.count)
    }

    /// Unweighted mean of per-class F1 over classes present in truth or predictions.
    public static func macroF1(predicted: [Int], truth: [Int], classCount: Int) -> Double {
        let confusion = confusionMatrix(predicted: predicted, truth: truth, classCount: classCount)
        var scores = [Double]()
        for c in 0..<classCount {
            let tp = confusion[c][c]
            let actual = confusion[c].reduce(0, +)
            let predictedCount = confusion.reduce(0) { $0 + $1[c] }
            guard actual + predictedCount > 0 else { continue }
            scores.append(2 * Double(tp) / Double(actual + predictedCount))
        }
        return scores.isEmpty ? .nan : scores.reduce(0, +) / Double(scores.count)
    }

    /// One-vs-rest macro ROC-AUC from a rows × classes probability matrix (binary: the AUC of
    /// class 1's column, as scikit-learn). Classes absent from `truth` are skipped.
    ///
    /// - Throws: `lengthMismatch` when there is not one label per row.
    public static func rocAUCOneVsRest(probabilities: Matrix<Float>, truth: [Int]) throws(EstimatorError) -> Double {
        let classes = probabilities.columns
        try checkPaired("labels", truth.count, with: probabilities.rows)
        if classes == 2 {
            return try rocAUC(scores: probabilities.column(1).map(Double.init), labels: truth.map { $0 == 1 })
        }
        var aucs = [Double]()
        for c in 0..<classes {
            let auc = try rocAUC(scores: probabilities.column(c).map(Double.init), labels: truth.map { $0 == c })
            if !auc.isNaN { aucs.append(auc) }
        }
        return aucs.isEmpty ? .nan : aucs.reduce(0, +) / Double(aucs.count)
    }

    /// The q-quantile (0…1) of `values` with linear interpolation (numpy's default).
    public static func quantile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }
}
