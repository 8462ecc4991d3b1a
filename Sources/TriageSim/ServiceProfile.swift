import TriageCore

/// A simulated service's fixed character. Profiles depend only on the service's index, never
/// on the seed, so `svc-03` is the same service in every simulation (CLI contract) and a bundle
/// trained on one seed can watch another seed's metrics.
public struct ServiceProfile: Sendable, Codable, Equatable {
    public var index: Int
    public var name: String
    /// Mean requests per second at the daily mean load.
    public var baseRequestRate: Double
    public var replicas: Int
    /// Requests per second one replica serves at 100 % CPU.
    public var capacityPerReplica: Double
    public var baseLatencyMs: Double
    public var baseErrorRate: Double
    /// Resident memory, percent of the limit.
    public var baseMemory: Double
    /// Relative swing of the daily load cycle (load = 1 ± amplitude).
    public var dailyAmplitude: Double
    /// Hour of day (UTC) of peak load.
    public var peakHour: Double
    /// Load on Saturdays and Sundays relative to weekdays.
    public var weekendFactor: Double

    public static func name(_ index: Int) -> String {
        index < 10 ? "svc-0\(index)" : "svc-\(index)"
    }

    /// The profile of service `index` (1-based), drawn from a generator with a fixed seed.
    public static func standard(_ index: Int) -> ServiceProfile {
        // "PROFILE" in ASCII: a fixed seed, deliberately not the user's.
        var random = RandomSource(seed: 0x50_524F_4649_4C45, stream: UInt64(index))
        let base = 40 * pow(10, random.uniform(0, 1.1))          // 40 … 500 rps
        let replicas = 2 + random.integer(below: 5)                // 2 … 6
        let amplitude = random.uniform(0.25, 0.45)
        // Sized so the daily peak runs at 50–65 % CPU: the usual autoscaling target.
        let peakUtilisation = random.uniform(0.5, 0.65)
        let capacity = base * (1 + amplitude) / (Double(replicas) * peakUtilisation)
        return ServiceProfile(
            index: index, name: name(index), baseRequestRate: base, replicas: replicas,
            capacityPerReplica: capacity, baseLatencyMs: random.uniform(20, 120),
            baseErrorRate: random.uniform(0.001, 0.005), baseMemory: random.uniform(35, 55),
            dailyAmplitude: amplitude, peakHour: random.uniform(13, 20), weekendFactor: random.uniform(0.6, 0.85))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
