import Foundation
import TriageCore
import TriageData

/// `score` / `evaluate` / `inspect` for any anomaly detector saved as `SavedModel<D>`.
struct DetectorModel<D: AnomalyDetector & SummarizableModel>: LoadedModel {
    let kind: String
    let saved: SavedModel<D>

    init(path: String, kind: String) throws {
        self.kind = kind
        saved = try ModelFile.read(SavedModel<D>.self, kind: kind, from: path)
    }

    var features: [String] { saved.features }

    /// The model's feature matrix from `table`; NaN is an error naming line and column unless
    /// `settings.imputeMedian` asks for the training medians.
    func featureMatrix(_ table: CSVTable<Float>, settings: ScoreSettings) throws -> Matrix<Float> {
        var data = try table.features(saved.features)
        if settings.imputeMedian {
            let columns = data.columns
            data.storage.withUnsafeMutableBufferPointer { buffer in
                for i in 0..<buffer.count where buffer[i].isNaN { buffer[i] = saved.medians[i % columns] }
            }
        }
        // One fast pass over clean data; the generic scans below only locate and word a problem.
        if allFinite(data) { return data }
        if !settings.imputeMedian, let error = table.firstMissing(in: data, names: saved.features) {
            throw MissingFeatureValue(location: error)
        }
        if let bad = firstNonFinite(data) {
            let name = saved.features[bad.column]
            throw DataError(.other("column '\(name)' has an infinite value"), file: table.file,
                            line: table.line(ofRow: bad.row), column: table.fieldNumber(of: name))
        }
        return data
    }

    func score(_ table: CSVTable<Float>, settings: ScoreSettings) throws -> OutputTable {
        let data = try featureMatrix(table, settings: settings)
        let threshold = saved.model.threshold
        let scores: [Double], top: [Int]?
        if settings.explain, let explaining = saved.model as? any ExplainingDetector {
            (scores, top) = try explaining.scoresAndTopFeatures(data, threads: settings.threads)
        } else {
            (scores, top) = (try saved.model.scores(data, threads: settings.threads), nil)
        }
        var output = OutputTable()
        output.add("score", .real(scores))
        output.add("anomaly", .integer(scores.map { $0 >= threshold ? 1 : 0 }))
        if let top { output.add("top_feature", .labels(top, names: saved.features)) }
        return output
    }

    func evaluate(_ table: CSVTable<Float>, target: String, settings: ScoreSettings) throws -> Report {
        let labels = try BinaryLabels.read(table, column: target)
        let data = try featureMatrix(table, settings: settings)
        let scores = try saved.model.scores(data, threads: settings.threads)
        let predicted = scores.map { $0 >= saved.model.threshold }
        let auc = try Metrics.rocAUC(scores: scores, labels: labels)
        let ap = try Metrics.averagePrecision(scores: scores, labels: labels)
        let prf = try Metrics.precisionRecallF1(predicted: predicted, labels: labels)
        let json: [String: JSONValue] = [
            "kind": .string(kind), "rows": .integer(labels.count),
            "anomalies": .integer(labels.filter { $0 }.count),
            "flagged": .integer(predicted.filter { $0 }.count),
            "threshold": .number(saved.model.threshold),
            "roc_auc": .number(auc), "pr_auc": .number(ap),
            "precision": .number(prf.precision), "recall": .number(prf.recall), "f1": .number(prf.f1),
        ]
        let lines = [
            "rows: \(labels.count) (anomalies: \(labels.filter { $0 }.count), flagged: \(predicted.filter { $0 }.count))",
            "roc_auc: \(Report.metric(auc))", "pr_auc: \(Report.metric(ap))",
            "precision: \(Report.metric(prf.precision))", "recall: \(Report.metric(prf.recall))", "f1: \(Report.metric(prf.f1))",
            "threshold: \(saved.model.threshold)",
        ]
        return Report(json: json, lines: lines)
    }

    func inspection() -> Report {
        let summary = saved.model.summary(featureNames: saved.features)
        return Report(
            json: JSONValue.inspection(kind: kind, features: saved.features, target: nil, classes: nil,
                                       training: saved.training, summary: summary),
            lines: JSONValue.inspectionLines(kind: kind, features: saved.features, target: nil, classes: nil,
                                             training: saved.training, summary: summary))
    }
}

/// True when no value is NaN or ±∞ (exponent bits all ones), in one branch-free pass.
func allFinite(_ data: Matrix<Float>) -> Bool {
    data.storage.withUnsafeBufferPointer { x in
        var nonFinite: UInt32 = 0
        for v in x { nonFinite |= UInt32((v.bitPattern & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0) }
        return nonFinite == 0
    }
}

/// Binary ground truth for detectors: a numeric column where non-zero means anomaly.
enum BinaryLabels {
    static func read(_ table: CSVTable<Float>, column: String) throws -> [Bool] {
        guard let values = table.text[column] else {
            throw DataError(.missingColumn, file: table.file, line: 1, columnName: column)
        }
        let field = table.fieldNumber(of: column)
        return try values.enumerated().map { row, text in
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard let number = Double(trimmed), !number.isNaN else {
                throw DataError(.notANumber, file: table.file, line: table.line(ofRow: row), column: field,
                                columnName: column, value: text)
            }
            return number != 0
        }
    }
}
