/// A finite Markov decision process given by its full model: for each state and action, the
/// possible outcomes with their probabilities, expected rewards and next states (nil = the
/// episode ends). A nil outcome list means the action is not available in that state.
public struct FiniteMDP: Sendable {
    public struct Outcome: Sendable, Equatable {
        public var probability: Double
        public var reward: Double
        public var next: Int?
        public init(probability: Double, reward: Double, next: Int?) {
            self.probability = probability
            self.reward = reward
            self.next = next
        }
    }

    public let stateCount: Int
    public let actionCount: Int
    /// `model[s][a]`: outcomes of action a in state s, or nil when a is not allowed there.
    public let model: [[[Outcome]?]]

    public init(model: [[[Outcome]?]]) {
        let width = model.first?.count ?? 0
        precondition(model.allSatisfy { $0.count == width }, "every state lists every action")
        stateCount = model.count
        actionCount = width
        self.model = model
    }
}

/// Value iteration (Bellman 1957; Sutton & Barto 2018, §4.4, eq. 4.10):
///
///     V_{k+1}(s) = max_a Σ_{s'} p(s' | s, a) [ r(s, a, s') + γ V_k(s') ]
///
/// iterated until the largest change is below `tolerance`. With γ = 1 it solves the stochastic
/// shortest-path problem, which converges when every policy ends episodes — true of the
/// incident model, where tried actions cannot be repeated. A state with no allowed action is
/// terminal (value 0).
public enum ValueIteration {
    public struct Solution: Sendable {
        public var values: [Double]
        /// Greedy action of each state (nil when none is allowed).
        public var policy: [Int?]
        public var iterations: Int
    }

    public static func solve(_ mdp: FiniteMDP, discount: Double = 1, tolerance: Double = 1e-9,
                             maxIterations: Int = 10_000) -> Solution {
        var values = [Double](repeating: 0, count: mdp.stateCount)
        var policy = [Int?](repeating: nil, count: mdp.stateCount)
        var iterations = 0
        for iteration in 1...max(1, maxIterations) {
            iterations = iteration
            var change = 0.0
            for s in 0..<mdp.stateCount {
                var best = -Double.infinity
                var bestAction: Int?
                for a in 0..<mdp.actionCount {
                    guard let outcomes = mdp.model[s][a] else { continue }
                    let q = outcomes.reduce(0.0) { $0 + $1.probability * ($1.reward + discount * ($1.next.map { values[$0] } ?? 0)) }
                    if q > best { best = q; bestAction = a }
                }
                let v = bestAction == nil ? 0 : best
                change = max(change, abs(v - values[s]))
                values[s] = v // Gauss–Seidel: later states see this sweep's values.
                policy[s] = bestAction
            }
            if change <= tolerance { break }
        }
        return Solution(values: values, policy: policy, iterations: iterations)
    }

    /// Q(s, a) under `values`.
    public static func actionValue(_ mdp: FiniteMDP, values: [Double], state s: Int, action a: Int,
                                   discount: Double = 1) -> Double? {
        mdp.model[s][a].map { $0.reduce(0.0) { $0 + $1.probability * ($1.reward + discount * ($1.next.map { values[$0] } ?? 0)) } }
    }
}
