import TriageCore

/// One injected fault on one service and how it was handled.
public struct FaultEvent: Sendable, Equatable {
    public var fault: Fault
    /// When the fault began (truth.json `start`).
    public var onset: Int64
    /// When it showed clearly enough to open an incident (incidents.csv `start` of attempt 1).
    public var detection: Int64
    /// When it was fixed (truth.json `end`).
    public var recovery: Int64
    /// Severity in [0, 1): scales the signature within its fault's range.
    public var severity: Double
    /// Memory leak: percent per second.
    public var leakRate: Double
    /// Hung process: one replica hangs, not all; dependency outage: one zone's share of calls
    /// fails, not all. Partial faults look alike (stale heartbeats, timeouts, some errors) —
    /// the ambiguity real on-call engineers face.
    public var partial: Bool
    public var attempts: [Attempt]

    /// Start of the successful scale-up attempt, whose extra replicas stay for two hours after.
    var scaleUpFrom: Int64? {
        guard let last = attempts.last, last.succeeded, last.action == .scaleUp else { return nil }
        return recovery - Int64(last.seconds)
    }
}

/// How a fault will show, drawn once per fault: severity, leak rate, partial or not, and how
/// long after onset it becomes visible enough to open an incident.
struct FaultShape {
    var severity: Double
    var leakRate = 0.0
    var partial = false
    var detectionDelay: Int64

    static func draw(_ fault: Fault, profile: ServiceProfile, interval: Int64, random: inout RandomSource) -> FaultShape {
        let severity = random.uniform()
        switch fault {
        case .memoryLeak:
            // 1–4 hours from the start of the leak to the 88 % alert.
            let seconds = random.uniform(3600, 14_400)
            return FaultShape(severity: severity, leakRate: (88 - profile.baseMemory) / seconds, detectionDelay: Int64(seconds))
        case .trafficSurge:
            return FaultShape(severity: severity, detectionDelay: Int64(2 + random.integer(below: 2)) * interval)
        case .hungProcess:
            return FaultShape(severity: severity, partial: random.bernoulli(0.35),
                              detectionDelay: Int64(2 + random.integer(below: 2)) * interval)
        case .badDeploy:
            return FaultShape(severity: severity, detectionDelay: Int64(1 + random.integer(below: 2)) * interval)
        case .dependencyOutage:
            return FaultShape(severity: severity, partial: random.bernoulli(0.3),
                              detectionDelay: Int64(1 + random.integer(below: 2)) * interval)
        case .slowDisk, .noisyNeighbour:
            return FaultShape(severity: severity, detectionDelay: Int64(2 + random.integer(below: 3)) * interval)
        }
    }
}

/// Generates one service's metrics, interval by interval, from its profile and its schedule of
/// faults and deploys.
///
/// Normal behaviour: load follows a daily cosine and a weekend dip times AR(1) noise; CPU is
/// utilisation plus overhead; p99 latency grows with utilisation like a queue (1 + ½ u/(1.05 − u));
/// errors sit at a base rate and rise under overload; heartbeats arrive every 15 s. A deploy is
/// a rolling update whose surge pod shows as one extra replica for one interval. Each fault
/// bends these signals in its own way (see `apply`).
struct ServiceEngine {
    let profile: ServiceProfile
    let interval: Int64

    /// Metric columns (`ServiceMetric` order) for `count` rows from `start`, quantised to the
    /// precision written to CSV so in-memory and on-disk values agree.
    func generate(start: Int64, count: Int, faults: [FaultEvent], deploys: [Int64],
                  random: inout RandomSource) -> [[Double]] {
        var columns = [[Double]](repeating: [Double](repeating: 0, count: count), count: ServiceMetric.allCases.count)
        var ar = random.normal() * 0.046 // stationary start of the AR(1) load noise
        var faultIndex = 0, deployIndex = 0
        let p = profile
        for k in 0..<count {
            let t = start + Int64(k) * interval
            let secondOfDay = Double(((t % 86_400) + 86_400) % 86_400)
            let hour = secondOfDay / 3600
            let day = t >= 0 ? t / 86_400 : (t - 86_399) / 86_400
            let weekend = (day + 3) % 7 >= 5 // 1970-01-01 was a Thursday; Monday = 0
            ar = 0.9 * ar + 0.02 * random.normal()
            let daily = 1 + p.dailyAmplitude * cos(2 * Double.pi * (hour - p.peakHour) / 24)
            var requests = p.baseRequestRate * daily * (weekend ? p.weekendFactor : 1) * (1 + ar) * (1 + 0.02 * random.normal())
            var replicas = Double(p.replicas)
            var memory = p.baseMemory + 3 * sin(2 * Double.pi * hour / 24) + 0.7 * random.normal()
            var heartbeat = random.uniform(0, 15)
            var cpuFactor = 1.0, latencyFactor = exp(0.08 * random.normal()), latencyFloor = 0.0, errorExtra = 0.0
            var extraReplicas = 0.0

            while faultIndex < faults.count && faults[faultIndex].recovery + 7200 <= t { faultIndex += 1 }
            var i = faultIndex
            while i < faults.count && faults[i].onset <= t + 7200 {
                let f = faults[i]
                if let from = f.scaleUpFrom, t >= from, t < f.recovery + 7200 {
                    extraReplicas = Double((p.replicas + 1) / 2)
                }
                if t >= f.onset && t < f.recovery {
                    apply(f, at: t, requests: &requests, memory: &memory, heartbeat: &heartbeat, cpuFactor: &cpuFactor,
                          latencyFactor: &latencyFactor, latencyFloor: &latencyFloor, errorExtra: &errorExtra,
                          random: &random)
                }
                i += 1
            }
            replicas += extraReplicas
            let capacity = replicas * p.capacityPerReplica
            while deployIndex < deploys.count && deploys[deployIndex] <= t - interval { deployIndex += 1 }
            if deployIndex < deploys.count && deploys[deployIndex] <= t { replicas += 1 } // surge pod

            let utilisation = requests / capacity
            let u = min(utilisation, 1)
            let cpu = min(100, max(0, (3 + 90 * utilisation) * cpuFactor * (1 + 0.03 * random.normal())))
            var latency = p.baseLatencyMs * (1 + 0.5 * u / (1.05 - u)) * latencyFactor
            latency = max(latency, latencyFloor)
            var errors = max(0, p.baseErrorRate * (1 + 0.2 * random.normal()))
            if utilisation > 0.9 { errors += min(0.05, (utilisation - 0.9) * 0.2) }
            errors = min(1, errors + errorExtra)

            columns[0][k] = quantise(cpu, 10)
            columns[1][k] = quantise(min(100, max(0, memory)), 10)
            columns[2][k] = quantise(latency, 10)
            columns[3][k] = quantise(errors, 10_000)
            columns[4][k] = quantise(max(0, requests), 10)
            columns[5][k] = replicas
            columns[6][k] = quantise(heartbeat, 10)
        }
        return columns
    }

