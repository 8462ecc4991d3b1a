/// The service metrics Triage reads, in the column order of `simulate`'s metrics.csv.
public enum ServiceMetric: Int, CaseIterable, Codable, Sendable {
    case cpu = 0, memory, latency, errorRate, requestRate, replicas, heartbeatAge

    public var name: String {
        switch self {
        case .cpu: return "cpu"
        case .memory: return "memory"
        case .latency: return "latency_p99_ms"
        case .errorRate: return "error_rate"
        case .requestRate: return "request_rate"
        case .replicas: return "replicas"
        case .heartbeatAge: return "heartbeat_age_s"
        }
    }

    public static var names: [String] { allCases.map(\.name) }
}

/// One service's metrics in time order: `times[i]` (Unix seconds) and `values[m][i]` for metric m
/// (missing values are NaN).
public struct ServiceSeries: Sendable {
    public var times: [Int64]
    public var values: [[Double]]

    public init(times: [Int64], values: [[Double]]) {
        precondition(values.count == ServiceMetric.allCases.count && values.allSatisfy { $0.count == times.count },
                     "a series needs one column per metric, each as long as the times")
        self.times = times
        self.values = values
    }

    public var count: Int { times.count }
    public func column(_ metric: ServiceMetric) -> [Double] { values[metric.rawValue] }

    /// Index of the first row at or after `time` (binary search; `count` when none).
    public func firstIndex(atOrAfter time: Int64) -> Int {
        var low = 0, high = times.count
        while low < high {
            let mid = (low + high) / 2
            if times[mid] < time { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// A service's normal operating point: robust location and scale of each metric, the fallback
/// reference when an incident starts too early in the data to have its own reference window.
public struct ServiceBaseline: Codable, Sendable, Equatable {
    public var service: String
    public var rows: Int
    /// Median of each metric (`ServiceMetric` order; NaN when a metric has no values).
    public var median: [Double]
    /// Median absolute deviation × 1.4826 (a consistent estimate of σ for normal noise).
    public var scale: [Double]

    public init(service: String, series: ServiceSeries) {
        self.service = service
        rows = series.count
        median = []
        scale = []
        for metric in ServiceMetric.allCases {
            let values = series.column(metric).filter { !$0.isNaN }.sorted()
            let m = SymptomExtractor.median(sorted: values)
            median.append(m)
            let deviations = values.map { abs($0 - m) }.sorted()
            // 1.4826 = 1/Φ⁻¹(3/4): makes the MAD estimate σ for Gaussian noise.
            scale.append(SymptomExtractor.median(sorted: deviations) * 1.4826)
        }
    }

    enum CodingKeys: String, CodingKey { case service, rows, median, scale }

    /// A baseline read from a bundle has one median and one scale per `ServiceMetric`: the
    /// feature extractor indexes them by metric, so a shorter list (a damaged or hand-edited
    /// `baselines.json` whose checksum was updated) must fail here, not trap per row.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        service = try c.decode(String.self, forKey: .service)
        rows = try c.decode(Int.self, forKey: .rows)
        median = try c.decode([Double].self, forKey: .median)
        scale = try c.decode([Double].self, forKey: .scale)
        let metrics = ServiceMetric.allCases.count
        guard median.count == metrics, scale.count == metrics, rows >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .median, in: c, debugDescription:
                "baseline of service '\(service)' has \(median.count) medians and \(scale.count) scales, expected \(metrics) of each (\(ServiceMetric.names.joined(separator: ", ")))")
        }
    }
}

/// What an incident looks like in the metrics at the moment it is detected, as continuous
/// features (for reasons and classifiers) and as a discretised code (the tabular learner's
/// observation).
public struct Symptoms: Sendable, Equatable, Codable {
    /// Feature values in `SymptomExtractor.featureNames` order.
    public var features: [Double]
    /// Discretised level of each feature (`SymptomExtractor.levelCounts`).
    public var levels: [Int]

    public init(features: [Double], levels: [Int]) {
        self.features = features
        self.levels = levels
    }

    enum CodingKeys: String, CodingKey { case features, levels }

