import Testing
@testable import TriageCore

/// A tiny log: observation 0; restart fails (−100, then alert −1000), scale_up succeeds (−50).
private func log() -> [QLearning.Transition] {
    let s0 = QLearning.State(observation: 0)
    let afterRestart = QLearning.State(observation: 0, tried: [ActionSet(.restart)])
    return [
        .init(state: s0, action: .restart, reward: -100, next: afterRestart, nextAction: .alert),
        .init(state: afterRestart, action: .alert, reward: -1000, next: nil),
        .init(state: s0, action: .scaleUp, reward: -50, next: nil),
    ]
}

private let prior: [Double] = [-5000, -5000, -5000, -5000, -4000]

@Test func batchQLearningReachesTheEmpiricalFixedPoint() throws {
    let q = try QLearning.fit(log(), prior: prior, parameters: .init(priorWeight: 0))
    let s0 = QLearning.State(observation: 0)
    let v = q.actionValues(s0)
    // Q(s0, restart) = −100 + max over untried at s1 (alert −1000; others keep the prior −5000).
    #expect(v[RemediationAction.restart.rawValue] == -1100)
    #expect(v[RemediationAction.scaleUp.rawValue] == -50)
    // Never tried: the pessimistic prior.
    #expect(v[RemediationAction.rollback.rawValue] == -5000)
    #expect(q.greedyAction(s0) == .scaleUp)
}

@Test func priorWeightShrinksRareEvidence() throws {
    let q = try QLearning.fit(log(), prior: prior, parameters: .init(priorWeight: 1))
    let v = q.actionValues(QLearning.State(observation: 0))
    #expect(v[RemediationAction.scaleUp.rawValue] == (-50 + -5000) / 2)
}

@Test func greedyAndExplorationStayInsideTheAllowedSet() throws {
    let q = try QLearning.fit(log(), prior: prior, parameters: .init(explorationRate: 1))
    let s0 = QLearning.State(observation: 0, tried: [ActionSet(.rollback)])
    let allowed = ActionSet([.restart, .rollback, .alert])
    #expect(q.greedyAction(s0, allowed: allowed) != .scaleUp)
    var random = RandomSource(seed: 3)
    for _ in 0..<500 {
        let a = try #require(q.explore(s0, allowed: allowed, random: &random))
        #expect(allowed.contains(a) && a != .rollback)
    }
    #expect(q.greedyAction(QLearning.State(observation: 0, tried: ActionSet.all)) == nil)
    #expect(q.explore(QLearning.State(observation: 0), allowed: [], random: &random) == nil)
}

@Test func sarsaFollowsTheLoggedNextActionAndExpectedSARSAAverages() throws {
    let s0 = QLearning.State(observation: 0)
    let s1 = QLearning.State(observation: 0, tried: [ActionSet(.restart)])
    let transitions: [QLearning.Transition] = [
        .init(state: s0, action: .restart, reward: -100, next: s1, nextAction: .alert),
        .init(state: s1, action: .alert, reward: -1000, next: nil),
        .init(state: s1, action: .failover, reward: -200, next: nil),
    ]
    let q = try QLearning.fit(transitions, prior: prior, parameters: .init(rule: .qLearning, priorWeight: 0))
    let sarsa = try QLearning.fit(transitions, prior: prior, parameters: .init(rule: .sarsa, priorWeight: 0))
    let r = RemediationAction.restart.rawValue
    #expect(q.actionValues(s0)[r] == -300)      // best next: failover
    #expect(sarsa.actionValues(s0)[r] == -1100) // the operators' next: alert
    let greedyOnly = try QLearning.fit(transitions, prior: prior, parameters: .init(rule: .expectedSARSA, explorationRate: 0, priorWeight: 0))
    #expect(greedyOnly.actionValues(s0)[r] == -300)
    let expected = try QLearning.fit(transitions, prior: prior, parameters: .init(rule: .expectedSARSA, explorationRate: 0.5, priorWeight: 0))
    // Allowed at s1: scale_up, rollback (prior −5000), failover (−200), alert (−1000).
    let average = (-5000.0 - 5000 - 200 - 1000) / 4
    #expect(abs(expected.actionValues(s0)[r] - (-100 + 0.5 * average + 0.5 * -200)) < 1e-9)
}

