import TriageCore

/// Reads and checks an incident log (`incident_id,service,start,end,fault,action,outcome,
/// recovery_seconds`, as `triage simulate` writes and as a user exports from their own system).
public enum IncidentLogReader {
    public static let columns = ["incident_id", "service", "start", "end", "fault", "action", "outcome", "recovery_seconds"]

    /// The log's attempts. A file that is empty or has only a header yields no records (the
    /// caller trains without a policy and says so). Every record's service must be one of
    /// `services` (those of the metrics file `metricsFile`); nil accepts any non-empty name.
    public static func read(_ path: String, services: Set<String>?, metricsFile: String) throws(DataError) -> [IncidentRecord] {
        let table: CSVTable<Float>
        do {
            table = try CSVReader.read(path, options: CSVOptions(defaultRole: .text, threads: 1, requireRows: false))
        } catch let error where error.kind == .emptyFile {
            return []
        }
        for name in columns where table.fieldNumber(of: name) == nil {
            throw DataError(.missingColumn, file: path, line: 1, columnName: name)
        }
        func field(_ name: String) -> (values: [String], number: Int) {
            (table.text[name]!, table.fieldNumber(of: name)!)
        }
        let ids = field("incident_id"), service = field("service"), start = field("start"), end = field("end")
        let fault = field("fault"), action = field("action"), outcome = field("outcome"), seconds = field("recovery_seconds")
        var firstLineOf = [String: Int]()
        var records = [IncidentRecord]()
        records.reserveCapacity(table.rowCount)
        for row in 0..<table.rowCount {
            let line = table.line(ofRow: row)
            // Every message names the column (CLI contract), then says what is wrong with the value.
            func fail(_ message: String, _ column: (values: [String], number: Int), _ name: String) -> DataError {
                let text = message.hasPrefix("column '") ? message : "column '\(name)': " + message
                return DataError(.other(text), file: path, line: line, column: column.number, columnName: name, value: column.values[row])
            }
            let id = ids.values[row].trimmingCharacters(in: .whitespaces)
            guard !id.isEmpty else { throw fail("column 'incident_id' is empty", ids, "incident_id") }
            if let first = firstLineOf[id] {
                throw fail("duplicate incident id \(DataError.quote(id)) (first on line \(first))", ids, "incident_id")
            }
            firstLineOf[id] = line
            let name = service.values[row].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw fail("column 'service' is empty", service, "service") }
            if let services, !services.contains(name) {
                throw fail("service \(DataError.quote(name)) has no rows in the metrics file \(metricsFile)", service, "service")
            }
            guard let t0 = Timestamp.parse(start.values[row]) else {
                throw fail("column 'start' expects a time (ISO 8601, 'YYYY-MM-DD HH:MM:SS' or Unix seconds), got \(DataError.quote(start.values[row]))", start, "start")
            }
            guard let t1 = Timestamp.parse(end.values[row]) else {
                throw fail("column 'end' expects a time (ISO 8601, 'YYYY-MM-DD HH:MM:SS' or Unix seconds), got \(DataError.quote(end.values[row]))", end, "end")
            }
            guard t1 >= t0 else {
                throw fail("end \(DataError.quote(end.values[row])) is before start \(DataError.quote(start.values[row]))", end, "end")
            }
            let actionName = action.values[row].trimmingCharacters(in: .whitespaces)
            // An incident log holds attempts during incidents: `scale_down` is a rule applied
            // outside them (the learner has no column for it), so it is refused here by name.
            guard let remediation = RemediationAction(name: actionName), remediation.isIncidentAction else {
                let what = RemediationAction(name: actionName) == nil ? "unknown action" : "not an incident action:"
                throw fail("\(what) \(DataError.quote(actionName)); expected one of \(RemediationAction.incidentNames.joined(separator: ", "))", action, "action")
            }
            let result = outcome.values[row].trimmingCharacters(in: .whitespaces).lowercased()
            guard result == "success" || result == "failure" else {
                throw fail("column 'outcome' expects success or failure, got \(DataError.quote(outcome.values[row]))", outcome, "outcome")
            }
            let secondsText = seconds.values[row].trimmingCharacters(in: .whitespaces)
            let duration: Double
            if secondsText.isEmpty {
                duration = Double(t1 - t0) // not recorded: the attempt's own span
            } else if let value = Double(secondsText), value.isFinite, value >= 0, value <= 1e9 {
                duration = value
            } else {
                throw fail("column 'recovery_seconds' expects a number of seconds from 0 to 1e9, got \(DataError.quote(secondsText))", seconds, "recovery_seconds")
            }
            records.append(IncidentRecord(id: id, service: name, start: t0, end: t1,
                                          fault: fault.values[row].trimmingCharacters(in: .whitespaces),
                                          action: remediation, succeeded: result == "success", seconds: duration, line: line))
        }
        return records
    }
}

import Foundation
