import TriageCore

/// Settings of one simulated history (`triage simulate`).
public struct SimulationSettings: Sendable, Equatable {
    public var seed: UInt64
    public var services: Int
    public var days: Int
    /// Seconds between metric rows.
    public var interval: Int
    /// First timestamp: Monday 2026-01-05T00:00:00Z, fixed so that histories line up across seeds.
    public var start: Int64 = 1_767_571_200

    public init(seed: UInt64 = 0, services: Int = 4, days: Int = 7, interval: Int = 60) {
        self.seed = seed
        self.services = services
        self.days = days
        self.interval = interval
    }

    public var rowsPerService: Int { days * 86_400 / interval }
    public var end: Int64 { start + Int64(days) * 86_400 }
}

/// A simulated history: metrics of every service, the faults injected and how the historical
/// operators handled them.
public struct Simulation: Sendable {
    public struct Incident: Sendable {
        public var id: String
        public var service: String
        public var event: FaultEvent
    }

    public let settings: SimulationSettings
    public let profiles: [ServiceProfile]
    /// `metrics[service][metric][row]`.
    public let metrics: [[[Double]]]
    /// Incidents ordered by detection time (then service).
    public let incidents: [Incident]

    /// Runs the simulation. Each service draws from its own streams of the seed, so services
    /// are generated in parallel and the result does not depend on `threads`.
    public static func run(_ settings: SimulationSettings, model: IncidentModel = IncidentModel(),
                           operator behaviour: HistoricalOperator = HistoricalOperator(), threads: Int = 1) -> Simulation {
        let profiles = (1...max(1, settings.services)).map(ServiceProfile.standard)
        let perService = Parallel.map(profiles.count, threads: threads) { s -> ([FaultEvent], [[Double]]) in
            var planner = RandomSource(seed: settings.seed, stream: UInt64(2 * s))
            let faults = plan(profiles[s], settings: settings, model: model, operator: behaviour, random: &planner)
            let deploys = scheduleDeploys(settings: settings, faults: faults, random: &planner)
            var noise = RandomSource(seed: settings.seed, stream: UInt64(2 * s + 1))
            let engine = ServiceEngine(profile: profiles[s], interval: Int64(settings.interval))
            let columns = engine.generate(start: settings.start, count: settings.rowsPerService, faults: faults,
                                          deploys: deploys, random: &noise)
            return (faults, columns)
        }
        var all = [(service: Int, event: FaultEvent)]()
        for (s, result) in perService.enumerated() { all += result.0.map { (s, $0) } }
        all.sort { ($0.event.detection, $0.service) < ($1.event.detection, $1.service) }
        let incidents = all.enumerated().map { n, item in
            Incident(id: "INC-" + pad(n + 1, 5), service: profiles[item.service].name, event: item.event)
        }
        return Simulation(settings: settings, profiles: profiles, metrics: perService.map(\.1), incidents: incidents)
    }

    /// Seconds a service stays up after a recovery before its next fault: at least two hours,
    /// plus an exponential with a mean of four (`plan`).
    static let minimumUptime = 7_200.0
    /// The mean of that uptime, 6 h: the simulator's MTBF (recovery → next fault), the same
    /// whichever policy repairs the faults.
    public static let meanUptime = 21_600.0

    /// Faults of one service: inter-arrival gaps of two hours plus an exponential with a mean of
    /// four, so about three incidents per service per day (a chaos experiment, not production
    /// rates); each handled by the historical operator. Faults that would not be fixed before
    /// the end of the history are not injected.
    static func plan(_ profile: ServiceProfile, settings: SimulationSettings, model: IncidentModel,
                     operator behaviour: HistoricalOperator, random: inout RandomSource) -> [FaultEvent] {
        let interval = Int64(settings.interval)
        var faults = [FaultEvent]()
        var t = settings.start + Int64(3600 + random.exponential(rate: 1.0 / 10_800))
        while true {
            let fault = Fault.draw(&random)
            let shape = FaultShape.draw(fault, profile: profile, interval: interval, random: &random)
            let onset = t
            // The incident opens at the first metrics row that shows it.
            let detection = settings.start + ((onset + shape.detectionDelay - settings.start + interval - 1) / interval) * interval
            let draws = EpisodeDraws(&random)
            let result = behaviour.play(fault, model: model, draws: draws, random: &random)
            let recovery = detection + Int64(result.downtime)
            if recovery + 10 * interval >= settings.end { break }
            faults.append(FaultEvent(fault: fault, onset: onset, detection: detection, recovery: recovery,
                                     severity: shape.severity, leakRate: shape.leakRate, partial: shape.partial,
                                     attempts: result.attempts))
            t = recovery + Int64(minimumUptime + random.exponential(rate: 1.0 / (meanUptime - minimumUptime)))
        }
        return faults
    }

    /// Routine deploys: on weekdays, with probability 0.7, one at a random time in working hours
    /// (09:00–17:00 UTC), kept an hour clear of any fault; plus the deploy that starts each bad
    /// deploy.
    static func scheduleDeploys(settings: SimulationSettings, faults: [FaultEvent], random: inout RandomSource) -> [Int64] {
        var deploys = faults.filter { $0.fault == .badDeploy }.map(\.onset)
        for day in 0..<settings.days {
            let dayStart = settings.start + Int64(day) * 86_400
            let weekday = (dayStart / 86_400 + 3) % 7
            let happens = random.bernoulli(0.7)
            let time = dayStart + Int64(random.uniform(9 * 3600, 17 * 3600))
            guard weekday < 5, happens else { continue }
            if faults.contains(where: { time >= $0.onset - 3600 && time <= $0.recovery + 3600 }) { continue }
            deploys.append(time)
        }
        return deploys.sorted()
    }
}

func pad(_ n: Int, _ width: Int) -> String {
    let s = String(n)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
