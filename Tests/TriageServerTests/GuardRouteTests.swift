import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TriageCore
import TriageData
import TriageEngine
@testable import TriageServer

/// The approve route obeys the rate caps `serve` was started with: past a cap it answers 409 with
/// the reason, and nothing is handed off.
@Suite struct GuardRouteTests {
    @Test func anApprovalPastTheCapIsAConflictWithTheReason() async throws {
        let setup = try ServerSetup(configure: {
            $0.ttlSeconds = 365 * 86_400
            $0.guards.approvalsPerHour = 1
        })
        try await setup.test { client in
            try await ingestFixture(client)
            let list = try await client.execute(uri: "/v1/recommendations", method: .get)
            let automated = (list.object["recommendations"] as? [[String: Any]] ?? [])
                .filter { $0["action"] as? String != "alert" }.compactMap { $0["id"] as? String }
            try #require(automated.count >= 2, "the fixture should raise two automated recommendations")
            let first = try await client.execute(uri: "/v1/recommendations/\(automated[0])/approve", method: .post,
                                                 headers: json(aliceToken))
            #expect(first.status == .ok)
            let second = try await client.execute(uri: "/v1/recommendations/\(automated[1])/approve", method: .post,
                                                  headers: json(aliceToken))
            #expect(second.status == .conflict)
            #expect(second.text.contains("rate cap") && second.text.contains("held"), "\(second.text)")
            let lines = ((try? String(contentsOfFile: setup.outbox, encoding: .utf8)) ?? "").split(separator: "\n")
            #expect(lines.count == 1)
            let shown = try await client.execute(uri: "/v1/recommendations/\(automated[1])", method: .get)
            #expect(shown.object["status"] as? String == "pending")
        }
    }

    /// A failed outcome over HTTP counts in its breaker in the same transaction; the transition
    /// reaches the event stream as a `breaker` event.
    @Test func anOutcomeOpensTheBreakerAndTheStreamSaysSo() async throws {
        let setup = try ServerSetup(configure: {
            $0.ttlSeconds = 365 * 86_400
            $0.guards.breaker.windowSize = 1
            $0.guards.breaker.minimumOutcomes = 1
        })
        setup.server.streamsEndWhenCaughtUp.set()
        try await setup.test { client in
            try await ingestFixture(client)
            let list = try await client.execute(uri: "/v1/recommendations", method: .get)
            let first = try #require((list.object["recommendations"] as? [[String: Any]])?.first)
            let id = try #require(first["id"] as? String)
            let approve = try await client.execute(uri: "/v1/recommendations/\(id)/approve", method: .post, headers: json(aliceToken))
            #expect(approve.status == .ok)
            let outcome = try await client.execute(uri: "/v1/recommendations/\(id)/outcome", method: .post, headers: json(aliceToken),
                                                   body: buffer(#"{"result": "failure", "recovery_seconds": 60}"#))
            #expect(outcome.status == .ok, "\(outcome.text)")
            let events = try await client.execute(uri: "/v1/events", method: .get)
            let breaker = events.text.components(separatedBy: "\n\n").first { $0.contains("event: breaker") }
            let text = try #require(breaker, "no breaker event in the stream")
            #expect(text.contains("\"from\":\"closed\"") && text.contains("\"to\":\"open\"") && text.contains("\"cause\":\"\(id)\""))
            #expect(text.contains("\"service\":\"\(first["service"] as? String ?? "")\""))
        }
    }
}
