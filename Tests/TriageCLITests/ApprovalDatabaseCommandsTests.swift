import Foundation
import GRDB
import Testing
import TriageCore
import TriageEngine

/// The queue commands against databases that are not theirs, read-only or damaged, with input
/// the terminal must not act on, and with out-of-range outcomes.
@Suite struct ApprovalDatabaseCommandsTests {
    /// Bytes a terminal acts on: C0 except the line feed, DEL, C1.
    static func controls(_ text: String) -> [UInt32] {
        text.unicodeScalars.map(\.value).filter { ($0 < 0x20 && $0 != 0x0A) || (0x7F...0x9F).contains($0) }
    }

    @Test func recoverySecondsOutsideTheBoundAreUsageErrors() throws {
        let (_, db, ids) = try ApprovalCommandsTests.queue()
        let approve = try CLIRunner.run("approvals", "approve", ids[0], "--by", "alice", "--db", db)
        #expect(approve.status == 0, "\(approve.stderr)")
        for bad in ["1e308", "inf", "nan", "-0.5", "604801"] {
            let r = try CLIRunner.run("outcome", ids[0], "--db", db, "--result", "failure", "--recovery-seconds", bad)
            #expect(r.status == 64, "\(bad): \(r.stderr)")
            #expect(r.stderr.contains("--recovery-seconds") && r.stderr.contains("604800"), "\(bad): \(r.stderr)")
        }
        let shown = try CLIRunner.run("approvals", "show", ids[0], "--db", db, "--json")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(record["outcome"] is NSNull || record["outcome"] == nil)
        let ok = try CLIRunner.run("outcome", ids[0], "--db", db, "--result", "failure", "--recovery-seconds", "604800")
        #expect(ok.status == 0, "\(ok.stderr)")
    }

