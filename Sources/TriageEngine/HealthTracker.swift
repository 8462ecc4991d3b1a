/// A service's health, as operators page on it: four levels, `critical` the last (an incident
/// the automated loop should no longer work on alone, `CriticalEscalation`).
public enum HealthState: String, Codable, Sendable, CaseIterable {
    case healthy, degraded, unhealthy, critical

    /// Whether an incident is open (the states in which recommendations are raised).
    public var isIncident: Bool { self == .unhealthy || self == .critical }
}

/// Turns a stream of per-row anomaly flags into health states with hysteresis, so one noisy
/// row neither pages nor clears an incident.
///
/// - healthy → degraded on the first anomalous row;
/// - degraded → unhealthy after `unhealthyAfter` anomalous rows in a row (the incident opens);
/// - degraded → healthy after `clearDegradedAfter` normal rows in a row (a blip);
/// - unhealthy → healthy after `recoverAfter` normal rows in a row (the incident closes);
/// - unhealthy → critical only by `escalate()`, on causes outside the anomaly flags
///   (`CriticalEscalation`); critical → healthy by the same recovery rule as unhealthy, and
///   critical never returns to unhealthy (an escalated incident stays escalated until it ends).
///
/// The asymmetry (quick to suspect, slower to declare, slowest to clear) is the usual alerting
/// practice of "for" clauses and recovery windows: detectors flag about 1 % of normal rows, so a
/// run of three flags is rare by chance (≈ 10⁻⁶ per row if independent), while a real fault
/// keeps flagging.
public struct HealthTracker: Codable, Sendable, Equatable {
    public struct Settings: Codable, Sendable, Equatable {
        public var unhealthyAfter = 3
        public var clearDegradedAfter = 2
        public var recoverAfter = 5

        public init() {}

        public func validate() throws(EngineError) {
            for (name, value) in [("unhealthy-after", unhealthyAfter), ("clear-degraded-after", clearDegradedAfter),
                                  ("recover-after", recoverAfter)] where !(1...10_000).contains(value) {
                throw .invalid("\(name) must be 1–10000 rows, got \(value)")
            }
        }
    }

    public let settings: Settings
    public private(set) var state: HealthState = .healthy
    /// Anomalous / normal rows in a row, ending at the last row observed.
    public private(set) var anomalousRun = 0
    public private(set) var normalRun = 0

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// Takes one row's verdict; returns the new state when it changed.
    public mutating func observe(anomalous: Bool) -> HealthState? {
        if anomalous {
            anomalousRun += 1
            normalRun = 0
        } else {
            normalRun += 1
            anomalousRun = 0
        }
        let next: HealthState
        switch state {
        case .healthy:
            next = anomalous ? (anomalousRun >= settings.unhealthyAfter ? .unhealthy : .degraded) : .healthy
        case .degraded:
            if anomalous {
                next = anomalousRun >= settings.unhealthyAfter ? .unhealthy : .degraded
            } else {
                next = normalRun >= settings.clearDegradedAfter ? .healthy : .degraded
            }
        case .unhealthy, .critical:
            next = !anomalous && normalRun >= settings.recoverAfter ? .healthy : state
        }
        guard next != state else { return nil }
        state = next
        return next
    }

    /// unhealthy → critical; returns the new state, or nil when not unhealthy (only an open,
    /// not yet escalated incident escalates).
    public mutating func escalate() -> HealthState? {
        guard state == .unhealthy else { return nil }
        state = .critical
        return .critical
    }
}
