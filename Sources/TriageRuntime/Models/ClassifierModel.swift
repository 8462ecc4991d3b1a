import TriageCore
import TriageData

/// `score` / `evaluate` / `inspect` for any classifier saved as `SavedModel<C>` (tree, forest).
///
/// Missing feature values are allowed: trees route them the way learned at fit time.
struct ClassifierModel<C: Classifier & SummarizableModel>: LoadedModel {
    let kind: String
    let saved: SavedModel<C>
    let classes: [String]

    init(path: String, kind: String) throws {
        self.kind = kind
        saved = try ModelFile.read(SavedModel<C>.self, kind: kind, from: path)
        // Duplicate names would make class or feature lookups ambiguous (and trap in dictionary
        // building), so a hand-edited file with them is refused like any other bad model.
        guard let classes = saved.classes, classes.count == saved.model.classCount, Set(classes).count == classes.count,
              saved.features.count == saved.model.featureCount, Set(saved.features).count == saved.features.count else {
            throw DataError(.invalidModel("model's classes or features do not match the fitted classifier"), file: path)
        }
        self.classes = classes
    }

    var features: [String] { saved.features }

    func score(_ table: CSVTable<Float>, settings: ScoreSettings) throws -> OutputTable {
        let data = try table.features(saved.features)
        let probabilities = try saved.model.probabilities(data, threads: settings.threads)
        var output = OutputTable()
        output.add("prediction", .text(probabilities.argmaxPerRow().map { classes[$0] }))
        for (c, name) in classes.enumerated() {
            // Through the shortest Float text so "0.4" prints as 0.4, not 0.4000000059604645.
            output.add("p_\(name)", .real(probabilities.column(c).map { Double("\($0)") ?? Double($0) }))
        }
        return output
    }

    func evaluate(_ table: CSVTable<Float>, target: String, settings: ScoreSettings) throws -> Report {
        let truth = try ClassLabels.encode(table, column: target, classes: classes)
        let data = try table.features(saved.features)
        let probabilities = try saved.model.probabilities(data, threads: settings.threads)
        let predicted = probabilities.argmaxPerRow()
        let k = classes.count
        let accuracy = Metrics.accuracy(predicted: predicted, truth: truth)
        let balanced = Metrics.balancedAccuracy(predicted: predicted, truth: truth, classCount: k)
        let macroF1 = Metrics.macroF1(predicted: predicted, truth: truth, classCount: k)
        let auc = try Metrics.rocAUCOneVsRest(probabilities: probabilities, truth: truth)
        let confusion = Metrics.confusionMatrix(predicted: predicted, truth: truth, classCount: k)
        let json: [String: JSONValue] = [
            "kind": .string(kind), "rows": .integer(truth.count),
            "accuracy": .number(accuracy), "balanced_accuracy": .number(balanced), "macro_f1": .number(macroF1),
            "roc_auc": .number(auc), "classes": .strings(classes),
            "confusion_matrix": .array(confusion.map { .array($0.map(JSONValue.integer)) }),
        ]
        var lines = ["rows: \(truth.count)", "accuracy: \(Report.metric(accuracy))", "balanced_accuracy: \(Report.metric(balanced))",
                     "macro_f1: \(Report.metric(macroF1))", "roc_auc: \(Report.metric(auc))",
                     "confusion matrix (rows: true class, columns: predicted):"]
        let width = max(8, (classes.map(\.count).max() ?? 0) + 2)
        func pad(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        lines.append(pad("") + classes.map(pad).joined())
        for (c, row) in confusion.enumerated() { lines.append(pad(classes[c]) + row.map { pad(String($0)) }.joined()) }
        return Report(json: json, lines: lines)
    }

    func inspection() -> Report {
        let summary = (saved.model as? DecisionTree)?.summary(featureNames: saved.features, classNames: classes)
            ?? saved.model.summary(featureNames: saved.features)
        return Report(
            json: JSONValue.inspection(kind: kind, features: saved.features, target: saved.target, classes: classes,
                                       training: saved.training, summary: summary),
            lines: JSONValue.inspectionLines(kind: kind, features: saved.features, target: saved.target, classes: classes,
                                             training: saved.training, summary: summary))
    }
}
