import Foundation
import TriageCore
import TriageData
import TriageEngine

/// `evaluate --events --truth`: reads the two files and reports `RecommendationEvaluation`.
public enum RecommendationReport {
    /// No row interval was given and the events file has no score events to infer it from.
    public struct UnknownInterval: Error, CustomStringConvertible {
        public let events: String
        public var description: String { "\(events): no score events to infer the row interval from; give the interval" }
    }

    /// Matches the recommendation events of `events` with the faults of `truth`; `interval`
    /// (seconds between metric rows) defaults to the spacing of the score events.
    public static func evaluate(events path: String, truth truthPath: String, interval: Int?) throws -> Report {
        let faults = try readTruth(truthPath)
        let file = try EventsFile.read(path)
        let raised = try file.events.filter { $0.type == "recommendation" }.map { e in
            RecommendationEvaluation.Raised(service: e.service, created: try file.time(e, "created"), action: try file.text(e, "action"))
        }
        let spacing: Int64
        if let interval {
            spacing = Int64(interval)
        } else if let inferred = file.scoreInterval {
            spacing = inferred
        } else {
            throw UnknownInterval(events: path)
        }
        let result = RecommendationEvaluation(faults: faults, raised: raised, interval: spacing)
        // Not scored (raised by the HPA rule outside incidents, `RecommendationEvaluation`): counted apart.
        let scaleDowns = raised.filter { $0.action == RemediationAction.scaleDown.name }.count
        func optional(_ x: Double?) -> JSONValue { x.map(JSONValue.number) ?? .null }
        func fixed(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? "-" }
        return Report(
            json: ["recall": .number(result.recall), "precision": .number(result.precision),
                   "action_accuracy": .number(result.actionAccuracy),
                   "median_delay_intervals": optional(result.medianDelayIntervals),
                   "p90_delay_intervals": optional(result.p90DelayIntervals),
                   "faults": .integer(result.faults), "recommendations": .integer(result.recommendations),
                   "scale_down_recommendations": .integer(scaleDowns),
                   "interval_seconds": .integer(Int(spacing))],
            lines: ["faults: \(result.faults), recommendations: \(result.recommendations) (interval \(spacing) s)"
                        + (scaleDowns > 0 ? "; \(scaleDowns) scale_down not scored" : ""),
                    String(format: "recall %.3f  precision %.3f  action accuracy %.3f", result.recall, result.precision,
                           result.actionAccuracy),
                    "delay (intervals): median \(fixed(result.medianDelayIntervals)), p90 \(fixed(result.p90DelayIntervals))"])
    }

    public static func readTruth(_ path: String) throws -> [RecommendationEvaluation.Fault] {
        let text = try EventsFile.readText(path, what: "truth file")
        guard let root = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let faults = root["faults"] as? [[String: Any]] else {
            throw DataError(.other("expected {\"faults\": [...]} as written by 'triage simulate'"), file: path)
        }
        return try faults.enumerated().map { index, fault in
            func field(_ name: String) throws -> String {
                guard let value = fault[name] as? String else {
                    throw DataError(.other("fault \(index + 1) has no text field '\(name)'"), file: path)
                }
                return value
            }
            func time(_ name: String) throws -> Int64 {
                guard let t = Timestamp.parse(try field(name)) else {
                    throw DataError(.other("fault \(index + 1): '\(name)' is not a timestamp"), file: path)
                }
                return t
            }
            return .init(service: try field("service"), start: try time("start"), end: try time("end"),
                         bestAction: try field("best_action"))
        }
    }
}
