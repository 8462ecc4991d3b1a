import Foundation
import TriageCore
import TriageData

/// `triage evaluate --incidents INCIDENTS.csv`: incidents, MTTR, MTBF and availability per
/// service of an incident log (`Availability` has the definitions).
///
/// An incident is what `IncidentRecord.episodes` groups: the attempts on one service that
/// follow a failed attempt without a gap. It is down from its first attempt's `start` (the
/// incident opened: detection) to its last attempt's `end` (recovery).
public enum AvailabilityReport {
    public struct Row: Sendable, Equatable {
        public var service: String
        public var figures: Availability
    }

    /// Per service, in name order.
    public static func rows(_ records: [IncidentRecord]) -> [Row] {
        var outages = [String: [(start: Int64, end: Int64)]]()
        for episode in IncidentRecord.episodes(records) {
            outages[episode.service, default: []].append((episode.start, episode.attempts.map(\.end).max()!))
        }
        return outages.keys.sorted().compactMap { service in
            Availability.of(outages: outages[service]!).map { Row(service: service, figures: $0) }
        }
    }

    /// Reads `path` and reports it.
    public static func evaluate(incidents path: String) throws(DataError) -> Report {
        report(rows(try IncidentLogReader.read(path, services: nil, metricsFile: "")))
    }

    /// JSON `{"services": [{"service", "incidents", "mttr_s", "mtbf_s", "availability"}]}` (null
    /// where a figure is unknown), or a table.
    public static func report(_ rows: [Row]) -> Report {
        let json = rows.map { row -> JSONValue in
            .object(["service": .string(row.service), "incidents": .integer(row.figures.incidents),
                     "mttr_s": .number(row.figures.mttr), "mtbf_s": row.figures.mtbf.map(JSONValue.number) ?? .null,
                     "availability": row.figures.availability.map(JSONValue.number) ?? .null])
        }
        let lines = ["service      incidents     mttr_s      mtbf_s  availability"] + rows.map { row in
            TerminalText.escaped(row.service).padding(toLength: 11, withPad: " ", startingAt: 0)
                + String(format: " %10d %10.1f ", row.figures.incidents, row.figures.mttr)
                + figure(row.figures.mtbf, "%11.1f", width: 11) + "  " + figure(row.figures.availability, "%12.5f", width: 12)
        }
        return Report(json: ["services": .array(json)], lines: rows.isEmpty ? ["no incidents"] : lines)
    }

    static func figure(_ value: Double?, _ format: String, width: Int) -> String {
        guard let value else { return String(repeating: " ", count: width - 1) + "-" }
        return String(format: format, value)
    }
}
