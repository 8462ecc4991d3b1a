import Testing
@testable import TriageCore

@Test func valueIterationSolvesAStochasticShortestPath() {
    // State 0: action 0 ends for −10 with p = 0.5, else goes to state 1; action 1 ends for −30.
    // State 1: action 0 ends for −100.
    // Q(0, 0) = −10 + 0.5·(−100) = −60 < Q(0, 1) = −30.
    let mdp = FiniteMDP(model: [
        [[.init(probability: 0.5, reward: -10, next: nil), .init(probability: 0.5, reward: -10, next: 1)],
         [.init(probability: 1, reward: -30, next: nil)]],
        [[.init(probability: 1, reward: -100, next: nil)], nil],
    ])
    let solution = ValueIteration.solve(mdp)
    #expect(solution.values == [-30, -100])
    #expect(solution.policy == [1, 0])
    #expect(ValueIteration.actionValue(mdp, values: solution.values, state: 0, action: 0) == -60)
    #expect(ValueIteration.actionValue(mdp, values: solution.values, state: 1, action: 1) == nil)
}

@Test func aStateWithoutActionsIsTerminal() {
    let solution = ValueIteration.solve(FiniteMDP(model: [[nil, nil]]))
    #expect(solution.values == [0])
    #expect(solution.policy == [nil])
}
