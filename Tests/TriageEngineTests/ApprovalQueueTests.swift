import Foundation
import GRDB
import Synchronization
import Testing
@testable import TriageCore
@testable import TriageEngine

/// A fresh folder per test, holding the database, the allowlist and the outbox.
struct Workspace {
    let folder: String
    var database: String { folder + "/triage.sqlite" }
    var allowlist: String { folder + "/approvers.txt" }
    var outboxPath: String { folder + "/outbox.jsonl" }
    var outbox: Outbox { Outbox(path: outboxPath) }

    init(approvers: String? = "alice\n# on call\nbob  # backup\n") {
        folder = NSTemporaryDirectory() + "triage-engine-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if let approvers { _ = FileManager.default.createFile(atPath: allowlist, contents: Data(approvers.utf8)) }
    }

    func outboxLines() -> [String] {
        guard let data = FileManager.default.contents(atPath: outboxPath) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

let symptomsA = Symptoms(features: [1.5, 0.2], levels: [1, 1, 0, 0, 1, 0, 0])

func proposal(_ service: String, at created: Int64, raisedAt: Int64 = 1_000, ttl: Int64 = 1_800,
              action: RemediationAction = .restart) -> Recommendation {
    Recommendation(service: service, action: action, confidence: 0.8, created: created, raisedAt: raisedAt,
                   expires: raisedAt + ttl, reasons: ["latency_p99_ms 6.2× its baseline"],
                   parameters: action == .scaleUp ? ["replicas": 4] : [:], symptoms: symptomsA)
}

@Suite struct ApprovalQueueTests {
    @Test func raisedRecommendationsGetIdsAndSurviveReopening() throws {
        let w = Workspace()
        do {
            let queue = try ApprovalQueue(path: w.database)
            let first = try queue.raise(proposal("svc-01", at: 100))
            let second = try queue.raise(proposal("svc-02", at: 160, action: .scaleUp))
            #expect(first.isNew && second.isNew)
            #expect(first.recommendation.id == "rec-000001" && second.recommendation.id == "rec-000002")
            #expect(first.recommendation.status == .pending)
            // The same service and data row again (a replay after a crash) raises nothing new.
            let again = try queue.raise(proposal("svc-01", at: 100, action: .rollback))
            #expect(!again.isNew && again.recommendation.id == "rec-000001" && again.recommendation.action == .restart)
        }
        let reopened = try ApprovalQueue(path: w.database)
        let all = try reopened.list(now: 1_100)
        #expect(all.map(\.id) == ["rec-000001", "rec-000002"])
        #expect(all[1].action == .scaleUp && all[1].parameters == ["replicas": 4] && all[1].symptoms == symptomsA)
        #expect(all[0].reasons == ["latency_p99_ms 6.2× its baseline"])
        #expect(all[0].idempotencyKey.hasPrefix("triage-") && all[0].idempotencyKey != all[1].idempotencyKey)
    }

    /// `Recommendation` writes its columns by hand (for speed) and reads them through `Codable`:
    /// every field survives the round trip, and each JSON column holds what the synthesised
    /// `Encodable` conformance (through GRDB's JSON encoder settings) would have written.
    @Test func handWrittenColumnsEqualTheCodableEncoding() throws {
        var record = Recommendation(service: "svc-\"07\"/α", action: .scaleUp, confidence: 0.625, created: 1_767_225_600,
                                    raisedAt: 2_000, expires: 3_800, reasons: ["p99 ×4.5", "line\nbreak", "tab\t\u{7F}"],
                                    parameters: ["replicas": 6, "a": -1], scores: ["iforest": 0.71, "autoencoder": 1e-7, "big": 3e20],
                                    symptoms: Symptoms(features: [1.5, .nan, .infinity, 0.1, -2], levels: [1, 0, 2, 0, 1, 0, 1]),
                                    tried: ActionSet([.restart, .rollback]))
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        record = try queue.raise(record).recommendation
        _ = try queue.approve(record.id, by: .http(tokenName: "alice"), comment: "ok \"go\"", approvers: try Approvers.load(w.allowlist),
                          outbox: w.outbox, now: 2_100)
        _ = try queue.recordOutcome(record.id, result: .failure, recoverySeconds: 12.5, now: 2_200)
        let stored = try queue.recommendation(record.id, now: 2_300)
        #expect(stored.status == .approved && stored.decidedBy == "alice" && stored.decidedChannel == .http && stored.decidedAt == 2_100)
        #expect(stored.decisionNote == "ok \"go\"" && stored.outcome == .failure && stored.recoverySeconds == 12.5 && stored.outcomeAt == 2_200)
        #expect(stored.reasons == record.reasons && stored.parameters == record.parameters && stored.scores == record.scores)
        #expect(stored.symptoms.levels == record.symptoms.levels && stored.tried == record.tried && stored.action == .scaleUp)
        #expect(stored.symptoms.features[0] == 1.5 && stored.symptoms.features[1].isNaN && stored.symptoms.features[2].isNaN)
        // Column by column against the Codable encoding, as JSON values.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let columns = try queue.read { db in try Row.fetchOne(db, sql: "SELECT * FROM recommendation WHERE id = ?", arguments: [record.id])! }
        func same(_ column: String, _ expected: Data) throws {
            let stored: String = columns[column]
            let a = try JSONSerialization.jsonObject(with: Data(stored.utf8)) as? NSObject
            let b = try JSONSerialization.jsonObject(with: expected) as? NSObject
            #expect(a == b, "\(column): \(stored) vs \(String(decoding: expected, as: UTF8.self))")
        }
        try same("reasons", encoder.encode(stored.reasons))
        try same("parameters", encoder.encode(stored.parameters))
        try same("scores", encoder.encode(stored.scores))
        try same("symptoms", encoder.encode(stored.symptoms))
        #expect(columns["tried"] as Int == Int(record.tried.rawValue) && columns["action"] as String == "scale_up")
        #expect(columns["outbox_written"] as Bool == true && columns["decided_channel"] as String == "http")
        // A score JSON cannot hold is refused, as the Codable encoding refused it.
        var infinite = proposal("svc-02", at: 60)
        infinite.scores = ["iforest": .infinity]
        #expect(throws: EngineError.self) { try queue.raise(infinite) }
    }

    /// Pages of a list, read one after the other, are the list: none missed, none repeated, in
    /// order, whatever the status filter and with ties in `raised_at`.
    @Test func listPagesConcatenateToTheList() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        for k in 0..<23 { try queue.raise(proposal("svc-\(k % 4)", at: Int64(k) * 60, raisedAt: 1_000 + Int64(k % 5), ttl: k % 7 == 0 ? 10 : 1_800)) }
        let approvers = try Approvers.load(w.allowlist)
        for id in ["rec-000003", "rec-000009"] {
            _ = try queue.reject(id, by: .http(tokenName: "alice"), reason: nil, approvers: approvers, now: 1_005)
        }
        for status in [nil, .pending, .rejected, .expired] as [Recommendation.Status?] {
            let whole = try queue.list(status: status, now: 1_500)
            for limit in [1, 4, 23, 50] {
                var pages: [Recommendation] = [], cursor: ApprovalQueue.ListCursor?
                while true {
                    let page = try queue.list(status: status, now: 1_500, after: cursor, limit: limit)
                    pages += page
                    guard page.count == limit, let last = page.last else { break }
                    cursor = ApprovalQueue.ListCursor(after: last)
                }
                #expect(pages.map(\.id) == whole.map(\.id) && pages.map(\.status) == whole.map(\.status), "\(String(describing: status)) by \(limit)")
            }
        }
        #expect(try queue.list(status: nil, now: 1_500).count == 23 && queue.list(status: nil, now: 1_500, after: nil, limit: 0).isEmpty)
        // The pages are read in index order, not sorted anew each time.
        let plan = try queue.read { db in
            let statement = try ApprovalQueue.listRequest(status: nil, now: 0).limit(5).makePreparedRequest(db).statement
            return try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + statement.sql).map { $0["detail"] as String }.joined(separator: "; ")
        }
        #expect(plan.contains("recommendation_list_order") && !plan.contains("TEMP B-TREE"), "\(plan)")
    }

