import Foundation
import PostgresNIO
import TriageCore
import TriageData
import TriageEngine

/// What the engine reads and writes besides raising: the learned policy, the change stamp it
/// keeps its copies by, the decisions of its incidents' recommendations, and the counts a server
/// shows. The same queries as `ApprovalQueue+Events.swift` and `ApprovalQueue.swift`.
extension PostgresRecommendationStore {
    // MARK: Policy

    /// Stores `policy` unless one from the same `source` is there (as `ApprovalQueue.installPolicy`).
    public func installPolicy(_ policy: RemediationPolicy, source: String, now: Int64) async throws(EngineError) {
        do { try policy.validate() } catch { throw .invalid("the policy to install is invalid: \(error)") }
        let data = try ApprovalQueue.encode(policy)
        try await write { connection in
            let current = try await self.rows("SELECT source FROM policy WHERE id = 1", on: connection).first?["source"].decode(String.self)
            guard current != source else { return }
            try await connection.query("""
                INSERT INTO policy (id, source, data, updated_at, outcomes_learned) VALUES (1, \(source), \(data), \(now), 0)
                ON CONFLICT (id) DO UPDATE SET source = excluded.source, data = excluded.data,
                    updated_at = excluded.updated_at, outcomes_learned = 0
                """, logger: self.logger)
        }
    }

    public func policy() async throws(EngineError) -> (policy: RemediationPolicy, source: String, outcomesLearned: Int)? {
        let stored = try await read { connection in
            try await self.rows("SELECT source, data, outcomes_learned FROM policy WHERE id = 1", on: connection).first.map {
                (data: try $0["data"].decode(Data.self), source: try $0["source"].decode(String.self),
                 learned: try $0["outcomes_learned"].decode(Int64.self))
            }
        }
        guard let stored else { return nil }
        return (try ApprovalQueue.decode(stored.data), stored.source, Int(stored.learned))
    }

    public func policyRevision() async throws(EngineError) -> Int64? {
        try await changeStamp().policyRevision
    }

    /// The columns `policyRevision` hashes, in one statement with the journal's and guards' marks.
    static let changeStampSQL = """
        SELECT (SELECT COALESCE(MAX(id), 0) FROM event) AS last_event,
               (SELECT value::BIGINT FROM meta WHERE key = 'guards_revision') AS guard_revision,
               p.updated_at, p.outcomes_learned, octet_length(p.data)::BIGINT AS size, p.source
        FROM (SELECT 1) AS one LEFT JOIN policy p ON p.id = 1
        """

    /// What tells the engine its copies may be stale, in one round trip (`ApprovalQueue.changeStamp`).
    /// The policy's revision hashes the same four columns as SQLite's: it is compared only
    /// within a process.
    public func changeStamp() async throws(EngineError) -> (lastEventID: Int64, policyRevision: Int64?, guardRevision: Int64) {
        try await read { connection in
            guard let row = try await self.rows(PostgresQuery(unsafeSQL: Self.changeStampSQL), on: connection).first else {
                return (0, nil, 0)
            }
            var revision: Int64?
            if let updatedAt = try row["updated_at"].decode(Int64?.self) {
                var hasher = Hasher()
                hasher.combine(updatedAt)
                hasher.combine(try row["outcomes_learned"].decode(Int64.self))
                hasher.combine(try row["size"].decode(Int64.self))
                hasher.combine(try row["source"].decode(String.self))
                revision = Int64(hasher.finalize())
            }
            return (try row["last_event"].decode(Int64.self), revision, try row["guard_revision"].decode(Int64?.self) ?? 0)
        }
    }

    // MARK: Decisions and counts

