import Foundation
import GRDB
import TriageCore

/// The durable queue of recommendations and their decisions, in one SQLite file (WAL mode), so
/// `watch`, `approvals`, `outcome` and `serve` can share it from separate processes.
///
/// Every state change is one transaction, so a crash leaves each recommendation either before or
/// after a decision, never between. The only step outside a transaction is the outbox append
/// after an approval commits; `flushOutbox` finishes it after a crash (see `Outbox`).
public final class ApprovalQueue: Sendable {
    public let path: String
    public let access: Access
    /// A pool when writing (`watch` reads while deciding), a single read-only connection when not.
    let database: any DatabaseWriter
    /// Random per database, so idempotency keys of two databases never collide.
    public let instance: String

    /// Opens the queue at `path`. For writing (the default) it is created if the file is new and
    /// brought up to date if it is a Triage queue; for reading nothing is created, migrated or
    /// written. Either way another application's database, a damaged schema and a newer Triage's
    /// queue are refused (see `ApprovalQueue+Database.swift`).
    public init(path: String, access: Access = .readWrite) throws(EngineError) {
        self.path = path
        self.access = access
        var configuration = Configuration()
        // `approve` from a terminal while `watch` writes: wait for the lock, don't fail.
        configuration.busyMode = .timeout(10)
        do {
            switch access {
            case .readWrite: database = try ApprovalQueue.openForWriting(path, configuration: configuration)
            case .readOnly: database = try ApprovalQueue.openForReading(path, configuration: configuration)
            }
            instance = try database.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'instance'") ?? ""
            }
        } catch {
            throw ApprovalQueue.openError(error, path: path, access: access)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // The mark that tells this file is a Triage queue, set with its first tables.
            try db.execute(sql: "PRAGMA application_id = \(applicationID)")
            try db.create(table: "meta") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            let instance = UUID().uuidString.lowercased().prefix(8)
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('instance', ?)", arguments: [String(instance)])
            try db.create(table: "recommendation") { t in
                t.primaryKey("id", .text)
                t.column("service", .text).notNull()
                t.column("action", .text).notNull()
                t.column("confidence", .double).notNull()
                t.column("created", .integer).notNull()
                t.column("raised_at", .integer).notNull()
                t.column("expires", .integer).notNull()
                t.column("status", .text).notNull().indexed()
                t.column("reasons", .text).notNull()
                t.column("parameters", .text).notNull()
                t.column("scores", .text).notNull()
                t.column("symptoms", .text).notNull()
                t.column("tried", .integer).notNull()
                t.column("decided_by", .text)
                t.column("decided_at", .integer)
                t.column("decision_note", .text)
                t.column("idempotency_key", .text).notNull().unique()
                t.column("outbox_written", .boolean).notNull()
                t.column("outcome", .text)
                t.column("recovery_seconds", .double)
                t.column("outcome_at", .integer)
                // One recommendation per service and data row: replaying after a crash raises
                // nothing twice.
                t.uniqueKey(["service", "created"])
            }
            try db.create(table: "policy") { t in
                t.primaryKey("id", .integer).check { $0 == 1 }
                t.column("source", .text).notNull()
                t.column("data", .blob).notNull()
                t.column("updated_at", .integer).notNull()
                t.column("outcomes_learned", .integer).notNull()
            }
            try db.create(table: "read_position") { t in
                t.primaryKey("source", .text)
                t.column("device", .integer).notNull()
                t.column("inode", .integer).notNull()
                t.column("offset", .integer).notNull()
                t.column("line", .integer).notNull()
                t.column("updated_at", .integer).notNull()
                // The engine's per-service state at that position (health, recent rows), so a
                // restart resumes an open incident instead of declaring it again.
                t.column("engine_state", .blob)
            }
        }
        migrator.registerMigration("v2-decider") { db in
            // The audit of who decided beside the name: the OS account that ran the command (or
            // the token's name over HTTP) and the front door ('cli' or 'http'). Nullable: decisions
            // made before this migration are unknown, and a v1 queue read without migrating
            // shows them as null (see `migrationsReadersMaySkip`).
            try db.alter(table: "recommendation") { t in
                t.add(column: "decided_account", .text)
                t.add(column: "decided_channel", .text)
            }
        }
        registerEventJournal(&migrator)
        migrator.registerMigration("v4-list-order") { db in
            // Lists come in (raised_at, id) order, a page at a time (`list(status:now:after:limit:)`):
            // without the index every page sorted the whole table.
            try db.create(index: "recommendation_list_order", on: "recommendation", columns: ["raised_at", "id"])
        }
        registerGuards(&migrator)
        registerHandoff(&migrator)
        return migrator
    }

    /// Migrations a read-only opener may find missing and still read the queue: each only adds
    /// nullable columns that `Recommendation` decodes as nil when absent, a table a reader does
    /// not read, or an index. A reader never migrates,
    /// so without this `approvals list` could not read a queue of the previous release.
    static let migrationsReadersMaySkip: Set<String> = ["v2-decider", "v3-events", "v4-list-order", "v5-guards", "v6-handoff"]

    // MARK: Raising

    /// Adds `recommendation` as pending with the next id (`rec-000001`, …). If this service
    /// already has a recommendation for the same data row, returns that one unchanged instead.
    @discardableResult
    public func raise(_ recommendation: Recommendation) throws(EngineError) -> (recommendation: Recommendation, isNew: Bool) {
        guard recommendation.confidence.isFinite, (0...1).contains(recommendation.confidence) else {
            throw .invalid("confidence must lie in 0...1, got \(recommendation.confidence)")
        }
        guard recommendation.expires >= recommendation.raisedAt else {
            throw .invalid("a recommendation cannot expire before it is raised")
        }
        return try write { db in
            // A prepared statement over the unique (service, created) index: building the query
            // through the query interface on every raise cost more than the lookup.
            if let id = try String.fetchOne(try db.cachedStatement(sql: Self.raisedForRowSQL),
                                            arguments: [recommendation.service, recommendation.created]),
               let existing = try Recommendation.fetchOne(db, key: id) {
                return (existing, false)
            }
            // Rows are never deleted, so the largest rowid is the count: read from the end of the
            // b-tree, where COUNT(*) scanned the whole table on every raise (slower as the queue grew).
            let next = try Int.fetchOne(try db.cachedStatement(sql: "SELECT COALESCE(MAX(rowid), 0) FROM recommendation")) ?? 0
            var record = recommendation.raised(id: Self.recommendationID(next + 1), instance: instance)
            try Self.applyGuards(to: &record, in: db)
            try record.insert(db)
            try Self.journal(db, "recommendation", record, now: record.raisedAt)
            return (record, true)
        }
    }

    /// The recommendation raised for a service's data row, if any (`raise` asks this each time).
    static let raisedForRowSQL = "SELECT id FROM recommendation WHERE service = ? AND created = ? LIMIT 1"

    /// `rec-000001`, …: six digits at least, more once the queue passes a million.
    static func recommendationID(_ number: Int) -> String {
        let digits = String(number)
        return "rec-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    // MARK: Reading

    /// Recommendations with `status` (all when nil), oldest first. Pending ones past their expiry
    /// are expired: marked so first when writing, shown so when reading only.
    public func list(status: Recommendation.Status? = nil, now: Int64) throws(EngineError) -> [Recommendation] {
        if access == .readWrite { try expireOverdue(now: now) }
        return try read { db in
            try Self.listRequest(status: status, now: now).fetchAll(db).map { ApprovalQueue.asOf($0, now: now) }
        }
    }

    /// Where a page of a list ends: the next page starts after this record.
    public struct ListCursor: Sendable, Equatable {
        public var raisedAt: Int64
        public var id: String

        public init(after record: Recommendation) {
            raisedAt = record.raisedAt
            id = record.id
        }
    }

    /// One page of `list(status:now:)`: at most `limit` records after `cursor`, in the same
    /// order, so a long list is read a page at a time instead of all at once. Records are never
    /// deleted and their place in the order never changes, so paging misses none and repeats
    /// none; each page shows statuses as of its own read. Expires nothing: call
    /// `expireOverdue(now:)` first when writing (pending ones past their expiry are shown as
    /// expired either way).
    public func list(status: Recommendation.Status?, now: Int64, after cursor: ListCursor?, limit: Int) throws(EngineError) -> [Recommendation] {
        guard limit > 0 else { return [] }
        return try read { db in
            var request = Self.listRequest(status: status, now: now)
            if let cursor {
                let raisedAt = Recommendation.CodingKeys.raisedAt, id = Recommendation.CodingKeys.id
                request = request.filter(raisedAt > cursor.raisedAt || (raisedAt == cursor.raisedAt && id > cursor.id))
            }
            return try request.limit(limit).fetchAll(db).map { ApprovalQueue.asOf($0, now: now) }
        }
    }

    static func listRequest(status: Recommendation.Status?, now: Int64) -> QueryInterfaceRequest<Recommendation> {
        var request = Recommendation.order(Recommendation.CodingKeys.raisedAt, Recommendation.CodingKeys.id)
        let statusColumn = Recommendation.CodingKeys.status, expires = Recommendation.CodingKeys.expires
        let pending = Recommendation.Status.pending.rawValue
        switch status {
        case nil: break
        case .pending?: request = request.filter(statusColumn == pending && expires > now)
        case .expired?:
            request = request.filter(statusColumn == Recommendation.Status.expired.rawValue
                                     || (statusColumn == pending && expires <= now))
        case let other?: request = request.filter(statusColumn == other.rawValue)
        }
        return request
    }

    public func recommendation(_ id: String, now: Int64) throws(EngineError) -> Recommendation {
        if access == .readWrite { try expireOverdue(now: now) }
        guard let found = try read({ db in try Recommendation.fetchOne(db, key: id) }) else { throw .notFound(id: id) }
        return ApprovalQueue.asOf(found, now: now)
    }

    /// The pending recommendation of `service`, if any (the engine raises no second one meanwhile).
    public func pending(service: String, now: Int64) throws(EngineError) -> Recommendation? {
        if access == .readWrite { try expireOverdue(now: now) }
        return try read { db in
            try Recommendation
                .filter(Recommendation.CodingKeys.service == service
                        && Recommendation.CodingKeys.status == Recommendation.Status.pending.rawValue
                        && Recommendation.CodingKeys.expires > now)
                .fetchOne(db)
        }
    }

    /// `record` as of `now`: a pending one past its expiry is expired (what `expireOverdue`
    /// writes), so a read-only reader shows the same as a writer.
    static func asOf(_ record: Recommendation, now: Int64) -> Recommendation {
        guard record.status == .pending, record.expires <= now else { return record }
        var expired = record
        expired.status = .expired
        return expired
    }

    /// Marks pending recommendations whose `expires` ≤ `now` as expired; returns how many.
    @discardableResult
    public func expireOverdue(now: Int64) throws(EngineError) -> Int {
        try write { db in
            let overdue = try Recommendation
                .filter(Recommendation.CodingKeys.status == Recommendation.Status.pending.rawValue
                        && Recommendation.CodingKeys.expires <= now)
                .fetchAll(db)
            guard !overdue.isEmpty else { return 0 }
            try db.execute(sql: "UPDATE recommendation SET status = 'expired' WHERE status = 'pending' AND expires <= ?",
                           arguments: [now])
            for var record in overdue {
                record.status = .expired
                try Self.journal(db, "expired", record, now: now)
            }
            // An expired half-open trial frees its breaker's slot.
            try Self.bumpGuardRevision(db)
            return overdue.count
        }
    }

    // MARK: Deciding

    public enum Approval: Sendable, Equatable {
        case approved(Recommendation)
        /// Approved before: nothing changed and no second outbox line was written.
        case alreadyApproved(Recommendation)
    }

    /// Approves a pending recommendation and hands it to the outbox. Idempotent for an approved
    /// id; an error for a rejected or expired one, for an unknown id and for a decider
    /// `approvers` refuses (`Approvers.check(_:)`: a name not listed, or on the command line an OS
    /// account not allowed to act as that name). The audit keeps the decider's name, account and
    /// channel. With `handOff`, a newly approved action is also queued, in the same transaction,
    /// for the operator's command (`HandoffRunner`).
    public func approve(_ id: String, by decider: Decider, comment: String?, approvers: Approvers, outbox: Outbox,
                        handOff: Bool = false, now: Int64) throws(EngineError) -> Approval {
        try approvers.check(decider)
        try outbox.checkSeparate(fromDatabase: path, allowlist: approvers.path)
        try expireOverdue(now: now)
        let outcome: Approval = try write { db in
            guard var record = try Recommendation.fetchOne(db, key: id) else { throw EngineError.notFound(id: id) }
            switch record.status {
            case .approved: return .alreadyApproved(record)
            case .rejected, .expired: throw EngineError.notPending(id: id, status: record.status)
            case .pending:
                try Self.checkCaps(record, now: now, in: db)
                record.status = .approved
                record.record(decider, at: now)
                record.decisionNote = comment
                record.outboxWritten = false
                try record.update(db)
                try Self.journal(db, "approved", record, now: now)
                if handOff { try Self.queueHandoff(db, record, now: now) }
                try Self.bumpGuardRevision(db)
                return .approved(record)
            }
        }
        // After the commit: a crash here leaves it approved but unsent, which flushOutbox repairs.
        try flushOutbox(outbox)
        switch outcome {
        case .approved(let r): return .approved(try recommendation(r.id, now: now))
        case .alreadyApproved(let r): return .alreadyApproved(try recommendation(r.id, now: now))
        }
    }

    /// Rejects a pending recommendation (decisions need an approver too, checked as for
    /// `approve`). Rejecting a rejected id again is a no-op; an approved or expired one is an error.
    @discardableResult
    public func reject(_ id: String, by decider: Decider, reason: String?, approvers: Approvers,
                       now: Int64) throws(EngineError) -> Recommendation {
        try approvers.check(decider)
        try expireOverdue(now: now)
        return try write { db in
            guard var record = try Recommendation.fetchOne(db, key: id) else { throw EngineError.notFound(id: id) }
            switch record.status {
            case .rejected: return record
            case .approved, .expired: throw EngineError.notPending(id: id, status: record.status)
            case .pending:
                record.status = .rejected
                record.record(decider, at: now)
                record.decisionNote = reason
                try record.update(db)
                try Self.journal(db, "rejected", record, now: now)
                try Self.bumpGuardRevision(db)
                return record
            }
        }
    }

    /// Writes the outbox line of every approved recommendation not yet marked as sent (skipping
    /// any whose key is already in the file), then marks them; returns how many lines it wrote.
    @discardableResult
    public func flushOutbox(_ outbox: Outbox) throws(EngineError) -> Int {
        // Before taking the outbox's lock file: a read-only handle has nothing to send.
        guard access == .readWrite else { throw .readOnlyDatabase(path: path) }
        try outbox.checkSeparate(fromDatabase: path, allowlist: nil)
        return try outbox.withLock { () throws(EngineError) -> Int in
            // Read under the lock: another process may have sent some since we last looked.
            let unsent = try read { db in
                try Recommendation
                    .filter(Recommendation.CodingKeys.status == Recommendation.Status.approved.rawValue
                            && Recommendation.CodingKeys.outboxWritten == false)
                    .order(Recommendation.CodingKeys.decidedAt, Recommendation.CodingKeys.id)
                    .fetchAll(db)
            }
            var written = 0
            for record in unsent {
                if !outbox.contains(idempotencyKey: record.idempotencyKey) {
                    try outbox.append(Outbox.line(for: record))
                    written += 1
                }
                try write { db in
                    try db.execute(sql: "UPDATE recommendation SET outbox_written = 1 WHERE id = ?", arguments: [record.id])
                }
            }
            return written
        }
    }

    // MARK: Outcomes and the policy

    /// Stores the policy that recommendations come from (from a bundle); replaces a stored one
    /// only when `source` differs, so outcomes learned so far survive a restart of `watch`.
    public func installPolicy(_ policy: RemediationPolicy, source: String, now: Int64) throws(EngineError) {
        do { try policy.validate() } catch { throw .invalid("the policy to install is invalid: \(error)") }
        let data = try ApprovalQueue.encode(policy)
        try write { db in
            let current = try String.fetchOne(db, sql: "SELECT source FROM policy WHERE id = 1")
            guard current != source else { return }
            try db.execute(sql: """
                INSERT INTO policy (id, source, data, updated_at, outcomes_learned) VALUES (1, ?, ?, ?, 0)
                ON CONFLICT(id) DO UPDATE SET source = excluded.source, data = excluded.data,
                    updated_at = excluded.updated_at, outcomes_learned = 0
                """, arguments: [source, data, now])
        }
    }

    /// The stored policy with outcomes learned so far, or nil when none was installed.
    public func policy() throws(EngineError) -> (policy: RemediationPolicy, source: String, outcomesLearned: Int)? {
        // `decode`, not `row[…]`: the subscript traps on a value of the wrong type (a damaged file).
        let stored = try read { db -> (Data, String, Int)? in
            guard let row = try Row.fetchOne(db, sql: "SELECT source, data, outcomes_learned FROM policy WHERE id = 1") else {
                return nil
            }
            return (try row.decode(forColumn: "data"), try row.decode(forColumn: "source"),
                    try row.decode(forColumn: "outcomes_learned"))
        }
        guard let (data, source, learned) = stored else { return nil }
        return (try ApprovalQueue.decode(data), source, learned)
    }

    /// Records how an approved action went and, when a policy is installed, lets it learn from
    /// it in the same transaction (so an outcome is learned exactly once).
    ///
    /// `recoverySeconds` (nil: the time from the approval to `now`) must be finite and within
    /// 0…`RemediationPolicy.maximumRecoverySeconds`: it becomes the reward the policy learns.
    @discardableResult
    public func recordOutcome(_ id: String, result: Recommendation.OutcomeResult, recoverySeconds: Double?,
                              now: Int64) throws(EngineError) -> (recommendation: Recommendation, learned: Bool) {
        if let seconds = recoverySeconds { try ApprovalQueue.checkRecovery(seconds, measured: true) }
        return try write { db in
            guard var record = try Recommendation.fetchOne(db, key: id) else { throw EngineError.notFound(id: id) }
            guard record.status == .approved else { throw EngineError.outcomeNotAllowed(id: id, status: record.status) }
            if let previous = record.outcome { throw EngineError.outcomeAlreadyRecorded(id: id, result: previous) }
            // Without a measured time, the action is charged the decision-to-outcome delay.
            // (Overflow-checked: the stored decision time may come from a damaged file.)
            let (delay, overflow) = now.subtractingReportingOverflow(record.decidedAt ?? now)
            let seconds = recoverySeconds ?? (overflow ? .infinity : Double(max(0, delay)))
            try ApprovalQueue.checkRecovery(seconds, measured: recoverySeconds != nil)
            record.outcome = result
            record.recoverySeconds = recoverySeconds
            record.outcomeAt = now
            try record.update(db)
            try Self.journal(db, "outcome", record, now: now)
            try Self.countOutcome(of: record, now: now, in: db)
            var learned = false
            if Self.teachesPolicy(record), let row = try Row.fetchOne(db, sql: "SELECT data FROM policy WHERE id = 1") {
                let taught = try Self.policyData(try row.decode(Data.self, forColumn: "data"), taughtBy: record, seconds: seconds)
                try db.execute(sql: "UPDATE policy SET data = ?, updated_at = ?, outcomes_learned = outcomes_learned + 1 WHERE id = 1",
                               arguments: [taught, now])
                learned = true
            }
            return (record, learned)
        }
    }

    /// Whether the outcome of `record` teaches the stored policy: a recommendation the policy
    /// did not choose (a failed canary's rollback) has no symptoms, and learning from it would
    /// credit the action to the all-normal pattern.
    public static func teachesPolicy(_ record: Recommendation) -> Bool { !record.symptoms.levels.isEmpty }

    /// The stored policy `data` after learning from the outcome of `record` (recovered after
    /// `seconds`): what both stores write back in the outcome's transaction.
    public static func policyData(_ data: Data, taughtBy record: Recommendation, seconds: Double) throws(EngineError) -> Data {
        var policy = try decode(data)
        do {
            try policy.learn(record.symptoms, tried: record.tried, action: record.action, seconds: seconds,
                             succeeded: record.outcome == .success)
        } catch {
            throw EngineError.invalid("the stored policy cannot learn from this outcome: \(error)")
        }
        return try encode(policy)
    }

    /// The bound on recovery times, named as the setting (a server passes it from its own field).
    static func checkRecovery(_ seconds: Double, measured: Bool) throws(EngineError) {
        let limit = RemediationPolicy.maximumRecoverySeconds
        guard seconds.isFinite, (0...limit).contains(seconds) else {
            let value = measured ? "\(seconds)"
                : String(format: "%.0f", seconds) + " (the time since the approval; give the measured recovery time)"
            throw .outOfRange(field: "recovery seconds", value: value,
                              expected: "a finite number of seconds in 0…\(Int(limit)) (7 days)")
        }
    }

    // MARK: Read positions (watch --db)

    public struct ReadPosition: Sendable, Equatable {
        public var device: UInt64
        public var inode: UInt64
        public var offset: Int64
        public var line: Int64
        public var engineState: Data?
        public init(device: UInt64, inode: UInt64, offset: Int64, line: Int64, engineState: Data? = nil) {
            self.device = device
            self.inode = inode
            self.offset = offset
            self.line = line
            self.engineState = engineState
        }
    }

    public func readPosition(source: String) throws(EngineError) -> ReadPosition? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT device, inode, offset, line, engine_state FROM read_position WHERE source = ?",
                             arguments: [source]).map {
                ReadPosition(device: UInt64(bitPattern: try $0.decode(forColumn: "device")),
                             inode: UInt64(bitPattern: try $0.decode(forColumn: "inode")),
                             offset: try $0.decode(forColumn: "offset"), line: try $0.decode(forColumn: "line"),
                             engineState: try $0.decode(forColumn: "engine_state"))
            }
        }
    }

    /// Inserts or replaces the stored position of `source`.
    private static func upsert(_ position: ReadPosition, source: String, now: Int64, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO read_position (source, device, inode, offset, line, updated_at, engine_state)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(source) DO UPDATE SET device = excluded.device, inode = excluded.inode,
                offset = excluded.offset, line = excluded.line, updated_at = excluded.updated_at,
                engine_state = excluded.engine_state
            """, arguments: [source, Int64(bitPattern: position.device), Int64(bitPattern: position.inode),
                             position.offset, position.line, now, position.engineState])
    }

    public func saveReadPosition(_ position: ReadPosition, source: String, now: Int64) throws(EngineError) {
        try write { db in
            try Self.upsert(position, source: source, now: now, in: db)
        }
    }

    /// Saves `position` like `saveReadPosition(_:source:now:)`, in a transaction that commits only
    /// when `beforeCommit` succeeds. The caller makes its outputs durable there (fsync, rename into
    /// place): if that fails, the position is rolled back and the error rethrown as it came, so a
    /// stored position never passes output that was lost. (Should the commit itself fail after
    /// `beforeCommit`, the outputs hold rows the position does not cover: a rerun replays them and
    /// writes the same again.)
    public func saveReadPosition(_ position: ReadPosition, source: String, now: Int64,
                                 beforeCommit: () throws -> Void) throws {
        do {
            try database.write { db in
                try Self.upsert(position, source: source, now: now, in: db)
                try beforeCommit()
            }
        } catch let error as DatabaseError {
            throw map(error)
        }
    }

    // MARK: Plumbing

    func read<T>(_ body: (Database) throws -> T) throws(EngineError) -> T {
        do { return try database.read(body) } catch { throw map(error) }
    }

    func write<T>(_ body: (Database) throws -> T) throws(EngineError) -> T {
        guard access == .readWrite else { throw .readOnlyDatabase(path: path) }
        do { return try database.write(body) } catch { throw map(error) }
    }

    private func map(_ error: any Error) -> EngineError {
        if let engine = error as? EngineError { return engine }
        if let sqlite = error as? DatabaseError, sqlite.resultCode == .SQLITE_READONLY { return .readOnlyDatabase(path: path) }
        return .database(path: path, reason: ApprovalQueue.reason(error))
    }

    static func reason(_ error: any Error) -> String {
        if let sqlite = error as? DatabaseError { return sqlite.message ?? "\(sqlite.resultCode)" }
        return "\(error)"
    }

    public static func encode(_ policy: RemediationPolicy) throws(EngineError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        do { return try encoder.encode(policy) } catch { throw .invalid("cannot encode the policy: \(error)") }
    }

    /// The stored policy, checked like one from a bundle: it is about to learn and recommend.
    public static func decode(_ data: Data) throws(EngineError) -> RemediationPolicy {
        let policy: RemediationPolicy
        do { policy = try JSONDecoder().decode(RemediationPolicy.self, from: data) } catch {
            throw .invalid("the stored policy does not decode: \(error)")
        }
        do { try policy.validate() } catch { throw .invalid("the stored policy is invalid: \(error)") }
        return policy
    }
}
