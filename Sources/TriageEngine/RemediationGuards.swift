import TriageCore
import TriageData

/// The guards that keep remediation from causing an outage of its own (issue 16): a circuit
/// breaker per (service, action), a cooldown after an approved action, and caps on approvals
/// handed off per hour. Pure: the queue supplies the facts (`Facts`), the engine asks
/// `verdict(…)` which actions to leave out of the policy's choice and why.
///
/// - **Breakers** (`CircuitBreaker`): an open breaker's action is not recommended; the policy
///   chooses among the other allowed actions. A half-open one allows one trial recommendation,
///   and none while that trial waits for a decision or its outcome (a rejected or expired trial
///   was never run, so it frees the slot).
/// - **Cooldown**, in data time: after an approved automated action on a service, none is
///   recommended on it until `cooldownSeconds` after the data row that action was raised for
///   (the row the approver acted on). `alert` is exempt: paging a person changes nothing.
/// - **Caps**, in wall time: at most `approvalsPerHour` approvals handed off in the last hour in
///   all, and `approvalsPerServicePerHour` per service. The queue enforces them (fail closed): a
///   recommendation raised at a cap is marked held with the reason, and any approval that would
///   pass a cap is refused until the window allows it. `alert` neither counts nor is held, for
///   the cooldown's reason: holding a page would hide an incident from the people who must act.
public enum RemediationGuards {
    public struct Settings: Codable, Sendable, Equatable {
        public var breaker = CircuitBreaker.Settings()
        /// Data-time seconds after an approved automated action on a service before the next
        /// one (5 min: a restart or scale-out takes minutes to show its effect; 0 disables).
        public var cooldownSeconds: Int64 = 300
        /// Approvals handed off in any hour, all services together.
        public var approvalsPerHour = 20
        /// Approvals handed off in any hour on one service.
        public var approvalsPerServicePerHour = 3

        public init() {}

        /// The window the caps count approvals in.
        public static let capWindowSeconds: Int64 = 3_600

        public func validate() throws(EngineError) {
            try breaker.validate()
            guard (0...86_400).contains(cooldownSeconds) else {
                throw .outOfRange(field: "cooldown", value: "\(cooldownSeconds) s", expected: "0 s to 1 day")
            }
            guard (1...100_000).contains(approvalsPerHour) else {
                throw .outOfRange(field: "approvals per hour", value: "\(approvalsPerHour)", expected: "1–100000")
            }
            guard (1...100_000).contains(approvalsPerServicePerHour) else {
                throw .outOfRange(field: "approvals per service per hour", value: "\(approvalsPerServicePerHour)",
                                  expected: "1–100000")
            }
        }
    }

    /// One stored breaker of a service, with whether its half-open trial is taken.
    public struct BreakerFacts: Sendable, Equatable {
        public var action: RemediationAction
        public var breaker: CircuitBreaker
        /// The trial recommendation raised while half-open, when it still waits for a decision
        /// or for its outcome.
        public var pendingTrial: String?
        /// When that trial expires while it still waits for a decision (nil once approved): an
        /// expired trial never ran and frees the slot.
        public var pendingTrialExpires: Int64?

        public init(action: RemediationAction, breaker: CircuitBreaker, pendingTrial: String?, pendingTrialExpires: Int64?) {
            self.action = action
            self.breaker = breaker
            self.pendingTrial = pendingTrial
            self.pendingTrialExpires = pendingTrialExpires
        }
    }

    /// What the guards need to know of one service.
    public struct Facts: Sendable, Equatable {
        public var breakers: [BreakerFacts] = []
        /// The latest approved automated action on the service and the data time of its row.
        public var lastApproval: (action: RemediationAction, created: Int64)?

        public init() {}

        public static func == (a: Facts, b: Facts) -> Bool {
            a.breakers == b.breakers && a.lastApproval?.action == b.lastApproval?.action
                && a.lastApproval?.created == b.lastApproval?.created
        }
    }

    public struct Verdict: Sendable, Equatable {
        /// Actions not to recommend now.
        public var blocked = ActionSet()
        /// Actions whose breaker is half-open with its trial free: recommending one is the trial.
        public var trials = ActionSet()
        /// Why each blocked action (among the candidates) is left out.
        public var reasons: [String] = []
    }

    /// Which of `candidates` the guards leave out for a row of `service` at data time `time`,
    /// wall time `now`.
    public static func verdict(_ facts: Facts, service: String, candidates: ActionSet, time: Int64, now: Int64,
                               settings: Settings) -> Verdict {
        var verdict = Verdict()
        for b in facts.breakers.sorted(by: { $0.action < $1.action }) {
            switch b.breaker.state(at: now) {
            case .closed: continue
            case .open:
                verdict.blocked = verdict.blocked.adding(b.action)
                if candidates.contains(b.action) {
                    let until = b.breaker.retryAt.map(Timestamp.iso) ?? "?"
                    verdict.reasons.append("circuit breaker \(service)/\(b.action.name) is open (\(b.breaker.failures) of the "
                                           + "last \(b.breaker.outcomes) outcomes failed) until \(until): \(b.action.name) is not recommended")
                }
            case .halfOpen:
                if let trial = b.pendingTrial, (b.pendingTrialExpires ?? .max) > now {
                    verdict.blocked = verdict.blocked.adding(b.action)
                    if candidates.contains(b.action) {
                        verdict.reasons.append("circuit breaker \(service)/\(b.action.name) is half-open and its one trial "
                                               + "(\(trial)) awaits its outcome: \(b.action.name) is not recommended meanwhile")
                    }
                } else {
                    verdict.trials = verdict.trials.adding(b.action)
                }
            }
        }
        if settings.cooldownSeconds > 0, let last = facts.lastApproval {
            let (end, overflow) = last.created.addingReportingOverflow(settings.cooldownSeconds)
            if !overflow, time < end {
                let automated = ActionSet(RemediationAction.allCases.filter { $0 != .alert })
                let newlyBlocked = ActionSet(rawValue: automated.rawValue & ~verdict.blocked.rawValue & candidates.rawValue)
                verdict.blocked = verdict.blocked.union(automated)
                if !newlyBlocked.isEmpty {
                    verdict.reasons.append("cooldown: \(last.action.name) on \(service) was approved for the row of "
                                           + "\(Timestamp.iso(last.created)); no automated action before \(Timestamp.iso(end)) (alert only)")
                }
            }
        }
        return verdict
    }

    /// The reason a half-open breaker's trial carries.
    public static func trialReason(service: String, action: RemediationAction) -> String {
        "circuit breaker \(service)/\(action.name) is half-open: this is its one trial recommendation "
            + "(its success closes the breaker, its failure opens it again)"
    }
}
