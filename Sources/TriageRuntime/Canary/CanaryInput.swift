import TriageCore
import TriageData

/// The two metric files of a canary analysis, read and checked: `timestamp` (optional, and a
/// `service` column if present, both ignored as metrics) plus numeric metric columns, the same
/// metrics in both files. A `service` column must hold one service: a long-format file of
/// several (`simulate`'s metrics.csv) would pool their rows into one meaningless sample.
///
/// Every problem is a `DataError` naming the file and, where there is one, the line and
/// column: a metric only one file has, a requested metric neither has, fewer rows than a
/// verdict needs, a missing (NaN, empty) or infinite value. Missing values are refused, not
/// skipped: a gap that only the canary has (it crashed, its scrape failed) is exactly what a
/// skipped row would hide, and dropping rows changes what "the last hour" means for one side.
public struct CanaryInput: Sendable {
    /// Columns that are never metrics.
    public static let nonMetricColumns: Set<String> = ["timestamp", "service"]

    public let baselineFile: String
    public let canaryFile: String
    /// The metrics to judge, in the baseline file's column order (or the requested order).
    public let names: [String]
    public let baseline: [String: [Double]]
    public let canary: [String: [Double]]
    /// The canary file's last `timestamp` (Unix seconds), when it has a readable one.
    public let lastCanaryTime: Int64?

    /// Reads both files. `metrics` (nil: every shared metric but
    /// `CanaryAnalysis.defaultExcludedMetrics`) names the metrics to judge; `minimumRows` is
    /// the rows each side needs.
    public static func read(baseline: String, canary: String, metrics: [String]?, minimumRows: Int) throws(DataError) -> CanaryInput {
        let base = try readTable(baseline), can = try readTable(canary)
        let baseNames = base.numericNames, canNames = can.numericNames
        let onlyBase = baseNames.filter { !canNames.contains($0) }, onlyCanary = canNames.filter { !baseNames.contains($0) }
        if let name = onlyBase.first {
            throw DataError(.other("metric column '\(name)' is not in the canary file \(canary)"
                                   + Self.listing(onlyBase: onlyBase, onlyCanary: onlyCanary)),
                            file: baseline, line: 1, column: base.fieldNumber(of: name), columnName: name)
        }
        if let name = onlyCanary.first {
            throw DataError(.other("metric column '\(name)' is not in the baseline file \(baseline)"
                                   + Self.listing(onlyBase: onlyBase, onlyCanary: onlyCanary)),
                            file: canary, line: 1, column: can.fieldNumber(of: name), columnName: name)
        }
        let names: [String]
        if let metrics {
            var seen = Set<String>()
            for name in metrics {
                guard baseNames.contains(name) else {
                    throw DataError(.other("requested metric '\(name)' is not a metric column of the files (they have: "
                                           + baseNames.joined(separator: ", ") + ")"), file: baseline, line: 1)
                }
                guard seen.insert(name).inserted else {
                    throw DataError(.other("metric '\(name)' is requested twice"), file: baseline, line: 1)
                }
            }
            names = metrics
        } else {
            names = baseNames.filter { !CanaryAnalysis.defaultExcludedMetrics.contains($0) }
        }
        guard !names.isEmpty else {
            throw DataError(.other("no metric columns to judge (expected numeric columns beside 'timestamp')"), file: baseline, line: 1)
        }
        for (table, path) in [(base, baseline), (can, canary)] where table.rowCount < minimumRows {
            throw DataError(.other("\(table.rowCount) data row\(table.rowCount == 1 ? "" : "s"); a canary verdict needs at least "
                                   + "\(minimumRows) a side (fewer cannot tell a regression from noise)"), file: path)
        }
        let baseValues = try columns(base, names), canValues = try columns(can, names)
        var last: Int64?
        if let times = can.text["timestamp"], let text = times.last { last = Timestamp.parse(text) }
        return CanaryInput(baselineFile: baseline, canaryFile: canary, names: names, baseline: baseValues,
                           canary: canValues, lastCanaryTime: last)
    }

    static func listing(onlyBase: [String], onlyCanary: [String]) -> String {
        var parts = [String]()
        if !onlyBase.isEmpty { parts.append("only in the baseline: " + onlyBase.joined(separator: ", ")) }
        if !onlyCanary.isEmpty { parts.append("only in the canary: " + onlyCanary.joined(separator: ", ")) }
        return " (the files must have the same metrics; " + parts.joined(separator: "; ") + ")"
    }

    static func readTable(_ path: String) throws(DataError) -> CSVTable<Double> {
        var roles = [String: ColumnRole]()
        roles["timestamp"] = .text
        roles["service"] = .text
        let table = try CSVReader.readDouble(path, options: CSVOptions(roles: roles, defaultRole: .numeric, threads: 1))
        if let services = table.text["service"], let first = services.first,
           let row = services.firstIndex(where: { $0 != first }) {
            throw DataError(.other("the file holds more than one service ('\(first)' on line \(table.line(ofRow: 0)), "
                                   + "'\(services[row])' here); give one service's rows a side"),
                            file: path, line: table.line(ofRow: row), column: table.fieldNumber(of: "service"), columnName: "service")
        }
        return table
    }

    /// The named columns, refusing the first missing or infinite value with its place.
    static func columns(_ table: CSVTable<Double>, _ names: [String]) throws(DataError) -> [String: [Double]] {
        var result = [String: [Double]]()
        for name in names {
            let values = table.numericColumn(name)!
            if let row = values.firstIndex(where: { !$0.isFinite }) {
                let line = table.line(ofRow: row), column = table.fieldNumber(of: name)
                if values[row].isNaN {
                    throw DataError(.other("missing value in metric '\(name)' (canary analysis needs every row of every judged metric)"),
                                    file: table.file, line: line, column: column, columnName: name)
                }
                throw DataError(.other("infinite value in metric '\(name)'"), file: table.file, line: line, column: column,
                                columnName: name, value: values[row] > 0 ? "inf" : "-inf")
            }
            result[name] = values
        }
        return result
    }
}
