/// Tabular Q-learning over remediation actions (Sutton & Barto, *Reinforcement Learning: An
/// Introduction*, 2nd ed., 2018, §6.5 eq. 6.8), with SARSA (§6.4, eq. 6.7) and expected SARSA
/// (§6.6, eq. 6.9) as alternative targets.
///
/// A state is an observation code (the discretised symptoms of an incident) plus the set of
/// actions already tried in it; an episode is one incident, an action is one remediation
/// attempt, and the reward is −(seconds of downtime the attempt took) − (the action's cost).
/// Tried actions are never offered again, so episodes are at most five steps long.
///
/// The update of eq. 6.8 is
///
///     Q(s, a) ← Q(s, a) + α [ r + γ · max_{a' ∈ A(s')} Q(s', a') − Q(s, a) ]
///
/// where A(s') is the *allowed* set: actions approved for the service and not yet tried.
///
/// **Batch learning from a log.** `fit` replays the logged transitions until the table stops
/// changing. With the sample-average step size α = 1/(w + n) (n = visits of (s, a), w = prior
/// weight) each sweep sets Q(s, a) to the mean of (w copies of the prior and) the n targets,
/// so the fixed point is the Q-function of the empirical model of the log — what repeated
/// Q-learning over the same experience converges to (the "certainty-equivalence" limit, Sutton
/// & Barto §6.3, batch TD).
///
/// **Actions the operators never tried.** A state–action pair with no logged transitions keeps
/// a *pessimistic prior*: the action's cost plus one typical failed attempt, followed by
/// escalating to a person (`alert`). It counts as `priorWeight` pseudo-observations (default 3),
/// so the greedy policy never prefers an action for which there is no evidence over one that
/// has worked, and one lucky success of a long shot (a rollback that happened to coincide with
/// a slow disk recovering) does not outrank a remedy that works reliably: the pessimism that
/// offline reinforcement learning needs against the optimiser's curse (cf. Kumar et al.,
/// "Conservative Q-Learning for Offline RL", NeurIPS 2020). Online exploration (`explore`) is
/// how such actions get tried — only within the approved set.
public struct QLearning: Codable, Sendable, Equatable {
    public struct Parameters: Codable, Sendable, Equatable {
        public enum Rule: String, Codable, Sendable, CaseIterable {
            case qLearning = "q-learning", sarsa, expectedSARSA = "expected-sarsa"
        }
        public var rule: Rule = .qLearning
        /// γ. Episodes are short and every one ends, so no discounting is needed: the return is
        /// exactly −(total downtime) − (total action cost).
        public var discount = 1.0
        /// ε of the ε-greedy behaviour policy (online exploration and the expected-SARSA target).
        public var explorationRate = 0.1
        /// Pseudo-observations given to the pessimistic prior: 3 keeps a single lucky outcome
        /// from overturning the prior while ~10 consistent ones dominate it.
        public var priorWeight = 3.0
        /// Online updates: fixed step size α (nil = sample average 1/(w + n)).
        public var onlineLearningRate: Double? = nil
        public var maxSweeps = 200
        public var tolerance = 1e-9

        public init(rule: Rule = .qLearning, discount: Double = 1.0, explorationRate: Double = 0.1,
                    priorWeight: Double = 3.0, onlineLearningRate: Double? = nil) {
            self.rule = rule
            self.discount = discount
            self.explorationRate = explorationRate
            self.priorWeight = priorWeight
            self.onlineLearningRate = onlineLearningRate
        }

        public func validate() throws(EstimatorError) {
            guard discount > 0 && discount <= 1 else {
                throw .invalidParameter(name: "discount", value: "\(discount)", expected: "in (0, 1]")
            }
            guard explorationRate >= 0 && explorationRate <= 1 else {
                throw .invalidParameter(name: "exploration rate", value: "\(explorationRate)", expected: "in [0, 1]")
            }
            guard priorWeight >= 0, priorWeight.isFinite else {
                throw .invalidParameter(name: "prior weight", value: "\(priorWeight)", expected: "≥ 0")
            }
            if let rate = onlineLearningRate, !(rate > 0 && rate <= 1) {
                throw .invalidParameter(name: "learning rate", value: "\(rate)", expected: "in (0, 1]")
            }
        }
    }

