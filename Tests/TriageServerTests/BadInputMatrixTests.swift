import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TriageCore
@testable import TriageServer

/// Every write route against the same bad requests, and a seeded stream of mangled bodies
/// against every route: bad input gets a 4xx naming what is wrong, never a 5xx.
@Suite struct BadInputMatrixTests {
    static let writeRoutes = ["/v1/metrics", "/v1/recommendations/rec-000001/approve", "/v1/recommendations/rec-000001/reject",
                              "/v1/recommendations/rec-000001/outcome"]

    @Test func everyWriteRouteRefusesTheSameBadRequests() async throws {
        let setup = try ServerSetup(maxBody: 2_048)
        try await setup.test { client in
            for route in Self.writeRoutes {
                func status(_ headers: HTTPFields, _ body: String) async throws -> HTTPResponse.Status {
                    try await client.execute(uri: route, method: .post, headers: headers, body: buffer(body)).status
                }
                do { let s = try await status(json(), "{}"); #expect(s == .unauthorized, "\(route): \(s)") }
                do { let s = try await status(json("no-such-token-0123456789"), "{}"); #expect(s == .unauthorized, "\(route): \(s)") }
                if route != "/v1/metrics" {
                    do { let s = try await status(json(malloryToken), "{}"); #expect(s == .forbidden, "\(route): \(s)") }
                }
                do { let s = try await status(json(aliceToken), "{\"rows\": ["); #expect(s == .badRequest, "\(route): \(s)") }
                do { let s = try await status(json(aliceToken), "{\"rows\": 5, \"comment\": 5, \"result\": 5}"); #expect(s == .badRequest, "\(route): \(s)") }
                do { let s = try await status(json(aliceToken), "{\"surprise\": 1}"); #expect(s == .badRequest, "\(route): \(s)") }
                do { let s = try await status(json(aliceToken), String(repeating: " ", count: 3_000)); #expect(s == .contentTooLarge, "\(route): \(s)") }
                var form = json(aliceToken)
                form[.contentType] = "application/x-www-form-urlencoded"
                do { let s = try await status(form, "a=b"); #expect(s == .unsupportedMediaType, "\(route): \(s)") }
            }
            // An empty body: no rows to ingest is a mistake; an empty decision is a plain decision.
            let empty = try await client.execute(uri: "/v1/metrics", method: .post, headers: json(aliceToken))
            #expect(empty.status == .badRequest)
        }
    }

    @Test func mangledBodiesNeverGetA5xx() async throws {
        let setup = try ServerSetup(maxBody: 64 << 10, configure: { $0.ttlSeconds = 365 * 86_400 })
        let lines = TrainedFixture.shared.metricLines
        let seeds = [
            lines.prefix(4).joined(separator: "\n"),
            #"{"rows": [{"timestamp": 1767571200, "service": "svc-01", "cpu": 30, "memory": 50, "latency_p99_ms": 40, "error_rate": 0.004, "request_rate": 260, "replicas": 2, "heartbeat_age_s": 5}]}"#,
            #"{"comment": "looks right"}"#, #"{"result": "success", "recovery_seconds": 30}"#,
        ]
        try await setup.test { client in
            var random = SplitMix64(seed: 15)
            try await ingestFixture(client, rows: 900)
            let routes = ["/v1/score", "/v1/metrics"] + Self.writeRoutes.dropFirst()
            for round in 0..<240 {
                var bytes = Array(seeds[round % seeds.count].utf8)
                for _ in 0..<(1 + Int(random.next() % 6)) {
                    let position = Int(random.next() % UInt64(bytes.count + 1))
                    switch random.next() % 4 {
                    case 0 where position < bytes.count: bytes.remove(at: position)
                    case 1: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
                    case 2 where position < bytes.count: bytes[position] = [0x22, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x0A, 0x00, 0x5C][Int(random.next() % 10)]
                    default: bytes.insert(contentsOf: Array("\"\u{1F600}\"".utf8), at: position)
                    }
                }
                let route = routes[round % routes.count]
                let headers = round % 3 == 0 ? csv(aliceToken) : json(aliceToken)
                let response = try await client.execute(uri: route, method: .post, headers: headers, body: ByteBuffer(bytes: bytes))
                #expect(response.status.code < 500, "\(route) answered \(response.status) to \(String(decoding: bytes, as: UTF8.self).prefix(120)): \(response.text)")
                if response.status.code >= 400 { #expect(response.object["error"] is String, "\(route): \(response.text)") }
            }
        }
    }
}