    /// A feature can be NaN (no value in the window: every row had a gap) or infinite (an `inf`
    /// metric), which JSON has no number for: such a feature is written as null and read back
    /// as NaN. (The levels, which the policy learns from, are always finite.)
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(features.map { $0.isFinite ? $0 : nil }, forKey: .features)
        try container.encode(levels, forKey: .levels)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        features = try container.decode([Double?].self, forKey: .features).map { $0 ?? .nan }
        levels = try container.decode([Int].self, forKey: .levels)
    }

    /// Mixed-radix code of `levels`: a single integer per distinct symptom pattern.
    public var code: Int {
        var code = 0
        for (level, radix) in zip(levels, SymptomExtractor.levelCounts) { code = code * radix + level }
        return code
    }

    public static func levels(ofCode code: Int) -> [Int] {
        var rest = code
        var levels = [Int](repeating: 0, count: SymptomExtractor.levelCounts.count)
        for i in stride(from: levels.count - 1, through: 0, by: -1) {
            levels[i] = rest % SymptomExtractor.levelCounts[i]
            rest /= SymptomExtractor.levelCounts[i]
        }
        return levels
    }
}

/// Turns the metrics around an incident's start into symptoms.
///
/// The detection window is the `windowRows` rows ending at the start row (the row that opened
/// the incident: a decision can only use what was seen by then); the reference is
/// the service's own rows from `referenceStart` to `referenceEnd` rows before the start, so
/// ratios compare like with like across the daily load cycle (a night-time surge is judged
/// against the night, not against the daily median). When fewer than `minimumReferenceRows`
/// reference values exist, the service baseline's medians stand in.
public struct SymptomExtractor: Codable, Sendable, Equatable {
    public var windowRows = 2
    public var referenceStart = 40
    public var referenceEnd = 8
    public var minimumReferenceRows = 5
    /// How far back (rows) a deploy counts as "just happened".
    public var deployLookbackRows = 20
    public var thresholds = Thresholds()

    /// Cut points of the discretisation. Load ratios: a daily cycle moves load by at most ~±40 %
    /// within an hour's reference, so halving or +60 % is beyond normal swing; latency 1.5× is
    /// a visible slow-down and 5× means timeouts; error excess 1 % is the usual SLO budget and
    /// 8 % means a large share of requests fail; memory 80 % is the common alerting line;
    /// heartbeats normally arrive every 15 s, so 45 s is three missed beats.
    public struct Thresholds: Codable, Sendable, Equatable {
        public var requestLow = 0.5, requestHigh = 1.6
        public var cpuLow = 0.4, cpuHigh = 1.4
        public var latencyElevated = 1.5, latencyExtreme = 5.0
        public var errorElevated = 0.01, errorHigh = 0.08
        public var memoryHigh = 80.0
        public var heartbeatStale = 45.0

        public init() {}

        /// Flat name → value view for a bundle manifest.
        public var named: [String: Double] {
            ["request_ratio.low": requestLow, "request_ratio.high": requestHigh,
             "cpu_ratio.low": cpuLow, "cpu_ratio.high": cpuHigh,
             "latency_ratio.elevated": latencyElevated, "latency_ratio.extreme": latencyExtreme,
             "error_excess.elevated": errorElevated, "error_excess.high": errorHigh,
             "memory_peak.high": memoryHigh, "heartbeat_peak_s.stale": heartbeatStale]
        }
    }

    public init() {}

    /// Checks settings read from a file (a bundle could have been edited by hand).
    public func validate() throws(EstimatorError) {
        guard (1...1000).contains(windowRows) else {
            throw .invalidParameter(name: "symptom window rows", value: "\(windowRows)", expected: "1–1000")
        }
        guard referenceEnd >= 0, referenceStart > referenceEnd, referenceStart <= 100_000 else {
            throw .invalidParameter(name: "symptom reference rows", value: "\(referenceStart)…\(referenceEnd)",
                                    expected: "0 ≤ end < start ≤ 100000")
        }
        guard (0...100_000).contains(deployLookbackRows), minimumReferenceRows >= 0 else {
            throw .invalidParameter(name: "deploy lookback rows", value: "\(deployLookbackRows)", expected: "0–100000")
        }
    }

