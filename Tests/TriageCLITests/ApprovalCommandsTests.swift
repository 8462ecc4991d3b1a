import Foundation
import Testing
import TriageCore
import TriageEngine

/// `approvals list|show|approve|reject` and `outcome` against a queue filled through the library
/// (the engine loop that raises recommendations from `watch` is its own issue).
@Suite struct ApprovalCommandsTests {
    /// The OS account the tests (and the binary they start) run as.
    static let account = OSAccount.effective()

    /// A queue with two pending recommendations raised now with a day to live, and an allowlist
    /// (by default letting this account act as `alice`).
    static func queue(allowlist: String? = "alice: \(account)\n") throws -> (folder: String, db: String, ids: [String]) {
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
        let other = CLIRunner.file("mallory: \(Self.account)\n", name: "ops.txt", in: folder)
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

    /// `--by` names someone the account running the command may not act as: refused with exit 1,
    /// naming the account, and nothing recorded, whatever `$USER` says.
    @Test func forgedByIsRefusedAndNothingRecorded() throws {
        let (folder, db, ids) = try Self.queue(allowlist: "alice\nbob\n")
        let before = try #require(FileManager.default.contents(atPath: db))
        for command in [["approve", ids[0], "--comment", "ok"], ["reject", ids[1], "--reason", "no"]] {
            let arguments = ["approvals"] + command + ["--by", "alice", "--db", db]
            let forged = try CLIRunner.run(arguments)
            #expect(forged.status == 1, "\(forged.stderr)")
            #expect(forged.stderr.hasPrefix("error: OS account '\(Self.account)' may not decide as 'alice'"), "\(forged.stderr)")
            // The environment is the caller's to set: it changes nothing.
            let spoofed = try CLIRunner.run(["USER=alice", "LOGNAME=alice", CLIRunner.binary.path] + arguments,
                                            executable: URL(fileURLWithPath: "/usr/bin/env"))
            #expect(spoofed.status == 1 && spoofed.stderr.contains("may not decide as 'alice'"), "\(spoofed.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder + "/outbox.jsonl"))
        // Refused before the database was opened for writing: not a byte changed, no WAL files.
        #expect(FileManager.default.contents(atPath: db) == before)
        #expect(!FileManager.default.fileExists(atPath: db + "-wal"))
        let all = try CLIRunner.run("approvals", "list", "--db", db, "--status", "all", "--json")
        let items = try #require(try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as? [[String: Any]])
        #expect(items.map { $0["status"] as? String } == ["pending", "pending"])
        #expect(items.allSatisfy { $0["decided_by"] is NSNull && $0["decided_account"] is NSNull })
        // A name mapped to another account only: the message lists what this account may use.
        _ = CLIRunner.file("alice: someone-else\n\(Self.account)\noncall: \(Self.account)\n", name: "approvers.txt", in: folder)
        let mayUse = ["oncall", Self.account].sorted().map { "'\($0)'" }.joined(separator: ", ")
        let mapped = try CLIRunner.run("approvals", "approve", ids[0], "--by", "alice", "--db", db)
        #expect(mapped.status == 1 && mapped.stderr.contains("lets it act only as \(mayUse)")
                && mapped.stderr.hasSuffix("; pass one of them to --by\n"), "\(mapped.stderr)")
        // A name not listed at all says who ran it too.
        let stranger = try CLIRunner.run("approvals", "approve", ids[0], "--by", "mallory", "--db", db)
        #expect(stranger.status == 1 && stranger.stderr.contains("'mallory' is not in the approver allowlist")
                && stranger.stderr.contains("OS account '\(Self.account)' may act as \(mayUse)"),
                "\(stranger.stderr)")
        #expect(try ApprovalQueue(path: db, access: .readOnly).recommendation(ids[0], now: 0).status == .pending)
    }

    /// A name the allowlist maps the account to, and the account's own name, are accepted, and
    /// the audit shows the name and the account everywhere it shows the decision.
    @Test func mappedAndOwnNamesAreAcceptedAndAuditedWithTheAccount() throws {
        let (folder, db, ids) = try Self.queue(allowlist: "# rota\noncall: nobody-else, \(Self.account)\n\(Self.account)\n")
        let approve = try CLIRunner.run("approvals", "approve", ids[0], "--by", "oncall", "--db", db)
        #expect(approve.status == 0, "\(approve.stderr)")
        let reject = try CLIRunner.run("approvals", "reject", ids[1], "--by", Self.account, "--db", db)
        #expect(reject.status == 0, "\(reject.stderr)")
        let all = try CLIRunner.run("approvals", "list", "--db", db, "--status", "all", "--json")
        let items = try #require(try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as? [[String: Any]])
        #expect(items[0]["decided_by"] as? String == "oncall" && items[0]["decided_account"] as? String == Self.account)
        #expect(items[1]["decided_by"] as? String == Self.account && items[1]["decided_account"] as? String == Self.account)
        #expect(items.allSatisfy { $0["decided_channel"] as? String == "cli" })
        let shown = try CLIRunner.run("approvals", "show", ids[0], "--db", db)
        #expect(shown.stdout.contains("approved by oncall (account \(Self.account)) at "), "\(shown.stdout)")
        let line = try String(contentsOfFile: folder + "/outbox.jsonl", encoding: .utf8)
        let handed = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(handed["approved_by"] as? String == "oncall" && handed["approved_account"] as? String == Self.account)
        #expect(handed["approved_channel"] as? String == "cli")
    }

    /// A malformed allowlist line is a located error, and nothing is decided.
    @Test func malformedAllowlistIsALocatedError() throws {
        let (folder, db, ids) = try Self.queue(allowlist: "alice: \(Self.account)\n\noncall:   # to fill\n")
        let r = try CLIRunner.run("approvals", "approve", ids[0], "--by", "alice", "--db", db)
        #expect(r.status == 1 && r.stderr.hasPrefix("error: \(folder)/approvers.txt:3:7: no OS account after 'oncall:'"),
                "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/outbox.jsonl"))
        #expect(try ApprovalQueue(path: db, access: .readOnly).recommendation(ids[0], now: 0).status == .pending)
    }
}
