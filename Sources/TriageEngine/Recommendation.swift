import Foundation
import GRDB
import TriageCore
import TriageData

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
    /// The detector scores behind it (e.g. `iforest`, `autoencoder`, `stream`).
    public var scores: [String: Double]
    /// What the policy saw, kept so that an outcome can be learned from.
    public var symptoms: Symptoms
    /// Actions already tried in this incident before this one (bitmask of `ActionSet`).
    public var tried: ActionSet
    public var decidedBy: String?
    /// Who authenticated the decision: the OS account on the command line, the token's name over
    /// HTTP; nil for decisions recorded before the queue kept it (see `Decider`).
    public var decidedAccount: String?
    /// The front door of the decision; nil when unknown, as `decidedAccount`.
    public var decidedChannel: Decider.Channel?
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
    /// Why approving it was refused when it was raised (a rate cap reached), or nil. The
    /// approval itself checks the caps again, as of its own time.
    public var heldReason: String?
    /// Wall time from which the cap's window allowed an approval, as seen when it was raised.
    public var heldUntil: Int64?

    public static let databaseTableName = "recommendation"

    /// The JSON columns (reasons, parameters, scores, symptoms) are decoded by one decoder set
    /// up as GRDB's default, which makes a new one for every column of every record. Never
    /// mutated after this, so sharing it across threads is safe.
    private static let jsonDecoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dataDecodingStrategy = .base64
        decoder.dateDecodingStrategy = .millisecondsSince1970
        decoder.nonConformingFloatDecodingStrategy = .throw
        return decoder
    }()

    public static func databaseJSONDecoder(for column: String) -> JSONDecoder { jsonDecoder }

    /// The columns written, as the synthesised `Encodable` conformance would write them through
    /// GRDB (the JSON columns as compact JSON text with sorted keys), but without a `JSONEncoder`
    /// per column: encoding through `Codable` was half the cost of raising a recommendation.
    /// `Recommendation` still decodes through `Codable`; a test checks the two agree.
    public func encode(to container: inout PersistenceContainer) throws {
        guard scores.values.allSatisfy(\.isFinite) else {
            throw EncodingError.invalidValue(scores, .init(codingPath: [CodingKeys.scores], debugDescription: "a score is not finite"))
        }
        container[CodingKeys.id] = id
        container[CodingKeys.service] = service
        container[CodingKeys.storedAction] = action.name
        container[CodingKeys.confidence] = confidence
        container[CodingKeys.created] = created
        container[CodingKeys.raisedAt] = raisedAt
        container[CodingKeys.expires] = expires
        container[CodingKeys.status] = status.rawValue
        container[CodingKeys.reasons] = JSONValue.strings(reasons).serialized()
        container[CodingKeys.parameters] = JSONValue.object(parameters.mapValues(JSONValue.integer)).serialized()
        container[CodingKeys.scores] = JSONValue.object(scores.mapValues(JSONValue.number)).serialized()
        // Non-finite features are null, as `Symptoms.encode(to:)` writes them.
        container[CodingKeys.symptoms] = JSONValue.object([
            "features": .array(symptoms.features.map { $0.isFinite ? .number($0) : .null }),
            "levels": .array(symptoms.levels.map(JSONValue.integer)),
        ]).serialized()
        container[CodingKeys.tried] = Int(tried.rawValue)
        container[CodingKeys.decidedBy] = decidedBy
        container[CodingKeys.decidedAccount] = decidedAccount
        container[CodingKeys.decidedChannel] = decidedChannel?.rawValue
        container[CodingKeys.decidedAt] = decidedAt
        container[CodingKeys.decisionNote] = decisionNote
        container[CodingKeys.idempotencyKey] = idempotencyKey
        container[CodingKeys.outboxWritten] = outboxWritten
        container[CodingKeys.outcome] = outcome?.rawValue
        container[CodingKeys.recoverySeconds] = recoverySeconds
        container[CodingKeys.outcomeAt] = outcomeAt
        container[CodingKeys.heldReason] = heldReason
        container[CodingKeys.heldUntil] = heldUntil
    }

    enum CodingKeys: String, CodingKey, ColumnExpression {
        case storedAction = "action"
        case id, service, confidence, created, scores, status, reasons, parameters, symptoms, tried, outcome, expires
        case raisedAt = "raised_at"
        case decidedBy = "decided_by"
        case decidedAccount = "decided_account"
        case decidedChannel = "decided_channel"
        case decidedAt = "decided_at"
        case decisionNote = "decision_note"
        case idempotencyKey = "idempotency_key"
        case outboxWritten = "outbox_written"
        case recoverySeconds = "recovery_seconds"
        case outcomeAt = "outcome_at"
        case heldReason = "held_reason"
        case heldUntil = "held_until"
    }

    public init(id: String = "", service: String, action: RemediationAction, confidence: Double, created: Int64,
                raisedAt: Int64, expires: Int64, reasons: [String], parameters: [String: Int] = [:],
                scores: [String: Double] = [:], symptoms: Symptoms, tried: ActionSet = []) {
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
        self.scores = scores
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
    /// Writes the audit of a decision by `decider` at `now`.
    mutating func record(_ decider: Decider, at now: Int64) {
        decidedBy = decider.name
        decidedAccount = decider.account
        decidedChannel = decider.channel
        decidedAt = now
    }

    /// The record as the CLI and the HTTP API show it (`approvals show --json`): times in ISO 8601
    /// UTC, absent decisions as null, action parameters as top-level fields.
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(id), "service": .string(service), "action": .string(action.name),
            "status": .string(status.rawValue), "confidence": .number(confidence),
            "created": .string(Timestamp.iso(created)), "raised_at": .string(Timestamp.iso(raisedAt)),
            "expires": .string(Timestamp.iso(expires)), "reasons": .strings(reasons),
            "scores": .object(scores.mapValues(JSONValue.number)),
            "decided_by": decidedBy.map(JSONValue.string) ?? .null,
            "decided_account": decidedAccount.map(JSONValue.string) ?? .null,
            "decided_channel": decidedChannel.map { .string($0.rawValue) } ?? .null,
            "decided_at": decidedAt.map { .string(Timestamp.iso($0)) } ?? .null,
            "comment": status == .approved ? decisionNote.map(JSONValue.string) ?? .null : .null,
            "reason": status == .rejected ? decisionNote.map(JSONValue.string) ?? .null : .null,
            "idempotency_key": .string(idempotencyKey),
            "outcome": outcome.map { .string($0.rawValue) } ?? .null,
            "recovery_seconds": recoverySeconds.map(JSONValue.number) ?? .null,
            "parameters": .object(parameters.mapValues(JSONValue.integer)),
            // Held: raised at a rate cap, pending; `approve` is refused until the window allows.
            "held": .bool(status == .pending && heldReason != nil),
            "held_reason": heldReason.map(JSONValue.string) ?? .null,
            "held_until": heldUntil.map { .string(Timestamp.iso($0)) } ?? .null,
        ]
        for (name, value) in parameters where fields[name] == nil { fields[name] = .integer(value) }
        return .object(fields)
    }
}
