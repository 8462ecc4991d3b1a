import Foundation
import TriageCore
import TriageData
import TriageEngine

/// How a replica writes one service's rows of one request into an inbox entry's body, and how
/// the service's owner reads them back (issue 18). The store does not read bodies; only Triage
/// processes do, and every replica of a cluster runs the same build.
///
/// One line per row: the data time, then the `ServiceMetric` values, comma-separated. Values are
/// written with Swift's shortest round-trip form, so each reads back bit for bit; a missing value
/// is `nan`, ±infinity `inf`/`-inf`. Plain text (not JSON) because it is about four times
/// smaller and is parsed without allocating per value.
public enum InboxRowsCodec {
    public static func encode(_ rows: [MetricRow]) -> String {
        var text = ""
        text.reserveCapacity(rows.count * 64)
        for row in rows {
            text += String(row.time)
            for value in row.values {
                text += ","
                text += value.isNaN ? "nan" : String(value)
            }
            text += "\n"
        }
        return text
    }

    /// The rows of `body` for `service`; a body that is not one `encode` wrote (another
    /// version's, or damaged) is an error naming the entry, never a crash.
    public static func decode(_ body: String, service: String, entry: Int64) throws(EngineError) -> [MetricRow] {
        let width = ServiceMetric.allCases.count
        var rows: [MetricRow] = []
        var lineNumber = 0
        for line in body.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            lineNumber += 1
            let fields = line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
            guard fields.count == width + 1, let time = Int64(Substring(fields[0])) else {
                throw .invalid("inbox entry \(entry) of service \(service), line \(lineNumber): expected a time and \(width) values")
            }
            var values = [Double]()
            values.reserveCapacity(width)
            for (k, field) in fields.dropFirst().enumerated() {
                guard let value = Double(Substring(field)) else {
                    throw .invalid("inbox entry \(entry) of service \(service), line \(lineNumber), value \(k + 1): not a number")
                }
                values.append(value)
            }
            rows.append(MetricRow(service: service, time: time, values: values))
        }
        return rows
    }
}
