import Foundation
import Hummingbird
import TriageData
import TriageEngine
import TriageRuntime
import TriageStorePostgres

extension TriageServer {
    /// `POST /v1/metrics` on a replica (issue 18): the rows are checked as a single server checks
    /// them (format, widths, each service's rows in time order), then appended to the PostgreSQL
    /// inbox, one entry per service of the request, in one transaction, and answered 202 once
    /// committed; the service's owner, on whichever replica, processes them within moments.
    /// All or nothing: a service whose rows begin before the newest row it already accepted
    /// refuses the whole request (409), as a single server refuses it.
    func ingest(_ request: Request, into replica: ReplicaEngine) async throws -> Response {
        var request = request
        let format = try BodyFormat.of(request)
        let body = try await request.collectBody(limit: configuration.maxBodyBytes)
        let rows = try RowBodies.metricRows(body, format: format, maxRows: configuration.maxRows)
        var byService: [String: [MetricRow]] = [:]
        var order: [String] = []
        var unknown = Set<String>()
        for (index, row) in rows.enumerated() {
            guard replica.detectors.baselines[row.service] != nil else {
                unknown.insert(row.service)
                continue
            }
            if let previous = byService[row.service]?.last {
                if row.time < previous.time {
                    let refusal = IngestRefusal.outOfOrder(service: row.service, row: index, time: row.time, last: previous.time)
                    throw APIError(.conflict, refusal.description, field: "rows[\(index)].timestamp (service \(row.service))")
                }
            } else {
                order.append(row.service)
            }
            byService[row.service, default: []].append(row)
        }
        let batches = order.map { service -> InboxBatch in
            let serviceRows = byService[service]!
            return InboxBatch(service: service, firstAt: serviceRows.first!.time, lastAt: serviceRows.last!.time,
                              rowCount: serviceRows.count, body: InboxRowsCodec.encode(serviceRows))
        }
        let receipt: InboxBatchReceipt
        do {
            receipt = try await MetricsInbox(store: replica.store).append(batches: batches, acceptedBy: replica.replica)
        } catch {
            switch error {
            case .store(let engineError): throw Self.map(engineError)
            default: throw APIError.unavailable("the metrics inbox cannot take rows now: \(error)")
            }
        }
        var accepted = 0
        switch receipt {
        case .accepted(let count): accepted = count
        case .late(let service, let first, let newest):
            let row = rows.firstIndex { $0.service == service && $0.time == first } ?? 0
            throw APIError(.conflict, IngestRefusal.outOfOrder(service: service, row: row, time: first, last: newest).description,
                           field: "rows[\(row)].timestamp (service \(service))")
        }
        metrics.rowsIngested(IngestSummary(accepted: accepted))
        var fields: [String: JSONValue] = ["accepted": .integer(accepted)]
        if !unknown.isEmpty { fields["unknown_services"] = .strings(unknown.sorted()) }
        return JSONResponse.make(status: .accepted, json: .object(fields))
    }
}
