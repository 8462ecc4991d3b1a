import Foundation
import TriageData

/// Counts of a model-free watch run, shown in its summary line.
public struct WatchSummary: Codable, Sendable, Equatable {
    public var rows = 0
    public var scored = 0
    public var warmup = 0
    public var gaps = 0
    public var skipped = 0
    public var outOfOrder = 0
    public var repeatedTimestamps = 0
    public var restarts = 0
    public var resumed = false
    public var maxScore = 0.0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case rows, scored, warmup, gaps, skipped, resumed
        case outOfOrder = "out_of_order_timestamps"
        case repeatedTimestamps = "repeated_timestamps"
        case restarts = "file_restarts"
        case maxScore = "max_score"
    }

    /// One JSON object, keys sorted.
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding plain counts cannot fail.
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// The summary line; `stateName` names where a resumed run's state came from (the CLI
    /// names its flag).
    public func text(stateName: String = "the state file") -> String {
        var text = "watch: \(rows) rows (\(warmup) in warm-up, \(scored) scored)"
        text += ", \(skipped) skipped, \(gaps) with gaps"
        text += ", \(outOfOrder) out-of-order and \(repeatedTimestamps) repeated timestamps"
        if restarts > 0 { text += ", \(restarts) file restarts" }
        if resumed { text += ", resumed from \(stateName)" }
        text += ", max score \(OutputTable.format(maxScore))"
        return text
    }
}

/// Counts of an engine watch run (a bundle's detectors, health states, recommendations).
public struct EngineWatchSummary: Codable, Sendable, Equatable {
    public var rows = 0
    public var skipped = 0
    /// Services seen (with a health state) at the end.
    public var services = 0
    public var stateChanges = 0
    public var recommendations = 0
    public var resumed = false
    /// Services not healthy at the end, sorted.
    public var notHealthy: [String] = []
    /// Services without a baseline in the bundle (their rows are not scored), sorted.
    public var unknownServices: [String] = []

    public init() {}

    enum CodingKeys: String, CodingKey {
        case rows, skipped, services, resumed, recommendations
        case stateChanges = "state_changes"
        case notHealthy = "not_healthy"
        case unknownServices = "unknown_services"
    }

    /// One JSON object, keys sorted (`JSONValue`: the escaping of every other JSON the engine writes).
    public var json: JSONValue {
        .object([
            "rows": .integer(rows), "skipped": .integer(skipped), "services": .integer(services),
            "state_changes": .integer(stateChanges), "recommendations": .integer(recommendations), "resumed": .bool(resumed),
            "not_healthy": .strings(notHealthy), "unknown_services": .strings(unknownServices),
        ])
    }

    /// The summary line for the metrics file `metrics`, with recommendations raised into `database`.
    public func text(metrics: String, database: String?) -> String {
        var text = "\(metrics): \(rows) rows of \(services) services, \(stateChanges) state changes, "
            + "\(recommendations) recommendations raised"
        if let database { text += " into \(database)" }
        if skipped > 0 { text += ", \(skipped) rows skipped" }
        if resumed { text += " (resumed)" }
        if !notHealthy.isEmpty { text += "; not healthy now: \(notHealthy.joined(separator: ", "))" }
        return text
    }
}
