import TriageCore

/// How well raised recommendations answer known faults (a simulation's `truth.json`), as
/// `triage evaluate --events … --truth …` reports it (../shared/CLI.md).
///
/// A recommendation matches a fault when it is for the same service and its `created` lies in
/// [start, end + `graceIntervals` × interval]: the engine may need a few rows to see a fault that
/// began between samples, and a fault that ends may still be worth fixing just after.
public struct RecommendationEvaluation: Sendable, Equatable {
    public struct Fault: Sendable, Equatable {
        public var service: String
        public var start: Int64
        public var end: Int64
        public var bestAction: String
        public init(service: String, start: Int64, end: Int64, bestAction: String) {
            self.service = service
            self.start = start
            self.end = end
            self.bestAction = bestAction
        }
    }

    public struct Raised: Sendable, Equatable {
        public var service: String
        public var created: Int64
        public var action: String
        public init(service: String, created: Int64, action: String) {
            self.service = service
            self.created = created
            self.action = action
        }
    }

    public var faults: Int
    public var recommendations: Int
    /// Faults with at least one matching recommendation / faults.
    public var recall: Double
    /// Recommendations matching some fault / recommendations.
    public var precision: Double
    /// Among matched faults, the share whose first matching recommendation is the best action.
    public var actionAccuracy: Double
    /// From fault start to its first matching recommendation, in intervals (nil: nothing matched).
    public var medianDelayIntervals: Double?
    public var p90DelayIntervals: Double?

    public static let graceIntervals: Int64 = 10

    /// `scale_down` recommendations are left out: they are raised by the HPA rule while a
    /// service is healthy, never as the answer to a fault, so counting them would score capacity
    /// housekeeping as false alarms.
    public init(faults: [Fault], raised: [Raised], interval: Int64) {
        precondition(interval > 0, "interval must be positive")
        let raised = raised.filter { $0.action != RemediationAction.scaleDown.name }
        let ordered = raised.sorted { ($0.created, $0.service) < ($1.created, $1.service) }
        func matches(_ r: Raised, _ f: Fault) -> Bool {
            r.service == f.service && r.created >= f.start && r.created <= f.end + Self.graceIntervals * interval
        }
        var matchedFaults = 0, rightAction = 0
        var delays = [Double]()
        for fault in faults {
            guard let first = ordered.first(where: { matches($0, fault) }) else { continue }
            matchedFaults += 1
            if first.action == fault.bestAction { rightAction += 1 }
            delays.append(Double(first.created - fault.start) / Double(interval))
        }
        let useful = ordered.filter { r in faults.contains { matches(r, $0) } }.count
        self.faults = faults.count
        recommendations = raised.count
        recall = faults.isEmpty ? 0 : Double(matchedFaults) / Double(faults.count)
        precision = raised.isEmpty ? 0 : Double(useful) / Double(raised.count)
        actionAccuracy = matchedFaults == 0 ? 0 : Double(rightAction) / Double(matchedFaults)
        medianDelayIntervals = delays.isEmpty ? nil : Metrics.quantile(delays, 0.5)
        p90DelayIntervals = delays.isEmpty ? nil : Metrics.quantile(delays, 0.9)
    }
}
