import TriageCore
import TriageData

/// Where a long-format metrics file (`timestamp,service,<metrics>`) holds each metric a
/// bundle's detectors read: the header's row parser, and for each `ServiceMetric` its index
/// among the parser's metric columns. Every metric must be there: a column missing from the
/// file would be NaN in every row (scores and recommendations from nothing), so the header is
/// refused, naming what is missing.
public struct ServiceMetricColumns: Sendable {
    public let parser: MetricsRowParser
    /// For each `ServiceMetric` in `allCases` order, its index in `parser.metricNames`.
    public let slots: [Int]

    /// Reads the header `headerLine` (physical line `lineNumber` of `file`).
    public init(file: String, headerLine: UnsafeBufferPointer<UInt8>, lineNumber: Int, timeColumn: String,
                serviceColumn: String, excluded: Set<String>) throws(DataError) {
        let header = try MetricsRowParser(file: file, headerLine: headerLine, lineNumber: lineNumber,
                                          timeColumn: timeColumn, serviceColumn: serviceColumn, excluded: excluded)
        try self.init(parser: header, file: file, line: lineNumber)
    }

    /// Maps an already parsed header.
    public init(parser: MetricsRowParser, file: String, line: Int) throws(DataError) {
        let names = parser.metricNames
        let missing = ServiceMetric.names.filter { !names.contains($0) }
        guard missing.isEmpty else {
            throw DataError(.other("the bundle's detectors need the metric column\(missing.count == 1 ? "" : "s") "
                                   + missing.map { "'\($0)'" }.joined(separator: ", ") + ", not in the header "
                                   + "(expected \(ServiceMetric.names.joined(separator: ", ")))"),
                            file: file, line: line)
        }
        self.parser = parser
        slots = ServiceMetric.allCases.map { names.firstIndex(of: $0.name)! }
        inServiceMetricOrder = slots == Array(0..<names.count)
    }

    /// Whether the file's metric columns are exactly the `ServiceMetric`s in their order (as
    /// `triage simulate` writes them): a row's values are then taken as they are, not copied.
    let inServiceMetricOrder: Bool

    /// A row's values in `ServiceMetric` order, what `RemediationEngine.process` takes.
    public func values(of row: MetricsRowParser.Row) -> [Double] {
        inServiceMetricOrder ? row.values : slots.map { row.values[$0] }
    }
}
