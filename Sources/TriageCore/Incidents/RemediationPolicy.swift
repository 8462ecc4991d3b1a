/// The remediation policy of a bundle: symptoms → state → the learned Q-table's best allowed
/// action, with the reward definition it was trained under.
public struct RemediationPolicy: Codable, Sendable, Equatable {
    public var extractor: SymptomExtractor
    /// Cost of each action (`RemediationAction` order), seconds-equivalent.
    public var costs: [Double]
    public var learner: QLearning
    /// Summary of the log it was trained on.
    public var episodes: Int
    public var transitions: Int
    public var meanLoggedDowntime: Double
    public var meanLoggedReward: Double

    /// One incident as the learner sees it: its symptoms at detection and the attempts made.
    public struct Episode: Sendable {
        public var symptoms: Symptoms
        public var attempts: [(action: RemediationAction, seconds: Double, succeeded: Bool)]
        public init(symptoms: Symptoms, attempts: [(action: RemediationAction, seconds: Double, succeeded: Bool)]) {
            self.symptoms = symptoms
            self.attempts = attempts
        }
    }

    /// Learns from logged episodes by batch Q-learning (see `QLearning`).
    ///
    /// The pessimistic prior for an action never tried in a state is: the action's cost plus the
    /// log's mean failed-attempt time, then escalation to a person at the log's mean `alert`
    /// return (for `alert` itself, just that mean).
    public static func train(_ episodes: [Episode], extractor: SymptomExtractor = SymptomExtractor(),
                             costs: [Double] = RemediationAction.defaultCosts,
                             parameters: QLearning.Parameters = QLearning.Parameters()) throws(EstimatorError) -> RemediationPolicy {
        guard costs.count == RemediationAction.incidentActions.count, costs.allSatisfy({ (0...maximumCost).contains($0) }) else {
            throw .invalidParameter(name: "costs", value: "\(costs)", expected: "one cost per action in 0…1e9 seconds")
        }
        var transitions = [QLearning.Transition]()
        var alertReturns = [Double](), failedSeconds = [Double]()
        var downtime = 0.0, reward = 0.0
        for episode in episodes {
            if let outside = episode.attempts.first(where: { !$0.action.isIncidentAction }) {
                throw .invalidParameter(name: "episode action", value: outside.action.name,
                                        expected: "an incident action (\(RemediationAction.incidentNames.joined(separator: ", ")))")
            }
            var tried = ActionSet()
            let observation = episode.symptoms.code
            for (k, attempt) in episode.attempts.enumerated() {
                let r = -attempt.seconds - costs[attempt.action.rawValue]
                downtime += attempt.seconds
                reward += r
                if attempt.action == .alert { alertReturns.append(r) }
                if !attempt.succeeded && attempt.action != .alert { failedSeconds.append(attempt.seconds) }
                let state = QLearning.State(observation: observation, tried: tried)
                tried = tried.adding(attempt.action)
                let next = attempt.succeeded ? nil : QLearning.State(observation: observation, tried: tried)
                let nextAction = k + 1 < episode.attempts.count ? episode.attempts[k + 1].action : nil
                transitions.append(QLearning.Transition(state: state, action: attempt.action, reward: r, next: next,
                                                        nextAction: nextAction))
                if attempt.succeeded { break }
            }
        }
        // Without logged alerts, assume a person needs 40 minutes (a common paging-to-fix time).
        let escalation = alertReturns.isEmpty ? -2400 - costs[RemediationAction.alert.rawValue] : mean(alertReturns)
        let wasted = failedSeconds.isEmpty ? 300 : mean(failedSeconds)
        let prior = RemediationAction.incidentActions.map { a in
            a == .alert ? escalation : -costs[a.rawValue] - wasted + escalation
        }
        let learner = try QLearning.fit(transitions, prior: prior, parameters: parameters)
        let n = Double(max(1, episodes.count))
        return RemediationPolicy(extractor: extractor, costs: costs, learner: learner, episodes: episodes.count,
                                 transitions: transitions.count, meanLoggedDowntime: downtime / n,
                                 meanLoggedReward: reward / n)
    }

    /// The table state used for `symptoms` after `tried`: the exact one when the log saw it;
    /// otherwise the nearest observed symptom pattern (fewest level steps apart, then most
    /// visited, then lowest code) with the same tried set, so an unseen combination borrows
    /// from its closest known relative instead of falling back to the prior.
    public func state(for symptoms: Symptoms, tried: ActionSet) -> QLearning.State {
        let exact = QLearning.State(observation: symptoms.code, tried: tried)
        if learner.knows(exact) { return exact }
        var best: (distance: Int, visits: Int, state: QLearning.State)?
        for state in learner.states where state.tried == tried {
            let levels = Symptoms.levels(ofCode: state.observation)
            let distance = zip(levels, symptoms.levels).reduce(0) { $0 + abs($1.0 - $1.1) }
            let visits = learner.visitCount(state)
            if best == nil || distance < best!.distance || (distance == best!.distance && visits > best!.visits) {
                best = (distance, visits, state)
            }
        }
        return best?.state ?? exact
    }

