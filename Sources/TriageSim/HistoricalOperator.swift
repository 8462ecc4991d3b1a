import TriageCore

/// The simulated on-call engineers whose choices fill incidents.csv: mostly sensible,
/// sometimes wrong, sometimes slow.
///
/// For each attempt they diagnose the fault correctly with `diagnosis` and take its remedy;
/// otherwise they fall back on habit (`restart`, "turn it off and on again") with `habit`, or
/// pick any untried action. After `patience` failed attempts they page a person with
/// `escalation`. In `slowFraction` of incidents they respond late (paged at night, busy), adding
/// a uniform 10–30 minutes to the first attempt.
public struct HistoricalOperator: Sendable {
    public var diagnosis = 0.6
    public var habit = 0.5
    public var patience = 2
    public var escalation = 0.7
    public var slowFraction = 0.15
    public var slowDelay: ClosedRange<Double> = 600...1800

    public init() {}

    /// Plays `fault` with this operator's choices; `random` drives the choices only (outcomes
    /// come from `draws`, shared with every other policy on the same episode).
    public func play(_ fault: Fault, model: IncidentModel, draws: EpisodeDraws,
                     random: inout RandomSource) -> EpisodeResult {
        let slow = random.bernoulli(slowFraction) ? random.uniform(slowDelay.lowerBound, slowDelay.upperBound).rounded() : 0
        var choices = [RemediationAction]()
        // Choices are drawn before playing so the closure needs no mutable capture.
        var tried = ActionSet()
        for k in 0..<RemediationAction.incidentActions.count {
            let action = choose(fault, tried: tried, attempt: k, random: &random)
            choices.append(action)
            tried = tried.adding(action)
            if action == .alert { break }
        }
        return model.play(fault, draws: draws, extraLatency: { $0 == 0 ? slow : 0 }) { _, k in
            k < choices.count ? choices[k] : nil
        }
    }

    func choose(_ fault: Fault, tried: ActionSet, attempt: Int, random: inout RandomSource) -> RemediationAction {
        let untried = ActionSet.all.subtracting(tried)
        if attempt >= patience && untried.contains(.alert) && random.bernoulli(escalation) { return .alert }
        if untried.contains(fault.bestAction) && random.bernoulli(diagnosis) { return fault.bestAction }
        if untried.contains(.restart) && random.bernoulli(habit) { return .restart }
        let options = untried.actions
        return options[random.integer(below: options.count)]
    }
}
