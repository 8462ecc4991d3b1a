import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TriageCore
import TriageData
import TriageEngine
@testable import TriageServer

/// `serve --exec`: an approval over HTTP hands the action off in the background; the answer
/// does not wait for the command, and the recommendation's JSON carries the audit.
@Suite struct HandoffRouteTests {
    /// Polls for up to 30 s (a guard against a hang, not a timing assertion).
    static func eventually(_ condition: () async throws -> Bool) async rethrows -> Bool {
        for _ in 0..<3_000 {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return try await condition()
    }

    @Test func approvalAnswersBeforeASlowHookAndTheAuditFollows() async throws {
        let folder = temporaryFolder()
        let gate = folder + "/gate", log = folder + "/keys.log"
        var hook = HandoffSettings(command: "echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'; "
                                   + "while [ ! -e '\(gate)' ]; do sleep 0.01; done; echo applied")
        hook.backoff = .milliseconds(1)
        let setup = try ServerSetup(configure: { $0.ttlSeconds = 365 * 86_400; $0.handoff = hook })
        try await setup.test { client in
            try await ingestFixture(client)
            let list = try await client.execute(uri: "/v1/recommendations", method: .get)
            let id = try #require((list.object["recommendations"] as? [[String: Any]])?.first?["id"] as? String)
            let approve = try await client.execute(uri: "/v1/recommendations/\(id)/approve", method: .post,
                                                   headers: json(aliceToken), body: buffer("{}"))
            #expect(approve.status == .ok)
            let handoff = try #require(approve.object["handoff"] as? [String: Any])
            // The hook waits for the gate, which this test opens only now: the answer did not wait.
            #expect(["queued", "started"].contains(handoff["state"] as? String ?? ""), "\(handoff)")
            #expect(handoff["idempotency_key"] as? String == approve.object["idempotency_key"] as? String)
            // Other requests are answered meanwhile.
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            _ = FileManager.default.createFile(atPath: gate, contents: nil)
            let done = try await Self.eventually {
                let shown = try await client.execute(uri: "/v1/recommendations/\(id)", method: .get)
                return (shown.object["handoff"] as? [String: Any])?["state"] as? String == "succeeded"
            }
            #expect(done)
            let shown = try await client.execute(uri: "/v1/recommendations/\(id)", method: .get)
            let attempt = try #require(((shown.object["handoff"] as? [String: Any])?["attempts"] as? [[String: Any]])?.first)
            #expect(attempt["exit_code"] as? Int == 0 && attempt["output"] as? String == "applied\n")
            let key = try #require(shown.object["idempotency_key"] as? String)
            #expect(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "") == key + "\n")
        }
    }

    @Test func withoutAHookTheRecordShowsNoHandoff() async throws {
        let setup = try ServerSetup(configure: { $0.ttlSeconds = 365 * 86_400 })
        try await setup.test { client in
            try await ingestFixture(client)
            let list = try await client.execute(uri: "/v1/recommendations", method: .get)
            let id = try #require((list.object["recommendations"] as? [[String: Any]])?.first?["id"] as? String)
            let approve = try await client.execute(uri: "/v1/recommendations/\(id)/approve", method: .post,
                                                   headers: json(aliceToken), body: buffer("{}"))
            #expect(approve.status == .ok && approve.object["handoff"] is NSNull)
        }
    }

    /// The approval page's approve form goes through the same path: the hook runs, the message
    /// says so.
    @Test func approvingOnThePageRunsTheHook() async throws {
        let folder = temporaryFolder()
        let log = folder + "/keys.log"
        let fixture = try PageFixture(handoff: HandoffSettings(command: "echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'"))
        let raised = try fixture.raise()
        try await fixture.test { client in
            let cookie = try await client.signIn()
            let csrf = try #require(try await client.get("/", cookie: cookie).csrf)
            let answer = try await client.post("/ui/recommendations/\(raised.id)/approve", form: [("csrf", csrf)], cookie: cookie)
            #expect(answer.status == .seeOther)
            let after = try await client.get("/", cookie: cookie)
            #expect(after.body.contains("its hand-off command runs in the background"))
        }
        let done = try await Self.eventually { try fixture.queue.handoff(raised.id)?.state == .succeeded }
        #expect(done)
        #expect(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "") == raised.idempotencyKey + "\n")
    }

    @Test func aHookNeedsTheApprovalQueue() throws {
        #expect(throws: ServerSetupError.self) {
            _ = try ServerSetup(database: false, configure: { $0.handoff = HandoffSettings(command: "true") })
        }
    }
}
