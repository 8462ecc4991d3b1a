import TriageCore
import TriageData

/// The critical state in the engine loop (`CriticalEscalation` has the rule).
extension RemediationEngine {
    /// The decisions of the open incident's recommendations, in the order they were raised, as
    /// the queue last showed them (copies refreshed once per call, `refreshQueueCopies`).
    func incidentDecisions(_ monitor: ServiceMonitor, queue: any ApprovalStore) throws(EngineError) -> [ApprovalQueue.Decision] {
        guard !monitor.incidentRecommendations.isEmpty else { return [] }
        try refreshQueueCopies(queue)
        let unknown = monitor.incidentRecommendations.filter { decisionCopies[$0] == nil }
        if !unknown.isEmpty {
            for (id, decision) in try queue.decisions(of: unknown) { decisionCopies[id] = decision }
        }
        var decisions = [ApprovalQueue.Decision]()
        decisions.reserveCapacity(monitor.incidentRecommendations.count)
        for id in monitor.incidentRecommendations {
            guard let decision = decisionCopies[id] else { throw EngineError.notFound(id: id) }
            decisions.append(decision)
        }
        return decisions
    }

    /// The escalation due on this row of an unhealthy service, or nil.
    func criticalEscalation(_ monitor: ServiceMonitor, time: Int64, values: [Double], now: Int64) throws(EngineError)
        -> CriticalEscalation.Escalation? {
        guard let start = monitor.incidentStart else { return nil }
        var failed: RemediationAction?
        if let queue, !monitor.incidentRecommendations.isEmpty {
            // Asked on every unhealthy row: a scan of the copies, no array of decisions.
            try refreshQueueCopies(queue)
            for id in monitor.incidentRecommendations {
                if decisionCopies[id] == nil, let decision = try queue.decisions(of: [id])[id] { decisionCopies[id] = decision }
                if let decision = decisionCopies[id], decision.status == .approved, decision.outcome == .failure {
                    failed = decision.action
                    break
                }
            }
        }
        return settings.critical.escalation(incidentStart: start, time: time,
                                            heartbeatAge: values[ServiceMetric.heartbeatAge.rawValue], failedAction: failed,
                                            recommended: !monitor.incidentRecommendations.isEmpty || monitor.raisedWithoutQueue)
    }

    /// What a critical service gets instead of the policy's `choice`: `alert` (a person) unless
    /// the choice is an untried action with strong evidence; with the reason an approver reads
    /// first. Nil when neither is possible (alert already tried or refused, and the choice
    /// lacks strong evidence).
    func criticalChoice(_ choice: RemediationPolicy.Recommendation, policy: RemediationPolicy, symptoms: Symptoms,
                        tried: ActionSet, allowed: ActionSet, escalation: CriticalEscalation.Escalation?)
        -> (RemediationPolicy.Recommendation, String)? {
        let rule = settings.critical
        let why = "critical: " + (escalation?.sentence ?? "escalated")
        if choice.action == .alert {
            return (choice, why + "; escalated to a person (alert)")
        }
        if rule.hasStrongEvidence(attempts: choice.attempts, confidence: choice.confidence) {
            return (choice, why + "; \(choice.action.name) kept: strong evidence (\(choice.attempts) logged attempts, "
                    + "\(Self.percent(choice.confidence)) confidence; the rule asks ≥ \(rule.strongEvidenceAttempts) and ≥ "
                    + "\(Self.percent(rule.strongEvidenceConfidence)))")
        }
        guard allowed.contains(.alert),
              let alert = policy.recommendation(symptoms, tried: tried, allowed: ActionSet(.alert)) else { return nil }
        return (alert, why + "; escalated to a person (alert): \(choice.action.name) has \(choice.attempts) logged attempts at "
                + "\(Self.percent(choice.confidence)) confidence, short of strong evidence (≥ \(rule.strongEvidenceAttempts) "
                + "attempts and ≥ \(Self.percent(rule.strongEvidenceConfidence)))")
    }

    static func percent(_ x: Double) -> String { "\(Int((x * 100).rounded())) %" }
}
