/// The remediations Triage can recommend (../shared/CLI.md "From incidents to approved actions").
///
/// `alert` pages a person and makes no automated change; `none` is a valid *policy output*
/// (nothing is wrong, or nothing is allowed) and so is not a case here: the learner chooses
/// among these five, and callers map "no allowed action" to `none`.
public enum RemediationAction: Int, CaseIterable, Codable, Sendable, Comparable, CustomStringConvertible {
    case restart = 0, scaleUp, rollback, failover, alert

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// The name used in CSV files, JSON and the command line.
    public var name: String {
        switch self {
        case .restart: return "restart"
        case .scaleUp: return "scale_up"
        case .rollback: return "rollback"
        case .failover: return "failover"
        case .alert: return "alert"
        }
    }

    public var description: String { name }

    public init?(name: String) {
        guard let action = RemediationAction.allCases.first(where: { $0.name == name }) else { return nil }
        self = action
    }

    /// Every action name, in index order (for error messages and JSON).
    public static var names: [String] { allCases.map(\.name) }
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

    public static let all = ActionSet(RemediationAction.allCases)
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public func contains(_ action: RemediationAction) -> Bool { rawValue & (1 << UInt8(action.rawValue)) != 0 }
    public func adding(_ action: RemediationAction) -> ActionSet { union(ActionSet(action)) }
    public var actions: [RemediationAction] { RemediationAction.allCases.filter { contains($0) } }
    public var count: Int { rawValue.nonzeroBitCount }
}