    /// The metric signature of a fault at time t (between onset and recovery).
    func apply(_ f: FaultEvent, at t: Int64, requests: inout Double, memory: inout Double, heartbeat: inout Double,
               cpuFactor: inout Double, latencyFactor: inout Double, latencyFloor: inout Double,
               errorExtra: inout Double, random: inout RandomSource) {
        let s = f.severity
        let elapsed = Double(t - f.onset)
        switch f.fault {
        case .memoryLeak:
            // Memory climbs linearly until the OOM killer restarts the process at 98 %, then
            // climbs again; GC pressure slows requests above 75 %.
            let period = (98 - profile.baseMemory) / f.leakRate
            let sinceRestart = elapsed.truncatingRemainder(dividingBy: period)
            memory += f.leakRate * sinceRestart
            latencyFactor *= 1 + max(0, memory - 75) / 25
            if elapsed >= period && sinceRestart < Double(interval) { // just OOM-killed
                heartbeat = 30 + random.uniform(0, 15)
                errorExtra += 0.05
            }
        case .trafficSurge:
            // Ramps up over about two intervals to 2.5–4× the normal rate.
            let ramp = min(1, elapsed / Double(2 * interval) + 0.34)
            requests *= 1 + (1.5 + 1.5 * s) * ramp
        case .badDeploy:
            errorExtra += 0.1 + 0.2 * s
            latencyFactor *= 1.5 + s
        case .dependencyOutage where f.partial:
            // One zone of the dependency is down: its share of calls times out.
            errorExtra += 0.02 + 0.06 * s
            latencyFloor = 3000 + 2000 * s
            if random.bernoulli(0.5) { heartbeat = random.uniform(60, 300) }
        case .dependencyOutage:
            // Calls to the dead dependency time out; health checks that touch it go missing.
            errorExtra += 0.3 + 0.3 * s
            latencyFloor = 3000 + 2000 * s
            if random.bernoulli(0.7) { heartbeat = random.uniform(60, 300) }
            requests *= 0.85
        case .hungProcess where f.partial:
            // One replica hangs: its heartbeat goes stale and the requests routed to it hang,
            // while the others serve normally.
            let share = 1 / Double(profile.replicas)
            heartbeat = elapsed + random.uniform(0, 15)
            requests *= 1 - 0.8 * share
            cpuFactor *= 1 - 0.9 * share
            latencyFactor *= 6 + 10 * s
            errorExtra += (0.03 + 0.05 * s) * share
        case .hungProcess:
            // The process stops answering: heartbeats go stale, traffic is routed away, and the
            // requests still sent to it hang.
            heartbeat = elapsed + random.uniform(0, 15)
            requests *= 0.1 + 0.3 * s
            cpuFactor *= 0.25
            latencyFactor *= 8 + 12 * s
            errorExtra += 0.02 + 0.04 * s
        case .slowDisk:
            latencyFactor *= 2 + 2 * s
            cpuFactor *= 1.2 // I/O wait
            errorExtra += 0.003 + 0.017 * s
        case .noisyNeighbour:
            cpuFactor *= 1.5 + 0.7 * s // steal time
            latencyFactor *= 1.5 + 1.5 * s
        }
    }

    @inline(__always)
    func quantise(_ value: Double, _ scale: Double) -> Double { (value * scale).rounded() / scale }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
