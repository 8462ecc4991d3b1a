/// The remediations Triage can recommend (../shared/CLI.md "From incidents to approved actions").
///
/// `alert` pages a person and makes no automated change; `none` is a valid *policy output*
/// (nothing is wrong, or nothing is allowed) and so is not a case here: the learner chooses
/// among the five `incidentActions`, and callers map "no allowed action" to `none`.
///
/// `scaleDown` is not an incident action: it is raised by a rule (the Kubernetes HPA rule with a
/// scale-down stabilisation window, `HorizontalScalingRule` in TriageEngine) while a service is
/// healthy and idle, never by the learner. It is last (raw value 5) so the Q-table's columns,
/// costs and priors keep their width and order: policies, bundles and models written before it
/// existed load unchanged.
public enum RemediationAction: Int, CaseIterable, Codable, Sendable, Comparable, CustomStringConvertible {
    case restart = 0, scaleUp, rollback, failover, alert, scaleDown

    /// The learner's action space in an incident, in index order (the Q-table's columns).
    public static let incidentActions: [RemediationAction] = [.restart, .scaleUp, .rollback, .failover, .alert]

    /// Whether the learner may choose it in an incident (all but `scaleDown`).
    public var isIncidentAction: Bool { self != .scaleDown }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// The name used in CSV files, JSON and the command line.
    public var name: String {
        switch self {
        case .restart: return "restart"
        case .scaleUp: return "scale_up"
        case .rollback: return "rollback"
        case .failover: return "failover"
        case .alert: return "alert"
        case .scaleDown: return "scale_down"
        }
    }

    public var description: String { name }

    public init?(name: String) {
        guard let action = RemediationAction.allCases.first(where: { $0.name == name }) else { return nil }
        self = action
    }

    /// Every action name, in index order (for error messages and JSON).
    public static var names: [String] { allCases.map(\.name) }

    /// The incident actions' names, in index order (what an incident log may hold).
    public static var incidentNames: [String] { incidentActions.map(\.name) }
}

/// A set of actions as a bitmask (bit i = action with raw value i): which actions were already
/// tried in an incident, or which are approved for a service.
public struct ActionSet: OptionSet, Hashable, Codable, Sendable, Comparable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public init(_ action: RemediationAction) { rawValue = 1 << UInt8(action.rawValue) }
    public init(_ actions: [RemediationAction]) {
        self.init(rawValue: actions.reduce(0) { $0 | (1 << UInt8($1.rawValue)) })
    }

    /// Every action an incident may get: the learner's action space (`incidentActions`). It
    /// leaves out `scaleDown`, a rule outside incidents, so the learner and every "all but the
    /// tried ones" computation (simulator, historical operators) never index a Q-table column
    /// that does not exist.
    public static let all = ActionSet(RemediationAction.incidentActions)
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public func contains(_ action: RemediationAction) -> Bool { rawValue & (1 << UInt8(action.rawValue)) != 0 }
    public func adding(_ action: RemediationAction) -> ActionSet { union(ActionSet(action)) }
    public var actions: [RemediationAction] { RemediationAction.allCases.filter { contains($0) } }
    public var count: Int { rawValue.nonzeroBitCount }
}
