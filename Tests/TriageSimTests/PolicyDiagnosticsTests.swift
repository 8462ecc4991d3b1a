import Testing
import TriageCore
@testable import TriageSim

/// Builds the learner's inputs straight from a simulation (no files).
func trainingEpisodes(_ sim: Simulation) -> (episodes: [RemediationPolicy.Episode], faults: [Fault], baselines: [String: ServiceBaseline], series: [String: ServiceSeries]) {
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
        let symptoms = extractor.symptoms(s, startRow: s.firstIndex(atOrAfter: incident.event.detection), baseline: baselines[incident.service])!
        episodes.append(.init(symptoms: symptoms, attempts: incident.event.attempts.map { ($0.action, $0.seconds, $0.succeeded) }))
        faults.append(incident.event.fault)
    }
    return (episodes, faults, baselines, series)
}

@Test func diagnostics() throws {
    let sim = Simulation.run(SimulationSettings(seed: 0, services: 8, days: 14, interval: 120), threads: 2)
    let data = trainingEpisodes(sim)
    var byFault = [Fault: [Int: Int]]()
    for (e, f) in zip(data.episodes, data.faults) { byFault[f, default: [:]][e.symptoms.code, default: 0] += 1 }
    for f in Fault.allCases {
        let codes = byFault[f, default: [:]].sorted { $0.value > $1.value }.prefix(6)
        print(f.name, codes.map { "\(Symptoms.levels(ofCode: $0.key)):\($0.value)" }.joined(separator: " "))
    }
    let policy = try RemediationPolicy.train(data.episodes)
    let eval = try PolicyEvaluation.run(policy: policy, baselines: data.baselines, services: sim.profiles.map(\.name), interval: 120, seed: 1, episodes: 2000, threads: 2)
    print(eval)
    var confusion = [Fault: [RemediationAction: Int]]()
    for (e, f) in zip(data.episodes, data.faults) { confusion[f, default: [:]][policy.recommend(e.symptoms)!, default: 0] += 1 }
    for f in Fault.allCases { print(f.name, confusion[f, default: [:]].sorted { $0.key < $1.key }.map { "\($0.key.name):\($0.value)" }) }
}
