import TriageCore

/// The faults the simulator injects.
public enum Fault: Int, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case memoryLeak = 0, trafficSurge, badDeploy, dependencyOutage, hungProcess, slowDisk, noisyNeighbour

    public var name: String {
        switch self {
        case .memoryLeak: return "memory_leak"
        case .trafficSurge: return "traffic_surge"
        case .badDeploy: return "bad_deploy"
        case .dependencyOutage: return "dependency_outage"
        case .hungProcess: return "hung_process"
        case .slowDisk: return "slow_disk"
        case .noisyNeighbour: return "noisy_neighbour"
        }
    }

    public var description: String { name }
    public init?(name: String) {
        guard let fault = Fault.allCases.first(where: { $0.name == name }) else { return nil }
        self = fault
    }

    /// The remedy an experienced engineer would pick (the "best action" of truth.json); the
    /// value-iteration policy of `IncidentModel` agrees with it for every fault (a test checks).
    public var bestAction: RemediationAction {
        switch self {
        case .memoryLeak, .hungProcess: return .restart
        case .trafficSurge: return .scaleUp
        case .badDeploy: return .rollback
        case .dependencyOutage: return .failover
        case .slowDisk, .noisyNeighbour: return .alert
        }
    }

    /// Relative frequency among injected faults (fixable faults dominate, as in practice).
    static let weights: [Double] = [0.18, 0.18, 0.16, 0.14, 0.14, 0.10, 0.10]

    static func draw(_ random: inout RandomSource) -> Fault {
        var u = random.uniform() * weights.reduce(0, +)
        for (i, w) in weights.enumerated() {
            if u < w { return Fault(rawValue: i)! }
            u -= w
        }
        return .noisyNeighbour
    }
}

/// The simulator's true model of remediation: what each action does to each fault.
///
/// An attempt takes a decision latency (the time to decide and approve, exponential with mean
/// `decisionLatency`), then the action's duration (log-normal around its mean, σ = 0.3, the
/// spread of real restarts and rollouts) until its outcome is known. It fixes the fault with
/// `success[f][a]`; when it fails it may make things worse (`worsen`: probability and extra
/// seconds of downtime, e.g. restarting pods during a surge overloads the survivors). `alert`
/// always ends the incident: a person fixes it, slowly. Reward = −seconds − action cost.
public struct IncidentModel: Sendable {
    /// Columns: restart, scale_up, rollback, failover, alert.
    public let success: [[Double]] = [
        [0.92, 0.10, 0.15, 0.05, 1], // memory_leak: a restart frees the leaked heap
        [0.10, 0.90, 0.05, 0.30, 1], // traffic_surge: capacity; failover to a quieter zone sometimes helps
        [0.08, 0.05, 0.93, 0.10, 1], // bad_deploy: only the old version helps
        [0.05, 0.05, 0.05, 0.90, 1], // dependency_outage: move to the healthy zone
        [0.90, 0.15, 0.30, 0.10, 1], // hung_process: a restart (a rollback restarts too)
        [0.02, 0.02, 0.02, 0.05, 1], // slow_disk: hardware, needs a person
        [0.05, 0.05, 0.02, 0.05, 1], // noisy_neighbour: the node is shared, needs a person
    ]
    /// Mean seconds an action takes until its outcome is known (alert: per fault, below).
    public let duration: [Double] = [90, 180, 240, 300, 0]
    /// A person fixes a fault they were paged for: diagnosing an unfamiliar fixable fault takes
    /// longer than moving a workload off a bad disk or node, which is routine.
    public let alertDuration: [Double] = [2400, 2400, 2400, 2400, 2400, 1500, 1500]
    /// Cost of an action in seconds-equivalent (people's time, spend on extra capacity, risk).
    public let cost: [Double] = RemediationAction.defaultCosts
    /// Mean seconds to decide on and approve each attempt.
    public let decisionLatency: Double = 120
    /// Log-normal spread of durations.
    public let durationSigma: Double = 0.3

    public init() {}

    /// (probability, extra seconds) of a failed attempt making things worse.
    public func worsen(_ fault: Fault, _ action: RemediationAction) -> (probability: Double, seconds: Double) {
        switch (fault, action) {
        case (.trafficSurge, .restart): return (0.5, 600)   // survivors take the whole surge
        case (.trafficSurge, .rollback): return (0.4, 400)  // rolling restart under load
        case (.dependencyOutage, .restart): return (0.4, 300) // cold starts hammer the dead dependency
        case (.slowDisk, .restart): return (0.5, 600)        // state replays from the slow disk
        case (.badDeploy, .scaleUp): return (0.4, 300)       // more pods of the bad version
        case (.noisyNeighbour, .scaleUp): return (0.3, 300)  // new pods land on the same node
        case (_, .failover) where fault != .dependencyOutage: return (0.3, 300) // cross-zone traffic
        case (_, .alert): return (0, 0)
        default: return (0.1, 120)
        }
    }

