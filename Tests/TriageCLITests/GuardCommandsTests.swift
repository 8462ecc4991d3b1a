import Foundation
import GRDB
import Testing
import TriageCore
import TriageEngine

/// `triage breakers`, approvals refused past a cap, and the guard flags' range checks.
@Suite struct GuardCommandsTests {
    static let symptoms = Symptoms(features: [2.0], levels: [1, 1, 0, 0, 1, 0, 0])

    static func proposal(_ service: String, created: Int64, now: Int64, action: RemediationAction = .restart) -> Recommendation {
        Recommendation(service: service, action: action, confidence: 0.6, created: created, raisedAt: now, expires: now + 86_400,
                       reasons: ["cpu high"], symptoms: symptoms)
    }

    @Test func breakersListsStateAsTextAndJSON() throws {
        let folder = CLIRunner.folder()
        let db = folder + "/triage.sqlite"
        _ = CLIRunner.file("alice: \(ApprovalCommandsTests.account)\n", name: "approvers.txt", in: folder)
        let empty = try CLIRunner.run("breakers", "--db", db)
        #expect(empty.status == 1 && empty.stderr.contains("no such database"))
        let queue = try ApprovalQueue(path: db)
        #expect(try CLIRunner.run("breakers", "--db", db).stdout.contains("no breakers"))
        #expect(try CLIRunner.run("breakers", "--db", db, "--json").stdout == "[]\n")
        let now = Int64(Date().timeIntervalSince1970)
        let approvers = try Approvers.load(folder + "/approvers.txt")
        for k in 0..<3 {
            let id = try queue.raise(Self.proposal("svc-01", created: Int64(k), now: now)).recommendation.id
            _ = try queue.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers,
                                  outbox: Outbox(path: folder + "/outbox.jsonl"), now: now)
            let out = try CLIRunner.run("outcome", id, "--db", db, "--result", k == 2 ? "success" : "failure", "--recovery-seconds", "60")
            #expect(out.status == 0, "\(out.stderr)")
        }
        let json = try CLIRunner.run("breakers", "--db", db, "--json")
        #expect(json.status == 0, "\(json.stderr)")
        let items = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(items.count == 1)
        #expect(Set(items[0].keys) == ["service", "action", "state", "failures", "outcomes", "opened_at", "retry_at"])
        #expect(items[0]["service"] as? String == "svc-01" && items[0]["action"] as? String == "restart")
        #expect(items[0]["state"] as? String == "open" && items[0]["failures"] as? Int == 2 && items[0]["outcomes"] as? Int == 3)
        let opened = try #require(Timestamp.parse(items[0]["opened_at"] as? String ?? ""))
        #expect(Timestamp.parse(items[0]["retry_at"] as? String ?? "") == opened + 600)
        let text = try CLIRunner.run("breakers", "--db", db)
        let lines = text.stdout.split(separator: "\n")
        #expect(text.status == 0 && lines.count == 2)
        #expect(lines[0].hasPrefix("service") && lines[0].contains("retry_at"))
        #expect(lines[1].hasPrefix("svc-01") && lines[1].contains("restart") && lines[1].contains("open"))
    }

    /// Past the per-service cap the CLI refuses with the reason (exit 1) and hands nothing off;
    /// once the hour's window has moved on, the same approval goes through.
    @Test func approveIsRefusedPastACapUntilTheWindowAllows() throws {
        let folder = CLIRunner.folder()
        let db = folder + "/triage.sqlite"
        _ = CLIRunner.file("alice: \(ApprovalCommandsTests.account)\n", name: "approvers.txt", in: folder)
        let queue = try ApprovalQueue(path: db)
        var settings = RemediationGuards.Settings()
        settings.approvalsPerServicePerHour = 1
        try queue.installGuards(settings)
        let now = Int64(Date().timeIntervalSince1970)
        let first = try queue.raise(Self.proposal("svc-01", created: 1, now: now)).recommendation.id
        #expect(try CLIRunner.run("approvals", "approve", first, "--by", "alice", "--db", db).status == 0)
        let second = try queue.raise(Self.proposal("svc-01", created: 2, now: now)).recommendation
        #expect(second.heldReason != nil)
        let shown = try CLIRunner.run("approvals", "show", second.id, "--db", db, "--json")
        #expect(shown.stdout.contains("\"held\":true"))
        let refused = try CLIRunner.run("approvals", "approve", second.id, "--by", "alice", "--db", db)
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("error: recommendation \(second.id) is held") && refused.stderr.contains("rate cap"),
                "\(refused.stderr)")
        let outbox = try String(contentsOfFile: folder + "/outbox.jsonl", encoding: .utf8)
        #expect(outbox.split(separator: "\n").count == 1)
        // An hour later (the first approval moved back an hour) it is approved.
        try DatabaseQueue(path: db).write { db in
            try db.execute(sql: "UPDATE recommendation SET decided_at = decided_at - 3600 WHERE id = ?", arguments: [first])
        }
        let allowed = try CLIRunner.run("approvals", "approve", second.id, "--by", "alice", "--db", db)
        #expect(allowed.status == 0, "\(allowed.stderr)")
    }

    /// Out-of-range guard settings are usage errors (64) that name the flag; nothing is created.
    @Test func badGuardFlagsAreUsageErrors() throws {
        let folder = CLIRunner.folder()
        let db = folder + "/triage.sqlite"
        let cases: [([String], String)] = [
            (["--breaker-threshold", "1.5"], "--breaker-threshold"), (["--breaker-threshold", "0"], "--breaker-threshold"),
            (["--breaker-window", "0"], "--breaker-window"), (["--breaker-min-outcomes", "6"], "--breaker-min-outcomes"),
            (["--breaker-window", "2", "--breaker-min-outcomes", "3"], "--breaker-min-outcomes"),
            (["--breaker-wait", "8d"], "--breaker-wait"), (["--cooldown", "2d"], "--cooldown"),
            (["--max-approvals-per-hour", "0"], "--max-approvals-per-hour"),
            (["--max-approvals-per-service-per-hour", "-1"], "--max-approvals-per-service-per-hour"),
            (["--breaker-wait", "soon"], "--breaker-wait"),
        ]
        for (flags, named) in cases {
            for command in [["watch", folder + "/metrics.csv", "--model", folder + "/bundle", "--db", db],
                            ["serve", "--model", folder + "/bundle", "--db", db]] {
                let result = try CLIRunner.run(command + flags)
                #expect(result.status == 64, "\(command[0]) \(flags): \(result.status) \(result.stderr)")
                #expect(result.stderr.contains(named), "\(command[0]) \(flags): \(result.stderr)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: db))
    }
}
