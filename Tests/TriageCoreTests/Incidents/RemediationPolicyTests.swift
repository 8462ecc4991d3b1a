import Testing
@testable import TriageCore

private func record(_ id: String, _ service: String, _ start: Int64, _ end: Int64, _ action: RemediationAction,
                    _ ok: Bool, line: Int) -> IncidentRecord {
    IncidentRecord(id: id, service: service, start: start, end: end, fault: "f", action: action, succeeded: ok,
                   seconds: Double(end - start), line: line)
}

@Test func attemptsGroupIntoIncidentsByAdjacency() {
    let records = [
        record("a-1", "s1", 100, 200, .restart, false, line: 2),
        record("b-1", "s2", 150, 160, .alert, true, line: 3),
        record("a-2", "s1", 200, 500, .rollback, true, line: 4),
        record("c-1", "s1", 900, 950, .restart, true, line: 5),  // after a success: new incident
        record("d-1", "s1", 2000, 2100, .restart, false, line: 6),
        record("e-1", "s1", 5000, 5100, .restart, true, line: 7), // long gap: new incident
    ]
    let episodes = IncidentRecord.episodes(records)
    #expect(episodes.map { $0.attempts.map(\.id) } == [["a-1", "a-2"], ["b-1"], ["c-1"], ["d-1"], ["e-1"]])
    let repeated = IncidentEpisode(service: "s", attempts: [records[0], record("x", "s", 200, 300, .restart, true, line: 9)])
    #expect(repeated.distinctPrefix.count == 1)
}

@Test func policyLearnsTheActionThatWorksPerSymptom() throws {
    let a = Symptoms(features: [], levels: [1, 1, 0, 0, 1, 0, 0])
    let b = Symptoms(features: [], levels: [2, 2, 1, 0, 0, 0, 0])
    var episodes = [RemediationPolicy.Episode]()
    for _ in 0..<5 {
        episodes.append(.init(symptoms: a, attempts: [(.scaleUp, 300, false), (.restart, 100, true)]))
        episodes.append(.init(symptoms: a, attempts: [(.restart, 100, true)]))
        episodes.append(.init(symptoms: b, attempts: [(.restart, 400, false), (.scaleUp, 200, true)]))
        episodes.append(.init(symptoms: b, attempts: [(.alert, 2000, true)]))
    }
    let policy = try RemediationPolicy.train(episodes)
    #expect(policy.recommend(a) == .restart)
    // In b nobody tried scale_up first, so it keeps the pessimistic prior: restart then scale_up
    // (−1441 expected) beats paging a person (−2300) and an untried first scale_up (−2770).
    #expect(policy.recommend(b) == .restart)
    #expect(policy.recommend(b, tried: [ActionSet(.restart)]) == .scaleUp)
    // (b, tried scale_up) was never logged: it borrows the nearest pattern with the same tried
    // set, a, where restart worked after scale_up.
    #expect(policy.recommend(b, tried: [ActionSet(.scaleUp)]) == .restart)
    // A tried set the log never reached anywhere falls back on the prior: escalation is least bad.
    #expect(policy.recommend(b, tried: [ActionSet(.failover)]) == .alert)
    #expect(policy.recommend(a, allowed: [ActionSet(.alert)]) == .alert)
    #expect(policy.recommend(a, allowed: []) == nil)
    // An unseen pattern one level from `a` borrows a's row.
    let nearA = Symptoms(features: [], levels: [1, 1, 1, 0, 1, 0, 0])
    #expect(policy.recommend(nearA) == .restart)
    #expect(policy.episodes == 20 && policy.transitions == 30)
}

@Test func recommendationsCarryConfidenceAndOutcomesUpdateThePolicy() throws {
    let a = Symptoms(features: [], levels: [1, 1, 0, 0, 1, 0, 0])
    var episodes = [RemediationPolicy.Episode]()
    for k in 0..<7 { episodes.append(.init(symptoms: a, attempts: [(.restart, 100, k != 0), (.alert, 2000, true)].prefix(k == 0 ? 2 : 1).map { $0 })) }
    var policy = try RemediationPolicy.train(episodes)
    let r = try #require(policy.recommendation(a))
    #expect(r.action == .restart && r.exactMatch && r.evidence == 7)
    #expect(abs(r.confidence - 6.0 / (7 + 3)) < 1e-12)
    // Failover works every time it is tried online; after enough outcomes it takes over.
    for _ in 0..<30 { try policy.learn(a, tried: [], action: .failover, seconds: 20, succeeded: true) }
    #expect(policy.recommend(a) == .failover)
    #expect(throws: EstimatorError.self) { try policy.learn(a, tried: [], action: .restart, seconds: -1, succeeded: true) }
}

