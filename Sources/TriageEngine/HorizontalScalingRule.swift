import TriageCore

/// How many replicas a service should run, by the Kubernetes Horizontal Pod Autoscaler's rule.
///
/// For each utilisation signal (Kubernetes docs, "Horizontal Pod Autoscaling", section
/// "Algorithm details"; the controller's `pkg/controller/podautoscaler/replica_calculator.go`):
///
///     ratio           = currentMetricValue / desiredMetricValue
///     desiredReplicas = ceil(currentReplicas × ratio)      unless |ratio − 1| ≤ tolerance
///
/// and with several signals the largest desired count wins ("the HPA chooses the largest";
/// `computeReplicasForMetrics`), clamped to [minReplicas, maxReplicas].
///
/// Defaults and why:
/// - `tolerance` 0.1: the controller's `--horizontal-pod-autoscaler-tolerance` default, so a
///   10 % wobble around the target never changes the replica count.
/// - `scaleDownStabilisationSeconds` 300: the default of
///   `--horizontal-pod-autoscaler-downscale-stabilization` (5 min). Triage measures it in data
///   time and raises `scale_down` only once every row of that long a healthy run asked for fewer
///   replicas; the count it asks for is the largest of the run's (the HPA's "highest
///   recommendation within the window"), so a brief dip cannot shrink the service.
/// - A signal that cannot be computed (missing value, no target, a target of 0) is left out of
///   the maximum; like the controller, a scale-down is then not allowed at all (a missing signal
///   might have been the one asking for more replicas).
///
/// Signals are per replica, as the HPA's `AverageValue`/`Utilization` targets are: CPU is
/// already an average utilisation (%); the request rate is the service's total, divided by the
/// replica count. `ScalingTargets` says where targets come from.
public struct HorizontalScalingRule: Codable, Sendable, Equatable {
    public var tolerance = 0.1
    public var scaleDownStabilisationSeconds: Int64 = 300

    public init() {}

    public func validate() throws(EngineError) {
        guard tolerance.isFinite, (0..<1).contains(tolerance) else {
            throw .outOfRange(field: "scaling tolerance", value: "\(tolerance)", expected: "a number in 0 ≤ t < 1")
        }
        guard (0...86_400).contains(scaleDownStabilisationSeconds) else {
            throw .outOfRange(field: "scale-down stabilisation window", value: "\(scaleDownStabilisationSeconds) s",
                              expected: "0 s to 1 day")
        }
    }

    /// One signal's reading against its target, both per replica.
    public struct Signal: Sendable, Equatable {
        public var metric: ServiceMetric
        public var current: Double
        public var target: Double
        public init(metric: ServiceMetric, current: Double, target: Double) {
            self.metric = metric
            self.current = current
            self.target = target
        }

        /// current / target, or nil when the signal cannot be used (not finite, negative, or a
        /// target that is not positive: a ratio against 0 is undefined).
        public var ratio: Double? {
            guard current.isFinite, current >= 0, target.isFinite, target > 0 else { return nil }
            return current / target
        }
    }

    /// What the rule asks for, with the reading behind it.
    public struct Proposal: Sendable, Equatable {
        public var current: Int
        /// After the tolerance, the maximum over signals and the clamp.
        public var desired: Int
        /// The signal that set the maximum (nil: no usable signal; `desired` is then `current`
        /// clamped).
        public var deciding: Signal?
        /// Whether every signal could be used: a scale-down is allowed only then.
        public var allSignalsUsable: Bool
    }

    /// ceil(current × ratio), or `current` when the ratio is within the tolerance of 1.
    ///
    /// The product is rounded to 1e-9 before the ceiling so that a ratio such as 0.6 (stored as
    /// 0.59999…) does not land one replica off from the exact arithmetic.
    public static func desiredReplicas(current: Int, ratio: Double, tolerance: Double) -> Int {
        // "Within 10 %" includes 10 % itself: 1.1 is stored as 1.1000000000000000888, and
        // |1.1 − 1| > 0.1 in binary; the 1e-12 slack keeps a ratio of exactly 1.1 or 0.9 inside.
        guard abs(ratio - 1) > tolerance + 1e-12 else { return current }
        let product = Double(current) * ratio
        let cleaned = (product * 1e9).rounded() / 1e9
        // Bounded well inside Int: any count above 10⁶ is clamped by the caller anyway.
        return Int(min(cleaned.rounded(.up), 1e9))
    }

    /// The rule over `signals` for a service running `current` replicas, clamped to `bounds`.
    public func propose(current: Int, signals: [Signal], bounds: ClosedRange<Int>) -> Proposal {
        var maximum = Maximum(current: current, tolerance: tolerance)
        for signal in signals { maximum.add(signal) }
        return maximum.proposal(bounds: bounds)
    }

    /// The same for at most a CPU and a request-rate signal, without building an array: the
    /// engine asks on every healthy row (an array per row was a third of the rule's cost).
    public func propose(current: Int, cpu: Signal?, requestRate: Signal?, bounds: ClosedRange<Int>) -> Proposal {
        var maximum = Maximum(current: current, tolerance: tolerance)
        if let cpu { maximum.add(cpu) }
        if let requestRate { maximum.add(requestRate) }
        return maximum.proposal(bounds: bounds)
    }

    /// The running maximum over signals of the desired count.
    struct Maximum {
        let current: Int
        let tolerance: Double
        var desired: Int?
        var deciding: Signal?
        var usable = true
        var count = 0

        init(current: Int, tolerance: Double) {
            self.current = current
            self.tolerance = tolerance
        }

        mutating func add(_ signal: Signal) {
            count += 1
            guard let ratio = signal.ratio else { usable = false; return }
            let wanted = HorizontalScalingRule.desiredReplicas(current: current, ratio: ratio, tolerance: tolerance)
            if desired == nil || wanted > desired! {
                desired = wanted
                deciding = signal
            }
        }

        func proposal(bounds: ClosedRange<Int>) -> Proposal {
            let clamped = min(bounds.upperBound, max(bounds.lowerBound, desired ?? current))
            return Proposal(current: current, desired: clamped, deciding: deciding, allSignalsUsable: usable && count > 0)
        }
    }
}