    @Test func approvalWritesOneOutboxLineAndIsIdempotent() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let approvers = try Approvers.load(w.allowlist)
        #expect(approvers.names == ["alice", "bob"])
        let id = try queue.raise(proposal("svc-01", at: 100, action: .scaleUp)).recommendation.id
        let result = try queue.approve(id, by: .http(tokenName: "alice"), comment: "go", approvers: approvers, outbox: w.outbox, now: 1_200)
        guard case .approved(let approved) = result else { Issue.record("not approved: \(result)"); return }
        #expect(approved.status == .approved && approved.decidedBy == "alice" && approved.decidedAt == 1_200)
        #expect(approved.outboxWritten)
        let again = try queue.approve(id, by: .http(tokenName: "bob"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_300)
        guard case .alreadyApproved(let same) = again else { Issue.record("expected already approved"); return }
        #expect(same.decidedBy == "alice")
        let lines = w.outboxLines()
        #expect(lines.count == 1)
        let line = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(line?["id"] as? String == id)
        #expect(line?["action"] as? String == "scale_up")
        #expect(line?["service"] as? String == "svc-01")
        #expect(line?["approved_by"] as? String == "alice")
        #expect(line?["approved_at"] as? String == "1970-01-01T00:20:00Z")
        #expect(line?["replicas"] as? Int == 4)
        #expect(line?["idempotency_key"] as? String == approved.idempotencyKey)
    }

