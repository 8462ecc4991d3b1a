import Hummingbird
import NIOCore
import TriageCore
import TriageData
import TriageRuntime

/// The two body forms of the row routes (../shared/CLI.md "HTTP"): JSON `{"rows": [...]}` or
/// CSV with `Content-Type: text/csv`.
enum BodyFormat {
    case json, csv

    /// From the Content-Type; none means JSON (what `curl --json` and most clients send).
    static func of(_ request: Request) throws(APIError) -> BodyFormat {
        guard let type = request.headers[.contentType] else { return .json }
        // The exact forms clients send, without splitting, trimming and lower-casing a copy.
        if type == "application/json" { return .json }
        if type == "text/csv" { return .csv }
        let media = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch media {
        case "application/json", "": return .json
        case "text/csv": return .csv
        default:
            throw APIError(.unsupportedMediaType, "Content-Type \(media) is not accepted: send application/json or text/csv",
                           field: "Content-Type")
        }
    }
}

extension Request {
    /// The whole body, at most `limit` bytes (413 above it, read no further).
    mutating func collectBody(limit: Int) async throws -> ByteBuffer {
        if let length = headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw APIError(.contentTooLarge, "the body is \(length) bytes, more than the limit of \(limit)")
        }
        do {
            return try await collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "the body is larger than the limit of \(limit) bytes")
        }
    }
}

/// Rows parsed from a body, to be scored or ingested.
enum RowBodies {
    /// The name that stands for the body's "file" in errors of a CSV body.
    static let csvName = "body"

    static func json(_ body: ByteBuffer, maxRows: Int) throws(APIError) -> JSONRows {
        do {
            return try body.withUnsafeReadableBytes { bytes throws(JSONRows.Failure) in try JSONRows.parse(bytes, maxRows: maxRows) }
        } catch {
            throw APIError.badRequest(error.message, field: error.field)
        }
    }

    /// A 400 for a CSV problem, naming line and column of the body.
    static func csvError(_ error: DataError) -> APIError {
        APIError.badRequest(error.description, field: error.columnName)
    }

    /// Feature rows for a model file, as the table `triage score` reads (extra columns ignored).
    static func featureTable(_ body: ByteBuffer, format: BodyFormat, features: [String], maxRows: Int) throws(APIError) -> CSVTable<Float> {
        switch format {
        case .csv:
            let table: CSVTable<Float>
            do {
                var options = CSVOptions(threads: 1)
                options.roles = [:]
                options.defaultRole = .skip
                for name in features { options.roles[name] = .numeric }
                table = try body.withUnsafeReadableBytes { bytes throws(DataError) in
                    try CSVReader.read(bytes: bytes, name: csvName, options: options)
                }
            } catch {
                throw csvError(error)
            }
            guard table.rowCount <= maxRows else { throw APIError.badRequest("more than \(maxRows) rows in one request", field: "rows") }
            return table
        case .json:
            let rows = try json(body, maxRows: maxRows)
            let present = features.filter { rows.column($0) != nil }
            var storage = [Float](repeating: .nan, count: rows.rowCount * present.count)
            for (c, name) in present.enumerated() {
                let column = rows.column(name)!
                if let strings = rows.strings[column], let row = strings.firstIndex(where: { $0 != nil }) {
                    throw APIError.badRequest("expected a number or null, got a string", field: "rows[\(row)].\(name)")
                }
                let values = rows.numbers[column]
                for r in 0..<rows.rowCount { storage[r * present.count + c] = Float(values[r]) }
            }
            return CSVTable(file: "rows", header: rows.names, numericNames: present,
                            numeric: Matrix(rows: rows.rowCount, columns: present.count, storage: storage), firstRowLine: 0)
        }
    }

    /// Columns a metrics row may have besides the metrics: the simulator's `label` is not a metric.
    static let nonMetricColumns: Set<String> = ["timestamp", "service", "label"]

    /// Raw metric rows (`timestamp`, `service` and the seven metrics; `label` ignored).
    static func metricRows(_ body: ByteBuffer, format: BodyFormat, maxRows: Int) throws(APIError) -> [MetricRow] {
        switch format {
        case .json: return try metricRows(json: json(body, maxRows: maxRows))
        case .csv: return try metricRows(csv: body, maxRows: maxRows)
        }
    }

