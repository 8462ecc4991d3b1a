import TriageCore
import TriageData

/// The detector verdict on one row of a service.
public struct ScoreEvent: Sendable {
    public var service: String
    public var time: Int64
    public var score: BundleDetectors.RowScore
    public var anomalous: Bool
    public var state: HealthState
}

/// What the engine reports, one `--events` JSON line each (../shared/CLI.md: every event has
/// `timestamp`, `service` and `type`).
public enum EngineEvent: Sendable {
    case score(ScoreEvent)
    /// A change of health state; one into `critical` carries why (cause, what was seen, the
    /// threshold crossed).
    case state(service: String, time: Int64, from: HealthState, to: HealthState, escalation: CriticalEscalation.Escalation? = nil)
    /// Boxed: a recommendation is many times the size of the other payloads, and an unboxed one
    /// made every event (one `score` event a row) that large to copy — the guards' two fields
    /// added 3 % to the engine loop's instructions until it was boxed (BENCHMARKS.md, guards).
    indirect case recommendation(Recommendation)
    /// A row of a service the bundle has no baseline for: not scored.
    case unknownService(service: String, time: Int64)

    public var type: String {
        switch self {
        case .score: return "score"
        case .state: return "state"
        case .recommendation: return "recommendation"
        case .unknownService: return "unknown_service"
        }
    }

    public var json: JSONValue {
        switch self {
        case .score(let e):
            var fields: [String: JSONValue] = [
                "timestamp": .string(Timestamp.iso(e.time)), "service": .string(e.service), "type": .string("score"),
                "anomalous": .bool(e.anomalous), "state": .string(e.state.rawValue),
            ]
            if let s = e.score.isolationForest { fields["iforest"] = .number(s.score) }
            if let s = e.score.autoencoder { fields["autoencoder"] = .number(s.score) }
            let features = e.score.features
            if let top = features.indices.max(by: { abs(features[$0]) < abs(features[$1]) }), features[top] != 0 {
                fields["top_feature"] = .string(ServiceFeatureExtractor.featureNames[top])
            }
            return .object(fields)
        case .state(let service, let time, let from, let to, let escalation):
            var fields: [String: JSONValue] = [
                "timestamp": .string(Timestamp.iso(time)), "service": .string(service), "type": .string("state"),
                "from": .string(from.rawValue), "state": .string(to.rawValue),
            ]
            if let escalation {
                fields["cause"] = .string(escalation.cause.rawValue)
                fields["observed"] = .string(escalation.observed)
                fields["threshold"] = .string(escalation.threshold)
            }
            return .object(fields)
        case .recommendation(let r):
            guard case .object(var fields) = r.json else { return r.json }
            fields["timestamp"] = .string(Timestamp.iso(r.created))
            fields["type"] = .string("recommendation")
            // Without a queue (no --db) nothing was stored: there is no id to approve.
            if r.id.isEmpty { fields["id"] = .null; fields["idempotency_key"] = .null }
            return .object(fields)
        case .unknownService(let service, let time):
            return .object(["timestamp": .string(Timestamp.iso(time)), "service": .string(service),
                            "type": .string("unknown_service")])
        }
    }
}

extension EngineEvent {
    /// A `heartbeat` event: the engine is alive while waiting for data, with a service's last
    /// row time, its state and the rows read so far (a consumer can tell a quiet service from a
    /// stalled pipeline). Not a case of `EngineEvent`: the engine never emits it from a row; the
    /// front door that waits for rows does, on its own clock.
    public static func heartbeat(service: String, time: Int64, lastRow: Int64, state: HealthState, rows: Int) -> JSONValue {
        .object([
            "timestamp": .string(Timestamp.iso(time)), "service": .string(service), "type": .string("heartbeat"),
            "last_row": .string(Timestamp.iso(lastRow)), "state": .string(state.rawValue), "rows": .integer(rows),
        ])
    }
}
