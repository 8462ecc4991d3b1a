import Testing
import TriageCore
@testable import TriageSim

/// The learner's inputs built straight from a simulation (no files).
func trainingData(_ sim: Simulation) -> (episodes: [RemediationPolicy.Episode], faults: [Fault], baselines: [String: ServiceBaseline]) {
    var series = [String: ServiceSeries]()
    var baselines = [String: ServiceBaseline]()
    for (s, profile) in sim.profiles.enumerated() {
        let times = (0..<sim.settings.rowsPerService).map { sim.settings.start + Int64($0 * sim.settings.interval) }
        series[profile.name] = ServiceSeries(times: times, values: sim.metrics[s])
        baselines[profile.name] = ServiceBaseline(service: profile.name, series: series[profile.name]!)
    }
    let extractor = SymptomExtractor()
    var episodes = [RemediationPolicy.Episode]()
    var faults = [Fault]()
    for incident in sim.incidents {
        let s = series[incident.service]!
        guard let symptoms = extractor.symptoms(s, startRow: s.firstIndex(atOrAfter: incident.event.detection),
                                                baseline: baselines[incident.service]) else { continue }
        episodes.append(.init(symptoms: symptoms, attempts: incident.event.attempts.map { ($0.action, $0.seconds, $0.succeeded) }))
        faults.append(incident.event.fault)
    }
    return (episodes, faults, baselines)
}

/// Seeded quality gate on a small history (the full-size figures are in BENCHMARKS.md).
@Test func learnedPolicyNearsTheOptimumAndBeatsTheOperators() throws {
    let sim = Simulation.run(SimulationSettings(seed: 0, services: 4, days: 14, interval: 120), threads: 2)
    let data = trainingData(sim)
    let policy = try RemediationPolicy.train(data.episodes)
    let eval = try PolicyEvaluation.run(policy: policy, baselines: data.baselines, services: sim.profiles.map(\.name),
                                        interval: 120, seed: 1, episodes: 400, modelSamples: 3000, threads: 2)
    #expect(eval.optimal.meanReward / eval.learned.meanReward >= 0.9)
    #expect(eval.learned.meanDowntime <= 0.8 * eval.historical.meanDowntime)
    #expect(eval.learned.accuracy >= 0.85)
    #expect(eval.random.meanReward < eval.historical.meanReward)
    #expect(eval.optimal.accuracy == 1)
    #expect(eval.optimalFromSymptoms.accuracy >= 0.9)
    #expect(eval.optimalFromSymptoms.meanReward / eval.learned.meanReward >= 0.9)
    #expect(eval.faults.values.reduce(0, +) == 400)
    // Evaluation is deterministic and independent of threads.
    let again = try PolicyEvaluation.run(policy: policy, baselines: data.baselines, services: sim.profiles.map(\.name),
                                         interval: 120, seed: 1, episodes: 400, modelSamples: 3000, threads: 1)
    #expect(again.learned == eval.learned && again.historical == eval.historical)
    #expect(throws: PolicyEvaluation.Failure.self) {
        try PolicyEvaluation.run(policy: policy, baselines: [:], services: ["web"], interval: 60, seed: 0, episodes: 1)
    }
}
