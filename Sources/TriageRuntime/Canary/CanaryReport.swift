import Foundation
import TriageCore
import TriageData
import TriageEngine

extension CanaryAnalysis {
    /// `triage canary` output: JSON `{"score", "verdict", "metrics": [{"name", "baseline_median",
    /// "canary_median", "effect", "p_value", "classification"}]}` (../shared/CLI.md, "Guards,
    /// canary, hand-off hook"), or a table with the direction and the minimum effect beside them.
    public var report: Report {
        let rows = metrics.map { m -> JSONValue in
            .object(["name": .string(m.name), "baseline_median": .number(m.baselineMedian),
                     "canary_median": .number(m.canaryMedian), "effect": .number(m.effect),
                     "p_value": .number(m.pValue), "classification": .string(m.classification.rawValue),
                     "critical": .bool(m.critical)])
        }
        let header = ["metric", "baseline_median", "canary_median", "effect", "min_effect", "p_value", "fails_when", "result", "critical"]
        let cells = metrics.map { m in
            [m.name, Self.number(m.baselineMedian), Self.number(m.canaryMedian), Self.signed(m.effect),
             Self.number(m.minimumEffect), String(format: "%.3g", m.pValue), Self.failsWhen(m.direction),
             m.classification.rawValue, m.critical ? "yes" : "no"]
        }
        let widths = header.indices.map { j in ([header[j]] + cells.map { $0[j] }).map(\.count).max()! }
        func line(_ fields: [String]) -> String {
            fields.enumerated().map { j, text in
                j == 0 || j >= 6 ? text.padding(toLength: widths[j], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[j] - text.count) + text
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        let passing = metrics.filter { $0.classification == .pass }.count
        return Report(json: ["score": .number(score), "verdict": .string(verdict.rawValue), "metrics": .array(rows)],
                      lines: [line(header)] + cells.map(line)
                          + [String(format: "score %.1f (%d of %d metrics pass): %@", score, passing, metrics.count,
                                    verdict.rawValue) + criticalNote])
    }

    /// "; critical metric error_rate failed" when one decided the verdict.
    var criticalNote: String {
        let failed = failedCriticalMetrics
        guard !failed.isEmpty else { return "" }
        return "; critical metric\(failed.count == 1 ? "" : "s") \(failed.joined(separator: ", ")) failed"
    }

    static func failsWhen(_ direction: MetricDirection) -> String {
        switch direction {
        case .increase: return "high"
        case .decrease: return "low"
        case .either: return "high|low"
        }
    }

    /// Six significant digits: enough for error rates of 0.0031 and request rates of 4 512.3.
    static func number(_ value: Double) -> String { String(format: "%.6g", value) }
    static func signed(_ value: Double) -> String { String(format: "%+.6g", value) }

    /// The `rollback` a failed canary raises for `service` into the approval queue: `created`
    /// is the canary's last data time (so the same files raise it once), the reasons name each
    /// failing metric with its medians, shift and p-value. Confidence is the share of judged
    /// metrics that failed. It carries no symptoms: the remediation policy did not choose it,
    /// so its outcome teaches the policy nothing (`ApprovalQueue.recordOutcome`).
    public func rollbackRecommendation(service: String, baselineFile: String, canaryFile: String, created: Int64,
                                       now: Int64, ttlSeconds: Int64) -> Recommendation {
        var reasons = [String(format: "canary analysis: score %.1f (%@) of %@ against baseline %@", score, verdict.rawValue,
                              canaryFile, baselineFile) + criticalNote]
        for m in metrics where m.classification != .pass {
            reasons.append("\(m.name) \(m.classification.rawValue): median \(Self.number(m.baselineMedian)) → "
                           + "\(Self.number(m.canaryMedian)), shift \(Self.signed(m.effect)) "
                           + String(format: "(p = %.3g, minimum effect %@)", m.pValue, Self.number(m.minimumEffect)))
        }
        return Recommendation(service: service, action: .rollback, confidence: min(1, max(0, 1 - score / 100)),
                              created: created, raisedAt: now, expires: now + ttlSeconds, reasons: reasons,
                              symptoms: Symptoms(features: [], levels: []))
    }
}
