import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TriageCore
import TriageData
import TriageRuntime
@testable import TriageServer

/// A feature row of the bundle's isolation forest, as JSON and CSV.
private func featureRow(_ value: Double) -> [String: Double] {
    Dictionary(uniqueKeysWithValues: ServiceFeatureExtractor.featureNames.enumerated().map { ($1, value + Double($0) / 10) })
}

private func jsonRows(_ rows: [[String: Double]]) -> String {
    let data = try! JSONSerialization.data(withJSONObject: ["rows": rows], options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

@Suite struct ScoreRouteTests {
    @Test func modelFileScoresLikeTheScoreCommand() async throws {
        let setup = try ServerSetup(model: TrainedFixture.shared.modelFile, database: false)
        let rows = [featureRow(0), featureRow(3), featureRow(-8)]
        // What `triage score` computes for the same rows.
        let model = try ModelRegistry.load(TrainedFixture.shared.modelFile)
        let names = ServiceFeatureExtractor.featureNames
        let table = CSVTable<Float>(file: "rows", header: names, numericNames: names,
                                    numeric: Matrix(rows: 3, columns: names.count,
                                                    storage: rows.flatMap { row in names.map { Float(row[$0]!) } }),
                                    firstRowLine: 0)
        let expected = try model.score(table, settings: ScoreSettings(threads: 1, imputeMedian: false))
        try await setup.test { client in
            let response = try await client.execute(uri: "/v1/score", method: .post, headers: json(), body: buffer(jsonRows(rows)))
            #expect(response.status == .ok)
            #expect(response.text == String(decoding: expected.renderJSON(), as: UTF8.self))
            let results = response.object["results"] as? [[String: Any]]
            #expect(results?.count == 3)
            #expect(results?.first?.keys.sorted() == ["anomaly", "score", "top_feature"])

            // The same rows as CSV give the same answer.
            let header = names.joined(separator: ",")
            let body = header + "\n" + rows.map { row in names.map { "\(Float(row[$0]!))" }.joined(separator: ",") }.joined(separator: "\n")
            let csvResponse = try await client.execute(uri: "/v1/score", method: .post, headers: csv(), body: buffer(body))
            #expect(csvResponse.status == .ok)
            #expect(csvResponse.text == response.text)
        }
    }

    @Test func badBodiesAreRefusedNamingTheField() async throws {
        let setup = try ServerSetup(model: TrainedFixture.shared.modelFile, database: false, maxBody: 4_096)
        let first = ServiceFeatureExtractor.featureNames[0]
        var missing = featureRow(1)
        missing.removeValue(forKey: first)
        let cases: [(body: String, headers: HTTPFields, status: HTTPResponse.Status, field: String?)] = [
            ("", json(), .badRequest, "body"),
            ("{", json(), .badRequest, "body"),
            ("[]", json(), .badRequest, "body"),
            ("{\"rows\": 3}", json(), .badRequest, "rows"),
            ("{\"rows\": [], \"extra\": 1}", json(), .badRequest, "extra"),
            ("{\"rowz\": []}", json(), .badRequest, "rowz"),
            ("{\"rows\": [{\"\(first)\": [1]}]}", json(), .badRequest, "rows[0].\(first)"),
            ("{\"rows\": [{\"\(first)\": {\"a\": 1}}]}", json(), .badRequest, "rows[0].\(first)"),
            ("{\"rows\": [{\"\(first)\": true}]}", json(), .badRequest, "rows[0].\(first)"),
            ("{\"rows\": [{\"\(first)\": \"high\"}]}", json(), .badRequest, "rows[0].\(first)"),
            ("{\"rows\": [{\"\(first)\": 01}]}", json(), .badRequest, "rows[0].\(first)"),
            (jsonRows([featureRow(1), missing]), json(), .badRequest, "rows[1].\(first)"),
            ("{\"rows\": []}  x", json(), .badRequest, "body"),
            ("a,b\n1,2\n", csv(), .badRequest, ServiceFeatureExtractor.featureNames[0]),
            ("{\"rows\": []}", [.contentType: "application/x-www-form-urlencoded"], .unsupportedMediaType, "Content-Type"),
            (String(repeating: " ", count: 5_000) + "{}", json(), .contentTooLarge, nil),
        ]
        try await setup.test { client in
            for c in cases {
                let response = try await client.execute(uri: "/v1/score", method: .post, headers: c.headers, body: buffer(c.body))
                #expect(response.status == c.status, "\(c.body.prefix(60)): \(response.text)")
                #expect(response.object["error"] is String, "\(c.body.prefix(60))")
                if let field = c.field { #expect(response.object["field"] as? String == field, "\(c.body.prefix(60)): \(response.text)") }
            }
        }
    }

    @Test func anEmptyBatchScoresNothing() async throws {
        let setup = try ServerSetup(model: TrainedFixture.shared.modelFile, database: false)
        try await setup.test { client in
            let response = try await client.execute(uri: "/v1/score", method: .post, headers: json(), body: buffer("{\"rows\": []}"))
            #expect(response.status == .ok && response.text.hasPrefix("{\"results\":[]}"))
        }
    }

    @Test func tooManyRowsAreRefused() async throws {
        let setup = try ServerSetup(model: TrainedFixture.shared.modelFile, database: false) { $0.maxRows = 2 }
        try await setup.test { client in
            let body = jsonRows([featureRow(1), featureRow(2), featureRow(3)])
            let response = try await client.execute(uri: "/v1/score", method: .post, headers: json(), body: buffer(body))
            #expect(response.status == .badRequest && response.object["field"] as? String == "rows")
        }
    }

    @Test func aBundleScoresRawMetricRowsWithoutState() async throws {
        let setup = try ServerSetup(database: false)
        let lines = TrainedFixture.shared.metricLines
        try await setup.test { client in
            let body = lines.prefix(4).joined(separator: "\n")
            let first = try await client.execute(uri: "/v1/score", method: .post, headers: csv(), body: buffer(body))
            let again = try await client.execute(uri: "/v1/score", method: .post, headers: csv(), body: buffer(body))
            #expect(first.status == .ok && first.text == again.text)
            let results = first.object["results"] as? [[String: Any]]
            #expect(results?.count == 3)
            #expect(results?.first?["service"] as? String == "svc-01")
            #expect(results?.first?["anomaly_score"] is Double)
            // A service the bundle does not know: null scores, not an error.
            let unknown = "timestamp,service,cpu,memory,latency_p99_ms,error_rate,request_rate,replicas,heartbeat_age_s\n"
                + "1767571200,svc-99,1,2,3,0.1,4,2,5\n"
            let response = try await client.execute(uri: "/v1/score", method: .post, headers: csv(), body: buffer(unknown))
            #expect(response.status == .ok && response.text.contains("\"anomaly_score\":null"))
        }
    }
}
