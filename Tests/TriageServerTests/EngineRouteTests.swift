import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TriageCore
import TriageEngine
@testable import TriageServer

@Suite struct EngineRouteTests {
    @Test func ingestNeedsAKnownTokenAndAWritableServer() async throws {
        let setup = try ServerSetup()
        let body = TrainedFixture.shared.metricLines.prefix(3).joined(separator: "\n")
        try await setup.test { client in
            for headers in [csv(), csv("not-a-token-at-all-xx"), csv(aliceToken.uppercased())] {
                let response = try await client.execute(uri: "/v1/metrics", method: .post, headers: headers, body: buffer(body))
                #expect(response.status == .unauthorized && response.headers[.wwwAuthenticate] != nil)
            }
            // Any known token may feed metrics (approving is what needs the allowlist).
            let response = try await client.execute(uri: "/v1/metrics", method: .post, headers: csv(malloryToken), body: buffer(body))
            #expect(response.status == .accepted && response.object["accepted"] as? Int == 2)
        }
        let readOnly = try ServerSetup(tokens: false)
        try await readOnly.test { client in
            let response = try await client.execute(uri: "/v1/metrics", method: .post, headers: csv(aliceToken), body: buffer(body))
            #expect(response.status == .unauthorized && (response.object["error"] as? String)?.contains("read-only") == true)
        }
    }

    @Test func rowsRaiseStatesAndRecommendationsAndAnOlderRowIsRefused() async throws {
        let setup = try ServerSetup()
        try await setup.test { client in
            let response = try await ingestFixture(client)
            #expect(response.status == .accepted)
            #expect(response.object["accepted"] as? Int == TrainedFixture.shared.metricLines.count - 1)

            let services = try await client.execute(uri: "/v1/services", method: .get)
            let list = services.object["services"] as? [[String: Any]] ?? []
            #expect(list.map { $0["service"] as? String } == ["svc-01", "svc-02", "svc-03"])
            #expect(list.allSatisfy { $0["last_row"] as? String == "2026-01-06T23:59:00Z" })

            let recommendations = try await client.execute(uri: "/v1/recommendations?status=all", method: .get)
            let raised = recommendations.object["recommendations"] as? [[String: Any]] ?? []
            #expect(!raised.isEmpty)
            let id = try #require(raised.first?["id"] as? String)
            let one = try await client.execute(uri: "/v1/recommendations/\(id)", method: .get)
            #expect(one.status == .ok && one.object["id"] as? String == id)

            // An older row of svc-02 than its last: 409 naming the service, nothing processed.
            let header = TrainedFixture.shared.metricLines[0]
            let old = header + "\n" + TrainedFixture.shared.metricLines[5]
            let refused = try await client.execute(uri: "/v1/metrics", method: .post, headers: csv(aliceToken), body: buffer(String(old)))
            #expect(refused.status == .conflict)
            #expect((refused.object["error"] as? String)?.contains("svc-02") == true)
            let after = try await client.execute(uri: "/v1/services", method: .get)
            #expect(after.text == services.text)
        }
    }

    @Test func metricRowsInJSONAndTheirMistakes() async throws {
        let setup = try ServerSetup()
        let good = #"{"timestamp": "2026-01-05T00:00:00Z", "service": "svc-01", "cpu": 30, "memory": 50, "latency_p99_ms": 40, "error_rate": 0.004, "request_rate": 260, "replicas": 2, "heartbeat_age_s": null}"#
        try await setup.test { client in
            let accepted = try await client.execute(uri: "/v1/metrics", method: .post, headers: json(aliceToken),
                                                    body: buffer("{\"rows\": [\(good)]}"))
            #expect(accepted.status == .accepted && accepted.object["accepted"] as? Int == 1)
            let cases: [(String, String)] = [
                (good.replacingOccurrences(of: "\"cpu\": 30", with: "\"cpu\": \"30\""), "rows[0].cpu"),
                (good.replacingOccurrences(of: "\"cpu\": 30, ", with: ""), "cpu"),
                (good.replacingOccurrences(of: "\"cpu\": 30", with: "\"cpu\": 30, \"gpu\": 1"), "gpu"),
                (good.replacingOccurrences(of: "\"svc-01\"", with: "7"), "rows[0].service"),
                (good.replacingOccurrences(of: "\"2026-01-05T00:00:00Z\"", with: "\"yesterday\""), "rows[0].timestamp"),
                (good.replacingOccurrences(of: "\"cpu\": 30", with: "\"cpu\": 30, \"cpu\": 31"), "rows[0].cpu"),
            ]
            for (row, field) in cases {
                let response = try await client.execute(uri: "/v1/metrics", method: .post, headers: json(aliceToken),
                                                        body: buffer("{\"rows\": [\(row)]}"))
                #expect(response.status == .badRequest, "\(field): \(response.text)")
                #expect(response.object["field"] as? String == field, "\(response.text)")
            }
        }
    }

    @Test func aModelFileServerHasNoEngine() async throws {
        let setup = try ServerSetup(model: TrainedFixture.shared.modelFile, database: false)
        try await setup.test { client in
            let response = try await client.execute(uri: "/v1/metrics", method: .post, headers: csv(aliceToken), body: buffer("a\n1\n"))
            #expect(response.status == .notFound)
            let services = try await client.execute(uri: "/v1/services", method: .get)
            #expect(services.status == .ok && services.text.hasPrefix("{\"services\":[]}"))
        }
    }

    @Test func theEngineResumesFromItsCheckpoint() async throws {
        let setup = try ServerSetup()
        try await setup.test { client in _ = try await ingestFixture(client, rows: 600) }
        try await setup.server.served.engine!.close()
        // A new server on the same database continues where the first stopped.
        let again = try ServerSetup { $0.database = setup.database }
        try await again.test { client in
            let services = try await client.execute(uri: "/v1/services", method: .get)
            let list = services.object["services"] as? [[String: Any]] ?? []
            #expect(list.count == 3)
            #expect(list.allSatisfy { $0["last_row"] as? String == "2026-01-05T03:19:00Z" })
        }
    }
}