    @Test func rejectedAndExpiredCannotBeApproved() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let approvers = try Approvers.load(w.allowlist)
        let a = try queue.raise(proposal("svc-01", at: 100)).recommendation.id
        let b = try queue.raise(proposal("svc-02", at: 100, raisedAt: 1_000, ttl: 60)).recommendation.id
        let rejected = try queue.reject(a, by: .http(tokenName: "bob"), reason: "maintenance window", approvers: approvers, now: 1_010)
        #expect(rejected.status == .rejected && rejected.decisionNote == "maintenance window")
        #expect(throws: EngineError.notPending(id: a, status: .rejected)) {
            try queue.approve(a, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_020)
        }
        // Past its expiry a pending recommendation reads as expired and cannot be approved.
        #expect(try queue.recommendation(b, now: 1_059).status == .pending)
        #expect(throws: EngineError.notPending(id: b, status: .expired)) {
            try queue.approve(b, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_060)
        }
        #expect(try queue.list(status: .expired, now: 1_060).map(\.id) == [b])
        #expect(w.outboxLines().isEmpty)
        #expect(throws: EngineError.notFound(id: "rec-999999")) {
            try queue.approve("rec-999999", by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_060)
        }
    }

    @Test func approvalsFailClosedWithoutAnAllowlistOrForStrangers() throws {
        let w = Workspace(approvers: nil)
        #expect(throws: EngineError.noAllowlist(path: w.allowlist)) { try Approvers.load(w.allowlist) }
        let message = EngineError.noAllowlist(path: w.allowlist).description
        #expect(message.contains("one approver name per line") && !message.contains("--"))
        let listed = Workspace(approvers: "alice\n")
        let queue = try ApprovalQueue(path: listed.database)
        let id = try queue.raise(proposal("svc-01", at: 100)).recommendation.id
        let approvers = try Approvers.load(listed.allowlist)
        #expect(throws: EngineError.notAnApprover(name: "mallory", allowlist: listed.allowlist)) {
            try queue.approve(id, by: .http(tokenName: "mallory"), comment: nil, approvers: approvers, outbox: listed.outbox, now: 1_100)
        }
        #expect(try queue.recommendation(id, now: 1_100).status == .pending)
    }

    /// The crash window between the approval commit and the outbox write: the line is sent on
    /// the next flush, once, and not again when the crash fell after the write.
    @Test func outboxRecoveryAfterACrashSendsEachApprovalOnce() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let a = try queue.raise(proposal("svc-01", at: 100)).recommendation
        let b = try queue.raise(proposal("svc-02", at: 100)).recommendation
        // Simulate: both approvals committed, the process died before any outbox write; for b
        // the line made it to disk but the mark did not.
        try queue.write { db in
            try db.execute(sql: "UPDATE recommendation SET status = 'approved', decided_by = 'alice', decided_at = 1100, outbox_written = 0")
        }
        var sentB = try queue.recommendation(b.id, now: 1_100)
        sentB.decidedBy = "alice"
        try w.outbox.append(Outbox.line(for: sentB))
        let reopened = try ApprovalQueue(path: w.database)
        #expect(try reopened.flushOutbox(w.outbox) == 1)
        #expect(try reopened.flushOutbox(w.outbox) == 0)
        let ids = w.outboxLines().compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
        }
        #expect(ids.sorted() == [a.id, b.id])
        #expect(try reopened.list(status: .approved, now: 1_200).allSatisfy(\.outboxWritten))
    }

    /// Several deciders at once (threads here; processes share the same lock file and database):
    /// every approval reaches the outbox exactly once.
    @Test func concurrentApprovalsSendEachLineOnce() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let approvers = try Approvers.load(w.allowlist)
        let ids = try (0..<6).map { try queue.raise(proposal("svc-\($0)", at: 100)).recommendation.id }
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 24) { k in
            do {
                // Separate handles, as separate processes would have.
                let mine = try ApprovalQueue(path: w.database)
                _ = try mine.approve(ids[k % ids.count], by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_100)
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        let sent = w.outboxLines().compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
        }
        #expect(sent.sorted() == ids.sorted())
    }

    @Test func outcomesAreRecordedOnceAndTeachTheInstalledPolicy() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let approvers = try Approvers.load(w.allowlist)
        var episodes = [RemediationPolicy.Episode]()
        for k in 0..<7 {
            episodes.append(.init(symptoms: symptomsA, attempts: [(.restart, 100, k != 0), (.alert, 2000, true)].prefix(k == 0 ? 2 : 1).map { $0 }))
        }
        let policy = try RemediationPolicy.train(episodes)
        try queue.installPolicy(policy, source: "bundle-sha", now: 1_000)
        #expect(try queue.policy()?.policy == policy)
        var ids = [String]()
        for k in 0..<30 {
            let id = try queue.raise(proposal("svc-01", at: Int64(100 + k), action: .failover)).recommendation.id
            _ = try queue.approve(id, by: .http(tokenName: "alice"), comment: nil, approvers: approvers, outbox: w.outbox, now: 1_100)
            let recorded = try queue.recordOutcome(id, result: .success, recoverySeconds: 20, now: 1_200)
            #expect(recorded.learned && recorded.recommendation.outcome == .success)
            ids.append(id)
        }
        let learned = try #require(try queue.policy())
        #expect(learned.outcomesLearned == 30)
        #expect(learned.policy.recommend(symptomsA) == .failover)
        // Installing the same bundle again keeps what was learned; a different bundle replaces it.
        try queue.installPolicy(policy, source: "bundle-sha", now: 1_300)
        #expect(try queue.policy()?.outcomesLearned == 30)
        try queue.installPolicy(policy, source: "other-bundle", now: 1_300)
        #expect(try queue.policy()?.outcomesLearned == 0)
        #expect(throws: EngineError.outcomeAlreadyRecorded(id: ids[0], result: .success)) {
            try queue.recordOutcome(ids[0], result: .failure, recoverySeconds: nil, now: 1_400)
        }
        let pending = try queue.raise(proposal("svc-03", at: 100)).recommendation.id
        #expect(throws: EngineError.outcomeNotAllowed(id: pending, status: .pending)) {
            try queue.recordOutcome(pending, result: .success, recoverySeconds: 1, now: 1_400)
        }
        #expect(throws: EngineError.self) { try queue.recordOutcome(ids[1], result: .success, recoverySeconds: -5, now: 1_400) }
    }

    @Test func readPositionsRoundTrip() throws {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        #expect(try queue.readPosition(source: "/m.csv") == nil)
        let position = ApprovalQueue.ReadPosition(device: 2049, inode: UInt64.max - 3, offset: 123_456, line: 789,
                                                  engineState: Data("{}".utf8))
        try queue.saveReadPosition(position, source: "/m.csv", now: 5)
        #expect(try ApprovalQueue(path: w.database).readPosition(source: "/m.csv") == position)
    }

    @Test func badDatabasesAreClearErrors() throws {
        let w = Workspace()
        #expect(throws: EngineError.self) { try ApprovalQueue(path: w.folder + "/missing/dir/triage.sqlite") }
        _ = FileManager.default.createFile(atPath: w.database, contents: Data("not a database at all, just text\n".utf8))
        do {
            _ = try ApprovalQueue(path: w.database)
            Issue.record("opened a text file as a database")
        } catch {
            #expect(error.description.hasPrefix(w.database))
        }
        // A database from a newer Triage (a migration this build does not know) is refused.
        let newer = Workspace()
        _ = try ApprovalQueue(path: newer.database)
        let queue = try ApprovalQueue(path: newer.database)
        try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        #expect(throws: EngineError.newerDatabase(path: newer.database, migration: "v99")) {
            try ApprovalQueue(path: newer.database)
        }
    }
}