    public func meanDuration(_ fault: Fault, _ action: RemediationAction) -> Double {
        action == .alert ? alertDuration[fault.rawValue] : duration[action.rawValue]
    }

    /// Expected seconds of one attempt given failure (decision + action + expected worsening).
    func expectedFailureSeconds(_ fault: Fault, _ action: RemediationAction) -> Double {
        let w = worsen(fault, action)
        return decisionLatency + meanDuration(fault, action) + w.probability * w.seconds
    }

    // MARK: The MDP for value iteration

    /// State index of (fault, tried actions).
    public static func stateIndex(_ fault: Fault, tried: ActionSet) -> Int { fault.rawValue * 32 + Int(tried.rawValue) }

    /// The incident MDP over (fault, tried set) with full knowledge of the fault: the best any
    /// policy could do, since a real policy only sees symptoms.
    public func mdp(allowed: ActionSet = .all) -> FiniteMDP {
        var model = [[[FiniteMDP.Outcome]?]]()
        for fault in Fault.allCases {
            for mask in 0..<32 {
                let tried = ActionSet(rawValue: UInt8(mask))
                var row = [[FiniteMDP.Outcome]?]()
                for action in RemediationAction.incidentActions {
                    guard allowed.contains(action), !tried.contains(action) else { row.append(nil); continue }
                    let p = success[fault.rawValue][action.rawValue]
                    let c = cost[action.rawValue]
                    var outcomes = [FiniteMDP.Outcome(probability: p, reward: -(decisionLatency + meanDuration(fault, action)) - c, next: nil)]
                    if p < 1 {
                        outcomes.append(.init(probability: 1 - p, reward: -expectedFailureSeconds(fault, action) - c,
                                              next: IncidentModel.stateIndex(fault, tried: tried.adding(action))))
                    }
                    row.append(outcomes)
                }
                model.append(row)
            }
        }
        return FiniteMDP(model: model)
    }

    /// The optimal full-information policy by value iteration.
    public func optimalPolicy(allowed: ActionSet = .all) -> ValueIteration.Solution {
        ValueIteration.solve(mdp(allowed: allowed))
    }
}

/// The random numbers that decide an incident's outcomes, drawn up front so that every policy
/// evaluated on the episode meets the same luck (common random numbers): the k-th attempt's
/// decision latency, and for each action whether it works, how long it takes and whether a
/// failure makes things worse. Each action can be tried once, so this fixes every outcome.
public struct EpisodeDraws: Sendable {
    var latency: [Double]      // per attempt number, in units of the mean (Exp(1))
    var success: [Double]      // per action, U(0,1)
    var durationZ: [Double]    // per action, N(0,1)
    var worse: [Double]        // per action, U(0,1)

    public init(_ random: inout RandomSource) {
        let n = RemediationAction.incidentActions.count
        latency = (0..<n).map { _ in random.exponential(rate: 1) }
        success = (0..<n).map { _ in random.uniform() }
        durationZ = (0..<n).map { _ in random.normal() }
        worse = (0..<n).map { _ in random.uniform() }
    }
}

/// One attempt of an episode.
public struct Attempt: Sendable, Equatable {
    public var action: RemediationAction
    public var seconds: Double
    public var succeeded: Bool
}

public struct EpisodeResult: Sendable {
    public var attempts: [Attempt]
    public var downtime: Double { attempts.reduce(0) { $0 + $1.seconds } }
    public var cost: Double
    public var reward: Double { -downtime - cost }
}

extension IncidentModel {
    /// Plays one incident: `choose(tried, attempt number)` picks each next action (nil = give
    /// up, which pages a person: `alert`). `extraLatency(k)` adds seconds to attempt k (the
    /// historical operators' slowness).
    public func play(_ fault: Fault, draws: EpisodeDraws,
                     extraLatency: (Int) -> Double = { _ in 0 },
                     choose: (ActionSet, Int) -> RemediationAction?) -> EpisodeResult {
        var tried = ActionSet()
        var attempts = [Attempt]()
        var cost = 0.0
        while true {
            let k = attempts.count
            var action = choose(tried, k) ?? .alert
            if tried.contains(action) { action = .alert } // never repeat; a person takes over
            if tried.contains(.alert) { break }
            let a = action.rawValue
            let p = success[fault.rawValue][a]
            let ok = draws.success[a] < p
            let sigma = durationSigma
            var seconds = decisionLatency * draws.latency[min(k, draws.latency.count - 1)] + extraLatency(k)
            seconds += meanDuration(fault, action) * exp(sigma * draws.durationZ[a] - sigma * sigma / 2)
            if !ok {
                let w = worsen(fault, action)
                if draws.worse[a] < w.probability { seconds += w.seconds }
            }
            attempts.append(Attempt(action: action, seconds: seconds.rounded(), succeeded: ok))
            cost += self.cost[a]
            tried = tried.adding(action)
            if ok { break }
        }
        return EpisodeResult(attempts: attempts, cost: cost)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
