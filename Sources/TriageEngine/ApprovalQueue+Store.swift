import Foundation
import GRDB
import TriageCore
import TriageData

/// What another store needs from the SQLite queue to behave the same: the migration list and the
/// columns a recommendation is stored as. Added for the PostgreSQL store (issue 18), which keeps
/// the same schema and must not keep a second copy of how a `Recommendation` maps to columns.
extension ApprovalQueue {
    /// Every migration this build knows, oldest first (`v1`, `v2-decider`, …): the PostgreSQL
    /// store registers its own with the same identifiers, and the conformance suite checks that.
    public static var migrationIdentifiers: [String] { migrator.migrations }

    /// The migrations this queue's database has applied, in `migrationIdentifiers` order.
    public func appliedMigrations() throws(EngineError) -> [String] {
        let applied = try read { db in try Self.migrator.appliedIdentifiers(db) }
        return Self.migrationIdentifiers.filter(applied.contains)
    }
}

/// One stored column value, as SQLite's storage classes name them; what a store without GRDB
/// binds and reads back.
public enum StoredValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

extension Recommendation {
    /// The columns of the `recommendation` table, in the order the PostgreSQL store lists them.
    public static let storedColumnNames: [String] = [
        "id", "service", "action", "confidence", "created", "raised_at", "expires", "status", "reasons",
        "parameters", "scores", "symptoms", "tried", "decided_by", "decided_at", "decision_note",
        "idempotency_key", "outbox_written", "outcome", "recovery_seconds", "outcome_at",
        "decided_account", "decided_channel", "held_reason", "held_until",
    ]

    /// The record as the SQLite queue writes it (through `encode(to:)`, the one definition),
    /// keyed by column name: booleans as integers 0/1, the JSON columns as text.
    public func storedColumns() throws(EngineError) -> [String: StoredValue] {
        let dictionary: [String: DatabaseValue]
        do { dictionary = try databaseDictionary } catch {
            throw .invalid("recommendation \(id) cannot be stored: \(error)")
        }
        return dictionary.mapValues { value in
            switch value.storage {
            case .null: .null
            case .int64(let n): .integer(n)
            case .double(let x): .real(x)
            case .string(let s): .text(s)
            case .blob(let d): .blob(d)
            }
        }
    }

    /// The record from its stored columns, decoded exactly as the SQLite queue decodes a row.
    public init(storedColumns: [String: StoredValue]) throws(EngineError) {
        let row = Row(storedColumns.mapValues { value -> (any DatabaseValueConvertible)? in
            switch value {
            case .null: DatabaseValue.null
            case .integer(let n): n.databaseValue
            case .real(let x): x.databaseValue
            case .text(let s): s.databaseValue
            case .blob(let d): d.databaseValue
            }
        })
        let id = storedColumns["id"].flatMap { if case .text(let s) = $0 { s } else { nil } } ?? "?"
        do { self = try Recommendation(row: row) } catch {
            throw .invalid("recommendation \(id) does not decode: \(error)")
        }
    }
}

extension ApprovalQueue {
    /// The bound on recovery times that `recordOutcome` checks, for another store to check the
    /// same (`measured` false: the time since the approval, used when none was given).
    public static func checkRecoverySeconds(_ seconds: Double, measured: Bool) throws(EngineError) {
        try checkRecovery(seconds, measured: measured)
    }
}

extension Recommendation {
    /// The record as of wall time `now`: a pending one past its expiry is shown as expired, as
    /// `ApprovalQueue` shows it.
    public func asOf(_ now: Int64) -> Recommendation { ApprovalQueue.asOf(self, now: now) }

    /// Marks it approved or rejected by `decider` at `now`, with the approver's comment or the
    /// rejecter's reason: the audit every store writes the same way.
    public mutating func decide(_ status: Status, by decider: Decider, note: String?, at now: Int64) {
        self.status = status
        record(decider, at: now)
        decisionNote = note
        if status == .approved { outboxWritten = false }
    }

    /// A new pending record as `raise` stores it: id and idempotency key set, every decision,
    /// outcome and hold cleared.
    public func raised(id: String, instance: String) -> Recommendation {
        var record = self
        record.id = id
        record.status = .pending
        record.idempotencyKey = "triage-\(instance)-\(id)"
        record.outboxWritten = false
        record.decidedBy = nil
        record.decidedAccount = nil
        record.decidedChannel = nil
        record.decidedAt = nil
        record.decisionNote = nil
        record.outcome = nil
        record.recoverySeconds = nil
        record.outcomeAt = nil
        record.heldReason = nil
        record.heldUntil = nil
        return record
    }

    /// `rec-000001`, …: the id of the `number`th recommendation of a queue.
    public static func id(number: Int) -> String { ApprovalQueue.recommendationID(number) }

    /// The line a journal keeps for a change of this record (`type` and `timestamp` added to its
    /// JSON), as the SQLite queue journals it.
    public func journalJSON(_ type: String, now: Int64) -> JSONValue? {
        guard case .object(var fields) = json else { return nil }
        fields["type"] = .string(type)
        fields["timestamp"] = .string(Timestamp.iso(now))
        return .object(fields)
    }
}

extension JournalEvent {
    /// A journal entry as another store reads it back.
    public static func stored(id: Int64, type: String, json: String) -> JournalEvent {
        JournalEvent(id: id, type: type, json: json)
    }
}
