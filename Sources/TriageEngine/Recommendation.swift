import GRDB
import TriageCore

/// One proposed remediation waiting for, or past, a person's decision (../shared/CLI.md,
/// "From incidents to approved actions").
///
/// Times are Unix seconds: `created` is the data timestamp of the metrics row that raised it,
/// `raisedAt` the wall-clock moment it entered the queue, `expires` = `raisedAt` + TTL. Replaying
/// an old file therefore still gives a person the full TTL to decide.
public struct Recommendation: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case pending, approved, rejected, expired
    }

    public enum OutcomeResult: String, Codable, Sendable, CaseIterable {
        case success, failure
    }

    public var id: String
    public var service: String
    /// Stored by name (`scale_up`), so the database reads as the CLI speaks.
    var storedAction: StoredAction
    public var action: RemediationAction {
        get { storedAction.action }
        set { storedAction = StoredAction(newValue) }
    }
    public var confidence: Double
    public var created: Int64
    public var raisedAt: Int64
    public var expires: Int64
    public var status: Status
    /// Why, in words an approver reads: the features that drove the score, the policy's evidence.
    public var reasons: [String]
    /// Action parameters handed to the remediation layer (e.g. `replicas` for `scale_up`).
    public var parameters: [String: Int]
    /// What the policy saw, kept so that an outcome can be learned from.
    public var symptoms: Symptoms
    /// Actions already tried in this incident before this one (bitmask of `ActionSet`).
    public var tried: ActionSet
    public var decidedBy: String?
    public var decidedAt: Int64?
    /// The approver's comment, or the rejecter's reason.
    public var decisionNote: String?
    /// Stable key for the remediation layer to deduplicate hand-offs.
    public var idempotencyKey: String
    /// Whether the approved action's line is known to be in the outbox (false between the
    /// approval commit and the outbox write: recovery re-sends exactly those).
    public var outboxWritten: Bool
    public var outcome: OutcomeResult?
    public var recoverySeconds: Double?
    public var outcomeAt: Int64?

    public static let databaseTableName = "recommendation"

    enum CodingKeys: String, CodingKey, ColumnExpression {
        case storedAction = "action"
        case id, service, confidence, created, status, reasons, parameters, symptoms, tried, outcome, expires
        case raisedAt = "raised_at"
        case decidedBy = "decided_by"
        case decidedAt = "decided_at"
        case decisionNote = "decision_note"
        case idempotencyKey = "idempotency_key"
        case outboxWritten = "outbox_written"
        case recoverySeconds = "recovery_seconds"
        case outcomeAt = "outcome_at"
    }

    public init(id: String = "", service: String, action: RemediationAction, confidence: Double, created: Int64,
                raisedAt: Int64, expires: Int64, reasons: [String], parameters: [String: Int] = [:],
                symptoms: Symptoms, tried: ActionSet = []) {
        self.id = id
        self.service = service
        self.storedAction = StoredAction(action)
        self.confidence = confidence
        self.created = created
        self.raisedAt = raisedAt
        self.expires = expires
        self.status = .pending
        self.reasons = reasons
        self.parameters = parameters
        self.symptoms = symptoms
        self.tried = tried
        self.idempotencyKey = ""
        self.outboxWritten = false
    }
}

/// A `RemediationAction` coded as its name.
struct StoredAction: Codable, Sendable, Equatable {
    let action: RemediationAction

    init(_ action: RemediationAction) { self.action = action }

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let action = RemediationAction(name: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown action '\(name)'")
        }
        self.action = action
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(action.name)
    }
}

extension Recommendation {
    /// The record as the CLI and the HTTP API show it (`approvals show --json`): times in ISO 8601
    /// UTC, absent decisions as null.
    public var publicFields: [(String, PublicValue)] {
        var fields: [(String, PublicValue)] = [
            ("id", .text(id)), ("service", .text(service)), ("action", .text(action.name)),
            ("status", .text(status.rawValue)), ("confidence", .number(confidence)),
            ("created", .text(Timestamp.iso(created))), ("raised_at", .text(Timestamp.iso(raisedAt))),
            ("expires", .text(Timestamp.iso(expires))), ("reasons", .texts(reasons)),
            ("decided_by", decidedBy.map(PublicValue.text) ?? .null),
            ("decided_at", decidedAt.map { .text(Timestamp.iso($0)) } ?? .null),
            ("comment", status == .approved ? decisionNote.map(PublicValue.text) ?? .null : .null),
            ("reason", status == .rejected ? decisionNote.map(PublicValue.text) ?? .null : .null),
            ("idempotency_key", .text(idempotencyKey)),
            ("outcome", outcome.map { .text($0.rawValue) } ?? .null),
            ("recovery_seconds", recoverySeconds.map(PublicValue.number) ?? .null),
        ]
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) { fields.append((name, .integer(value))) }
        return fields
    }
}

/// A JSON value of the public record, rendered by `PublicValue.render` without Foundation's
/// key reordering, so fields keep the order above.
public enum PublicValue: Sendable, Equatable {
    case text(String), number(Double), integer(Int), texts([String]), null

    public static func render(_ fields: [(String, PublicValue)]) -> String {
        "{" + fields.map { "\(quote($0.0)):\($0.1.json)" }.joined(separator: ",") + "}"
    }

    public var json: String {
        switch self {
        case .text(let s): return PublicValue.quote(s)
        case .number(let x): return x.isFinite ? "\(x)" : "null"
        case .integer(let n): return "\(n)"
        case .texts(let list): return "[" + list.map(PublicValue.quote).joined(separator: ",") + "]"
        case .null: return "null"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