    @Test func anotherApplicationsDatabaseIsRefusedUnchanged() throws {
        let folder = CLIRunner.folder()
        let path = folder + "/app.sqlite"
        let other = try DatabaseQueue(path: path)
        try other.write { db in
            try db.execute(sql: "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT)")
            try db.execute(sql: "INSERT INTO contacts (name) VALUES ('ada')")
        }
        try other.close()
        let before = FileManager.default.contents(atPath: path)
        _ = CLIRunner.file("alice: \(ApprovalCommandsTests.account)\n", name: "approvers.txt", in: folder)
        for arguments in [["approvals", "list", "--db", path], ["approvals", "show", "rec-000001", "--db", path],
                          ["approvals", "approve", "rec-000001", "--by", "alice", "--db", path],
                          ["outcome", "rec-000001", "--db", path, "--result", "success"]] {
            let r = try CLIRunner.run(arguments)
            #expect(r.status == 1 && r.stderr.hasPrefix("error: \(path): not a Triage approval queue"), "\(arguments): \(r.stderr)")
        }
        #expect(FileManager.default.contents(atPath: path) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    /// A queue in a read-only folder, its file mode 0444: the reading commands work, the writing
    /// ones name the file. Runs as an unprivileged user (root ignores file modes).
    @Test(.enabled(if: getuid() != 0 || FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func readOnlyQueueCanBeReadAndRefusesWritesByName() throws {
        // `alice` for the account the unprivileged run uses too, so the run reaches the database.
        let unprivileged = getuid() == 0 ? OSAccount.name(uid: 65534) : ApprovalCommandsTests.account
        let (folder, db, ids) = try ApprovalCommandsTests.queue(allowlist: "alice: \(ApprovalCommandsTests.account) \(unprivileged)\n")
        chmod(db, 0o444)
        chmod(folder, 0o555)
        defer {
            chmod(folder, 0o755)
            chmod(db, 0o644)
        }
        let list = try #require(try CLIRunner.runUnprivileged(["approvals", "list", "--db", db, "--json"]))
        #expect(list.status == 0, "\(list.stderr)")
        let items = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
        #expect(items?.compactMap { $0["id"] as? String } == ids)
        let show = try #require(try CLIRunner.runUnprivileged(["approvals", "show", ids[0], "--db", db]))
        #expect(show.status == 0 && show.stdout.contains("scale_up on svc-01"), "\(show.stderr)")
        let approve = try #require(try CLIRunner.runUnprivileged(["approvals", "approve", ids[0], "--by", "alice", "--db", db]))
        #expect(approve.status == 1 && approve.stderr.hasPrefix("error: \(db): ") && approve.stderr.contains("read-only"),
                "\(approve.stderr)")
        #expect(try ApprovalQueue(path: db, access: .readOnly).recommendation(ids[0], now: 0).status == .pending)
    }

    @Test func droppedColumnIsNamedInsteadOfLosingComments() throws {
        let (folder, db, ids) = try ApprovalCommandsTests.queue()
        _ = folder
        let reject = try CLIRunner.run("approvals", "reject", ids[1], "--by", "alice", "--db", db, "--reason", "freeze")
        #expect(reject.status == 0)
        try DatabaseQueue(path: db).write { db in try db.execute(sql: "ALTER TABLE recommendation DROP COLUMN decision_note") }
        for arguments in [["approvals", "show", ids[1], "--db", db], ["approvals", "list", "--db", db, "--status", "all"],
                          ["approvals", "reject", ids[0], "--by", "alice", "--db", db]] {
            let r = try CLIRunner.run(arguments)
            #expect(r.status == 1 && r.stderr.hasPrefix("error: \(db): ") && r.stderr.contains("'recommendation'")
                    && r.stderr.contains("'decision_note'"), "\(arguments): \(r.stderr)")
        }
    }

    @Test func controlCharactersAreShownEscaped() throws {
        let folder = CLIRunner.folder()
        let db = folder + "/triage.sqlite"
        let hostile = "svc-\u{1B}[31mred\u{1B}[0m\u{07}\r\n\u{9B}2J\u{7F}"
        let queue = try ApprovalQueue(path: db)
        let now = Int64(Date().timeIntervalSince1970)
        let r = Recommendation(service: hostile, action: .restart, confidence: 0.5, created: 1_767_225_600, raisedAt: now,
                               expires: now + 86_400, reasons: ["\u{1B}]0;owned\u{07}cpu high"],
                               symptoms: Symptoms(features: [2.0], levels: [1, 1, 0, 0, 1, 0, 0]))
        let id = try queue.raise(r).recommendation.id
        let second = try queue.raise({ var s = r; s.created += 60; return s }()).recommendation.id
        _ = CLIRunner.file("alice: \(ApprovalCommandsTests.account)\n", name: "approvers.txt", in: folder)
        let reject = try CLIRunner.run("approvals", "reject", id, "--by", "alice", "--db", db, "--reason", "no\u{1B}[2Jway")
        #expect(reject.status == 0)
        #expect(Self.controls(reject.stdout).isEmpty && reject.stdout.contains("\\e[31m"), "\(reject.stdout)")
        for arguments in [["approvals", "list", "--db", db, "--status", "all"], ["approvals", "show", id, "--db", db]] {
            let out = try CLIRunner.run(arguments)
            #expect(out.status == 0, "\(out.stderr)")
            #expect(Self.controls(out.stdout).isEmpty, "\(arguments): \(Self.controls(out.stdout))")
            #expect(out.stdout.contains("svc-\\e[31mred\\e[0m\\x07\\r\\n\\u{9b}2J\\x7f"), "\(out.stdout)")
        }
        let shown = try CLIRunner.run("approvals", "show", id, "--db", db)
        #expect(shown.stdout.contains("\\e]0;owned\\x07cpu high") && shown.stdout.contains("no\\e[2Jway"))
        // JSON keeps the exact text, escaped the JSON way.
        let json = try CLIRunner.run("approvals", "show", id, "--db", db, "--json")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(record["service"] as? String == hostile && record["reason"] as? String == "no\u{1B}[2Jway")
        #expect(Self.controls(json.stdout).isEmpty, "\(Self.controls(json.stdout))")
        // Echoed input in errors and messages.
        let stranger = try CLIRunner.run("approvals", "approve", second, "--by", "mal\u{1B}[8mlory", "--db", db)
        #expect(stranger.status == 1 && stranger.stderr.contains("mal\\e[8mlory") && Self.controls(stranger.stderr).isEmpty,
                "\(stranger.stderr)")
        let unknown = try CLIRunner.run("approvals", "show", "rec-\u{1B}[2J", "--db", db)
        #expect(unknown.status == 1 && unknown.stderr.contains("rec-\\e[2J") && Self.controls(unknown.stderr).isEmpty)
        let usage = try CLIRunner.run("approvals", "list", "--db", db, "--status", "\u{1B}[31mpending")
        #expect(usage.status == 64 && Self.controls(usage.stderr).isEmpty, "\(usage.stderr)")
        let approve = try CLIRunner.run("approvals", "approve", second, "--by", "alice", "--db", db)
        #expect(approve.status == 0 && Self.controls(approve.stdout).isEmpty, "\(approve.stdout)")
        let outcome = try CLIRunner.run("outcome", second, "--db", db, "--result", "success", "--recovery-seconds", "5")
        #expect(outcome.status == 0 && Self.controls(outcome.stdout).isEmpty && outcome.stdout.contains("\\e[31m"),
                "\(outcome.stdout)")
    }
}