@Test func onlineUpdateMovesTowardTheOutcome() throws {
    var q = try QLearning(prior: prior, parameters: .init(priorWeight: 1))
    let s = QLearning.State(observation: 7)
    try q.update(.init(state: s, action: .failover, reward: -300, next: nil))
    #expect(q.actionValues(s)[RemediationAction.failover.rawValue] == (-5000 - 300) / 2)
    try q.update(.init(state: s, action: .failover, reward: -300, next: nil))
    #expect(abs(q.actionValues(s)[RemediationAction.failover.rawValue] - (-5000 - 600) / 3) < 1e-9)
    #expect(q.greedyAction(s) == .failover)
    #expect(throws: EstimatorError.self) {
        try q.update(.init(state: QLearning.State(observation: 7, tried: [ActionSet(.restart)]), action: .restart, reward: -1, next: nil))
    }
    #expect(throws: EstimatorError.self) { try q.update(.init(state: s, action: .restart, reward: .nan, next: nil)) }
}

@Test func invalidParametersAndTransitionsAreRefused() {
    #expect(throws: EstimatorError.self) { try QLearning(prior: [0, 0], parameters: .init()) }
    #expect(throws: EstimatorError.self) { try QLearning(prior: prior, parameters: .init(discount: 0)) }
    #expect(throws: EstimatorError.self) { try QLearning(prior: prior, parameters: .init(explorationRate: 2)) }
    let repeated = QLearning.Transition(state: QLearning.State(observation: 0, tried: [ActionSet(.alert)]), action: .alert, reward: -1, next: nil)
    #expect(throws: EstimatorError.self) { try QLearning.fit([repeated], prior: prior) }
}

@Test func codableRoundTripAndDeterministicEncoding() throws {
    let q = try QLearning.fit(log(), prior: prior)
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let data = try encoder.encode(q)
    let decoded = try JSONDecoder().decode(QLearning.self, from: data)
    #expect(decoded == q)
    #expect(try encoder.encode(decoded) == data)
    #expect(decoded.greedyAction(QLearning.State(observation: 0)) == .scaleUp)
}

import Foundation

/// A table read back from a file is checked like one built here: a damaged one is a decoding
/// error, not a table that online updates then build on (or trap on, for a count at Int.max).
@Test func decodingRefusesDamagedTables() throws {
    let table = try QLearning.fit(log(), prior: prior)
    let text = String(decoding: try JSONEncoder().encode(table), as: UTF8.self)
    #expect(try JSONDecoder().decode(QLearning.self, from: Data(text.utf8)) == table)
    var root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    let visits = try #require(root["visits"] as? [[Int]])
    let values = try #require(root["values"] as? [[Double]])
    let edits: [(String, Any)] = [
        ("visits", [[Int.max] + visits[0].dropFirst()] + visits.dropFirst()),
        ("visits", [[-1] + visits[0].dropFirst()] + visits.dropFirst()),
        ("endings", visits.map { $0.map { $0 + 1 } }),
        ("values", [[-1e300] + values[0].dropFirst()] + values.dropFirst()),
        ("prior", [1e16, 0, 0, 0, 0, 0].prefix(prior.count).map { $0 }),
    ]
    for (key, value) in edits {
        var damaged = root
        damaged[key] = value
        let data = try JSONSerialization.data(withJSONObject: damaged)
        #expect(throws: DecodingError.self, "\(key)") { try JSONDecoder().decode(QLearning.self, from: data) }
    }
    root["parameters"] = ["rule": "q-learning", "discount": 1, "explorationRate": 0.1, "priorWeight": -3,
                          "maxSweeps": 200, "tolerance": 1e-9]
    let negativeWeight = try JSONSerialization.data(withJSONObject: root)
    #expect(throws: DecodingError.self) { try JSONDecoder().decode(QLearning.self, from: negativeWeight) }
}
