import Foundation
import TriageCore
import TriageData
import TriageRuntime

/// A model file opened for `score`, `evaluate` and `inspect`, whatever its kind.
protocol LoadedModel {
    var kind: String { get }
    var features: [String] { get }
    /// One output row per input row, in input order.
    func score(_ table: CSVTable<Float>, settings: ScoreSettings) throws -> OutputTable
    /// Metrics against the `target` column (a text column of `table`).
    func evaluate(_ table: CSVTable<Float>, target: String, settings: ScoreSettings) throws -> Report
    /// What `inspect` prints.
    func inspection() -> Report
}

struct ScoreSettings {
    var threads: Int
    var imputeMedian: Bool
    /// Detectors that can explain add a `top_feature` column; `--no-explain` skips that work.
    var explain = true
}

/// Kinds of model file and how to open each; one line per estimator.
enum ModelRegistry {
    typealias Loader = @Sendable (String) throws -> any LoadedModel

    static let loaders: [String: Loader] = [
        "iforest": { try DetectorModel<IsolationForest>(path: $0, kind: "iforest") },
        "tree": { try ClassifierModel<DecisionTree>(path: $0, kind: "tree") },
        "forest": { try ClassifierModel<RandomForest>(path: $0, kind: "forest") },
        FitAutoencoder.kind: { try DetectorModel<Autoencoder>(path: $0, kind: FitAutoencoder.kind) },
    ]

    static func load(_ path: String) throws -> any LoadedModel {
        let header = try ModelFile.readHeader(path)
        guard let loader = loaders[header.kind] else {
            throw DataError(.invalidModel("unknown model kind '\(header.kind)'"), file: path)
        }
        return try loader(path)
    }
}

/// A summary printed as text or, with `--json`, as one JSON object with sorted keys.
struct Report {
    var json: [String: JSONValue]
    var lines: [String]

    func render(json asJSON: Bool) -> String {
        asJSON ? JSONValue.object(json).serialized() : lines.joined(separator: "\n")
    }
}

extension JSONValue {
    /// Converts a `ModelSummary` and training summary into the `inspect` JSON fields.
    static func inspection(kind: String, features: [String], target: String?, classes: [String]?,
                           training: TrainingSummary, summary: ModelSummary) -> [String: JSONValue] {
        var json: [String: JSONValue] = [
            "kind": .string(kind),
            "format_version": .integer(ModelFile.formatVersion),
            "features": .strings(features),
            "hyperparameters": .object(summary.parameters.mapValues(JSONValue.string)),
            "model": .object(summary.values.mapValues(JSONValue.number)),
            "training": .object([
                "rows": .integer(training.rows),
                "notes": .strings(training.notes),
                "values": .object(training.values.mapValues(JSONValue.number)),
                "series": .object(training.series.mapValues(JSONValue.numbers)),
            ]),
        ]
        if let target { json["target"] = .string(target) }
        if let classes { json["classes"] = .strings(classes) }
        if let importances = summary.importances {
            json["importances"] = .object(Dictionary(uniqueKeysWithValues: zip(features, importances.map(JSONValue.number))))
        }
        if let rules = summary.rules { json["rules"] = .strings(rules) }
        return json
    }

    static func inspectionLines(kind: String, features: [String], target: String?, classes: [String]?,
                                training: TrainingSummary, summary: ModelSummary) -> [String] {
        var lines = ["kind: \(kind)", "format version: \(ModelFile.formatVersion)",
                     "features (\(features.count)): \(features.joined(separator: ", "))"]
        if let target { lines.append("target: \(target)") }
        if let classes { lines.append("classes: \(classes.joined(separator: ", "))") }
        lines.append("hyperparameters:")
        for key in summary.parameters.keys.sorted() { lines.append("  \(key): \(summary.parameters[key]!)") }
        if !summary.values.isEmpty {
            lines.append("model:")
            for key in summary.values.keys.sorted() { lines.append("  \(key): \(JSONValue.number(summary.values[key]!).serialized())") }
        }
        lines.append("training: \(training.rows) rows")
        for note in training.notes { lines.append("  note: \(note)") }
        for key in training.values.keys.sorted() { lines.append("  \(key): \(JSONValue.number(training.values[key]!).serialized())") }
        for key in training.series.keys.sorted() {
            let series = training.series[key]!
            lines.append("  \(key) (\(series.count)): " + series.map { String(format: "%.5g", $0) }.joined(separator: " "))
        }
        if let importances = summary.importances {
            lines.append("feature importances:")
            for (name, value) in zip(features, importances).sorted(by: { $0.1 > $1.1 }) {
                lines.append("  \(name): \(String(format: "%.4f", value))")
            }
        }
        if let rules = summary.rules {
            lines.append("rules:")
            lines.append(contentsOf: rules.map { "  " + $0 })
        }
        return lines
    }
}