extension ApprovalDatabaseCommandsTests {
    /// `--outbox DB` appended a JSON line to the SQLite file itself; `--outbox approvers.txt`
    /// would add that line to the allowlist. Both are refused before anything is decided.
    @Test func outboxCannotBeTheDatabaseOrTheAllowlist() throws {
        let (folder, db, ids) = try ApprovalCommandsTests.queue()
        let before = FileManager.default.contents(atPath: db)
        for target in [db, db + "-wal", folder + "/approvers.txt", folder + "/./triage.sqlite"] {
            let r = try CLIRunner.run("approvals", "approve", ids[0], "--by", "alice", "--db", db, "--outbox", target)
            // The command's file check (usage, 64) catches the same file up front; the queue's own
            // check (1) catches SQLite's side files and callers of the library.
            let usage = r.status == 64 && r.stderr.contains("--outbox")
            let refused = r.status == 1 && r.stderr.hasPrefix("error: \(target): ") && r.stderr.contains("outbox")
            #expect(usage || refused, "\(target): \(r.stderr)")
        }
        // SQLite may checkpoint on close, so compare what matters: no line appended to the file.
        let after = try #require(FileManager.default.contents(atPath: db))
        #expect(after.count == before?.count && after.range(of: Data("\"approved_by\":".utf8)) == nil)
        #expect(try String(contentsOfFile: folder + "/approvers.txt", encoding: .utf8) == "alice: \(ApprovalCommandsTests.account)\n")
        #expect(try ApprovalQueue(path: db, access: .readOnly).recommendation(ids[0], now: 0).status == .pending)
        let ok = try CLIRunner.run("approvals", "approve", ids[0], "--by", "alice", "--db", db)
        #expect(ok.status == 0, "\(ok.stderr)")
    }

    /// A queue of the previous release (before migration v2-decider): the reading commands show
    /// it as it is, unknown accounts as null, without upgrading it; the first decision upgrades it.
    @Test func previousReleasesQueueIsReadAsItIsAndUpgradedByAWriter() throws {
        let (folder, db, ids) = try ApprovalCommandsTests.queue()
        let approve = try CLIRunner.run("approvals", "approve", ids[0], "--by", "alice", "--db", db)
        #expect(approve.status == 0, "\(approve.stderr)")
        // Back to the v1 schema, with the decision as the old release recorded it.
        try DatabaseQueue(path: db).writeWithoutTransaction { db in
            try db.execute(sql: "ALTER TABLE recommendation DROP COLUMN decided_account")
            try db.execute(sql: "ALTER TABLE recommendation DROP COLUMN decided_channel")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v2-decider'")
            // The previous release had no event journal either.
            try db.execute(sql: "DROP TABLE event")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v3-events'")
            // Nor the index lists are paged by.
            try db.execute(sql: "DROP INDEX recommendation_list_order")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v4-list-order'")
            // Nor the hand-off audit (v6-handoff, issue 16).
            try db.execute(sql: "DROP TABLE handoff")
            try db.execute(sql: "DROP TABLE handoff_attempt")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v6-handoff'")
            // Nor the guards' breakers and held marks (v5-guards).
            try db.execute(sql: "DROP TABLE breaker")
            try db.execute(sql: "ALTER TABLE recommendation DROP COLUMN held_reason")
            try db.execute(sql: "ALTER TABLE recommendation DROP COLUMN held_until")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v5-guards'")
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let before = try #require(FileManager.default.contents(atPath: db))
        let list = try CLIRunner.run("approvals", "list", "--db", db, "--status", "all", "--json")
        #expect(list.status == 0, "\(list.stderr)")
        let items = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(items[0]["decided_by"] as? String == "alice" && items[0]["decided_account"] is NSNull
                && items[0]["decided_channel"] is NSNull)
        let show = try CLIRunner.run("approvals", "show", ids[0], "--db", db)
        #expect(show.status == 0 && show.stdout.contains("approved by alice at "), "\(show.stdout)\(show.stderr)")
        #expect(FileManager.default.contents(atPath: db) == before)
        let reject = try CLIRunner.run("approvals", "reject", ids[1], "--by", "alice", "--db", db)
        #expect(reject.status == 0, "\(reject.stderr)")
        let shown = try CLIRunner.run("approvals", "show", ids[1], "--db", db, "--json")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(record["decided_account"] as? String == ApprovalCommandsTests.account && record["decided_channel"] as? String == "cli")
        _ = folder
    }
}
