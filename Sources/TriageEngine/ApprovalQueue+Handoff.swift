import Foundation
import GRDB
import TriageCore
import TriageData

#if canImport(Glibc)
import Glibc
#endif

/// The hand-off audit in the queue: which approved actions go to the operator's command, and
/// every attempt with its exit code, duration and first KiB of output (`Handoff`).
///
/// Crash safety rests on one order: an attempt is committed as *started* before the command
/// runs, and its result is committed after. A process killed in between leaves a started attempt
/// without a result; the next drain runs the hand-off again with the same idempotency key (the
/// recommendation's), so the command can tell it already acted. A recorded success is final.
extension ApprovalQueue {
    static func registerHandoff(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-handoff") { db in
            // Tables of their own rather than columns of `recommendation`: a queue without them
            // reads as before, and `Recommendation` stays the record every front door decodes.
            try db.create(table: "handoff") { t in
                t.primaryKey("recommendation_id", .text)
                t.column("idempotency_key", .text).notNull()
                t.column("state", .text).notNull().indexed()
                t.column("queued_at", .integer).notNull()
                t.column("updated_at", .integer).notNull()
            }
            try db.create(table: "handoff_attempt") { t in
                t.column("recommendation_id", .text).notNull()
                t.column("attempt", .integer).notNull()
                t.primaryKey(["recommendation_id", "attempt"])
                t.column("command", .text).notNull()
                t.column("started_at", .integer).notNull()
                t.column("finished_at", .integer)
                t.column("exit_code", .integer)
                t.column("signal", .integer)
                t.column("timed_out", .boolean).notNull()
                t.column("duration_ms", .integer)
                t.column("output", .text)
                t.column("output_bytes", .integer)
                t.column("error", .text)
            }
        }
    }

    /// What an attempt without a result says once a later attempt supersedes it.
    public static let noResultRecorded = "no result recorded: the process running it stopped (crash, kill or shutdown); "
        + "retried with the same idempotency key"

    /// Queues the hand-off of a just-approved record, inside the approval's transaction: a crash
    /// after the approval commits can no longer lose it.
    static func queueHandoff(_ db: Database, _ record: Recommendation, now: Int64) throws {
        try db.execute(sql: """
            INSERT OR IGNORE INTO handoff (recommendation_id, idempotency_key, state, queued_at, updated_at)
            VALUES (?, ?, 'queued', ?, ?)
            """, arguments: [record.id, record.idempotencyKey, now, now])
    }

    /// The hand-off of `id`, or nil when it was approved without one (or the queue predates them).
    public func handoff(_ id: String) throws(EngineError) -> Handoff? {
        try read { db in try Self.handoff(db, id) }
    }

    /// The record as `approvals show --json` and `GET /v1/recommendations/{id}` show it: its
    /// JSON plus `handoff` (the audit, or null when approved without one).
    public func jsonWithHandoff(_ record: Recommendation) throws(EngineError) -> JSONValue {
        guard case .object(var fields) = record.json else { return record.json }
        fields["handoff"] = try handoff(record.id)?.json ?? .null
        return .object(fields)
    }

    static func handoff(_ db: Database, _ id: String) throws -> Handoff? {
        guard try db.tableExists("handoff"),
              let row = try Row.fetchOne(db, sql: "SELECT * FROM handoff WHERE recommendation_id = ?", arguments: [id])
        else { return nil }
        let stateText: String = try row.decode(forColumn: "state")
        guard let state = Handoff.State(rawValue: stateText) else {
            throw EngineError.invalid("hand-off of \(id) has an unknown state '\(stateText)'")
        }
        let attempts = try Row.fetchAll(db, sql: "SELECT * FROM handoff_attempt WHERE recommendation_id = ? ORDER BY attempt",
                                        arguments: [id]).map { row in
            HandoffAttempt(number: try row.decode(forColumn: "attempt"), command: try row.decode(forColumn: "command"),
                           startedAt: try row.decode(forColumn: "started_at"), finishedAt: try row.decode(forColumn: "finished_at"),
                           exitCode: try row.decode(forColumn: "exit_code"), signal: try row.decode(forColumn: "signal"),
                           timedOut: try row.decode(forColumn: "timed_out"),
                           durationMilliseconds: try row.decode(forColumn: "duration_ms"),
                           output: try row.decode(forColumn: "output"), outputBytes: try row.decode(forColumn: "output_bytes"),
                           error: try row.decode(forColumn: "error"))
        }
        return Handoff(recommendationID: id, idempotencyKey: try row.decode(forColumn: "idempotency_key"), state: state,
                       queuedAt: try row.decode(forColumn: "queued_at"), updatedAt: try row.decode(forColumn: "updated_at"),
                       attempts: attempts)
    }

    /// Ids whose hand-off still needs work, oldest first: queued or started ones, and failed
    /// ones whose failed outcome is not recorded yet (a crash fell between the two).
    public func unfinishedHandoffs() throws(EngineError) -> [String] {
        try read { db in
            guard try db.tableExists("handoff") else { return [] }
            return try String.fetchAll(db, sql: """
                SELECT h.recommendation_id FROM handoff h JOIN recommendation r ON r.id = h.recommendation_id
                WHERE h.state IN ('queued', 'started') OR (h.state = 'failed' AND r.outcome IS NULL)
                ORDER BY h.queued_at, h.recommendation_id
                """)
        }
    }

    /// Commits attempt number (last + 1) of `id` as started, before the command runs, and
    /// returns it; nil when the hand-off needs no attempt (succeeded or failed already, or none).
    /// An earlier attempt without a result is marked as superseded.
    public func beginHandoffAttempt(_ id: String, command: String, now: Int64) throws(EngineError) -> (handoff: Handoff, attempt: Int)? {
        try write { db in
            guard let current = try Self.handoff(db, id), current.state == .queued || current.state == .started else { return nil }
            try db.execute(sql: """
                UPDATE handoff_attempt SET error = ? WHERE recommendation_id = ? AND finished_at IS NULL
                """, arguments: [Self.noResultRecorded, id])
            let number = (current.attempts.last?.number ?? 0) + 1
            try db.execute(sql: """
                INSERT INTO handoff_attempt (recommendation_id, attempt, command, started_at, timed_out)
                VALUES (?, ?, ?, ?, 0)
                """, arguments: [id, number, command, now])
            try db.execute(sql: "UPDATE handoff SET state = 'started', updated_at = ? WHERE recommendation_id = ?",
                           arguments: [now, id])
            guard let updated = try Self.handoff(db, id) else { throw EngineError.notFound(id: id) }
            return (updated, number)
        }
    }

    /// Records how attempt `attempt` of `id` ended; the hand-off becomes `succeeded` on a success
    /// and `failed` once `tries` attempts have failed. (The failed outcome is the caller's next
    /// step, through `recordOutcome`, so whatever that API hooks sees it like any other.)
    @discardableResult
    public func finishHandoffAttempt(_ id: String, attempt: Int, run: HookProcess.Run, tries: Int,
                                     now: Int64) throws(EngineError) -> Handoff {
        try write { db in
            let output = String(decoding: run.output, as: UTF8.self)
            try db.execute(sql: """
                UPDATE handoff_attempt SET finished_at = ?, exit_code = ?, signal = ?, timed_out = ?, duration_ms = ?,
                    output = ?, output_bytes = ?, error = ?
                WHERE recommendation_id = ? AND attempt = ?
                """, arguments: [now, run.exitCode.map { Int($0) }, run.signal.map { Int($0) }, run.timedOut,
                                 run.durationMilliseconds, output, run.outputBytes, run.startError, id, attempt])
            guard let updated = try Self.handoff(db, id) else { throw EngineError.notFound(id: id) }
            let state: Handoff.State = run.succeeded ? .succeeded : (updated.failures >= tries ? .failed : .started)
            try db.execute(sql: "UPDATE handoff SET state = ?, updated_at = ? WHERE recommendation_id = ?",
                           arguments: [state.rawValue, now, id])
            var final = updated
            final.state = state
            final.updatedAt = now
            return final
        }
    }

    /// Marks a started hand-off whose tries are all used as failed (after a restart with fewer
    /// tries allowed than before).
    @discardableResult
    public func failHandoff(_ id: String, now: Int64) throws(EngineError) -> Handoff? {
        try write { db in
            try db.execute(sql: "UPDATE handoff SET state = 'failed', updated_at = ? WHERE recommendation_id = ? AND state IN ('queued', 'started')",
                           arguments: [now, id])
            return try Self.handoff(db, id)
        }
    }

    /// The recommendation's row number, which names its byte in the hand-off lock file.
    func rowNumber(_ id: String) throws(EngineError) -> Int64? {
        try read { db in try Int64.fetchOne(db, sql: "SELECT rowid FROM recommendation WHERE id = ?", arguments: [id]) }
    }
}