    public struct State: Hashable, Codable, Sendable, Comparable {
        public var observation: Int
        public var tried: ActionSet
        public init(observation: Int, tried: ActionSet = []) {
            self.observation = observation
            self.tried = tried
        }
        public static func < (a: State, b: State) -> Bool {
            (a.observation, a.tried.rawValue) < (b.observation, b.tried.rawValue)
        }
    }

    /// One logged attempt: in `state` the operator took `action`, it cost `reward` (≤ 0), and
    /// the incident either ended (`next == nil`) or continued in `next`, where the log's next
    /// attempt was `nextAction` (used by SARSA; nil when the log stops there).
    public struct Transition: Codable, Sendable, Equatable {
        public var state: State
        public var action: RemediationAction
        public var reward: Double
        public var next: State?
        public var nextAction: RemediationAction?
        public init(state: State, action: RemediationAction, reward: Double, next: State?,
                    nextAction: RemediationAction? = nil) {
            self.state = state
            self.action = action
            self.reward = reward
            self.next = next
            self.nextAction = nextAction
        }
    }

    public let parameters: Parameters
    /// Pessimistic prior value of each action (index = raw value).
    public let prior: [Double]
    /// Known states in ascending order, with their Q-values and visit counts (parallel arrays,
    /// so the encoding is independent of hashing order).
    public private(set) var states: [State]
    public private(set) var values: [[Double]]
    public private(set) var visits: [[Int]]
    /// How many of those visits ended the episode (the action fixed the incident).
    public private(set) var endings: [[Int]]
    private var index: [State: Int]

