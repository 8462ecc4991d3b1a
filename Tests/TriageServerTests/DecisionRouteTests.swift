import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TriageCore
import TriageData
import TriageEngine
@testable import TriageServer

/// A server with the fixture ingested: pending recommendations to decide.
private func withPending(_ body: @Sendable (ServerSetup, any TestClientProtocol, [String]) async throws -> Void) async throws {
    let setup = try ServerSetup(configure: { $0.ttlSeconds = 365 * 86_400 })
    try await setup.test { client in
        try await ingestFixture(client)
        let list = try await client.execute(uri: "/v1/recommendations", method: .get)
        let ids = (list.object["recommendations"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        try #require(ids.count >= 2)
        try await body(setup, client, ids)
    }
}

private func outboxLines(_ setup: ServerSetup) -> [String] {
    ((try? String(contentsOfFile: setup.outbox, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
}

@Suite struct DecisionRouteTests {
    @Test func theApproverIsTheTokensNameAndApprovingTwiceHandsOffOnce() async throws {
        try await withPending { setup, client, ids in
            let id = ids[0]
            let response = try await client.execute(uri: "/v1/recommendations/\(id)/approve", method: .post, headers: json(aliceToken),
                                                    body: buffer(#"{"comment": "restart it"}"#))
            #expect(response.status == .ok)
            #expect(response.object["status"] as? String == "approved" && response.object["decided_by"] as? String == "alice")
            #expect(response.object["comment"] as? String == "restart it")
            let again = try await client.execute(uri: "/v1/recommendations/\(id)/approve", method: .post, headers: json(bobToken))
            #expect(again.status == .ok && again.object["decided_by"] as? String == "alice")
            let lines = outboxLines(setup)
            #expect(lines.count == 1 && lines[0].contains("\"approved_by\":\"alice\"") && lines[0].contains(id))
            // Rejecting an approved one is a conflict.
            let reject = try await client.execute(uri: "/v1/recommendations/\(id)/reject", method: .post, headers: json(bobToken))
            #expect(reject.status == .conflict)
        }
    }

    @Test func authorisationIsCheckedBeforeTheIdIsLookedUp() async throws {
        try await withPending { setup, client, ids in
            for route in ["approve", "reject", "outcome"] {
                for id in [ids[0], "rec-999999"] {
                    let uri = "/v1/recommendations/\(id)/\(route)"
                    #expect(try await client.execute(uri: uri, method: .post).status == .unauthorized)
                    #expect(try await client.execute(uri: uri, method: .post, headers: json("wrong-token-0123456789")).status == .unauthorized)
                    let forbidden = try await client.execute(uri: uri, method: .post, headers: json(malloryToken), body: buffer("{}"))
                    #expect(forbidden.status == .forbidden && (forbidden.object["error"] as? String)?.contains("mallory") == true)
                }
                let unknown = try await client.execute(uri: "/v1/recommendations/rec-999999/\(route)", method: .post,
                                                       headers: json(aliceToken), body: buffer(route == "outcome" ? #"{"result": "success"}"# : "{}"))
                #expect(unknown.status == .notFound)
            }
            #expect(try await client.execute(uri: "/v1/recommendations/rec-999999", method: .get).status == .notFound)
            #expect(outboxLines(setup).isEmpty)
        }
    }

    @Test func decisionBodiesAreChecked() async throws {
        try await withPending { _, client, ids in
            let uri = "/v1/recommendations/\(ids[0])/approve"
            let cases: [(String, String)] = [
                ("{\"comment\": 3}", "comment"), ("{\"by\": \"eve\"}", "by"), ("{\"comment\": {\"a\": 1}}", "comment"),
                ("{\"comment\": \"\(String(repeating: "x", count: 5_000))\"}", "comment"), ("[1]", "body"), ("{", "body"),
            ]
            for (body, field) in cases {
                let response = try await client.execute(uri: uri, method: .post, headers: json(aliceToken), body: buffer(body))
                #expect(response.status == .badRequest && response.object["field"] as? String == field, "\(body.prefix(40)): \(response.text)")
            }
            let still = try await client.execute(uri: "/v1/recommendations/\(ids[0])", method: .get)
            #expect(still.object["status"] as? String == "pending")
        }
    }

    @Test func approveRacingRejectHasExactlyOneWinner() async throws {
        try await withPending { setup, client, ids in
            for id in ids.prefix(2) {
                async let approve = client.execute(uri: "/v1/recommendations/\(id)/approve", method: .post, headers: json(aliceToken))
                async let reject = client.execute(uri: "/v1/recommendations/\(id)/reject", method: .post, headers: json(bobToken))
                let statuses = [try await approve.status, try await reject.status]
                #expect(statuses.filter { $0 == .ok }.count == 1 && statuses.filter { $0 == .conflict }.count == 1, "\(statuses)")
            }
            let approved = try await client.execute(uri: "/v1/recommendations?status=approved", method: .get)
            let count = (approved.object["recommendations"] as? [Any])?.count ?? -1
            #expect(outboxLines(setup).count == count)
        }
    }

    @Test func outcomesAreRecordedOnceAndChecked() async throws {
        try await withPending { _, client, ids in
            let id = ids[0]
            let uri = "/v1/recommendations/\(id)/outcome"
            // Not approved yet: a conflict.
            let early = try await client.execute(uri: uri, method: .post, headers: json(aliceToken), body: buffer(#"{"result": "success"}"#))
            #expect(early.status == .conflict)
            _ = try await client.execute(uri: "/v1/recommendations/\(id)/approve", method: .post, headers: json(aliceToken))
            for (body, field) in [(#"{"result": "maybe"}"#, "result"), (#"{}"#, "result"), (#"{"result": 1}"#, "result"),
                                  (#"{"result": "success", "recovery_seconds": -5}"#, "recovery_seconds"),
                                  (#"{"result": "success", "recovery_seconds": "5"}"#, "recovery_seconds"),
                                  (#"{"result": "success", "recovery_seconds": 1e300}"#, "recovery_seconds"),
                                  (#"{"result": "success", "extra": 1}"#, "extra")] {
                let response = try await client.execute(uri: uri, method: .post, headers: json(aliceToken), body: buffer(body))
                #expect(response.status == .badRequest && response.object["field"] as? String == field, "\(body): \(response.text)")
            }
            let recorded = try await client.execute(uri: uri, method: .post, headers: json(aliceToken),
                                                    body: buffer(#"{"result": "success", "recovery_seconds": 120}"#))
            #expect(recorded.status == .ok && recorded.object["outcome"] as? String == "success")
            let twice = try await client.execute(uri: uri, method: .post, headers: json(aliceToken), body: buffer(#"{"result": "failure"}"#))
            #expect(twice.status == .conflict)
        }
    }

    @Test func listFiltersByStatus() async throws {
        try await withPending { setup, client, ids in
            _ = try await client.execute(uri: "/v1/recommendations/\(ids[0])/reject", method: .post, headers: json(aliceToken),
                                         body: buffer(#"{"comment": "not now"}"#))
            let rejected = try await client.execute(uri: "/v1/recommendations?status=rejected", method: .get)
            let list = rejected.object["recommendations"] as? [[String: Any]] ?? []
            #expect(list.count == 1 && list[0]["reason"] as? String == "not now" && list[0]["decided_by"] as? String == "alice")
            // Rendered record by record, byte for byte what the whole list as one JSON value gives.
            let all = try await client.execute(uri: "/v1/recommendations?status=all", method: .get)
            let records = try setup.server.served.queue!.list(status: nil, now: TriageServer.now)
            #expect(all.text == JSONValue.object(["recommendations": .array(records.map(\.json))]).serialized() + "\n")
            // Longer than a page (the list is streamed a page at a time): still the whole list.
            let queue = setup.server.served.queue!
            for k in 0..<(2 * TriageServer.listPageRecords + 37) {
                let raisedAt = TriageServer.now - 5 + Int64(k % 3)
                try queue.raise(Recommendation(service: "svc-paged", action: .restart, confidence: 0.5, created: Int64(k) * 60,
                                               raisedAt: raisedAt, expires: raisedAt + 86_400, reasons: ["row \(k)"],
                                               symptoms: Symptoms(features: [1], levels: [1, 1, 0, 0, 0, 0, 0])))
            }
            let long = try await client.execute(uri: "/v1/recommendations?status=all", method: .get)
            let everything = try queue.list(status: nil, now: TriageServer.now)
            #expect(everything.count > 2 * TriageServer.listPageRecords)
            #expect(long.text == JSONValue.object(["recommendations": .array(everything.map(\.json))]).serialized() + "\n")
            let bad = try await client.execute(uri: "/v1/recommendations?status=done", method: .get)
            #expect(bad.status == .badRequest && bad.object["field"] as? String == "status")
        }
    }
}
