import Foundation
import TriageCore
import TriageData

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
