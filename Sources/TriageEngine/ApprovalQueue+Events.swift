import Foundation
import GRDB
import TriageCore
import TriageData

/// One entry of the queue's event journal: what `GET /v1/events` streams.
public struct JournalEvent: Sendable, Equatable {
    /// Increasing, never reused: the Server-Sent Events `id:` a client resumes from.
    public let id: Int64
    public let type: String
    /// One JSON object (no line breaks).
    public let json: String
}

/// The event journal: recommendations raised, decisions, expiries, outcomes and health-state
/// changes, each with an increasing id, in the queue's database.
///
/// It lives beside the recommendations so that the event of a change commits in the same
/// transaction as the change itself: a stream resumed with `Last-Event-ID` misses nothing, even
/// across a crash or a restart, and a decision taken from the command line reaches the
/// stream of a running server like one taken over HTTP.
extension ApprovalQueue {
    /// Events kept: older ones are deleted as new ones arrive (a client further behind than this
    /// resumes from the oldest kept; the recommendations themselves stay in their table).
    public static let journalCapacity: Int64 = 100_000

    static func registerEventJournal(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3-events") { db in
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("type", .text).notNull()
                t.column("at", .integer).notNull()
                t.column("body", .text).notNull()
            }
        }
    }

    /// Appends one event inside the caller's transaction.
    static func journal(_ db: Database, type: String, json: JSONValue, now: Int64) throws {
        try db.execute(sql: "INSERT INTO event (type, at, body) VALUES (?, ?, ?)",
                       arguments: [type, now, json.serialized()])
        let id = db.lastInsertedRowID
        // Trimmed every 1 000 events, so the cost is amortised and the table stays bounded.
        if id % 1_000 == 0 {
            try db.execute(sql: "DELETE FROM event WHERE id <= ?", arguments: [id - journalCapacity])
        }
    }

    /// The journal entry of a recommendation that changed: its JSON with `type` and the time.
    static func journal(_ db: Database, _ type: String, _ record: Recommendation, now: Int64) throws {
        guard case .object(var fields) = record.json else { return }
        fields["type"] = .string(type)
        fields["timestamp"] = .string(Timestamp.iso(now))
        try journal(db, type: type, json: .object(fields), now: now)
    }

    /// Appends events that are not changes of the queue (health-state transitions) in one
    /// transaction.
    public func appendEvents(_ events: [(type: String, json: JSONValue)], now: Int64) throws(EngineError) {
        guard !events.isEmpty else { return }
        try write { db in
            for event in events { try Self.journal(db, type: event.type, json: event.json, now: now) }
        }
    }

    /// Up to `limit` events after `id`, oldest first.
    public func events(after id: Int64, limit: Int) throws(EngineError) -> [JournalEvent] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, type, body FROM event WHERE id > ? ORDER BY id LIMIT ?",
                             arguments: [id, limit]).map {
                JournalEvent(id: $0["id"], type: $0["type"], json: $0["body"])
            }
        }
    }

    /// The id of the newest event (0 when none).
    public func lastEventID() throws(EngineError) -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM event") ?? 0 }
    }
}

extension ApprovalQueue {
    /// How many recommendations have each status as of `now` (a pending one past its expiry
    /// counts as expired, as `list` shows it).
    public func countsByStatus(now: Int64) throws(EngineError) -> [Recommendation.Status: Int] {
        try read { db in
            var counts = [Recommendation.Status: Int]()
            for row in try Row.fetchAll(db, sql: """
                SELECT CASE WHEN status = 'pending' AND expires <= ? THEN 'expired' ELSE status END AS shown, COUNT(*) AS n
                FROM recommendation GROUP BY shown
                """, arguments: [now]) {
                if let status = Recommendation.Status(rawValue: row["shown"]) { counts[status, default: 0] += row["n"] }
            }
            return counts
        }
    }
}

extension ApprovalQueue {
    /// Begins and commits an empty write transaction: throws when the database cannot be
    /// written now (locked beyond the busy timeout, read-only, its disk full or gone).
    public func checkWritable() throws(EngineError) {
        try write { db in try db.execute(sql: "UPDATE meta SET value = value WHERE key = 'instance'") }
    }
}

extension ApprovalQueue {
    /// The `limit` most recently decided recommendations (approved, rejected, or expired, an
    /// expiry counting at its expiry time), newest first, as of `now`.
    public func recentlyDecided(limit: Int, now: Int64) throws(EngineError) -> [Recommendation] {
        try read { db in
            try Recommendation.fetchAll(db, sql: """
                SELECT * FROM recommendation WHERE status != 'pending' OR expires <= ?
                ORDER BY COALESCE(decided_at, expires) DESC, id DESC LIMIT ?
                """, arguments: [now, limit]).map { ApprovalQueue.asOf($0, now: now) }
        }
    }
}

