import Foundation
import Testing
import TriageCore
import TriageEngine

/// `approvals list|show|approve|reject` and `outcome` against a queue filled through the library
/// (the engine loop that raises recommendations from `watch` is its own issue).
@Suite struct ApprovalCommandsTests {
    /// A queue with two pending recommendations raised now with a day to live, and an allowlist.
    static func queue(allowlist: String? = "alice\n") throws -> (folder: String, db: String, ids: [String]) {
        let folder = CLIRunner.folder()
        let db = folder + "/triage.sqlite"
        let queue = try ApprovalQueue(path: db)
        let now = Int64(Date().timeIntervalSince1970)
        let symptoms = Symptoms(features: [2.0], levels: [1, 1, 0, 0, 1, 0, 0])
        var ids = [String]()
        for (service, action) in [("svc-01", RemediationAction.scaleUp), ("svc-02", .restart)] {
            let r = Recommendation(service: service, action: action, confidence: 0.75, created: 1_767_225_600,
                                   raisedAt: now, expires: now + 86_400, reasons: ["cpu 3.1× its baseline"],
                                   parameters: action == .scaleUp ? ["replicas": 6] : [:],
                                   scores: ["iforest": 0.71], symptoms: symptoms)
            ids.append(try queue.raise(r).recommendation.id)
        }
        if let allowlist { _ = CLIRunner.file(allowlist, name: "approvers.txt", in: folder) }
        return (folder, db, ids)
    }

    @Test func listShowApproveRejectAndOutcome() throws {
        let (folder, db, ids) = try Self.queue()
        let list = try CLIRunner.run("approvals", "list", "--db", db, "--json")
        #expect(list.status == 0, "\(list.stderr)")
        let items = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(items.map { $0["id"] as? String } == ids)
        for key in ["id", "service", "action", "status", "confidence", "created", "expires", "reasons", "decided_by", "decided_at"] {
            #expect(items[0].keys.contains(key), "missing \(key)")
        }
        #expect(items[0]["status"] as? String == "pending" && items[0]["created"] as? String == "2026-01-01T00:00:00Z")

        let text = try CLIRunner.run("approvals", "show", ids[0], "--db", db)
        #expect(text.status == 0 && text.stdout.contains("scale_up on svc-01") && text.stdout.contains("cpu 3.1× its baseline"))

        let approve = try CLIRunner.run("approvals", "approve", ids[0], "--by", "alice", "--db", db, "--comment", "ok")
        #expect(approve.status == 0, "\(approve.stderr)")
        let again = try CLIRunner.run("approvals", "approve", ids[0], "--by", "alice", "--db", db)
        #expect(again.status == 0 && again.stdout.contains("already approved"))
        let outbox = try String(contentsOfFile: folder + "/outbox.jsonl", encoding: .utf8)
        let lines = outbox.split(separator: "\n")
        #expect(lines.count == 1)
        let line = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(line["id"] as? String == ids[0] && line["action"] as? String == "scale_up" && line["replicas"] as? Int == 6)
        #expect(line["approved_by"] as? String == "alice" && (line["idempotency_key"] as? String)?.isEmpty == false)

        let reject = try CLIRunner.run("approvals", "reject", ids[1], "--by", "alice", "--db", db, "--reason", "freeze")
        #expect(reject.status == 0)
        let approveRejected = try CLIRunner.run("approvals", "approve", ids[1], "--by", "alice", "--db", db)
        #expect(approveRejected.status == 1 && approveRejected.stderr.contains("rejected"))
        let shown = try CLIRunner.run("approvals", "show", ids[1], "--db", db, "--json")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(record["status"] as? String == "rejected" && record["decided_by"] as? String == "alice")
        #expect(try CLIRunner.run("approvals", "list", "--db", db, "--json").stdout == "[]\n")
        let all = try CLIRunner.run("approvals", "list", "--db", db, "--status", "all")
        #expect(all.stdout.contains(ids[0]) && all.stdout.contains(ids[1]))

        let outcome = try CLIRunner.run("outcome", ids[0], "--db", db, "--result", "success", "--recovery-seconds", "42")
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let twice = try CLIRunner.run("outcome", ids[0], "--db", db, "--result", "failure")
        #expect(twice.status == 1 && twice.stderr.contains("already has an outcome"))
        let ofRejected = try CLIRunner.run("outcome", ids[1], "--db", db, "--result", "success")
        #expect(ofRejected.status == 1)
    }

    @Test func approvalsFailClosedAndBadInputIsAClearError() throws {
        let (folder, db, ids) = try Self.queue(allowlist: nil)
        let refused = try CLIRunner.run("approvals", "approve", ids[0], "--by", "alice", "--db", db)
        #expect(refused.status == 1 && refused.stderr.hasPrefix("error: no approver allowlist at \(folder)/approvers.txt"))
        #expect(refused.stderr.hasSuffix(", or pass --approvers FILE\n"), "\(refused.stderr)")
        _ = CLIRunner.file("bob\n", name: "approvers.txt", in: folder)
        let stranger = try CLIRunner.run("approvals", "approve", ids[0], "--by", "mallory", "--db", db)
        #expect(stranger.status == 1 && stranger.stderr.contains("'mallory' is not in the approver allowlist"))
        let other = CLIRunner.file("mallory\n", name: "ops.txt", in: folder)
        let viaFlag = try CLIRunner.run("approvals", "approve", ids[0], "--by", "mallory", "--db", db, "--approvers", other)
        #expect(viaFlag.status == 0)
        #expect(try CLIRunner.run("approvals", "show", "rec-424242", "--db", db).status == 1)
        let missing = try CLIRunner.run("approvals", "list", "--db", folder + "/nope.sqlite")
        #expect(missing.status == 1 && missing.stderr.contains("no such database"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/nope.sqlite"))
        let garbage = CLIRunner.file("this is not sqlite\n", name: "bad.sqlite", in: folder)
        let corrupt = try CLIRunner.run("approvals", "list", "--db", garbage)
        #expect(corrupt.status == 1 && corrupt.stderr.hasPrefix("error: \(garbage)"))
        #expect(try CLIRunner.run("approvals", "list", "--db", db, "--status", "maybe").status == 64)
        #expect(try CLIRunner.run("outcome", ids[0], "--db", db, "--result", "success", "--recovery-seconds", "-3").status == 64)
        #expect(try CLIRunner.run("approvals", "approve", ids[1], "--by", " ", "--db", db).status == 64)
    }
}