    /// A recommendation with what supports it.
    public struct Recommendation: Sendable, Equatable {
        public var action: RemediationAction
        /// Conservative chance that the action fixes the incident (`QLearning.endingRate`) in
        /// the state the decision used.
        public var confidence: Double
        /// Q-value: expected −(downtime + cost) from here, seconds.
        public var expectedReward: Double
        /// Logged attempts behind the state the decision used.
        public var evidence: Int
        /// Logged attempts of this action in that state (what "strong evidence" counts).
        public var attempts: Int
        /// Whether the symptom pattern was seen in training (else the nearest one was used).
        public var exactMatch: Bool
    }

    /// The recommended action with its support (nil = `none`: nothing allowed is left).
    public func recommendation(_ symptoms: Symptoms, tried: ActionSet = [], allowed: ActionSet = .all) -> Recommendation? {
        let state = state(for: symptoms, tried: tried)
        guard let action = learner.greedyAction(state, allowed: allowed) else { return nil }
        return Recommendation(action: action, confidence: learner.endingRate(state, action),
                              expectedReward: learner.actionValues(state)[action.rawValue],
                              evidence: learner.visitCount(state), attempts: learner.visitCount(state, action),
                              exactMatch: state.observation == symptoms.code)
    }

    /// The longest time one remediation attempt may be charged when learning online: 7 days.
    ///
    /// An action's reward is −(seconds) − (its cost), and one update moves a Q-value by
    /// α ≈ 1/(w + n) of the difference, so a single absurd time (1e308, a typo, milliseconds
    /// given as seconds) used to outweigh every other outcome at once: the stored values went to
    /// −2.5e307. Attempts in the training logs last minutes to hours; a week is far beyond any
    /// real attempt, yet small enough that one outlier moves a value by at most ~2·10⁵ s.
    public static let maximumRecoverySeconds: Double = 604_800

    /// Largest action cost accepted from a file (seconds-equivalent; the defaults are minutes):
    /// with recovery times bounded too, every reward stays far inside `QLearning.maximumMagnitude`.
    public static let maximumCost: Double = 1e9

    /// The checks a policy from a file or database must pass before it recommends or learns
    /// (one cost per action, finite and non-negative; a valid symptom extractor and Q-table).
    public func validate() throws(EstimatorError) {
        guard costs.count == RemediationAction.incidentActions.count, costs.allSatisfy({ (0...Self.maximumCost).contains($0) }) else {
            throw .invalidParameter(name: "costs", value: "\(costs)", expected: "one cost per action in 0…1e9 seconds")
        }
        try extractor.validate()
        try learner.validate()
    }

    /// Online learning from one outcome (`triage outcome`): in an incident with `symptoms`,
    /// after `tried`, `action` took `seconds` (0…`maximumRecoverySeconds`) and fixed it or not.
    public mutating func learn(_ symptoms: Symptoms, tried: ActionSet, action: RemediationAction, seconds: Double,
                               succeeded: Bool) throws(EstimatorError) {
        guard seconds.isFinite, (0...Self.maximumRecoverySeconds).contains(seconds) else {
            throw .invalidParameter(name: "recovery seconds", value: "\(seconds)",
                                    expected: "a finite number of seconds in 0…\(Int(Self.maximumRecoverySeconds)) (7 days)")
        }
        try validate()
        guard action.isIncidentAction else {
            throw .invalidParameter(name: "action", value: action.name,
                                    expected: "an incident action (\(RemediationAction.incidentNames.joined(separator: ", ")))")
        }
        let state = QLearning.State(observation: symptoms.code, tried: tried)
        let next = succeeded ? nil : QLearning.State(observation: symptoms.code, tried: tried.adding(action))
        try learner.update(QLearning.Transition(state: state, action: action, reward: -seconds - costs[action.rawValue],
                                                next: next))
    }

    /// The recommended action (nil = `none`: nothing allowed is left).
    public func recommend(_ symptoms: Symptoms, tried: ActionSet = [], allowed: ActionSet = .all) -> RemediationAction? {
        learner.greedyAction(state(for: symptoms, tried: tried), allowed: allowed)
    }
}

func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(max(1, values.count)) }

extension RemediationPolicy {
    /// The learner's episodes from an incident log and the metrics it refers to: each incident's
    /// symptoms are read at its first attempt's start. Incidents whose start lies after the
    /// service's last metrics row have no symptoms and are returned in `skipped`; `used[i]` is
    /// the incident of `episodes[i]`.
    public static func episodes(_ incidents: [IncidentEpisode], series: [String: ServiceSeries],
                                baselines: [String: ServiceBaseline], extractor: SymptomExtractor = SymptomExtractor())
        -> (episodes: [Episode], used: [IncidentEpisode], skipped: [IncidentEpisode]) {
        var episodes = [Episode](), used = [IncidentEpisode](), skipped = [IncidentEpisode]()
        for incident in incidents {
            guard let s = series[incident.service],
                  let symptoms = extractor.symptoms(s, startRow: s.firstIndex(atOrAfter: incident.start),
                                                    baseline: baselines[incident.service]) else {
                skipped.append(incident)
                continue
            }
            episodes.append(Episode(symptoms: symptoms,
                                    attempts: incident.distinctPrefix.map { ($0.action, $0.seconds, $0.succeeded) }))
            used.append(incident)
        }
        return (episodes, used, skipped)
    }
}
