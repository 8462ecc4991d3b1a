import TriageCore

/// Draws single simulated incidents at the moment of detection: a service, a fault, and the
/// symptoms a policy would read from the metrics rows up to the detection row. Uses the same
/// engine and fault shapes as `Simulation`, on a short stretch of rows.
struct IncidentSampler: Sendable {
    let profiles: [ServiceProfile]
    let step: Int64
    let extractor: SymptomExtractor
    let baselines: [String: ServiceBaseline]
    /// The week in which detections fall (the simulator's first week).
    let start: Int64 = SimulationSettings().start

    struct Sample: Sendable {
        var profile: ServiceProfile
        var fault: Fault
        var symptoms: Symptoms
    }

    func sample(_ r: inout RandomSource) -> Sample {
        let profile = profiles[r.integer(below: profiles.count)]
        let fault = Fault.draw(&r)
        let shape = FaultShape.draw(fault, profile: profile, interval: step, random: &r)
        // Detection somewhere in a week, on the metrics grid, with two hours of history before;
        // the fault began `detectionDelay` earlier, between rows (as in `simulate`, where an
        // incident opens at the first row at or after onset + delay).
        let detection = start + 7200 + Int64(r.integer(below: Int((7 * 86_400 - 7200) / step))) * step
        let onset = detection - shape.detectionDelay - Int64(r.integer(below: Int(step)))
        let event = FaultEvent(fault: fault, onset: onset, detection: detection, recovery: detection + 86_400,
                               severity: shape.severity, leakRate: shape.leakRate, partial: shape.partial, attempts: [])
        let before = extractor.referenceStart + 8
        let rows = before + 1 // the detection row is the last
        var noise = r.split(1)
        let engine = ServiceEngine(profile: profile, interval: step)
        let columns = engine.generate(start: detection - Int64(before) * step, count: rows, faults: [event],
                                      deploys: fault == .badDeploy ? [onset] : [], random: &noise)
        let series = ServiceSeries(times: (0..<rows).map { detection - Int64(before - $0) * step }, values: columns)
        let symptoms = extractor.symptoms(series, startRow: before, baseline: baselines[profile.name])!
        return Sample(profile: profile, fault: fault, symptoms: symptoms)
    }
}

/// The best any policy that sees only symptoms can do: value iteration on the belief MDP whose
/// states are (symptom code, actions tried) — the learner's own state space.
///
/// The simulator's true model supplies everything: P(fault | code) is estimated from `samples`
/// incidents drawn from the simulator (a fixed seed, so the optimum is the same for every
/// evaluation), and after failed attempts the belief is updated by Bayes' rule,
/// b(f) ∝ P(f | code) · Π_{a tried} (1 − p(f, a)). Codes never sampled fall back on the
/// nearest sampled code, as the learned policy does.
struct ObservableOptimum: Sendable {
    let codes: [Int]
    let solution: ValueIteration.Solution

    init(sampler: IncidentSampler, model: IncidentModel, samples: Int, threads: Int) {
        let drawn = Parallel.map(samples, threads: threads) { i -> (Int, Fault) in
            // "MODEL" in ASCII: a fixed seed, independent of the evaluation's.
            var r = RandomSource(seed: 0x4D_4F44_454C, stream: UInt64(i))
            let s = sampler.sample(&r)
            return (s.symptoms.code, s.fault)
        }
        var counts = [Int: [Double]]()
        for (code, fault) in drawn { counts[code, default: [Double](repeating: 0, count: Fault.allCases.count)][fault.rawValue] += 1 }
        codes = counts.keys.sorted()
        let actions = RemediationAction.incidentActions
        var mdp = [[[FiniteMDP.Outcome]?]]()
        for code in codes {
            let prior = counts[code]!
            for mask in 0..<32 {
                let tried = ActionSet(rawValue: UInt8(mask))
                var belief = Fault.allCases.map { f in
                    tried.actions.reduce(prior[f.rawValue]) { $0 * (1 - model.success[f.rawValue][$1.rawValue]) }
                }
                let total = belief.reduce(0, +)
                var row = [[FiniteMDP.Outcome]?]()
                guard total > 0 else { mdp.append(Array(repeating: nil, count: actions.count)); continue }
                belief = belief.map { $0 / total }
                for a in actions {
                    guard !tried.contains(a) else { row.append(nil); continue }
                    var success = 0.0, reward = -model.cost[a.rawValue]
                    for f in Fault.allCases {
                        let p = model.success[f.rawValue][a.rawValue]
                        let w = model.worsen(f, a)
                        success += belief[f.rawValue] * p
                        reward -= belief[f.rawValue] * (model.decisionLatency + model.meanDuration(f, a) + (1 - p) * w.probability * w.seconds)
                    }
                    // The whole expected immediate reward rides on both outcomes (it is paid either way).
                    var outcomes = [FiniteMDP.Outcome(probability: success, reward: reward, next: nil)]
                    if success < 1 {
                        outcomes.append(.init(probability: 1 - success, reward: reward,
                                              next: (codes.firstIndex(of: code)! * 32) + Int(tried.adding(a).rawValue)))
                    }
                    row.append(outcomes)
                }
                mdp.append(row)
            }
        }
        solution = ValueIteration.solve(FiniteMDP(model: mdp))
    }

    func action(_ symptoms: Symptoms, tried: ActionSet) -> RemediationAction? {
        var index = codes.firstIndex(of: symptoms.code)
        if index == nil {
            var best = Int.max
            for (i, code) in codes.enumerated() {
                let d = zip(Symptoms.levels(ofCode: code), symptoms.levels).reduce(0) { $0 + abs($1.0 - $1.1) }
                if d < best { best = d; index = i }
            }
        }
        guard let index else { return nil }
        return solution.policy[index * 32 + Int(tried.rawValue)].flatMap(RemediationAction.init(rawValue:))
    }
}