    enum CodingKeys: String, CodingKey { case parameters, prior, states, values, visits, endings }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        parameters = try c.decode(Parameters.self, forKey: .parameters)
        prior = try c.decode([Double].self, forKey: .prior)
        states = try c.decode([State].self, forKey: .states)
        values = try c.decode([[Double]].self, forKey: .values)
        visits = try c.decode([[Int]].self, forKey: .visits)
        endings = try c.decode([[Int]].self, forKey: .endings)
        let width = RemediationAction.incidentActions.count
        guard prior.count == width, values.count == states.count, visits.count == states.count,
              endings.count == states.count, values.allSatisfy({ $0.count == width }),
              visits.allSatisfy({ $0.count == width }), endings.allSatisfy({ $0.count == width }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "Q-table arrays disagree in size"))
        }
        index = Dictionary(states.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        guard index.count == states.count else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "Q-table repeats a state"))
        }
        do { try validate() } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: error.description))
        }
    }

    static let maximumVisits = 1 << 53
    /// Largest |Q-value|, prior or reward accepted: values are seconds of downtime plus costs,
    /// summed over at most six attempts, so 1e15 s (30 million years) is only reached by damage;
    /// the bound also keeps r + γ·Q far from overflowing to −∞.
    public static let maximumMagnitude = 1e15

    /// Checks a table read from a file or database, which online learning would otherwise build
    /// on: valid parameters, finite prior and Q-values, and 0 ≤ endings ≤ visits ≤ 2⁵³ for every
    /// pair (the bound keeps counts exact as Doubles in 1/(w + n), and `+= 1` from overflowing).
    public func validate() throws(EstimatorError) {
        try parameters.validate()
        guard parameters.maxSweeps >= 1, parameters.tolerance.isFinite, parameters.tolerance >= 0 else {
            throw .invalidParameter(name: "sweeps and tolerance", value: "\(parameters.maxSweeps), \(parameters.tolerance)",
                                    expected: "at least 1 sweep and a finite tolerance ≥ 0")
        }
        func bounded(_ x: Double) -> Bool { x.isFinite && abs(x) <= Self.maximumMagnitude }
        guard prior.allSatisfy(bounded) else {
            throw .invalidParameter(name: "prior", value: "\(prior)", expected: "one finite value per action, |value| ≤ 1e15")
        }
        for (s, row) in values.enumerated() where !row.allSatisfy(bounded) {
            throw .invalidParameter(name: "Q-values of state \(s)", value: "\(row)", expected: "finite numbers, |value| ≤ 1e15")
        }
        for s in 0..<visits.count {
            for a in 0..<visits[s].count where !((0...Self.maximumVisits).contains(visits[s][a])
                                                      && (0...visits[s][a]).contains(endings[s][a])) {
                throw .invalidParameter(name: "visit counts of state \(s)", value: "\(visits[s][a]) visits, \(endings[s][a]) endings",
                                        expected: "0 ≤ endings ≤ visits ≤ 2^53")
            }
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(parameters, forKey: .parameters)
        try c.encode(prior, forKey: .prior)
        try c.encode(states, forKey: .states)
        try c.encode(values, forKey: .values)
        try c.encode(visits, forKey: .visits)
        try c.encode(endings, forKey: .endings)
    }

    public static func == (a: QLearning, b: QLearning) -> Bool {
        a.parameters == b.parameters && a.prior == b.prior && a.states == b.states && a.values == b.values
            && a.visits == b.visits && a.endings == b.endings
    }

    /// An empty table (every value is the prior) to be filled online.
    public init(prior: [Double], parameters: Parameters = Parameters()) throws(EstimatorError) {
        try parameters.validate()
        guard prior.count == RemediationAction.incidentActions.count, prior.allSatisfy(\.isFinite) else {
            throw .invalidParameter(name: "prior", value: "\(prior)", expected: "one finite value per action")
        }
        self.parameters = parameters
        self.prior = prior
        states = []
        values = []
        visits = []
        endings = []
        index = [:]
    }

    /// Batch learning from logged transitions (see the type's documentation).
    ///
    /// - Complexity: O(sweeps × transitions × actions); sweeps ≤ episode length + 1 in practice
    ///   because tried sets only grow, so values settle from the longest episodes backwards.
    public static func fit(_ transitions: [Transition], prior: [Double],
                           parameters: Parameters = Parameters()) throws(EstimatorError) -> QLearning {
        var table = try QLearning(prior: prior, parameters: parameters)
        for t in transitions {
            guard t.reward.isFinite else {
                throw .invalidParameter(name: "reward", value: "\(t.reward)", expected: "a finite number")
            }
            guard !t.state.tried.contains(t.action) else {
                throw .invalidTarget("transition repeats action '\(t.action.name)' already tried in its state")
            }
            guard t.action.isIncidentAction else {
                throw .invalidTarget("action '\(t.action.name)' is not an incident action the learner chooses among")
            }
        }
        var all = Set<State>()
        for t in transitions {
            all.insert(t.state)
            if let next = t.next { all.insert(next) }
        }
        table.states = all.sorted()
        table.index = Dictionary(uniqueKeysWithValues: table.states.enumerated().map { ($1, $0) })
        let width = RemediationAction.incidentActions.count
        table.values = Array(repeating: prior, count: table.states.count)
        table.visits = Array(repeating: [Int](repeating: 0, count: width), count: table.states.count)
        table.endings = table.visits
        // Group transitions by (state, action) once; sweeps then only recompute means.
        var groups = [[Int]](repeating: [], count: table.states.count * width)
        for (k, t) in transitions.enumerated() {
            let s = table.index[t.state]!
            groups[s * width + t.action.rawValue].append(k)
            table.visits[s][t.action.rawValue] += 1
            if t.next == nil { table.endings[s][t.action.rawValue] += 1 }
        }
        let w = parameters.priorWeight
        for _ in 0..<parameters.maxSweeps {
            var change = 0.0
            var updated = table.values
            for s in 0..<table.states.count {
                for a in 0..<width where !groups[s * width + a].isEmpty {
                    var sum = w * prior[a]
                    for k in groups[s * width + a] { sum += table.target(transitions[k]) }
                    let value = sum / (w + Double(groups[s * width + a].count))
                    change = max(change, abs(value - table.values[s][a]))
                    updated[s][a] = value
                }
            }
            table.values = updated
            if change <= parameters.tolerance { break }
        }
        return table
    }

    /// r + γ · (value of the next state under the rule's target policy).
    func target(_ t: Transition) -> Double {
        guard let next = t.next else { return t.reward }
        let allowed = ActionSet.all.subtracting(next.tried)
        guard !allowed.isEmpty else { return t.reward }
        let q = actionValues(next)
        let value: Double
        switch parameters.rule {
        case .qLearning:
            value = allowed.actions.map { q[$0.rawValue] }.max()!
        case .sarsa:
            if let a = t.nextAction, allowed.contains(a) { value = q[a.rawValue] } else {
                value = allowed.actions.map { q[$0.rawValue] }.max()!
            }
        case .expectedSARSA:
            // π(a'|s') of ε-greedy: ε/|A| to every allowed action, plus 1 − ε to the greedy one.
            let actions = allowed.actions
            let greedy = actions.max { q[$0.rawValue] < q[$1.rawValue] || (q[$0.rawValue] == q[$1.rawValue] && $0 > $1) }!
            let eps = parameters.explorationRate
            value = actions.reduce(0) { $0 + eps / Double(actions.count) * q[$1.rawValue] } + (1 - eps) * q[greedy.rawValue]
        }
        return t.reward + parameters.discount * value
    }

    /// Q(s, ·), the prior for a state never seen.
    public func actionValues(_ state: State) -> [Double] {
        if let s = index[state] { return values[s] }
        return prior
    }

    /// Whether `state` has a row of its own (else `actionValues` is the prior).
    public func knows(_ state: State) -> Bool { index[state] != nil }

    /// Share of (s, a)'s visits that ended the episode, shrunk toward 0 by the prior's
    /// pseudo-observations: endings / (visits + w). A conservative chance that the action fixes
    /// the incident, 0 for a pair never tried.
    public func endingRate(_ state: State, _ action: RemediationAction) -> Double {
        guard let s = index[state] else { return 0 }
        return Double(endings[s][action.rawValue]) / (Double(visits[s][action.rawValue]) + parameters.priorWeight)
    }

    /// Logged attempts of `action` in `state` (0 for a state never seen).
    public func visitCount(_ state: State, _ action: RemediationAction) -> Int {
        guard action.isIncidentAction, let s = index[state] else { return 0 }
        return visits[s][action.rawValue]
    }

    /// Total logged visits of a state.
    public func visitCount(_ state: State) -> Int { index[state].map { visits[$0].reduce(0, +) } ?? 0 }

    /// Known observation codes (sorted, unique).
    public var observations: [Int] {
        var seen = [Int]()
        for s in states where seen.last != s.observation { seen.append(s.observation) }
        return seen
    }

    /// The greedy action among `allowed` minus the tried ones (lowest index on ties), or nil
    /// when nothing is allowed (the caller's `none`).
    public func greedyAction(_ state: State, allowed: ActionSet = .all) -> RemediationAction? {
        // Only the table's columns: an action outside the incident actions has no Q-value.
        let candidates = allowed.intersection(.all).subtracting(state.tried).actions
        let q = actionValues(state)
        var best: RemediationAction?
        for a in candidates where best == nil || q[a.rawValue] > q[best!.rawValue] { best = a }
        return best
    }

    /// ε-greedy exploration restricted to `allowed` (never an action outside it or already tried).
    public func explore(_ state: State, allowed: ActionSet, random: inout RandomSource) -> RemediationAction? {
        let candidates = allowed.intersection(.all).subtracting(state.tried).actions
        guard !candidates.isEmpty else { return nil }
        if random.bernoulli(parameters.explorationRate) {
            return candidates[random.integer(below: candidates.count)]
        }
        return greedyAction(state, allowed: allowed)
    }

    /// Online update from one observed outcome (`triage outcome` feedback): one step of the
    /// rule's update with α fixed (`onlineLearningRate`) or the sample average 1/(w + n).
    public mutating func update(_ t: Transition) throws(EstimatorError) {
        guard t.reward.isFinite, abs(t.reward) <= Self.maximumMagnitude else {
            throw .invalidParameter(name: "reward", value: "\(t.reward)", expected: "a finite number, |reward| ≤ 1e15")
        }
        guard !t.state.tried.contains(t.action) else {
            throw .invalidTarget("action '\(t.action.name)' was already tried in this incident")
        }
        // `scale_down` is a rule outside incidents: it has no column to learn into.
        guard t.action.isIncidentAction else {
            throw .invalidTarget("action '\(t.action.name)' is not an incident action the learner chooses among")
        }
        let s = insert(t.state)
        if let next = t.next { _ = insert(next) }
        let a = t.action.rawValue
        visits[s][a] += 1
        if t.next == nil { endings[s][a] += 1 }
        let alpha = parameters.onlineLearningRate ?? 1 / (parameters.priorWeight + Double(visits[s][a]))
        let target = target(t)
        values[s][a] += alpha * (target - values[s][a])
    }

    private mutating func insert(_ state: State) -> Int {
        if let s = index[state] { return s }
        // Keep states sorted so the encoding stays canonical.
        let position = states.firstIndex { state < $0 } ?? states.count
        states.insert(state, at: position)
        values.insert(prior, at: position)
        visits.insert([Int](repeating: 0, count: RemediationAction.incidentActions.count), at: position)
        endings.insert([Int](repeating: 0, count: RemediationAction.incidentActions.count), at: position)
        index = Dictionary(uniqueKeysWithValues: states.enumerated().map { ($1, $0) })
        return position
    }
}