    public static let featureNames = ["request_ratio", "cpu_ratio", "latency_ratio", "error_excess",
                                      "memory_peak", "heartbeat_peak_s", "deploy_recent"]
    /// Levels per feature: three for the graded signals, two for the flags.
    public static let levelCounts = [3, 3, 3, 3, 2, 2, 2]
    public static var codeCount: Int { levelCounts.reduce(1, *) }

    /// Symptoms of an incident on `series` opened at row `start` (the first row at or after
    /// the incident's start time); nil when there is no such row.
    public func symptoms(_ series: ServiceSeries, startRow start: Int, baseline: ServiceBaseline?) -> Symptoms? {
        guard start >= 0, start < series.count else { return nil }
        let reference = max(0, start - referenceStart)..<max(0, start - referenceEnd)
        let window = max(0, start - windowRows + 1)..<(start + 1)

        func mean(_ metric: ServiceMetric, _ rows: Range<Int>) -> (value: Double, count: Int) {
            var sum = 0.0, count = 0
            let column = series.values[metric.rawValue]
            for i in rows where !column[i].isNaN { sum += column[i]; count += 1 }
            return (count > 0 ? sum / Double(count) : .nan, count)
        }
        func peak(_ metric: ServiceMetric, _ rows: Range<Int>) -> Double {
            let column = series.values[metric.rawValue]
            return rows.reduce(-Double.infinity) { column[$1].isNaN ? $0 : max($0, column[$1]) }
        }
        func referenceLevel(_ metric: ServiceMetric) -> Double {
            let r = mean(metric, reference)
            if r.count >= minimumReferenceRows { return r.value }
            return baseline?.median[metric.rawValue] ?? r.value
        }
        func ratio(_ metric: ServiceMetric) -> Double {
            let now = mean(metric, window).value
            let before = referenceLevel(metric)
            guard !now.isNaN, !before.isNaN else { return 1 }
            // A floor of 1e-6 keeps an idle reference from turning any activity into infinity.
            return now / max(before, 1e-6)
        }

        let requestRatio = ratio(.requestRate)
        let cpuRatio = ratio(.cpu)
        let latencyRatio = ratio(.latency)
        let errorNow = mean(.errorRate, window).value
        let errorBefore = referenceLevel(.errorRate)
        let errorExcess = errorNow.isNaN || errorBefore.isNaN ? 0 : errorNow - errorBefore
        let memoryPeak = peak(.memory, window)
        let heartbeatPeak = peak(.heartbeatAge, window)
        let deploy = deployed(series, before: start) ? 1.0 : 0.0

        let t = thresholds
        let levels = [
            requestRatio < t.requestLow ? 0 : requestRatio > t.requestHigh ? 2 : 1,
            cpuRatio < t.cpuLow ? 0 : cpuRatio > t.cpuHigh ? 2 : 1,
            latencyRatio < t.latencyElevated ? 0 : latencyRatio < t.latencyExtreme ? 1 : 2,
            errorExcess < t.errorElevated ? 0 : errorExcess < t.errorHigh ? 1 : 2,
            memoryPeak >= t.memoryHigh ? 1 : 0,
            heartbeatPeak >= t.heartbeatStale ? 1 : 0,
            Int(deploy),
        ]
        let features = [requestRatio, cpuRatio, latencyRatio, errorExcess,
                        memoryPeak.isFinite ? memoryPeak : .nan, heartbeatPeak.isFinite ? heartbeatPeak : .nan, deploy]
        return Symptoms(features: features, levels: levels)
    }

    /// A deploy shows in the metrics as a rolling update's surge pod: replicas one higher for a
    /// single row and back the next (a scale-up stays up). Looks at the `deployLookbackRows`
    /// rows up to `start`.
    func deployed(_ series: ServiceSeries, before start: Int) -> Bool {
        let replicas = series.values[ServiceMetric.replicas.rawValue]
        let last = min(series.count - 1, start)
        var i = max(1, start - deployLookbackRows)
        while i < last {
            let previous = replicas[i - 1], now = replicas[i], next = replicas[i + 1]
            if now > previous && next < now && next == previous { return true }
            i += 1
        }
        return false
    }

    static func median(sorted values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let mid = values.count / 2
        return values.count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2
    }
}
