import Testing
import TriageCore
@testable import TriageSim

@Test func sameSeedSameBytesWhateverTheThreads() {
    let settings = SimulationSettings(seed: 5, services: 3, days: 2, interval: 300)
    let a = Simulation.run(settings, threads: 1)
    let b = Simulation.run(settings, threads: 3)
    #expect(a.metricsCSV(threads: 1) == b.metricsCSV(threads: 4))
    #expect(a.incidentsCSV() == b.incidentsCSV())
    #expect(a.truthJSON() == b.truthJSON())
    let c = Simulation.run(SimulationSettings(seed: 6, services: 3, days: 2, interval: 300))
    #expect(a.metricsCSV() != c.metricsCSV())
}

@Test func profilesDependOnTheIndexOnly() {
    let a = Simulation.run(SimulationSettings(seed: 1, services: 2, days: 1, interval: 600))
    let b = Simulation.run(SimulationSettings(seed: 2, services: 5, days: 1, interval: 600))
    #expect(a.profiles == Array(b.profiles.prefix(2)))
    #expect(b.profiles.map(\.name) == ["svc-01", "svc-02", "svc-03", "svc-04", "svc-05"])
    #expect(ServiceProfile.name(12) == "svc-12")
}

@Test func metricsRowsAreInTimeOrderOnePerServicePerInterval() {
    let sim = Simulation.run(SimulationSettings(seed: 0, services: 2, days: 1, interval: 3600))
    let lines = String(decoding: sim.metricsCSV(), as: UTF8.self).split(separator: "\n")
    #expect(lines[0] == Substring(Simulation.metricsHeader))
    #expect(lines.count == 1 + 2 * 24)
    #expect(lines[1].hasPrefix("2026-01-05T00:00:00Z,svc-01,"))
    #expect(lines[2].hasPrefix("2026-01-05T00:00:00Z,svc-02,"))
    #expect(lines[3].hasPrefix("2026-01-05T01:00:00Z,svc-01,"))
    #expect(lines.allSatisfy { $0.split(separator: ",").count == 9 })
}

@Test func incidentsAreConsistentWithTheirFaults() {
    let sim = Simulation.run(SimulationSettings(seed: 3, services: 4, days: 7, interval: 60))
    #expect(sim.incidents.count > 40)
    for incident in sim.incidents {
        let e = incident.event
        #expect(e.onset <= e.detection && e.detection < e.recovery)
        #expect(e.attempts.last!.succeeded && e.attempts.dropLast().allSatisfy { !$0.succeeded })
        #expect(Set(e.attempts.map(\.action)).count == e.attempts.count)
        #expect(Int64(e.attempts.reduce(0) { $0 + $1.seconds }) == e.recovery - e.detection)
    }
    let rows = String(decoding: sim.incidentsCSV(), as: UTF8.self).split(separator: "\n").dropFirst()
    #expect(rows.count == sim.incidents.reduce(0) { $0 + $1.event.attempts.count })
    // The operators are imperfect: some first attempts are wrong, most are right.
    let right = sim.incidents.filter { $0.event.attempts[0].action == $0.event.fault.bestAction }.count
    #expect(right > sim.incidents.count / 2 && right < sim.incidents.count)
}

@Test func valueIterationAgreesWithEachFaultsBestAction() {
    let model = IncidentModel()
    let solution = model.optimalPolicy()
    for fault in Fault.allCases {
        #expect(solution.policy[IncidentModel.stateIndex(fault, tried: [])] == fault.bestAction.rawValue, "\(fault)")
        // Paging a person ends every incident.
        #expect(model.success[fault.rawValue][RemediationAction.alert.rawValue] == 1)
    }
    // Restricting the approved set is honoured.
    let noRestart = model.optimalPolicy(allowed: ActionSet.all.subtracting(ActionSet(.restart)))
    #expect(noRestart.policy[IncidentModel.stateIndex(.memoryLeak, tried: [])] != RemediationAction.restart.rawValue)
}

@Test func commonRandomNumbersGiveEveryPolicyTheSameLuck() {
    let model = IncidentModel()
    var random = RandomSource(seed: 9)
    let draws = EpisodeDraws(&random)
    let a = model.play(.trafficSurge, draws: draws) { _, _ in .scaleUp }
    let b = model.play(.trafficSurge, draws: draws) { _, _ in .scaleUp }
    #expect(a.attempts == b.attempts)
    let giveUp = model.play(.slowDisk, draws: draws) { _, _ in nil }
    #expect(giveUp.attempts.map(\.action) == [.alert] && giveUp.attempts[0].succeeded)
}

@Test func fixedPointFormatting() {
    func text(_ v: Double, _ d: Int) -> String { var out = [UInt8](); appendFixed(&out, v, decimals: d); return String(decoding: out, as: UTF8.self) }
    #expect(text(43.25, 1) == "43.3")
    #expect(text(0.00049, 4) == "0.0005")
    #expect(text(0, 1) == "0.0")
    #expect(text(3, 0) == "3")
    #expect(text(1234.5, 1) == "1234.5")
    #expect(text(-2.5, 1) == "-2.5")
}
