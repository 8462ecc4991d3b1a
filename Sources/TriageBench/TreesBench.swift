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
    @Option(help: "Forest only: load the fitted forest from this file if it exists, else fit and save it there (to time prediction repeatedly without refitting; fit figures are then absent).")
    var modelFile: String?

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
        var loaded = false
        let fitSeconds = try seconds {
            if model == "forest", let modelFile, FileManager.default.fileExists(atPath: modelFile) {
                classifier = try ModelFile.read(RandomForest.self, kind: "bench-forest", from: modelFile)
                loaded = true
            } else if model == "tree" {
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
        if model == "forest", let modelFile, !loaded, let forest = classifier as? RandomForest {
            try ModelFile.write(forest, kind: "bench-forest", to: modelFile)
        }
        var probabilities = Matrix<Float>(rows: 0, columns: 0)
        // Wall and CPU seconds of each repeat, best of each (the least disturbed by other work).
        var predictSeconds = Double.infinity, predictCPU = Double.infinity
        for _ in 0..<max(1, repeats) {
            let cpu = processCPUSeconds()
            predictSeconds = min(predictSeconds, seconds { probabilities = try! classifier!.probabilities(xTest, threads: threadCount) })
            predictCPU = min(predictCPU, processCPUSeconds() - cpu)
        }
        let predicted = probabilities.argmaxPerRow()
        var fields: [String: Any] = [
            "model": model, "threads": threadCount, "train_rows": x.rows, "test_rows": xTest.rows,
            "predict_seconds": predictSeconds, "predict_cpu_seconds": predictCPU,
            "predict_rows_per_second": Double(xTest.rows) / predictSeconds,
            "accuracy": Metrics.accuracy(predicted: predicted, truth: yTest),
            "roc_auc": try! Metrics.rocAUCOneVsRest(probabilities: probabilities, truth: yTest),
        ]
        // FNV-1a of the probabilities' bit patterns: equal across builds ⟺ identical predictions.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for p in probabilities.storage { hash = (hash ^ UInt64(p.bitPattern)) &* 0x100_0000_01b3 }
        fields["probabilities_fnv"] = String(hash, radix: 16)
        if !loaded { fields["fit_seconds"] = fitSeconds; fields["fit_cpu_seconds"] = fitCPU }
        if let forest = classifier as? RandomForest {
            if let oob = forest.outOfBagAccuracy { fields["oob_accuracy"] = oob }
            fields["mean_nodes"] = Double(forest.trees.reduce(0) { $0 + $1.nodeCount }) / Double(forest.trees.count)
        }
        if let tree = classifier as? DecisionTree { fields["nodes"] = tree.tree.nodeCount; fields["depth"] = tree.tree.depth }
        emit(fields)
    }
}
