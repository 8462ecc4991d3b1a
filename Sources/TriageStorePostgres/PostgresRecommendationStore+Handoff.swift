import Foundation
import PostgresNIO
import TriageCore
import TriageData
import TriageEngine

/// The hand-off hook's audit in PostgreSQL: the `handoff` and `handoff_attempt` tables of
/// migration `v6-handoff` (SQLite's, column for column), written with the same statements as
/// `ApprovalQueue+Handoff.swift`, so `approvals show` prints the same audit from either store.
/// Each change is a transaction under the writers' lock; the crash rule is SQLite's: an attempt
/// is committed as started before the command runs, its result after.
extension PostgresRecommendationStore {
    /// Queues the hand-off of a just-approved record inside the approval's transaction.
    func queueHandoff(_ record: Recommendation, now: Int64, on connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO handoff (recommendation_id, idempotency_key, state, queued_at, updated_at)
            VALUES (\(record.id), \(record.idempotencyKey), 'queued', \(now), \(now)) ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    /// The hand-off of `id`, or nil when it was approved without one.
    public func handoff(_ id: String) async throws(EngineError) -> Handoff? {
        try await read { connection in try await self.handoff(id, on: connection) }
    }

    func handoff(_ id: String, forUpdate: Bool = false, on connection: PostgresConnection) async throws -> Handoff? {
        let lock = forUpdate ? " FOR UPDATE" : ""
        guard let row = try await rows(PostgresQuery(unsafeSQL: """
            SELECT idempotency_key, state, queued_at, updated_at FROM handoff WHERE recommendation_id = $1\(lock)
            """, binds: PostgresSchema.bindings(id)), on: connection).first else { return nil }
        let stateText = try row["state"].decode(String.self)
        guard let state = Handoff.State(rawValue: stateText) else {
            throw EngineError.invalid("hand-off of \(id) has an unknown state '\(stateText)'")
        }
        let attempts = try await rows("""
            SELECT attempt, command, started_at, finished_at, exit_code, signal, timed_out, duration_ms, output, output_bytes, error
            FROM handoff_attempt WHERE recommendation_id = \(id) ORDER BY attempt
            """, on: connection).map { row in
            HandoffAttempt(number: Int(try row["attempt"].decode(Int64.self)), command: try row["command"].decode(String.self),
                           startedAt: try row["started_at"].decode(Int64.self), finishedAt: try row["finished_at"].decode(Int64?.self),
                           exitCode: try row["exit_code"].decode(Int64?.self).map { Int32(truncatingIfNeeded: $0) },
                           signal: try row["signal"].decode(Int64?.self).map { Int32(truncatingIfNeeded: $0) },
                           timedOut: try row["timed_out"].decode(Bool.self),
                           durationMilliseconds: try row["duration_ms"].decode(Int64?.self),
                           output: try row["output"].decode(String?.self),
                           outputBytes: try row["output_bytes"].decode(Int64?.self).map { Int($0) },
                           error: try row["error"].decode(String?.self))
        }
        return Handoff(recommendationID: id, idempotencyKey: try row["idempotency_key"].decode(String.self), state: state,
                       queuedAt: try row["queued_at"].decode(Int64.self), updatedAt: try row["updated_at"].decode(Int64.self),
                       attempts: attempts)
    }

    /// The record as `approvals show --json` shows it: its JSON plus `handoff` (null without one).
    public func jsonWithHandoff(_ record: Recommendation) async throws(EngineError) -> JSONValue {
        guard case .object(var fields) = record.json else { return record.json }
        fields["handoff"] = try await handoff(record.id)?.json ?? .null
        return .object(fields)
    }

    /// Ids whose hand-off still needs work, oldest first (`ApprovalQueue.unfinishedHandoffs`).
    public func unfinishedHandoffs() async throws(EngineError) -> [String] {
        try await read { connection in
            try await self.rows("""
                SELECT h.recommendation_id FROM handoff h JOIN recommendation r ON r.id = h.recommendation_id
                WHERE h.state IN ('queued', 'started') OR (h.state = 'failed' AND r.outcome IS NULL)
                ORDER BY h.queued_at, h.recommendation_id
                """, on: connection).map { try $0["recommendation_id"].decode(String.self) }
        }
    }

    /// Commits the next attempt of `id` as started (`ApprovalQueue.beginHandoffAttempt`).
    public func beginHandoffAttempt(_ id: String, command: String, now: Int64) async throws(EngineError)
        -> (handoff: Handoff, attempt: Int)? {
        try await write { connection in
            guard let current = try await self.handoff(id, forUpdate: true, on: connection),
                  current.state == .queued || current.state == .started else { return nil as BegunAttempt? }
            try await connection.query("""
                UPDATE handoff_attempt SET error = \(ApprovalQueue.noResultRecorded) WHERE recommendation_id = \(id) AND finished_at IS NULL
                """, logger: self.logger)
            let number = (current.attempts.last?.number ?? 0) + 1
            try await connection.query("""
                INSERT INTO handoff_attempt (recommendation_id, attempt, command, started_at, timed_out)
                VALUES (\(id), \(Int64(number)), \(command), \(now), false)
                """, logger: self.logger)
            try await connection.query("UPDATE handoff SET state = 'started', updated_at = \(now) WHERE recommendation_id = \(id)",
                                       logger: self.logger)
            guard let updated = try await self.handoff(id, on: connection) else { throw EngineError.notFound(id: id) }
            return BegunAttempt(handoff: updated, attempt: number)
        }.map { ($0.handoff, $0.attempt) }
    }

    /// Records how attempt `attempt` of `id` ended (`ApprovalQueue.finishHandoffAttempt`).
    public func finishHandoffAttempt(_ id: String, attempt: Int, run: HookProcess.Run, tries: Int,
                                     now: Int64) async throws(EngineError) -> Handoff {
        let output = String(decoding: run.output, as: UTF8.self)
        return try await write { connection in
            try await connection.query("""
                UPDATE handoff_attempt SET finished_at = \(now), exit_code = \(run.exitCode.map { Int64($0) }),
                    signal = \(run.signal.map { Int64($0) }), timed_out = \(run.timedOut), duration_ms = \(run.durationMilliseconds),
                    output = \(output), output_bytes = \(Int64(run.outputBytes)), error = \(run.startError)
                WHERE recommendation_id = \(id) AND attempt = \(Int64(attempt))
                """, logger: self.logger)
            guard var updated = try await self.handoff(id, on: connection) else { throw EngineError.notFound(id: id) }
            let state: Handoff.State = run.succeeded ? .succeeded : (updated.failures >= tries ? .failed : .started)
            try await connection.query("UPDATE handoff SET state = \(state.rawValue), updated_at = \(now) WHERE recommendation_id = \(id)",
                                       logger: self.logger)
            updated.state = state
            updated.updatedAt = now
            return updated
        }
    }

    /// Marks a started hand-off whose tries are all used as failed (`ApprovalQueue.failHandoff`).
    public func failHandoff(_ id: String, now: Int64) async throws(EngineError) -> Handoff? {
        try await write { connection in
            try await connection.query("""
                UPDATE handoff SET state = 'failed', updated_at = \(now) WHERE recommendation_id = \(id) AND state IN ('queued', 'started')
                """, logger: self.logger)
            return try await self.handoff(id, on: connection)
        }
    }
}

/// A begun attempt carried out of the transaction (a tuple is not `Sendable` in a generic position).
struct BegunAttempt: Sendable {
    var handoff: Handoff
    var attempt: Int
}