extension ApprovalQueue {
    /// What the engine needs of a recommendation to know whether its incident may move on.
    public struct Decision: Sendable, Equatable {
        /// As stored: a pending one may be past `expires` (`status(at:)` says expired then).
        public var status: Recommendation.Status
        public var action: RemediationAction
        public var expires: Int64
        /// The outcome recorded for an approved one (`triage outcome`), nil until then: the
        /// engine escalates an incident to `critical` when an approved action failed.
        public var outcome: Recommendation.OutcomeResult?

        public init(status: Recommendation.Status, action: RemediationAction, expires: Int64,
                    outcome: Recommendation.OutcomeResult? = nil) {
            self.status = status
            self.action = action
            self.expires = expires
            self.outcome = outcome
        }

        /// The status as `list` shows it at wall time `now`.
        public func status(at now: Int64) -> Recommendation.Status {
            status == .pending && expires <= now ? .expired : status
        }
    }

    /// Status, action and expiry of each of `ids` (ids not in the queue are absent) — what the
    /// engine checks about an incident's earlier recommendations, in one read of a few columns
    /// instead of decoding whole records (and without a write to expire them: the stored status
    /// is corrected by the next writer that lists or decides).
    public func decisions(of ids: [String]) throws(EngineError) -> [String: Decision] {
        guard !ids.isEmpty else { return [:] }
        return try read { db in
            var found = [String: Decision]()
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ",")
            let sql = "SELECT id, status, action, expires, outcome FROM recommendation WHERE id IN (\(marks))"
            // Cached: the engine asks this for each incident (compiling it each time was most of its cost).
            for row in try Row.fetchAll(try db.cachedStatement(sql: sql), arguments: StatementArguments(ids)) {
                guard let status = Recommendation.Status(rawValue: try row.decode(forColumn: "status")),
                      let action = RemediationAction(name: try row.decode(forColumn: "action")) else {
                    throw EngineError.invalid("recommendation \(try row.decode(String.self, forColumn: "id")) has an unknown status or action")
                }
                let outcome = try row.decode(String?.self, forColumn: "outcome").flatMap(Recommendation.OutcomeResult.init(rawValue:))
                found[try row.decode(forColumn: "id")] = Decision(status: status, action: action,
                                                                  expires: try row.decode(forColumn: "expires"), outcome: outcome)
            }
            return found
        }
    }

    /// The decisions of `ids` as of wall time `now` (a pending one past its expiry is expired).
    public func decisions(of ids: [String], now: Int64) throws(EngineError) -> [String: (status: Recommendation.Status, action: RemediationAction)] {
        try decisions(of: ids).mapValues { ($0.status(at: now), $0.action) }
    }

    /// What tells a reader that its copies of the queue may be stale, in one read: the newest
    /// journal event (every decision, expiry, outcome and new recommendation journals one in
    /// the transaction that makes it), the stored policy's revision and the guards' revision
    /// (`guardRevision`: what the guards know changed; new recommendations do not count).
    public func changeStamp() throws(EngineError) -> (lastEventID: Int64, policyRevision: Int64?, guardRevision: Int64) {
        try read { db in
            let last = try Int64.fetchOne(try db.cachedStatement(sql: "SELECT COALESCE(MAX(id), 0) FROM event")) ?? 0
            return (last, try Self.policyRevision(db), try Self.guardRevision(db))
        }
    }

    /// A number that changes whenever the stored policy does (installed anew or taught by an
    /// outcome), so a reader decodes the policy only when it changed; nil without one.
    public func policyRevision() throws(EngineError) -> Int64? {
        try read { db in try Self.policyRevision(db) }
    }

    static func policyRevision(_ db: Database) throws -> Int64? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT updated_at, outcomes_learned, length(data) AS size, source FROM policy WHERE id = 1")).map { row in
            var hasher = Hasher()
            hasher.combine(try row.decode(Int64.self, forColumn: "updated_at"))
            hasher.combine(try row.decode(Int64.self, forColumn: "outcomes_learned"))
            hasher.combine(try row.decode(Int64.self, forColumn: "size"))
            hasher.combine(try row.decode(String.self, forColumn: "source"))
            return Int64(hasher.finalize())
        }
    }
}
