import Foundation
import TriageCore
import TriageData

/// Replica counts by the HPA rule in the engine loop (`HorizontalScalingRule` has the rule,
/// `ScalingTargets` the targets, `ScaleDownStabilisation` the window).
extension RemediationEngine {
    /// The row's replica count, when it is a usable whole number.
    static func replicas(_ values: [Double]) -> Int? {
        let current = values[ServiceMetric.replicas.rawValue]
        guard current.isFinite, current >= 1, current < Double(ScalingTargets.replicaLimit) * 10 else { return nil }
        return Int(current.rounded())
    }

    /// A service's targets and bounds: fixed for the engine's life (settings and baselines do
    /// not change), so worked out once per monitor instead of two dictionary lookups a row.
    func scalingTargets(_ monitor: inout ServiceMonitor, service: String) -> ScalingTargets.Resolved {
        if let known = monitor.scalingTargets { return known }
        let resolved = settings.scalingTargets.resolved(service: service, baseline: detectors.baselines[service])
        monitor.scalingTargets = resolved
        return resolved
    }

    /// The HPA rule on a row of a service with `targets`, or nil without a replica count.
    func scalingProposal(targets: ScalingTargets.Resolved, values: [Double]) -> HorizontalScalingRule.Proposal? {
        guard let current = Self.replicas(values) else { return nil }
        let signals = ScalingTargets.signals(values: values, replicas: current, targets: targets)
        return settings.scaling.propose(current: current, cpu: signals.cpu, requestRate: signals.requestRate, bounds: targets.bounds)
    }

    /// The HPA rule on a row of `service`, or nil without a replica count.
    func scalingProposal(service: String, values: [Double]) -> HorizontalScalingRule.Proposal? {
        scalingProposal(targets: settings.scalingTargets.resolved(service: service, baseline: detectors.baselines[service]),
                        values: values)
    }

    /// `scale_up`'s `replicas`: the HPA rule's count, at least one more than now (the policy
    /// chose to add capacity, whatever the utilisation says), at most the service's maximum.
    /// Nil without a replica count; no parameter when the service is already at its maximum.
    func scaleUpParameters(service: String, values: [Double]) -> (parameters: [String: Int], reason: String)? {
        guard let proposal = scalingProposal(service: service, values: values) else { return nil }
        let bounds = settings.scalingTargets.resolved(service: service, baseline: detectors.baselines[service]).bounds
        let wanted = min(bounds.upperBound, max(proposal.desired, proposal.current + 1))
        guard wanted > proposal.current else {
            return ([:], "scaling: already at its maximum of \(bounds.upperBound) replicas")
        }
        return (["replicas": wanted], "scaling: " + Self.describe(proposal, bounds: bounds, wanted: wanted))
    }

    /// Raises `scale_down` when the stabilisation window says it is due (healthy services only).
    func scaleDown(_ monitor: inout ServiceMonitor, service: String, time: Int64, values: [Double],
                   score: BundleDetectors.RowScore, now: Int64) throws(EngineError) -> Recommendation? {
        // A bundle without a policy raises nothing (detection only), as for incidents.
        guard hasPolicy else { return nil }
        let healthy = monitor.tracker.state == .healthy
        let proposal = healthy ? scalingProposal(targets: scalingTargets(&monitor, service: service), values: values) : nil
        let window = settings.scaling.scaleDownStabilisationSeconds
        if let id = monitor.scaleDown.pending {
            if id.isEmpty {
                monitor.scaleDown.dropUnqueued(replicas: proposal?.current, healthy: healthy)
            } else if healthy, let queue, monitor.scaleDown.shouldCheckPending(at: time, window: window) {
                try refreshQueueCopies(queue)
                if decisionCopies[id] == nil, let decision = try queue.decisions(of: [id])[id] { decisionCopies[id] = decision }
                // Gone from the queue (a purged database) counts as decided.
                if decisionCopies[id]?.status(at: now) ?? .expired != .pending { monitor.scaleDown.decided(at: time) }
            }
        }
        guard let replicas = monitor.scaleDown.observe(time: time, healthy: healthy, proposal: proposal, window: window),
              let proposal else { return nil }
        if let queue {
            // The guards hold for scale_down as for incident actions: an open breaker or the
            // cooldown after an approved action leaves it out, and it is asked again on a later
            // row (the stabilisation window stays satisfied while the signal stays low).
            let verdict = RemediationGuards.verdict(try guardFacts(queue, service: service, now: now), service: service,
                                                    candidates: ActionSet(.scaleDown), time: time, now: now,
                                                    settings: settings.guards)
            if verdict.blocked.contains(.scaleDown) { return nil }
        }
        let bounds = scalingTargets(&monitor, service: service).bounds
        let reasons = [
            "scaling: " + Self.describe(proposal, bounds: bounds, wanted: replicas),
            "below target on every row for at least \(Self.format(Double(window) / 60)) min (the stabilisation window); "
                + "\(replicas) is the highest count asked for in it",
            "healthy: no incident open",
        ]
        let recommendation = Recommendation(
            service: service, action: .scaleDown, confidence: 1, created: time, raisedAt: now,
            expires: now + settings.ttlSeconds, reasons: reasons, parameters: ["replicas": replicas],
            scores: Self.scores(score), symptoms: Symptoms(features: [], levels: []), tried: [])
        guard let queue else {
            monitor.scaleDown.raised(id: "")
            return recommendation
        }
        let raised = try queue.raise(recommendation).recommendation
        decisionCopies[raised.id] = ApprovalQueue.Decision(status: raised.status, action: raised.action, expires: raised.expires,
                                                           outcome: raised.outcome)
        monitor.scaleDown.raised(id: raised.id)
        return raised
    }

    /// "cpu 20 % per replica against a target of 45 % → ceil(4 × 0.44) = 2 (bounds 1–12)".
    static func describe(_ proposal: HorizontalScalingRule.Proposal, bounds: ClosedRange<Int>, wanted: Int) -> String {
        guard let signal = proposal.deciding, let ratio = signal.ratio else {
            return "no utilisation signal against a target: \(wanted) replicas (now \(proposal.current), bounds \(bounds.lowerBound)–\(bounds.upperBound))"
        }
        let name = signal.metric == .cpu ? "CPU \(format(signal.current)) %" : "request rate \(format(signal.current))/s per replica"
        let target = signal.metric == .cpu ? "\(format(signal.target)) %" : "\(format(signal.target))/s"
        return "HPA rule: \(name) against a target of \(target) → ceil(\(proposal.current) × \(String(format: "%.2f", ratio))) "
            + "= \(HorizontalScalingRule.desiredReplicas(current: proposal.current, ratio: ratio, tolerance: 0)) replicas; "
            + "\(wanted) within bounds \(bounds.lowerBound)–\(bounds.upperBound) (now \(proposal.current))"
    }
}