    /// Status, action, expiry and outcome of each of `ids` that exists (`ApprovalQueue.decisions(of:)`).
    public func decisions(of ids: [String]) async throws(EngineError) -> [String: ApprovalQueue.Decision] {
        guard !ids.isEmpty else { return [:] }
        return try await read { connection in
            var found = [String: ApprovalQueue.Decision]()
            for row in try await self.rows("SELECT id, status, action, expires, outcome FROM recommendation WHERE id = ANY(\(ids))",
                                           on: connection) {
                let id = try row["id"].decode(String.self)
                guard let status = Recommendation.Status(rawValue: try row["status"].decode(String.self)),
                      let action = RemediationAction(name: try row["action"].decode(String.self)) else {
                    throw EngineError.invalid("recommendation \(id) has an unknown status or action")
                }
                let outcome = try row["outcome"].decode(String?.self).flatMap(Recommendation.OutcomeResult.init(rawValue:))
                found[id] = ApprovalQueue.Decision(status: status, action: action, expires: try row["expires"].decode(Int64.self),
                                                   outcome: outcome)
            }
            return found
        }
    }

    /// How many recommendations have each status as of `now` (a pending one past its expiry
    /// counts as expired).
    public func countsByStatus(now: Int64) async throws(EngineError) -> [Recommendation.Status: Int] {
        try await read { connection in
            var counts = [Recommendation.Status: Int]()
            for row in try await self.rows("""
                SELECT CASE WHEN status = 'pending' AND expires <= \(now) THEN 'expired' ELSE status END AS shown, COUNT(*) AS n
                FROM recommendation GROUP BY shown
                """, on: connection) {
                if let status = Recommendation.Status(rawValue: try row["shown"].decode(String.self)) {
                    counts[status, default: 0] += Int(try row["n"].decode(Int64.self))
                }
            }
            return counts
        }
    }

    /// Every recommendation with `status` (all when nil) as of `now`, in list order, read a page
    /// at a time.
    public func listAll(status: Recommendation.Status?, now: Int64) async throws(EngineError) -> [Recommendation] {
        try await expireOverdue(now: now)
        var all = [Recommendation]()
        var cursor: ApprovalQueue.ListCursor?
        while true {
            let page = try await list(status: status, now: now, after: cursor, limit: 1_000)
            all += page
            guard page.count == 1_000, let last = page.last else { return all }
            cursor = ApprovalQueue.ListCursor(after: last)
        }
    }

    // MARK: Checkpoints

    /// Saves `position` in a transaction that commits only once `beforeCommit` succeeded; its
    /// error comes back as it came (`ApprovalQueue.saveReadPosition(_:source:now:beforeCommit:)`).
    /// It runs at most once: should the connection drop before COMMIT and the transaction run
    /// again, the outputs it made durable stay so.
    public func saveReadPosition(_ position: ApprovalQueue.ReadPosition, source: String, now: Int64,
                                 beforeCommit: @escaping @Sendable () async throws -> Void) async throws {
        let outcome = BeforeCommitOutcome()
        do {
            // No writers' lock: a checkpoint journals nothing, and its row is the engine's own.
            try await transaction(writing: false) { connection in
                try await self.upsert(position, source: source, now: now, on: connection)
                if !outcome.ran {
                    do { try await beforeCommit() } catch {
                        outcome.failed(error)
                        throw error
                    }
                    outcome.ran = true
                }
            }
        } catch {
            if let failure = outcome.failure { throw failure }
            throw error
        }
    }

    func upsert(_ position: ApprovalQueue.ReadPosition, source: String, now: Int64, on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO read_position (source, device, inode, "offset", line, updated_at, engine_state)
            VALUES (\(source), \(Int64(bitPattern: position.device)), \(Int64(bitPattern: position.inode)),
                    \(position.offset), \(position.line), \(now), \(position.engineState))
            ON CONFLICT (source) DO UPDATE SET device = excluded.device, inode = excluded.inode,
                "offset" = excluded."offset", line = excluded.line, updated_at = excluded.updated_at,
                engine_state = excluded.engine_state
            """, logger: logger)
    }
}

/// Whether a checkpoint's `beforeCommit` ran, and its error: written by the transaction's body,
/// read after it (one at a time: the body runs before the transaction returns).
final class BeforeCommitOutcome: @unchecked Sendable {
    var ran = false
    private(set) var failure: (any Error)?
    func failed(_ error: any Error) { failure = error }
}
