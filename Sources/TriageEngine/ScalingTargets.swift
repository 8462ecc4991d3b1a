import Foundation
import TriageCore
import TriageData

/// Per-service targets of the HPA rule (`HorizontalScalingRule`) and replica bounds: read from a
/// targets file where one is given, derived from the bundle's baseline otherwise.
///
/// The file is CSV with a header naming `service` and any of `cpu`, `request_rate`,
/// `min_replicas`, `max_replicas` (any order); `#` starts a comment line, blank lines are
/// ignored, an empty cell keeps the default. The service `*` sets defaults for every service
/// without a row of its own:
///
///     service,cpu,request_rate,min_replicas,max_replicas
///     checkout,60,120,2,12
///     *,,,1,20
///
/// - `cpu`: target average CPU utilisation, % (0 < x ≤ 100).
/// - `request_rate`: target requests per second per replica (> 0).
/// - `min_replicas`, `max_replicas`: 1 ≤ min ≤ max ≤ 10 000.
///
/// Defaults without a file (or for an empty cell):
/// - targets: the service's normal operating point from the bundle's baseline: the median CPU,
///   and the median request rate over the median replica count. The sizing the service runs
///   at in normal times is taken as the intended one, so normal load asks for no change;
/// - `min_replicas` 1 (the HPA's default);
/// - `max_replicas` 4 × the baseline's median replica count (the HPA has no default; the
///   simulator's traffic surges reach 2.5–4× the normal rate), or 10 without a baseline.
public struct ScalingTargets: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var cpu: Double?
        public var requestRate: Double?
        public var minReplicas: Int?
        public var maxReplicas: Int?
        public init(cpu: Double? = nil, requestRate: Double? = nil, minReplicas: Int? = nil, maxReplicas: Int? = nil) {
            self.cpu = cpu
            self.requestRate = requestRate
            self.minReplicas = minReplicas
            self.maxReplicas = maxReplicas
        }
    }

    /// A service's targets once defaults are filled in.
    public struct Resolved: Sendable, Equatable {
        public var cpu: Double?
        public var requestRate: Double?
        public var bounds: ClosedRange<Int>
    }

    public var services: [String: Entry]
    /// The `*` row.
    public var fallback: Entry

    public init(services: [String: Entry] = [:], fallback: Entry = Entry()) {
        self.services = services
        self.fallback = fallback
    }

    public static let defaultMinReplicas = 1
    public static let maxReplicasPerBaselineReplica = 4
    public static let defaultMaxReplicasWithoutBaseline = 10
    public static let replicaLimit = 10_000

    /// The targets and bounds of `service`: its row, then the `*` row, then the baseline.
    public func resolved(service: String, baseline: ServiceBaseline?) -> Resolved {
        let own = services[service] ?? Entry()
        var cpu = own.cpu ?? fallback.cpu
        var requestRate = own.requestRate ?? fallback.requestRate
        var baselineReplicas: Double?
        if let baseline, baseline.median.count == ServiceMetric.allCases.count {
            let replicas = baseline.median[ServiceMetric.replicas.rawValue]
            if replicas.isFinite, replicas >= 1 { baselineReplicas = replicas }
            if cpu == nil { cpu = baseline.median[ServiceMetric.cpu.rawValue] }
            if requestRate == nil, let replicas = baselineReplicas {
                requestRate = baseline.median[ServiceMetric.requestRate.rawValue] / replicas
            }
        }
        let low = own.minReplicas ?? fallback.minReplicas ?? Self.defaultMinReplicas
        let derivedMax = baselineReplicas.map { Int(min(Double(Self.replicaLimit), ($0 * Double(Self.maxReplicasPerBaselineReplica)).rounded(.up))) }
            ?? Self.defaultMaxReplicasWithoutBaseline
        let high = max(low, own.maxReplicas ?? fallback.maxReplicas ?? derivedMax)
        return Resolved(cpu: cpu, requestRate: requestRate, bounds: low...high)
    }

    /// The rule's signals for a row (`ServiceMetric` order): CPU utilisation as it is, the
    /// request rate per replica; nil for a signal without a target.
    public static func signals(values: [Double], replicas: Int, targets: Resolved)
        -> (cpu: HorizontalScalingRule.Signal?, requestRate: HorizontalScalingRule.Signal?) {
        (targets.cpu.map { .init(metric: .cpu, current: values[ServiceMetric.cpu.rawValue], target: $0) },
         targets.requestRate.map {
             .init(metric: .requestRate, current: values[ServiceMetric.requestRate.rawValue] / Double(max(1, replicas)), target: $0)
         })
    }

    // MARK: The targets file

    public static let columns = ["service", "cpu", "request_rate", "min_replicas", "max_replicas"]

    /// Largest targets file read (as the approver allowlist: far more than any real file, and a
    /// bound so a path to `/dev/zero` cannot exhaust memory).
    public static let maximumBytes = FileLimits.allowlistBytes

    /// Reads and parses the targets file at `path` (a regular file of at most 1 MiB).
    public static func load(_ path: String) throws(EngineError) -> ScalingTargets {
        let text: String
        do {
            text = try MappedFile(path: path, limit: maximumBytes, what: "scaling targets file")
                .withBytes { String(decoding: $0, as: UTF8.self) }
        } catch {
            throw .invalid(error.description)
        }
        return try parse(text, path: path)
    }

    /// Parses targets text; `path` only names the file in errors (`path:line:column: reason`).
    public static func parse(_ text: String, path: String) throws(EngineError) -> ScalingTargets {
        let text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        var header: [String]?
        var targets = ScalingTargets()
        var seen = Set<String>()
        // "\r\n" is one Character in Swift: splitting on "\n" alone would not split CRLF files.
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .enumerated() {
            let line = index + 1
            let content = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let trimmed = content.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            // Fields with their 1-based starting columns, for errors.
            var fields = [(text: String, column: Int)]()
            var column = 1
            for piece in content.split(separator: ",", omittingEmptySubsequences: false) {
                fields.append((piece.trimmingCharacters(in: .whitespaces), column))
                column += piece.count + 1
            }
            func fail(_ column: Int, _ reason: String) -> EngineError {
                .invalidConfiguration(path: path, line: line, column: column, reason: reason)
            }
            guard let names = header else {
                for field in fields where !columns.contains(field.text) {
                    throw fail(field.column, "unknown column \(JSONValue.quote(field.text)); expected \(columns.joined(separator: ", "))")
                }
                for (k, field) in fields.enumerated() where fields[..<k].contains(where: { $0.text == field.text }) {
                    throw fail(field.column, "column \(JSONValue.quote(field.text)) appears twice")
                }
                guard fields.contains(where: { $0.text == "service" }) else {
                    throw fail(1, "the header needs a 'service' column (then any of cpu, request_rate, min_replicas, max_replicas)")
                }
                header = fields.map(\.text)
                continue
            }
            guard fields.count == names.count else {
                throw fail(fields.last!.column, "\(fields.count) fields, the header has \(names.count)")
            }
            var entry = Entry()
            var service = ""
            for (name, field) in zip(names, fields) {
                let value = field.text
                if name == "service" {
                    guard !value.isEmpty else { throw fail(field.column, "the service is empty") }
                    service = value
                    continue
                }
                guard !value.isEmpty else { continue }
                switch name {
                case "cpu":
                    guard let x = Double(value), x.isFinite, x > 0, x <= 100 else {
                        throw fail(field.column, "cpu target must be a utilisation in (0, 100] %, got \(JSONValue.quote(value))")
                    }
                    entry.cpu = x
                case "request_rate":
                    guard let x = Double(value), x.isFinite, x > 0, x <= 1e12 else {
                        throw fail(field.column, "request_rate target must be a positive number of requests per second per replica, got \(JSONValue.quote(value))")
                    }
                    entry.requestRate = x
                default:
                    guard let n = Int(value), (1...replicaLimit).contains(n) else {
                        throw fail(field.column, "\(name) must be a whole number 1–\(replicaLimit), got \(JSONValue.quote(value))")
                    }
                    if name == "min_replicas" { entry.minReplicas = n } else { entry.maxReplicas = n }
                }
            }
            if let low = entry.minReplicas, let high = entry.maxReplicas, low > high {
                let at = zip(names, fields).first { $0.0 == "max_replicas" }!.1.column
                throw fail(at, "max_replicas \(high) is below min_replicas \(low)")
            }
            guard seen.insert(service).inserted else {
                throw fail(fields[names.firstIndex(of: "service")!].column, "service \(JSONValue.quote(service)) has a row already")
            }
            if service == "*" { targets.fallback = entry } else { targets.services[service] = entry }
        }
        guard header != nil else {
            throw .invalidConfiguration(path: path, line: 1, column: 1, reason: "no header (service,cpu,request_rate,min_replicas,max_replicas)")
        }
        return targets
    }
}
