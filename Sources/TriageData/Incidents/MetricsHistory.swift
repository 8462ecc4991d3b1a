import TriageCore

/// A long-format metrics file (`timestamp,service,<metrics…>`, as `triage simulate` writes)
/// split into one time-ordered series per service.
public struct MetricsHistory: Sendable {
    public let file: String
    /// Service names, sorted.
    public let services: [String]
    public let series: [String: ServiceSeries]
    public let rowCount: Int
    /// The most common gap between consecutive rows of a service, in seconds.
    public let interval: Int
    public let firstTimestamp: Int64
    public let lastTimestamp: Int64

    public static func read(_ path: String, threads: Int? = nil) throws(DataError) -> MetricsHistory {
        var roles: [String: ColumnRole] = ["timestamp": .text, "service": .text]
        for name in ServiceMetric.names { roles[name] = .numeric }
        let table = try CSVReader.readDouble(path, options: CSVOptions(roles: roles, defaultRole: .skip, threads: threads))
        for name in ["timestamp", "service"] + ServiceMetric.names where table.fieldNumber(of: name) == nil {
            throw DataError(.missingColumn, file: path, line: 1, columnName: name)
        }
        let stamps = table.text["timestamp"]!, names = table.text["service"]!
        let timeField = table.fieldNumber(of: "timestamp")!, serviceField = table.fieldNumber(of: "service")!
        var times = [Int64](repeating: 0, count: table.rowCount)
        var rowsOf = [String: [Int]]()
        for row in 0..<table.rowCount {
            guard let t = Timestamp.parse(stamps[row]) else {
                throw DataError(.other("column 'timestamp' expects a time (ISO 8601, 'YYYY-MM-DD HH:MM:SS' or Unix seconds), got \(DataError.quote(stamps[row]))"),
                                file: path, line: table.line(ofRow: row), column: timeField)
            }
            times[row] = t
            let name = names[row].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else {
                throw DataError(.other("column 'service' is empty"), file: path, line: table.line(ofRow: row), column: serviceField)
            }
            rowsOf[name, default: []].append(row)
        }
        let columns = ServiceMetric.allCases.map { table.numericIndex(of: $0.name)! }
        var series = [String: ServiceSeries]()
        var gaps = [Int64: Int]()
        for (name, rows) in rowsOf {
            guard rows.count >= 2 else {
                throw DataError(.other("column 'service': service '\(name)' has a single row; a baseline needs at least 2"),
                                file: path, line: table.line(ofRow: rows[0]), column: serviceField, columnName: "service", value: name)
            }
            let ordered = rows.sorted { (times[$0], $0) < (times[$1], $1) } // stable by file order
            let values = columns.map { c in ordered.map { table.numeric[$0, c] } }
            let s = ServiceSeries(times: ordered.map { times[$0] }, values: values)
            for i in 1..<s.count where s.times[i] > s.times[i - 1] { gaps[s.times[i] - s.times[i - 1], default: 0] += 1 }
            series[name] = s
        }
        let interval = gaps.max { ($0.value, -$0.key) < ($1.value, -$1.key) }?.key ?? 60
        return MetricsHistory(file: path, services: series.keys.sorted(), series: series, rowCount: table.rowCount,
                              interval: Int(interval), firstTimestamp: times.min() ?? 0, lastTimestamp: times.max() ?? 0)
    }
}

import Foundation
