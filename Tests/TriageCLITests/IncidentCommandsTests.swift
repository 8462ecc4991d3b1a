import Foundation
import Testing
import TriageCore

/// The shipped dataset and bundle regenerate from their documented commands (datasets/README.md,
/// models/README.md): the dataset and every bundle file that no BLAS call touches byte for byte on
/// any CPU; the autoencoder (OpenBLAS GEMMs, whose float sums round differently per CPU kernel)
/// byte for byte on the kernel family that made it and within the bounds of `AutoencoderDrift`
/// elsewhere; and the whole bundle byte for byte between two runs on this machine.
@Test func shippedDatasetAndBundleAreReproducible() throws {
    let root = CLIRunner.packageRoot
    let folder = CLIRunner.folder()
    let simulated = try CLIRunner.run(["simulate", "--output", folder + "/simulated", "--seed", "0", "--services", "8",
                                    "--days", "14", "--interval", "120"])
    #expect(simulated.status == 0, "\(simulated.stderr)")
    #expect(try CLIRunner.sameFiles(folder + "/simulated", root + "/datasets/simulated"))
    let train = ["train", "--metrics", root + "/datasets/simulated/metrics.csv",
                 "--incidents", root + "/datasets/simulated/incidents.csv", "--seed", "0"]
    let trained = try CLIRunner.run(train + ["--output", folder + "/bundle"])
    #expect(trained.status == 0, "\(trained.stderr)")
    let shipped = root + "/models/simulated"
    let names = try FileManager.default.contentsOfDirectory(atPath: shipped).sorted()
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/bundle").sorted() == names)
    for name in names where !AutoencoderDrift.blasDependent.contains(name) {
        #expect(FileManager.default.contentsEqual(atPath: folder + "/bundle/" + name, andPath: shipped + "/" + name), "\(name)")
    }
    if BLASThreads.kernelFamily == AutoencoderDrift.shippedKernelFamily {
        #expect(try CLIRunner.sameFiles(folder + "/bundle", shipped))
    }
    #expect(try AutoencoderDrift.modelDifferences(folder + "/bundle", shipped).isEmpty)
    try AutoencoderDrift.checkScores(folder + "/bundle", shipped, metrics: root + "/datasets/simulated/metrics.csv", in: folder)

    // Same machine: byte-identical, whatever the thread count.
    let again = try CLIRunner.run(train + ["--output", folder + "/again", "--threads", "1"])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(try CLIRunner.sameFiles(folder + "/bundle", folder + "/again"))
}