    static func metricRows(json rows: JSONRows) throws(APIError) -> [MetricRow] {
        let metrics = ServiceMetric.names
        for name in rows.names where !nonMetricColumns.contains(name) && !metrics.contains(name) {
            throw APIError.badRequest("unknown column (rows have timestamp, service, \(metrics.joined(separator: ", ")))", field: name)
        }
        let missing = (["timestamp", "service"] + metrics).filter { rows.column($0) == nil }
        if rows.rowCount > 0, let first = missing.first {
            throw APIError.badRequest("missing column: rows need timestamp, service and every metric (\(metrics.joined(separator: ", ")))",
                                      field: first)
        }
        guard rows.rowCount > 0 else { return [] }
        let time = rows.column("timestamp")!, service = rows.column("service")!
        let slots = metrics.map { rows.column($0)! }
        for (name, column) in zip(metrics, slots) {
            if let strings = rows.strings[column], let row = strings.firstIndex(where: { $0 != nil }) {
                throw APIError.badRequest("expected a number or null, got a string", field: "rows[\(row)].\(name)")
            }
        }
        var result = [MetricRow]()
        result.reserveCapacity(rows.rowCount)
        for r in 0..<rows.rowCount {
            guard let name = rows.strings[service]?[r], !name.isEmpty else {
                throw APIError.badRequest("expected the service name (a non-empty string)", field: "rows[\(r)].service")
            }
            let seconds: Double?
            if let text = rows.strings[time]?[r] {
                seconds = Timestamp.seconds(Array(text.utf8))
            } else {
                let number = rows.numbers[time][r]
                seconds = number.isFinite ? number : nil
            }
            guard let seconds, let whole = Int64(exactly: seconds.rounded(.down)) else {
                throw APIError.badRequest("expected a time: seconds since 1970 or ISO 8601 text", field: "rows[\(r)].timestamp")
            }
            result.append(MetricRow(service: name, time: whole, values: slots.map { rows.numbers[$0][r] }))
        }
        return result
    }

    static func metricRows(csv body: ByteBuffer, maxRows: Int) throws(APIError) -> [MetricRow] {
        do {
            return try body.withUnsafeReadableBytes { raw throws(DataError) -> [MetricRow] in
                let bytes = raw.bindMemory(to: UInt8.self)
                var lines: [Range<Int>] = []
                var start = 0
                for i in 0..<bytes.count where bytes[i] == 0x0A {
                    lines.append(start..<i)
                    start = i + 1
                }
                if start < bytes.count { lines.append(start..<bytes.count) }
                var columns: ServiceMetricColumns?
                var rows: [MetricRow] = []
                for (number, range) in lines.enumerated() {
                    var range = range
                    if range.count > 0 && bytes[range.upperBound - 1] == 0x0D { range = range.lowerBound..<(range.upperBound - 1) }
                    let line = UnsafeBufferPointer(rebasing: bytes[range])
                    if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                    guard let header = columns else {
                        // The header check `watch --model` makes (every metric the detectors read),
                        // and no column beyond them: a misspelt metric must not be silently dropped.
                        let mapped = try ServiceMetricColumns(file: csvName, headerLine: line, lineNumber: number + 1,
                                                              timeColumn: "timestamp", serviceColumn: "service", excluded: ["label"])
                        if let unknown = mapped.parser.metricNames.first(where: { !ServiceMetric.names.contains($0) }) {
                            throw DataError(.other("unknown column '\(unknown)' (rows have timestamp, service, "
                                                   + ServiceMetric.names.joined(separator: ", ") + ")"),
                                            file: csvName, line: number + 1, columnName: unknown)
                        }
                        columns = mapped
                        continue
                    }
                    guard rows.count < maxRows else {
                        throw DataError(.other("more than \(maxRows) rows in one request"), file: csvName, line: number + 1)
                    }
                    let row = try header.parser.parse(line, lineNumber: number + 1)
                    guard !row.service.isEmpty else {
                        throw DataError(.other("empty service name"), file: csvName, line: number + 1, columnName: "service")
                    }
                    guard let whole = Int64(exactly: row.time.rounded(.down)) else {
                        throw DataError(.other("time out of range"), file: csvName, line: number + 1, columnName: "timestamp")
                    }
                    rows.append(MetricRow(service: row.service, time: whole, values: header.values(of: row)))
                }
                guard columns != nil else { throw DataError(.emptyFile, file: csvName) }
                return rows
            }
        } catch {
            throw csvError(error)
        }
    }
}
