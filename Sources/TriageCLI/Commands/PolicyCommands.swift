import ArgumentParser
import TriageCore
import TriageData
import TriageRuntime
import TriageSim

/// `triage policy …`: the remediation policy of a bundle.
struct Policy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with the remediation policy of a bundle.",
        subcommands: [PolicyEvaluate.self])
}

/// `triage policy evaluate --model BUNDLE [--seed 0] [--episodes 1000] [--json]`.
struct PolicyEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Compare the learned policy with the historical operators, the optimum and random choice.",
        discussion: """
            Plays simulated incidents on the bundle's services (svc-NN), drawn from evaluation \
            streams of --seed that 'simulate' never uses. 'optimal' is value iteration on the \
            simulator's true model with the fault known (an upper bound); 'optimal_from_symptoms' \
            is value iteration over what a policy can see (symptoms and tried actions). Rewards \
            are −downtime − action cost. Availability = MTBF / (MTBF + MTTR), with MTTR the             policy's mean downtime (detection to recovery) and MTBF the simulator's mean uptime             between a recovery and the next fault (6 h, the same for every policy).
            """)

    @Option(help: "Bundle folder written by 'triage train'.") var model: String
    @Option(help: "Number of simulated incidents (1–1000000).") var episodes = 1000
    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var options: RunOptions

    func validate() throws {
        guard (1...1_000_000).contains(episodes) else { throw ValidationError("--episodes must be 1–1000000, got \(episodes)") }
    }

    func run() throws {
        let bundle = try ModelBundle.open(model)
        guard let policy = try bundle.model(RemediationPolicy.self, role: "policy", kind: "remediation-policy") else {
            throw CLIFailure.failed("\(model): the bundle has no remediation policy (it was trained without incidents)")
        }
        // Symptom settings, one bounded cost per action, a finite Q-table with sound counts.
        do { try policy.validate() } catch {
            throw CLIFailure.failed("\(model): policy.model is invalid: \(error)")
        }
        let baselines = try bundle.json(BaselineSet.self, role: "baselines")
        var byService = [String: ServiceBaseline]()
        for b in baselines?.services ?? [] { byService[b.service] = b }
        let result: PolicyEvaluation
        do {
            result = try PolicyEvaluation.run(policy: policy, baselines: byService, services: bundle.manifest.services,
                                              interval: bundle.manifest.interval, seed: options.seed, episodes: episodes,
                                              threads: options.threadCount)
        } catch let failure as PolicyEvaluation.Failure {
            throw CLIFailure.failed("\(model): \(failure)")
        }
        let mtbf = Simulation.meanUptime
        func entry(_ s: PolicyEvaluation.Score) -> JSONValue {
            .object(["mean_reward": .number(s.meanReward), "mean_downtime_s": .number(s.meanDowntime),
                     "accuracy": .number(s.accuracy), "mttr_s": .number(s.meanDowntime), "mtbf_s": .number(mtbf),
                     "availability": .number(Availability.ratio(mtbf: mtbf, mttr: s.meanDowntime))])
        }
        let report = Report(
            json: ["episodes": .integer(result.episodes), "seed": .integer(Int(truncatingIfNeeded: result.seed)),
                   "learned": entry(result.learned), "historical": entry(result.historical),
                   "optimal": entry(result.optimal), "random": entry(result.random),
                   "optimal_from_symptoms": entry(result.optimalFromSymptoms),
                   "faults": .object(result.faults.mapValues(JSONValue.integer)),
                   "historical_log": .object(["mean_reward": .number(policy.meanLoggedReward),
                                              "mean_downtime_s": .number(policy.meanLoggedDowntime),
                                              "episodes": .integer(policy.episodes)])],
            lines: ["episodes: \(result.episodes) (seed \(result.seed))",
                    "policy                mean_reward  mean_downtime_s  first-action accuracy  availability"]
                + [("learned", result.learned), ("historical", result.historical), ("optimal", result.optimal),
                   ("random", result.random), ("optimal_from_symptoms", result.optimalFromSymptoms)].map { name, s in
                    name.padding(toLength: 22, withPad: " ", startingAt: 0)
                        + String(format: "%11.1f  %15.1f  %8.3f               %.5f", s.meanReward, s.meanDowntime, s.accuracy,
                                 Availability.ratio(mtbf: mtbf, mttr: s.meanDowntime))
                }
                + [String(format: "availability = MTBF / (MTBF + MTTR): MTTR = mean downtime, MTBF = %.0f s (the simulator's mean uptime between faults)", mtbf)]
                + [String(format: "training log: %d incidents, mean reward %.1f, mean downtime %.1f s (the operators as logged)",
                          policy.episodes, policy.meanLoggedReward, policy.meanLoggedDowntime)])
        try StandardOutput.write(report.render(json: json) + "\n")
    }
}

import Foundation