@Test func simulateTrainAndEvaluateFollowTheContract() throws {
    let folder = CLIRunner.folder()
    let sim = folder + "/sim"
    #expect(try CLIRunner.run(["simulate", "--output", sim, "--services", "2", "--days", "3", "--interval", "300", "--seed", "4"]).status == 0)
    let header = try String(contentsOfFile: sim + "/metrics.csv", encoding: .utf8).split(separator: "\n")[0]
    #expect(header == "timestamp,service,cpu,memory,latency_p99_ms,error_rate,request_rate,replicas,heartbeat_age_s")
    let truth = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sim + "/truth.json"))) as! [String: Any]
    let faults = truth["faults"] as! [[String: Any]]
    #expect(!faults.isEmpty && faults.allSatisfy { Set($0.keys).isSuperset(of: ["service", "start", "end", "fault", "best_action"]) })

    // Existing output: exit 1 before any work; out-of-range option: exit 64.
    let again = try CLIRunner.run(["simulate", "--output", sim])
    #expect(again.status == 1 && again.stderr.hasPrefix("error: "))
    #expect(try CLIRunner.run(["simulate", "--output", folder + "/x", "--services", "0"]).status == 64)
    #expect(try CLIRunner.run(["simulate", "--output", folder + "/x", "--interval", "7"]).status == 64)

    let bundle = folder + "/bundle"
    let trained = try CLIRunner.run(["train", "--metrics", sim + "/metrics.csv", "--incidents", sim + "/incidents.csv",
                                  "--output", bundle, "--rule", "expected-sarsa"])
    #expect(trained.status == 0, "\(trained.stderr)")
    let evaluated = try CLIRunner.run(["policy", "evaluate", "--model", bundle, "--seed", "1", "--episodes", "200", "--json"])
    #expect(evaluated.status == 0, "\(evaluated.stderr)")
    let report = try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as! [String: Any]
    #expect(report["episodes"] as? Int == 200 && report["seed"] as? Int == 1)
    for policy in ["learned", "historical", "optimal", "random"] {
        let entry = try #require(report[policy] as? [String: Any])
        #expect(entry["mean_reward"] is Double && entry["mean_downtime_s"] is Double)
        // Availability = MTBF / (MTBF + MTTR), MTTR the policy's mean downtime, MTBF the simulator's 6 h.
        let mttr = try #require(entry["mttr_s"] as? Double), availability = try #require(entry["availability"] as? Double)
        #expect(mttr == entry["mean_downtime_s"] as? Double && entry["mtbf_s"] as? Double == 21_600)
        #expect(abs(availability - 21_600 / (21_600 + mttr)) < 1e-12)
    }
    #expect(try CLIRunner.run(["policy", "evaluate", "--model", bundle, "--episodes", "0"]).status == 64)

    // The same figures from the simulated incident log, per service.
    let figures = try CLIRunner.run(["evaluate", "--incidents", sim + "/incidents.csv", "--json"])
    #expect(figures.status == 0, "\(figures.stderr)")
    let services = try #require((try JSONSerialization.jsonObject(with: Data(figures.stdout.utf8)) as? [String: Any])?["services"] as? [[String: Any]])
    #expect(!services.isEmpty)
    for service in services {
        let mtbf = try #require(service["mtbf_s"] as? Double), mttr = try #require(service["mttr_s"] as? Double)
        #expect((service["incidents"] as? Int ?? 0) >= 2 && mtbf >= 7_200) // simulate keeps two hours between faults
        #expect(abs((service["availability"] as? Double ?? 0) - mtbf / (mtbf + mttr)) < 1e-12)
    }
    #expect(try CLIRunner.run(["evaluate", "--incidents", sim + "/incidents.csv", "--events", "x"]).status == 64)
    #expect(try CLIRunner.run(["evaluate", "--incidents", folder + "/none.csv"]).status == 1)
}

@Test func trainRefusesBadLogsAndSaysWhenThereAreNoIncidents() throws {
    let folder = CLIRunner.folder()
    let sim = folder + "/sim"
    #expect(try CLIRunner.run(["simulate", "--output", sim, "--services", "2", "--days", "2", "--interval", "600"]).status == 0)
    var log = try String(contentsOfFile: sim + "/incidents.csv", encoding: .utf8)
    log = log.replacingOccurrences(of: ",restart,", with: ",reboot,")
    try log.write(toFile: folder + "/bad.csv", atomically: false, encoding: .utf8)
    let bad = try CLIRunner.run(["train", "--metrics", sim + "/metrics.csv", "--incidents", folder + "/bad.csv", "--output", folder + "/b1"])
    #expect(bad.status == 1)
    #expect(bad.stderr.hasPrefix("error: \(folder)/bad.csv:") && bad.stderr.contains(":6: column 'action': unknown action \"reboot\""))
    #expect(!FileManager.default.fileExists(atPath: folder + "/b1"))

    try "incident_id,service,start,end,fault,action,outcome,recovery_seconds\n".write(toFile: folder + "/empty.csv", atomically: false, encoding: .utf8)
    let empty = try CLIRunner.run(["train", "--metrics", sim + "/metrics.csv", "--incidents", folder + "/empty.csv", "--output", folder + "/b2"])
    #expect(empty.status == 0 && empty.stderr.contains("no incidents"))
    let manifest = try String(contentsOfFile: folder + "/b2/manifest.json", encoding: .utf8)
    #expect(manifest.contains("baselines.json") && !manifest.contains("policy.model"))
    // Detectors only: no action classifier either.
    #expect(manifest.contains("iforest.model") && manifest.contains("autoencoder.model") && !manifest.contains("\"forest.model\""))
    let noPolicy = try CLIRunner.run(["policy", "evaluate", "--model", folder + "/b2"])
    #expect(noPolicy.status == 1 && noPolicy.stderr.contains("no remediation policy"))
}
