import TriageData

/// What can go wrong in the approval workflow, with what the user needs to fix it.
///
/// Descriptions show outside values (paths, ids, names) through `TerminalText.escaped`, so a
/// message cannot carry terminal control sequences; the cases keep the exact values.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database could not be opened, migrated, read or written.
    case database(path: String, reason: String)
    /// The database was written by a newer Triage (a migration this build does not know).
    case newerDatabase(path: String, migration: String)
    /// An SQLite file Triage did not create (another application's, `reason` says how it
    /// differs): it is neither migrated nor written.
    case notTriageDatabase(path: String, reason: String)
    /// A write to a database opened read-only, or whose file or folder is not writable.
    case readOnlyDatabase(path: String)
    /// The queue's tables differ from this version's schema: `table` missing, or `column` of it
    /// missing, changed or unknown (`problem` says which).
    case schemaMismatch(path: String, table: String, column: String?, problem: String)
    /// A value outside its valid range; `field` names the setting or field, not a CLI flag.
    case outOfRange(field: String, value: String, expected: String)
    /// A malformed line of a settings file (the scaling targets), `line` and `column` 1-based.
    case invalidConfiguration(path: String, line: Int, column: Int, reason: String)
    case notFound(id: String)
    /// The decision asked for is not possible from the recommendation's current status.
    case notPending(id: String, status: Recommendation.Status)
    /// No approver allowlist exists: every approval is refused (fail closed).
    case noAllowlist(path: String)
    case notAnApprover(name: String, allowlist: String)
    /// A malformed allowlist line (`line` 1-based, `column` that of the colon).
    case invalidAllowlist(path: String, line: Int, column: Int, reason: String)
    /// On the command line, the OS account `account` may not act as the approver `name`;
    /// `allowed` lists the names it may act as (none: empty).
    case notAllowedAs(name: String, account: String, allowed: [String], allowlist: String)
    case outcomeNotAllowed(id: String, status: Recommendation.Status)
    case outcomeAlreadyRecorded(id: String, result: Recommendation.OutcomeResult)
    case outbox(path: String, reason: String)
    /// Approving would pass a rate cap (fail closed): `reason` says which, `until` is the wall
    /// time from which the cap's window allows it.
    case held(id: String, reason: String, until: Int64)
    /// The store at `location` cannot do `feature` yet (PostgreSQL: the hand-off hook's audit).
    case unsupportedByStore(feature: String, location: String)
    /// A write for `service` refused because this process no longer owns it: another replica
    /// took its lease (fencing, issue 18). Nothing was written; the new owner carries on.
    case fenced(service: String, reason: String)
    case invalid(String)

    public var description: String {
        func shown(_ text: String) -> String { TerminalText.escaped(text) }
        switch self {
        case .database(let path, let reason): return "\(shown(path)): \(shown(reason))"
        case .newerDatabase(let path, let migration):
            return "\(shown(path)): written by a newer Triage (unknown migration '\(shown(migration))'); upgrade triage to use it"
        case .notTriageDatabase(let path, let reason):
            return "\(shown(path)): not a Triage approval queue (\(shown(reason))); Triage only creates its tables in a new "
                + "or empty file, so this one was left unchanged"
        case .readOnlyDatabase(let path):
            return "\(shown(path)): the database is read-only here (opened for reading, or the file or its folder is not "
                + "writable) and this needs to write to it"
        case .schemaMismatch(let path, let table, let column, let problem):
            let subject = column.map { "table '\(shown(table))', column '\(shown($0))'" } ?? "table '\(shown(table))'"
            return "\(shown(path)): the approval queue's schema is damaged: \(subject) \(shown(problem)); "
                + "restore the database from a backup"
        case .outOfRange(let field, let value, let expected):
            return "\(field) must be \(expected), got \(shown(value))"
        case .invalidConfiguration(let path, let line, let column, let reason):
            return "\(shown(path)):\(line):\(column): \(shown(reason))"
        case .notFound(let id): return "no recommendation with id '\(shown(id))'"
        case .notPending(let id, let status): return "recommendation \(shown(id)) is \(status.rawValue), not pending"
        case .noAllowlist(let path):
            // No flag here: a front door adds how its user names another file (`--approvers FILE`).
            return "no approver allowlist at \(shown(path)): approvals are refused until one exists. Create it with one approver name per line (or `NAME: ACCOUNT …` to map OS accounts), e.g. `id -un > \(shown(path))`"
        case .notAnApprover(let name, let allowlist): return "'\(shown(name))' is not in the approver allowlist \(shown(allowlist))"
        case .invalidAllowlist(let path, let line, let column, let reason):
            return "\(shown(path)):\(line):\(column): \(shown(reason))"
        case .notAllowedAs(let name, let account, let allowed, let allowlist):
            let lets = allowed.isEmpty
                ? "lets it act as no approver (a line '\(shown(name)): \(shown(account))' there would let it act as \(shown(name)))"
                : "lets it act only as " + allowed.map { "'\(shown($0))'" }.joined(separator: ", ")
            return "OS account '\(shown(account))' may not decide as '\(shown(name))': the allowlist \(shown(allowlist)) \(lets)"
        case .outcomeNotAllowed(let id, let status):
            return "recommendation \(shown(id)) is \(status.rawValue): outcomes are recorded only for approved actions"
        case .outcomeAlreadyRecorded(let id, let result):
            return "recommendation \(shown(id)) already has an outcome (\(result.rawValue))"
        case .outbox(let path, let reason): return "\(shown(path)): cannot write the outbox: \(shown(reason))"
        case .held(let id, let reason, _): return "recommendation \(shown(id)) is held, not approved: \(shown(reason))"
        case .unsupportedByStore(let feature, let location):
            return "\(shown(location)): \(feature) is not available with this store yet (it works with an SQLite database)"
        case .fenced(let service, let reason):
            return "service '\(shown(service))' is no longer owned by this replica: \(shown(reason))"
        case .invalid(let message): return shown(message)
        }
    }
}
