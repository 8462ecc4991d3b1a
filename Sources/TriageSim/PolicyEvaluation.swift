import TriageCore

/// `triage policy evaluate`: plays fresh simulated incidents with four policies on identical
/// luck (common random numbers) and compares them.
///
/// - learned: the bundle's policy, which sees only the symptoms in the metrics;
/// - historical: the simulated operators who wrote incidents.csv;
/// - optimal: value iteration on the simulator's true model with the fault *known* — an upper
///   bound no symptom-driven policy can beat;
/// - random: a uniformly random untried action at every step;
/// - optimal from symptoms: value iteration on the belief MDP over the learner's own states
///   (symptoms, tried actions), with the simulator's true model — the best a policy that sees
///   only symptoms can do, and so the fair yardstick of the learner.
///
/// Episodes come from evaluation streams of the seed that `simulate` never uses, so even the
/// seed a bundle was trained on yields unseen incidents.
public struct PolicyEvaluation: Sendable {
    public struct Score: Sendable, Equatable {
        public var meanReward: Double
        public var meanDowntime: Double
        /// Share of episodes whose first action was the fault's best action.
        public var accuracy: Double
    }

    public var episodes: Int
    public var seed: UInt64
    public var learned: Score
    public var historical: Score
    public var optimal: Score
    public var random: Score
    /// The best a policy that sees only symptoms can do (`ObservableOptimum`).
    public var optimalFromSymptoms: Score
    /// Fault counts of the episodes, by fault name.
    public var faults: [String: Int]

    /// Stream family of evaluation episodes ("EVAL" in ASCII, shifted clear of simulate's
    /// streams 0 … 2·services).
    static let streamBase: UInt64 = 0x4556_414C << 32

    public enum Failure: Error, CustomStringConvertible {
        case noSimulatedServices
        public var description: String {
            "the bundle has no simulated services (svc-01 …); policy evaluate plays simulated incidents on the services the bundle was trained on"
        }
    }

    /// Plays `episodes` incidents on the simulated services among `services` (names `svc-NN`).
    public static func run(policy: RemediationPolicy, baselines: [String: ServiceBaseline], services: [String],
                           interval: Int, seed: UInt64, episodes: Int, model: IncidentModel = IncidentModel(),
                           operator behaviour: HistoricalOperator = HistoricalOperator(),
                           modelSamples: Int = 20_000, threads: Int = 1) throws -> PolicyEvaluation {
        let simulated = services.compactMap { name -> ServiceProfile? in
            guard name.hasPrefix("svc-"), let index = Int(name.dropFirst(4)), index >= 1, index <= 99,
                  ServiceProfile.name(index) == name else { return nil }
            return ServiceProfile.standard(index)
        }
        guard !simulated.isEmpty else { throw Failure.noSimulatedServices }
        let optimum = model.optimalPolicy()
        // Symptom windows are counted in rows; a coarser grid than hourly is treated as hourly.
        let step = Int64(min(max(1, interval), 3600))
        let sampler = IncidentSampler(profiles: simulated, step: step, extractor: policy.extractor, baselines: baselines)
        let observable = ObservableOptimum(sampler: sampler, model: model, samples: modelSamples, threads: threads)
        struct Outcome: Sendable {
            var fault: Fault
            var results: [EpisodeResult] // learned, historical, optimal, random, optimal (symptoms)
            var firstActions: [RemediationAction]
        }
        let outcomes = Parallel.map(episodes, threads: threads) { e -> Outcome in
            var r = RandomSource(seed: seed, stream: streamBase + UInt64(e))
            let incident = sampler.sample(&r)
            let fault = incident.fault, symptoms = incident.symptoms
            let draws = EpisodeDraws(&r)

            let learned = model.play(fault, draws: draws) { tried, _ in policy.recommend(symptoms, tried: tried) }
            var operatorRandom = r.split(2)
            let historical = behaviour.play(fault, model: model, draws: draws, random: &operatorRandom)
            let optimal = model.play(fault, draws: draws) { tried, _ in
                optimum.policy[IncidentModel.stateIndex(fault, tried: tried)].flatMap(RemediationAction.init(rawValue:))
            }
            var randomChoice = r.split(3)
            let random = model.play(fault, draws: draws) { tried, _ in
                let options = ActionSet.all.subtracting(tried).actions
                return options.isEmpty ? nil : options[randomChoice.integer(below: options.count)]
            }
            let bestObservable = model.play(fault, draws: draws) { tried, _ in observable.action(symptoms, tried: tried) }
            let results = [learned, historical, optimal, random, bestObservable]
            return Outcome(fault: fault, results: results, firstActions: results.map { $0.attempts[0].action })
        }
        func score(_ k: Int) -> Score {
            let n = Double(max(1, outcomes.count))
            return Score(meanReward: outcomes.reduce(0) { $0 + $1.results[k].reward } / n,
                         meanDowntime: outcomes.reduce(0) { $0 + $1.results[k].downtime } / n,
                         accuracy: Double(outcomes.filter { $0.firstActions[k] == $0.fault.bestAction }.count) / n)
        }
        var faults = [String: Int]()
        for o in outcomes { faults[o.fault.name, default: 0] += 1 }
        return PolicyEvaluation(episodes: episodes, seed: seed, learned: score(0), historical: score(1),
                                optimal: score(2), random: score(3), optimalFromSymptoms: score(4), faults: faults)
    }
}
