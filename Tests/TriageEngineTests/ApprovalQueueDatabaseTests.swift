import Foundation
import GRDB
import Synchronization
import Testing
@testable import TriageCore
@testable import TriageEngine

/// Which files the queue opens, and how: only databases Triage created are created into or
/// migrated, read-only access writes nothing, a damaged schema is named, and the learned policy
/// only takes bounded inputs.
@Suite struct ApprovalQueueDatabaseTests {
    /// Another application's SQLite file, with a table of its own.
    static func foreignDatabase(at path: String, applicationID: Int32 = 0, userVersion: Int32 = 0,
                                table: Bool = true) throws {
        let other = try DatabaseQueue(path: path)
        try other.writeWithoutTransaction { db in
            if table {
                try db.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
                try db.execute(sql: "INSERT INTO notes (body) VALUES ('keep me')")
            }
            if applicationID != 0 { try db.execute(sql: "PRAGMA application_id = \(applicationID)") }
            if userVersion != 0 { try db.execute(sql: "PRAGMA user_version = \(userVersion)") }
        }
        try other.close()
    }

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    @Test func anotherApplicationsDatabaseIsRefusedAndLeftUntouched() throws {
        let w = Workspace()
        for (name, applicationID, userVersion, table) in [("tables.sqlite", Int32(0), Int32(0), true),
                                                          ("app-id.sqlite", 0x4150_5031, 0, false),
                                                          ("user-version.sqlite", 0, 7, false)] {
            let path = w.folder + "/" + name
            try Self.foreignDatabase(at: path, applicationID: applicationID, userVersion: userVersion, table: table)
            let before = try #require(Self.bytes(path))
            for access in [ApprovalQueue.Access.readWrite, .readOnly] {
                do {
                    _ = try ApprovalQueue(path: path, access: access)
                    Issue.record("\(name) opened as a Triage queue (\(access))")
                } catch {
                    guard case .notTriageDatabase(let named, _) = error else {
                        Issue.record("\(name): expected notTriageDatabase, got \(error)")
                        continue
                    }
                    #expect(named == path)
                    #expect(error.description.hasPrefix(path) && error.description.contains("not a Triage approval queue"))
                }
            }
            #expect(Self.bytes(path) == before, "\(name) was changed")
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        }
    }

    @Test func newAndEmptyFilesBecomeQueuesMarkedAsTriages() throws {
        let w = Workspace()
        let empty = w.folder + "/empty.sqlite"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        for path in [w.database, empty] {
            let queue = try ApprovalQueue(path: path)
            _ = try queue.raise(proposal("svc-01", at: 100))
            let id = try queue.read { db in try Int32.fetchOne(db, sql: "PRAGMA application_id") }
            #expect(id == ApprovalQueue.applicationID)
            // Opening again (as a second process would) neither fails nor creates anything twice.
            #expect(try ApprovalQueue(path: path).list(now: 200).count == 1)
        }
    }

