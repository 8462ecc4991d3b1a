import Foundation
import ArgumentParser
import TriageCore
import TriageData

/// Fit and prediction time of the decision tree or random forest on a train/test CSV pair,
/// with test accuracy and ROC-AUC, in process (no model file I/O).
struct TreesBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "trees", abstract: "Decision tree / random forest fit and predict.")

    @Option var train: String
    @Option var test: String
    @Option var target = "label"
    @Option(help: "tree or forest") var model = "forest"
    @Option var trees = 100
    @Option(help: "histogram or exact (tree only)") var splitter = "histogram"
    @Option var threads: Int?
    @Option var seed: UInt64 = 0
    @Option(help: "Prediction timing repeats (best of).") var repeats = 3

    func run() throws {
        let threadCount = Parallel.threadCount(threads)
        let trainTable = try CSVReader.read(train, options: CSVOptions(roles: [target: .text], threads: threads))
        let testTable = try CSVReader.read(test, options: CSVOptions(roles: [target: .text], threads: threads))
        let (classes, y) = try ClassLabels.learn(trainTable, column: target)
        let yTest = try ClassLabels.encode(testTable, column: target, classes: classes)
        let x = trainTable.numeric
        let xTest = try testTable.features(trainTable.numericNames)
        var classifier: (any Classifier)?
        let cpuStart = processCPUSeconds()
        let fitSeconds = try seconds {
            if model == "tree" {
                var h = DecisionTree.Hyperparameters()
                h.splitter = SplitterKind(rawValue: splitter) ?? .histogram
                classifier = try DecisionTree.fit(x, labels: y, classCount: classes.count, hyperparameters: h, seed: seed, threads: threadCount)
            } else {
                var h = RandomForest.Hyperparameters()
                h.trees = trees
                classifier = try RandomForest.fit(x, labels: y, classCount: classes.count, hyperparameters: h, seed: seed, threads: threadCount)
            }
        }
        let fitCPU = processCPUSeconds() - cpuStart
        var probabilities = Matrix<Float>(rows: 0, columns: 0)
        let predictSeconds = bestOf(repeats) { probabilities = classifier!.probabilities(xTest, threads: threadCount) }
        let predictCPUStart = processCPUSeconds()
        probabilities = classifier!.probabilities(xTest, threads: threadCount)
        let predictCPU = processCPUSeconds() - predictCPUStart
        let predicted = probabilities.argmaxPerRow()
        var fields: [String: Any] = [
            "model": model, "threads": threadCount, "train_rows": x.rows, "test_rows": xTest.rows,
            "fit_seconds": fitSeconds, "fit_cpu_seconds": fitCPU, "predict_seconds": predictSeconds, "predict_cpu_seconds": predictCPU,
            "predict_rows_per_second": Double(xTest.rows) / predictSeconds,
            "accuracy": Metrics.accuracy(predicted: predicted, truth: yTest),
            "roc_auc": Metrics.rocAUCOneVsRest(probabilities: probabilities, truth: yTest),
        ]
        if let forest = classifier as? RandomForest {
            fields["oob_accuracy"] = forest.outOfBagAccuracy ?? .nan
            fields["mean_nodes"] = Double(forest.trees.reduce(0) { $0 + $1.nodeCount }) / Double(forest.trees.count)
        }
        if let tree = classifier as? DecisionTree { fields["nodes"] = tree.tree.nodeCount; fields["depth"] = tree.tree.depth }
        emit(fields)
    }
}
