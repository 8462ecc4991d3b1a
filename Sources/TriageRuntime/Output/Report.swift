import Foundation
import TriageData

/// A summary (evaluation, inspection) as text lines and as one JSON object with sorted keys.
public struct Report: Sendable {
    public var json: [String: JSONValue]
    public var lines: [String]

    public init(json: [String: JSONValue], lines: [String]) {
        self.json = json
        self.lines = lines
    }

    /// The JSON object on one line, or the text lines joined by newlines.
    public func render(json asJSON: Bool) -> String {
        asJSON ? JSONValue.object(json).serialized() : lines.joined(separator: "\n")
    }

    /// A metric as reports print it: four decimals, `nan` when undefined (e.g. AUC with one class).
    public static func metric(_ value: Double) -> String { value.isNaN ? "nan" : String(format: "%.4f", value) }
}