    /// A queue made before the marker existed: recognised by its exact tables, then marked.
    @Test func queuesFromBeforeTheMarkerAreRecognisedAndMarked() throws {
        let w = Workspace()
        do {
            let queue = try ApprovalQueue(path: w.database)
            _ = try queue.raise(proposal("svc-01", at: 100))
            try queue.write { db in try db.execute(sql: "PRAGMA application_id = 0") }
        }
        // Read-only access accepts it as it is, without marking it.
        #expect(try ApprovalQueue(path: w.database, access: .readOnly).list(now: 200).count == 1)
        let unmarked = try DatabaseQueue(path: w.database).read { db in try Int32.fetchOne(db, sql: "PRAGMA application_id") }
        #expect(unmarked == 0)
        let reopened = try ApprovalQueue(path: w.database)
        #expect(try reopened.list(now: 200).map(\.service) == ["svc-01"])
        #expect(try reopened.read { db in try Int32.fetchOne(db, sql: "PRAGMA application_id") } == ApprovalQueue.applicationID)
        // The same tables plus one of someone else's is not a Triage queue.
        let mixed = Workspace()
        do {
            let queue = try ApprovalQueue(path: mixed.database)
            try queue.write { db in
                try db.execute(sql: "PRAGMA application_id = 0")
                try db.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY)")
            }
        }
        #expect {
            try ApprovalQueue(path: mixed.database)
        } throws: { error in
            guard case EngineError.notTriageDatabase(let path, let reason) = error else { return false }
            return path == mixed.database && reason.contains("notes")
        }
    }

    @Test func readOnlyAccessCreatesMigratesAndWritesNothing() throws {
        let w = Workspace()
        // No file: an error, and still no file.
        #expect(throws: EngineError.self) { try ApprovalQueue(path: w.database, access: .readOnly) }
        #expect(!FileManager.default.fileExists(atPath: w.database))
        // An empty file is not a queue yet and stays empty.
        let empty = w.folder + "/empty.sqlite"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        #expect {
            try ApprovalQueue(path: empty, access: .readOnly)
        } throws: { error in
            guard case EngineError.notTriageDatabase(let path, _) = error else { return false }
            return path == empty
        }
        #expect(Self.bytes(empty)?.isEmpty == true)

        let writer = try ApprovalQueue(path: w.database)
        let id = try writer.raise(proposal("svc-01", at: 100, raisedAt: 1_000, ttl: 60)).recommendation.id
        _ = try writer.raise(proposal("svc-02", at: 100, raisedAt: 1_000, ttl: 6_000))
        let reader = try ApprovalQueue(path: w.database, access: .readOnly)
        // Past its expiry, the first reads as expired without the reader writing that down.
        #expect(try reader.recommendation(id, now: 1_100).status == .expired)
        #expect(try reader.list(status: .expired, now: 1_100).map(\.id) == [id])
        #expect(try reader.list(status: .pending, now: 1_100).map(\.service) == ["svc-02"])
        #expect(try writer.read { db in try String.fetchOne(db, sql: "SELECT status FROM recommendation WHERE id = ?", arguments: [id]) } == "pending")
        // Every write through a read-only handle is refused by name.
        #expect(throws: EngineError.readOnlyDatabase(path: w.database)) { try reader.expireOverdue(now: 1_100) }
        #expect(throws: EngineError.readOnlyDatabase(path: w.database)) { try reader.raise(proposal("svc-03", at: 100)) }
        let approvers = try Approvers.load(w.allowlist)
        #expect(throws: EngineError.readOnlyDatabase(path: w.database)) {
            try reader.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_010)
        }
        #expect(w.outboxLines().isEmpty)
    }

    /// A queue whose file is write-protected opens for reading; a writer gets a named error.
    /// As root, file modes do not stop SQLite, so the file is made read-only for SQLite itself
    /// (`PRAGMA query_only` would not survive reopening): the handle opened for reading is checked.
    @Test func writeProtectedQueueReadsButRefusesWritesByName() throws {
        let w = Workspace()
        let writer = try ApprovalQueue(path: w.database)
        _ = try writer.raise(proposal("svc-01", at: 100))
        chmod(w.database, 0o444)
        defer { chmod(w.database, 0o644) }
        let reader = try ApprovalQueue(path: w.database, access: .readOnly)
        #expect(try reader.list(now: 200).count == 1)
        if getuid() != 0 {
            #expect {
                try ApprovalQueue(path: w.database).raise(proposal("svc-02", at: 100))
            } throws: { error in
                (error as? EngineError) == .readOnlyDatabase(path: w.database)
            }
        }
    }

    /// A column or table missing from the queue is named; nothing is read past it.
    @Test func damagedSchemaIsNamedNotSilentlyRead() throws {
        let cases: [(sql: String, table: String, column: String?)] = [
            ("ALTER TABLE recommendation DROP COLUMN decision_note", "recommendation", "decision_note"),
            ("ALTER TABLE recommendation ADD COLUMN extra TEXT", "recommendation", "extra"),
            ("DROP TABLE read_position", "read_position", nil),
            ("ALTER TABLE policy RENAME COLUMN outcomes_learned TO learned", "policy", "outcomes_learned"),
        ]
        for damage in cases {
            let w = Workspace()
            do {
                let queue = try ApprovalQueue(path: w.database)
                let id = try queue.raise(proposal("svc-01", at: 100)).recommendation.id
                _ = try queue.reject(id, by: .http(tokenName: "alice"), reason: "kept", approvers: try Approvers.load(w.allowlist), now: 1_010)
                try queue.write { db in try db.execute(sql: damage.sql) }
            }
            for access in [ApprovalQueue.Access.readWrite, .readOnly] {
                do {
                    _ = try ApprovalQueue(path: w.database, access: access).list(status: nil, now: 1_100)
                    Issue.record("\(damage.sql): opened (\(access))")
                } catch {
                    guard case .schemaMismatch(let path, let table, let column, _) = error else {
                        Issue.record("\(damage.sql): expected schemaMismatch, got \(error)")
                        continue
                    }
                    #expect(path == w.database && table == damage.table && column == damage.column)
                    #expect(error.description.contains(damage.table))
                    if let column = damage.column { #expect(error.description.contains(column)) }
                }
            }
        }
    }

    @Test func newerSchemaIsRefusedForReadingToo() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        for access in [ApprovalQueue.Access.readWrite, .readOnly] {
            #expect(throws: EngineError.newerDatabase(path: w.database, migration: "v99")) {
                try ApprovalQueue(path: w.database, access: access)
            }
        }
    }

    /// Reading never migrates: a queue short of this build's migrations is named as needing an
    /// upgrade (here by forgetting v1; a future v2 would be the real case).
    @Test func readingNeverMigratesAnOlderQueue() throws {
        let w = Workspace()
        try ApprovalQueue(path: w.database).write { db in try db.execute(sql: "DELETE FROM grdb_migrations") }
        #expect {
            try ApprovalQueue(path: w.database, access: .readOnly)
        } throws: { error in
            guard case EngineError.database(let path, let reason) = error else { return false }
            return path == w.database && reason.contains("older Triage")
        }
        #expect(try DatabaseQueue(path: w.database).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM grdb_migrations") } == 0)
    }

    /// `raise` finds a row's recommendation through the unique (service, created) index: a scan
    /// would slow every raise down as the queue grows.
    @Test func raiseLooksRowsUpThroughAnIndex() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let plan = try queue.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + ApprovalQueue.raisedForRowSQL, arguments: ["svc-01", 0])
                .map { $0["detail"] as String }.joined(separator: "; ")
        }
        #expect(plan.hasPrefix("SEARCH recommendation USING") && plan.contains("INDEX") && plan.contains("service=? AND created=?"),
                "\(plan)")
        #expect(ApprovalQueue.recommendationID(7) == "rec-000007" && ApprovalQueue.recommendationID(1_234_567) == "rec-1234567")
    }

    /// `triage outcome --recovery-seconds 1e308` drove the stored Q-values to −2.5e307.
    @Test func recoverySecondsAreBoundedBeforeTheyReachThePolicy() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let approvers = try Approvers.load(w.allowlist)
        let policy = try RemediationPolicy.train([.init(symptoms: symptomsA, attempts: [(.restart, 100, true)])])
        try queue.installPolicy(policy, source: "bundle-sha", now: 1_000)
        let limit = RemediationPolicy.maximumRecoverySeconds
        #expect(limit == 604_800)
        var ids = [String]()
        for k in 0..<3 {
            let id = try queue.raise(proposal("svc-01", at: Int64(100 + k), action: .failover)).recommendation.id
            _ = try queue.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_100)
            ids.append(id)
        }
        for bad in [1e308, .infinity, -.infinity, .nan, -1, limit + 1, -0.5] {
            #expect {
                try queue.recordOutcome(ids[0], result: .failure, recoverySeconds: bad, now: 1_200)
            } throws: { error in
                guard case EngineError.outOfRange(let field, _, let expected) = error else { return false }
                return field == "recovery seconds" && expected.contains("604800") && !"\(error)".contains("--")
            }
        }
        #expect(try queue.recommendation(ids[0], now: 1_200).outcome == nil)
        #expect(try queue.policy()?.policy == policy && queue.policy()?.outcomesLearned == 0)
        // Without a measured time the decision-to-outcome delay is used, under the same bound.
        #expect {
            try queue.recordOutcome(ids[1], result: .failure, recoverySeconds: nil, now: 1_100 + Int64(limit) + 1)
        } throws: { error in
            guard case EngineError.outOfRange(let field, _, _) = error else { return false }
            return field == "recovery seconds"
        }
        #expect(try queue.recordOutcome(ids[0], result: .failure, recoverySeconds: limit, now: 1_200).learned)
        #expect(try queue.recordOutcome(ids[1], result: .success, recoverySeconds: 0, now: 1_200).learned)
        let learned = try #require(try queue.policy()).policy
        let smallest = learned.learner.values.joined().min() ?? 0
        #expect(smallest.isFinite && smallest > -10 * limit)
        #expect(learned.learner.values.joined().allSatisfy { $0.isFinite })
    }

    /// A stored policy is data from a file: non-finite values or a wrong shape are refused, not
    /// learned from (a wrong cost count used to index out of range).
    @Test func storedPolicyWithBadNumbersIsRefused() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let approvers = try Approvers.load(w.allowlist)
        let policy = try RemediationPolicy.train([.init(symptoms: symptomsA, attempts: [(.restart, 100, true)])])
        try queue.installPolicy(policy, source: "bundle-sha", now: 1_000)
        let id = try queue.raise(proposal("svc-01", at: 100)).recommendation.id
        _ = try queue.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_100)
        let good = try ApprovalQueue.encode(policy)
        /// The stored JSON with one edit; 12345.678 marks a number to be replaced by text JSON
        /// can hold but a Double cannot (1e400).
        func damaged(_ edit: (inout [String: Any], inout [String: Any]) -> Void, replacing: String? = nil) throws -> Data {
            var root = try #require(try JSONSerialization.jsonObject(with: good) as? [String: Any])
            var learner = try #require(root["learner"] as? [String: Any])
            edit(&root, &learner)
            root["learner"] = learner
            let text = String(decoding: try JSONSerialization.data(withJSONObject: root), as: UTF8.self)
            return Data((replacing.map { text.replacingOccurrences(of: "12345.678", with: $0) } ?? text).utf8)
        }
        func row(_ key: String, _ learner: [String: Any]) -> [[Any]] { learner[key] as? [[Any]] ?? [] }
        let cases: [(String, Data)] = [
            ("one cost", try damaged { root, _ in root["costs"] = [1] }),
            ("infinite cost", try damaged({ root, _ in root["costs"] = [12345.678, 1, 1, 1, 1, 1] }, replacing: "1e400")),
            ("negative cost", try damaged { root, _ in root["costs"] = [-1, 1, 1, 1, 1, 1] }),
            ("negative prior weight", try damaged { _, learner in
                var parameters = learner["parameters"] as? [String: Any] ?? [:]
                parameters["priorWeight"] = -3
                learner["parameters"] = parameters
            }),
            ("infinite Q-value", try damaged({ _, learner in
                var values = row("values", learner)
                values[0][0] = 12345.678
                learner["values"] = values
            }, replacing: "-1e400")),
            ("huge Q-value", try damaged { _, learner in
                var values = row("values", learner)
                values[0][0] = -1e300
                learner["values"] = values
            }),
            ("negative visits", try damaged { _, learner in
                var visits = row("visits", learner)
                visits[0][0] = -5
                learner["visits"] = visits
            }),
            ("more endings than visits", try damaged { _, learner in
                var endings = row("endings", learner)
                endings[0][0] = 1_000_000
                learner["endings"] = endings
            }),
        ]
        for (name, data) in cases {
            try queue.write { db in try db.execute(sql: "UPDATE policy SET data = ?", arguments: [data]) }
            #expect(throws: EngineError.self, "\(name)") { try queue.policy() }
            #expect(throws: EngineError.self, "\(name)") {
                try queue.recordOutcome(id, result: .success, recoverySeconds: 10, now: 1_200)
            }
        }
        #expect(try queue.recommendation(id, now: 1_200).outcome == nil)
    }

    /// Processes starting at once on a new file (watch and a person at a terminal): the queue is
    /// created once and every opener gets it.
    @Test func concurrentOpeningOfANewFileCreatesOneQueue() throws {
        let w = Workspace()
        let instances = Mutex([String]())
        let failures = Mutex([String]())
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                let queue = try ApprovalQueue(path: w.database)
                instances.withLock { $0.append(queue.instance) }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let seen = instances.withLock { $0 }
        #expect(seen.count == 8 && Set(seen).count == 1 && seen[0].count == 8)
    }

    /// What a second opener can meet while the first is still migrating a new file: the mark,
    /// and only GRDB's migrations table. It is Triage's queue being built, so it opens (and
    /// completes the migrations); the same tables without the mark stay refused. Before the fix
    /// the mark came after the migrations and the concurrent test above failed under ASan.
    @Test func aMarkedFileWithOnlyTheMigrationsTableIsAQueueBeingBuilt() throws {
        let w = Workspace()
        let partial = try DatabaseQueue(path: w.database)
        try partial.write { db in
            try db.execute(sql: "PRAGMA application_id = \(ApprovalQueue.applicationID)")
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
        }
        try partial.close()
        let queue = try ApprovalQueue(path: w.database)
        #expect(try queue.list(status: nil, now: 0).isEmpty)

        let unmarked = Workspace()
        let stranger = try DatabaseQueue(path: unmarked.database)
        try stranger.write { db in try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)") }
        try stranger.close()
        #expect(throws: EngineError.self) { try ApprovalQueue(path: unmarked.database) }
    }

    @Test func outboxMustBeAFileOfItsOwn() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let approvers = try Approvers.load(w.allowlist)
        let id = try queue.raise(proposal("svc-01", at: 100)).recommendation.id
        for target in [w.database, w.database + "-wal", w.allowlist] {
            #expect {
                try queue.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: Outbox(path: target), now: 1_100)
            } throws: { error in
                guard case EngineError.outbox(let path, _) = error else { return false }
                return path == target
            }
            #expect(throws: EngineError.self) { try queue.flushOutbox(Outbox(path: w.database)) }
        }
        #expect(try queue.recommendation(id, now: 1_100).status == .pending)
        #expect(try Approvers.load(w.allowlist).names == ["alice", "bob"])
    }

    /// The allowlist is read whole: a FIFO would block for ever, `/dev/zero` never end.
    @Test func allowlistMustBeASmallRegularFile() throws {
        let w = Workspace()
        let fifo = w.folder + "/fifo.txt"
        #expect(mkfifo(fifo, 0o600) == 0)
        let big = w.folder + "/big.txt"
        _ = FileManager.default.createFile(atPath: big, contents: Data(repeating: UInt8(ascii: "a"), count: Approvers.maximumBytes + 1))
        for path in [fifo, "/dev/zero", big, w.folder] {
            #expect {
                try Approvers.load(path)
            } throws: { error in
                guard case EngineError.invalid(let message) = error else { return false }
                return message.hasPrefix(path + ": ")
            }
        }
        #expect(throws: EngineError.noAllowlist(path: w.folder + "/none.txt")) { try Approvers.load(w.folder + "/none.txt") }
        #expect(try Approvers.load(w.allowlist).names == ["alice", "bob"])
    }

    /// Recovery's search of the outbox reads it in 1 MiB chunks: a key cut by a chunk boundary is
    /// still found.
    @Test func outboxSearchFindsKeysAcrossChunkBoundaries() throws {
        let w = Workspace()
        let line = "{\"id\":\"rec-000001\",\"idempotency_key\":\"triage-abc-rec-000001\"}\n"
        for offset in [1, 10, 30, line.utf8.count - 1] {
            var bytes = Data(repeating: UInt8(ascii: "x"), count: (1 << 20) - offset)
            bytes.append(Data(line.utf8))
            _ = FileManager.default.createFile(atPath: w.outboxPath, contents: bytes)
            #expect(w.outbox.contains(idempotencyKey: "triage-abc-rec-000001"), "offset \(offset)")
            #expect(!w.outbox.contains(idempotencyKey: "triage-abc-rec-000002"))
        }
        #expect(!Outbox(path: "/dev/null").contains(idempotencyKey: "triage-abc-rec-000001"))
    }

    /// Values of the wrong type in a damaged file (SQLite's columns take any type) are errors:
    /// GRDB's `row[…]` trapped on them (`outcome` died of SIGILL on a policy stored as `1`).
    @Test func wrongTypedValuesAreErrorsNotTraps() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let approvers = try Approvers.load(w.allowlist)
        try queue.installPolicy(try RemediationPolicy.train([.init(symptoms: symptomsA, attempts: [(.restart, 100, true)])]),
                                source: "bundle-sha", now: 1_000)
        let id = try queue.raise(proposal("svc-01", at: 100)).recommendation.id
        _ = try queue.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_100)
        try queue.saveReadPosition(.init(device: 1, inode: 2, offset: 3, line: 4), source: "/m.csv", now: 5)
        try queue.write { db in
            try db.execute(sql: "UPDATE policy SET data = 1, outcomes_learned = 'many'")
            try db.execute(sql: "UPDATE read_position SET device = 'abc'")
        }
        #expect(throws: EngineError.self) { try queue.policy() }
        #expect(throws: EngineError.self) { try queue.recordOutcome(id, result: .success, recoverySeconds: 5, now: 1_200) }
        #expect(throws: EngineError.self) { try queue.readPosition(source: "/m.csv") }
        // A decision time at Int64.min: the default delay overflows, reported, not trapped.
        try queue.write { db in try db.execute(sql: "UPDATE recommendation SET decided_at = -9223372036854775808") }
        #expect {
            try queue.recordOutcome(id, result: .success, recoverySeconds: nil, now: 1_200)
        } throws: { error in
            guard case EngineError.outOfRange(let field, _, _) = error else { return false }
            return field == "recovery seconds"
        }
    }

    /// SQLite would block for ever on a FIFO and write a device away: only regular files.
    @Test func onlyRegularFilesAreQueues() throws {
        let w = Workspace()
        let fifo = w.folder + "/fifo.sqlite"
        #expect(mkfifo(fifo, 0o600) == 0)
        for path in [fifo, "/dev/null", w.folder] {
            for access in [ApprovalQueue.Access.readWrite, .readOnly] {
                #expect {
                    try ApprovalQueue(path: path, access: access)
                } throws: { error in
                    guard case EngineError.notTriageDatabase(let named, let reason) = error else { return false }
                    return named == path && reason.contains("regular file")
                }
            }
        }
    }
}
