import TriageCore

/// When an incident is beyond what the automated loop should keep trying alone: the fourth
/// health level, `critical`, and who gets the next recommendation then.
///
/// `unhealthy → critical` on the first of (checked in this order, on every row of an open
/// incident):
/// - `outcome_failed`: an action approved in this incident had its outcome recorded as a
///   failure (`triage outcome … --result failure`): the loop's best idea did not work;
/// - `heartbeat_lost`: the row's heartbeat age reached `heartbeatLostSeconds` (default 300 s:
///   twenty missed 15 s beats; the `heartbeat_peak_s.stale` symptom fires at 45 s, three
///   beats, and 300 s is Kubernetes' default pod-eviction timeout, after which it gives up on
///   a node that stopped reporting), once the incident has had its first recommendation. A
///   service found already silent (slow sampling or a late detection can put its first
///   unhealthy row past 300 s) gets the loop's first answer, as a dead process gets a restart
///   from Kubernetes' liveness probe before anyone is paged; still silent after it, a person.
///   (Escalating the first answer cost the demo's unseen days, sampled every 2 min, 4 of 60
///   right actions: restart became alert.)
/// - `incident_limit`: the incident has been open `incidentLimitSeconds` of data time (default
///   30 min: about the paging-to-fix time the policy assumes for a person, `RemediationPolicy`
///   prior's 40 min, less a margin: by then a person should be looking anyway).
///
/// A critical service's next recommendation is `alert` (a person), unless the policy's choice
/// is an untried action with strong evidence: at least `strongEvidenceAttempts` logged attempts
/// of that action in the state the decision used (default 20) and a confidence of at least
/// `strongEvidenceConfidence` (default 0.75; the confidence is the shrunk ending rate
/// endings / (attempts + 3), so 0.75 over 20 attempts means at least 18 fixed the incident).
/// Either way the reasons say that the incident is critical, why, and why this action.
/// `critical → healthy` follows the recovery rule of `unhealthy` (`HealthTracker`).
public struct CriticalEscalation: Codable, Sendable, Equatable {
    public var incidentLimitSeconds: Int64 = 1_800
    public var heartbeatLostSeconds = 300.0
    public var strongEvidenceAttempts = 20
    public var strongEvidenceConfidence = 0.75

    public init() {}

    public func validate() throws(EngineError) {
        guard (60...604_800).contains(incidentLimitSeconds) else {
            throw .outOfRange(field: "incident limit", value: "\(incidentLimitSeconds) s", expected: "1 min to 7 days")
        }
        guard heartbeatLostSeconds.isFinite, (1...86_400).contains(heartbeatLostSeconds) else {
            throw .outOfRange(field: "heartbeat-lost age", value: "\(heartbeatLostSeconds) s", expected: "1 s to 1 day")
        }
        guard (1...1_000_000).contains(strongEvidenceAttempts) else {
            throw .outOfRange(field: "strong-evidence attempts", value: "\(strongEvidenceAttempts)", expected: "1 to 1000000")
        }
        guard strongEvidenceConfidence.isFinite, (0...1).contains(strongEvidenceConfidence) else {
            throw .outOfRange(field: "strong-evidence confidence", value: "\(strongEvidenceConfidence)", expected: "0 to 1")
        }
    }

    public enum Cause: String, Codable, Sendable, CaseIterable {
        case outcomeFailed = "outcome_failed"
        case heartbeatLost = "heartbeat_lost"
        case incidentLimit = "incident_limit"
    }

    /// Why a service became critical: the cause, what was seen and the threshold it crossed
    /// (as text for events, reasons and the report).
    public struct Escalation: Codable, Sendable, Equatable {
        public var cause: Cause
        public var observed: String
        public var threshold: String

        public init(cause: Cause, observed: String, threshold: String) {
            self.cause = cause
            self.observed = observed
            self.threshold = threshold
        }

        public var sentence: String {
            switch cause {
            case .outcomeFailed: return "an approved action failed (\(observed))"
            case .heartbeatLost: return "heartbeat lost (\(observed) old, limit \(threshold))"
            case .incidentLimit: return "incident open \(observed) (limit \(threshold))"
            }
        }
    }

    /// The escalation due on a row of an open incident, or nil.
    /// - Parameters:
    ///   - failedAction: an action approved in this incident whose outcome was a failure.
    ///   - heartbeatAge: the row's heartbeat age, s (NaN: not reported; never "lost" by itself).
    ///   - recommended: whether the incident has had its first recommendation (heartbeat loss
    ///     escalates only after it).
    public func escalation(incidentStart: Int64, time: Int64, heartbeatAge: Double,
                           failedAction: RemediationAction?, recommended: Bool = true) -> Escalation? {
        if let failedAction {
            return Escalation(cause: .outcomeFailed, observed: failedAction.name, threshold: "a failed outcome")
        }
        if recommended, heartbeatAge.isFinite, heartbeatAge >= heartbeatLostSeconds {
            return Escalation(cause: .heartbeatLost, observed: "\(Self.seconds(heartbeatAge))",
                              threshold: "\(Self.seconds(heartbeatLostSeconds))")
        }
        let (open, overflow) = time.subtractingReportingOverflow(incidentStart)
        if !overflow, open >= incidentLimitSeconds {
            return Escalation(cause: .incidentLimit, observed: "\(Self.seconds(Double(open)))",
                              threshold: "\(Self.seconds(Double(incidentLimitSeconds)))")
        }
        return nil
    }

    /// Whether the policy's choice may stand in a critical incident instead of `alert`.
    public func hasStrongEvidence(attempts: Int, confidence: Double) -> Bool {
        attempts >= strongEvidenceAttempts && confidence >= strongEvidenceConfidence
    }

    static func seconds(_ x: Double) -> String {
        "\(RemediationEngine.format(x)) s"
    }
}
