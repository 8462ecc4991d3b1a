/// What can go wrong in the approval workflow, with what the user needs to fix it.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database could not be opened, migrated, read or written.
    case database(path: String, reason: String)
    /// The database was written by a newer Triage (a migration this build does not know).
    case newerDatabase(path: String, migration: String)
    case notFound(id: String)
    /// The decision asked for is not possible from the recommendation's current status.
    case notPending(id: String, status: Recommendation.Status)
    /// No approver allowlist exists: every approval is refused (fail closed).
    case noAllowlist(path: String)
    case notAnApprover(name: String, allowlist: String)
    case outcomeNotAllowed(id: String, status: Recommendation.Status)
    case outcomeAlreadyRecorded(id: String, result: Recommendation.OutcomeResult)
    case outbox(path: String, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .database(let path, let reason): return "\(path): \(reason)"
        case .newerDatabase(let path, let migration):
            return "\(path): written by a newer Triage (unknown migration '\(migration)'); upgrade triage to use it"
        case .notFound(let id): return "no recommendation with id '\(id)'"
        case .notPending(let id, let status): return "recommendation \(id) is \(status.rawValue), not pending"
        case .noAllowlist(let path):
            return "no approver allowlist at \(path): approvals are refused until one exists. Create it with one approver name per line, e.g. `echo \"$USER\" > \(path)`, or pass --approvers FILE"
        case .notAnApprover(let name, let allowlist): return "'\(name)' is not in the approver allowlist \(allowlist)"
        case .outcomeNotAllowed(let id, let status):
            return "recommendation \(id) is \(status.rawValue): outcomes are recorded only for approved actions"
        case .outcomeAlreadyRecorded(let id, let result):
            return "recommendation \(id) already has an outcome (\(result.rawValue))"
        case .outbox(let path, let reason): return "\(path): cannot write the outbox: \(reason)"
        case .invalid(let message): return message
        }
    }
}