/// One `outcome` of 1e308 s drove the learned values to −2.5e307: an attempt's time is bounded.
@Test func learningTakesOnlyBoundedRecoveryTimes() throws {
    let a = Symptoms(features: [], levels: [1, 1, 0, 0, 1, 0, 0])
    var policy = try RemediationPolicy.train([.init(symptoms: a, attempts: [(.restart, 100, true)])])
    let before = policy
    let limit = RemediationPolicy.maximumRecoverySeconds
    for bad in [1e308, .infinity, .nan, -1, limit.nextUp] {
        #expect(throws: EstimatorError.invalidParameter(name: "recovery seconds", value: "\(bad)",
                                                        expected: "a finite number of seconds in 0…604800 (7 days)")) {
            try policy.learn(a, tried: [], action: .failover, seconds: bad, succeeded: false)
        }
    }
    #expect(policy == before)
    try policy.learn(a, tried: [], action: .failover, seconds: limit, succeeded: false)
    #expect(policy.learner.values.joined().allSatisfy { $0.isFinite && $0 > -10 * limit })
}

/// A policy read back from a file or database is checked like one built here.
@Test func decodedPolicyIsValidated() throws {
    let a = Symptoms(features: [], levels: [1, 1, 0, 0, 1, 0, 0])
    let policy = try RemediationPolicy.train([.init(symptoms: a, attempts: [(.restart, 100, true)])])
    try policy.validate()
    var wrongCosts = policy
    wrongCosts.costs = [1]
    #expect(throws: EstimatorError.self) { try wrongCosts.validate() }
    wrongCosts.costs = policy.costs.map { _ in -1 }
    #expect(throws: EstimatorError.self) { try wrongCosts.validate() }
    // Finite but absurd: a cost of 1e300 s would push r + γ·Q to −∞ within a few updates.
    wrongCosts.costs = policy.costs.map { _ in 1e300 }
    #expect(throws: EstimatorError.self) { try wrongCosts.validate() }
    #expect(throws: EstimatorError.self) {
        try RemediationPolicy.train([.init(symptoms: a, attempts: [(.restart, 100, true)])], costs: wrongCosts.costs)
    }
}

/// `scale_down` is an action Triage names but the learner never chooses: the Q-table, costs and
/// priors keep five columns, "every action" means the five incident actions, and neither
/// training nor online learning accepts it.
@Test func scaleDownIsOutsideTheLearnersActionSpace() throws {
    #expect(RemediationAction(name: "scale_down") == .scaleDown && RemediationAction.scaleDown.rawValue == 5)
    #expect(RemediationAction.incidentActions.map(\.name) == ["restart", "scale_up", "rollback", "failover", "alert"])
    #expect(RemediationAction.names.last == "scale_down" && RemediationAction.incidentNames.count == 5)
    #expect(!ActionSet.all.contains(.scaleDown) && ActionSet.all.count == 5)
    let a = Symptoms(features: [], levels: [1, 1, 0, 0, 1, 0, 0])
    #expect(throws: EstimatorError.self) {
        _ = try RemediationPolicy.train([.init(symptoms: a, attempts: [(.scaleDown, 60, true)])])
    }
    var policy = try RemediationPolicy.train([.init(symptoms: a, attempts: [(.restart, 60, true)])])
    #expect(policy.learner.prior.count == 5 && policy.costs.count == 5)
    #expect(throws: EstimatorError.self) { try policy.learn(a, tried: [], action: .scaleDown, seconds: 60, succeeded: true) }
    var table = policy.learner
    #expect(throws: EstimatorError.self) {
        try table.update(QLearning.Transition(state: .init(observation: a.code, tried: []), action: .scaleDown, reward: -1, next: nil))
    }
    // Allowed everything, including scale_down: the greedy choice stays among the five, and
    // allowed only scale_down, nothing (the caller's `none`), not a trap on a missing column.
    let state = QLearning.State(observation: a.code, tried: [])
    #expect(policy.learner.greedyAction(state, allowed: ActionSet(RemediationAction.allCases)) == .restart)
    #expect(policy.learner.greedyAction(state, allowed: ActionSet(.scaleDown)) == nil)
    #expect(policy.learner.visitCount(state, .restart) == 1 && policy.learner.visitCount(state, .scaleDown) == 0)
}
