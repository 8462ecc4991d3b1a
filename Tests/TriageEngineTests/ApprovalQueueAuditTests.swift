import Foundation
import GRDB
import Testing
@testable import TriageCore
@testable import TriageEngine

/// The audit of a decision (name, account, channel), and queues of the previous release (v1,
/// without those columns): read as they are, upgraded by a writer.
@Suite struct ApprovalQueueAuditTests {
    @Test func decisionsRecordNameAccountAndChannel() throws {
        let w = Workspace(approvers: "alice: root ops\nbob\n")
        let queue = try ApprovalQueue(path: w.database)
        let approvers = try Approvers.load(w.allowlist)
        let a = try queue.raise(proposal("svc-01", at: 100)).recommendation.id
        let b = try queue.raise(proposal("svc-02", at: 100)).recommendation.id
        let c = try queue.raise(proposal("svc-03", at: 100)).recommendation.id
        _ = try queue.approve(a, by: .commandLine(name: "alice", account: "ops"), comment: nil, approvers: approvers,
                              outbox: w.outbox, now: 1_100)
        try queue.reject(b, by: .http(tokenName: "bob"), reason: "no", approvers: approvers, now: 1_100)
        // A forged name is refused before anything is written.
        #expect(throws: EngineError.notAllowedAs(name: "alice", account: "bob", allowed: ["bob"], allowlist: w.allowlist)) {
            try queue.approve(c, by: .commandLine(name: "alice", account: "bob"), comment: nil, approvers: approvers,
                              outbox: w.outbox, now: 1_100)
        }
        #expect(throws: EngineError.notAllowedAs(name: "alice", account: "bob", allowed: ["bob"], allowlist: w.allowlist)) {
            try queue.reject(c, by: .commandLine(name: "alice", account: "bob"), reason: nil, approvers: approvers, now: 1_100)
        }
        let reader = try ApprovalQueue(path: w.database, access: .readOnly)
        let approved = try reader.recommendation(a, now: 1_200)
        #expect(approved.decidedBy == "alice" && approved.decidedAccount == "ops" && approved.decidedChannel == .cli)
        let rejected = try reader.recommendation(b, now: 1_200)
        #expect(rejected.decidedBy == "bob" && rejected.decidedAccount == "bob" && rejected.decidedChannel == .http)
        let untouched = try reader.recommendation(c, now: 1_200)
        #expect(untouched.status == .pending && untouched.decidedBy == nil && untouched.decidedAccount == nil)
        guard case .object(let fields) = approved.json else { Issue.record("not an object"); return }
        #expect(fields["decided_account"] == .string("ops") && fields["decided_channel"] == .string("cli"))
        guard case .object(let pending) = untouched.json else { Issue.record("not an object"); return }
        #expect(pending["decided_account"] == .null && pending["decided_channel"] == .null)
        // The outbox line carries the account beside the name.
        let first = try #require(w.outboxLines().first)
        let line = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        #expect(line["approved_by"] as? String == "alice" && line["approved_account"] as? String == "ops")
        #expect(line["approved_channel"] as? String == "cli")
        #expect(w.outboxLines().count == 1)
        // The report shows both.
        #expect(HTMLReport.decider(approved) == "alice (account ops)" && HTMLReport.decider(rejected) == "bob (token)")
        #expect(HTMLReport.decider(untouched) == "")
    }

    /// A queue as the previous release left it: only migration v1 ran, one decision made.
    static func versionOneQueue(_ w: Workspace) throws -> (pending: String, approved: String) {
        // Rows made by this build in a scratch queue, copied over column by column (v1's columns).
        let scratch = Workspace()
        let source = try ApprovalQueue(path: scratch.database)
        let pending = try source.raise(proposal("svc-01", at: 100)).recommendation.id
        let approved = try source.raise(proposal("svc-02", at: 100)).recommendation.id
        try source.write { db in
            try db.execute(sql: "UPDATE recommendation SET status = 'approved', decided_by = 'alice', decided_at = 1050, outbox_written = 1 WHERE id = ?",
                           arguments: [approved])
        }
        let columns = try #require(try ApprovalQueue.expectedSchema(after: "v1")["recommendation"]).columns.map(\.name)
        let old = try DatabaseQueue(path: w.database)
        try ApprovalQueue.migrator.migrate(old, upTo: "v1")
        try old.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [scratch.database])
            let list = columns.joined(separator: ", ")
            try db.execute(sql: "INSERT INTO recommendation (\(list)) SELECT \(list) FROM source.recommendation")
            try db.execute(sql: "DETACH DATABASE source")
        }
        try old.close()
        return (pending, approved)
    }

    @Test func aVersionOneQueueIsReadWithoutMigratingIt() throws {
        let w = Workspace()
        let (pending, approved) = try Self.versionOneQueue(w)
        let before = try #require(FileManager.default.contents(atPath: w.database))
        let reader = try ApprovalQueue(path: w.database, access: .readOnly)
        let all = try reader.list(now: 1_100)
        #expect(all.map(\.id) == [pending, approved])
        let decided = try reader.recommendation(approved, now: 1_100)
        #expect(decided.decidedBy == "alice" && decided.decidedAccount == nil && decided.decidedChannel == nil)
        guard case .object(let fields) = decided.json else { Issue.record("not an object"); return }
        #expect(fields["decided_account"] == .null && fields["decided_by"] == .string("alice"))
        #expect(FileManager.default.contents(atPath: w.database) == before)
        let applied = try DatabaseQueue(path: w.database).read { db in try ApprovalQueue.migrator.appliedIdentifiers(db) }
        #expect(applied == ["v1"])
    }

    @Test func aVersionOneQueueWithADamagedSchemaIsStillRefusedForReading() throws {
        let w = Workspace()
        _ = try Self.versionOneQueue(w)
        try DatabaseQueue(path: w.database).write { db in try db.execute(sql: "ALTER TABLE recommendation DROP COLUMN decision_note") }
        #expect {
            try ApprovalQueue(path: w.database, access: .readOnly)
        } throws: { error in
            guard case EngineError.schemaMismatch(_, "recommendation", "decision_note", _) = error else { return false }
            return true
        }
    }

    @Test func aWriterMigratesAVersionOneQueueAndKeepsItsDecisions() throws {
        let w = Workspace()
        let (pending, approved) = try Self.versionOneQueue(w)
        let queue = try ApprovalQueue(path: w.database)
        let applied = try queue.read { db in try ApprovalQueue.migrator.appliedMigrations(db) }
        #expect(applied == ApprovalQueue.migrator.migrations)
        #expect(try queue.read { db in try db.columns(in: "recommendation").map(\.name) }.contains("decided_account"))
        let old = try queue.recommendation(approved, now: 1_100)
        #expect(old.decidedBy == "alice" && old.decidedAccount == nil)
        _ = try queue.approve(pending, by: .commandLine(name: "alice", account: "alice"), comment: nil,
                              approvers: try Approvers.load(w.allowlist), outbox: w.outbox, now: 1_100)
        let now = try ApprovalQueue(path: w.database, access: .readOnly).recommendation(pending, now: 1_100)
        #expect(now.decidedAccount == "alice" && now.decidedChannel == .cli)
    }

    /// A v1 queue from before the mark: recognised by v1's tables (not this build's), read as it
    /// is, then marked and upgraded by a writer.
    @Test func anUnmarkedVersionOneQueueIsRecognisedAndUpgraded() throws {
        let w = Workspace()
        let (_, approved) = try Self.versionOneQueue(w)
        try DatabaseQueue(path: w.database).writeWithoutTransaction { db in try db.execute(sql: "PRAGMA application_id = 0") }
        #expect(try ApprovalQueue(path: w.database, access: .readOnly).recommendation(approved, now: 1_100).decidedBy == "alice")
        let queue = try ApprovalQueue(path: w.database)
        #expect(try queue.read { db in try Int32.fetchOne(db, sql: "PRAGMA application_id") } == ApprovalQueue.applicationID)
        #expect(try queue.read { db in try ApprovalQueue.migrator.hasCompletedMigrations(db) })
    }
}
