import Foundation
import Testing
@testable import TriageCore
@testable import TriageEngine

/// The scaling targets file: rows, the `*` defaults, the baseline-derived defaults, and every
/// malformed line named by file, line and column.
@Suite struct ScalingTargetsTests {
    static func baseline(cpu: Double, requestRate: Double, replicas: Double) -> ServiceBaseline {
        var values = [[Double]](repeating: [1, 1, 1], count: ServiceMetric.allCases.count)
        values[ServiceMetric.cpu.rawValue] = [cpu, cpu, cpu]
        values[ServiceMetric.requestRate.rawValue] = [requestRate, requestRate, requestRate]
        values[ServiceMetric.replicas.rawValue] = [replicas, replicas, replicas]
        return ServiceBaseline(service: "svc", series: ServiceSeries(times: [0, 60, 120], values: values))
    }

    @Test func rowsOverrideTheDefaultsAndTheBaseline() throws {
        let text = """
            # targets for the checkout team
            service, cpu, request_rate, min_replicas, max_replicas
            checkout,60,120,2,12
            search,,,3,
            *,,,,20

            """
        let targets = try ScalingTargets.parse(text, path: "t.csv")
        let base = Self.baseline(cpu: 40, requestRate: 300, replicas: 3)
        let checkout = targets.resolved(service: "checkout", baseline: base)
        #expect(checkout.cpu == 60 && checkout.requestRate == 120 && checkout.bounds == 2...12)
        // Empty cells: the baseline's targets, the `*` row's maximum.
        let search = targets.resolved(service: "search", baseline: base)
        #expect(search.cpu == 40 && search.requestRate == 100 && search.bounds == 3...20)
        let other = targets.resolved(service: "other", baseline: base)
        #expect(other.bounds == 1...20)
    }

    @Test func withoutAFileTargetsComeFromTheBaseline() {
        let targets = ScalingTargets()
        let r = targets.resolved(service: "svc", baseline: Self.baseline(cpu: 45, requestRate: 200, replicas: 4))
        #expect(r.cpu == 45 && r.requestRate == 50 && r.bounds == 1...16)
        // No baseline, no file: no targets (the rule then has no signal), bounds 1–10.
        let none = targets.resolved(service: "svc", baseline: nil)
        #expect(none.cpu == nil && none.requestRate == nil && none.bounds == 1...10)
    }

    @Test func columnsMayComeInAnyOrderAndBeLeftOut() throws {
        let targets = try ScalingTargets.parse("max_replicas,service\r\n8,api\r\n", path: "t.csv")
        #expect(targets.services["api"] == ScalingTargets.Entry(maxReplicas: 8))
    }

    @Test(arguments: [
        ("", "t.csv:1:1: no header"),
        ("cpu,request_rate\n", "t.csv:1:1: the header needs a 'service' column"),
        ("service,cpus\n", "t.csv:1:9: unknown column \"cpus\""),
        ("service,cpu,cpu\n", "t.csv:1:13: column \"cpu\" appears twice"),
        ("service,cpu\napi,0\n", "t.csv:2:5: cpu target must be a utilisation in (0, 100] %, got \"0\""),
        ("service,cpu\napi,nan\n", "t.csv:2:5: cpu target must be"),
        ("service,cpu\napi,101\n", "t.csv:2:5: cpu target must be"),
        ("service,request_rate\napi,-3\n", "t.csv:2:5: request_rate target must be a positive number"),
        ("service,min_replicas\napi,0\n", "t.csv:2:5: min_replicas must be a whole number 1–10000, got \"0\""),
        ("service,max_replicas\napi,2.5\n", "t.csv:2:5: max_replicas must be a whole number"),
        ("service,min_replicas,max_replicas\napi,5,3\n", "t.csv:2:7: max_replicas 3 is below min_replicas 5"),
        ("service,cpu\napi,50,1\n", "t.csv:2:8: 3 fields, the header has 2"),
        ("service,cpu\n,50\n", "t.csv:2:1: the service is empty"),
        ("service,cpu\napi,50\n# again\napi,60\n", "t.csv:4:1: service \"api\" has a row already"),
    ])
    func malformedLinesNameFileLineAndColumn(text: String, message: String) {
        do {
            _ = try ScalingTargets.parse(text, path: "t.csv")
            Issue.record("accepted \(text.debugDescription)")
        } catch {
            #expect(error.description.hasPrefix(message), "\(error.description)")
            if case .invalidConfiguration = error {} else { Issue.record("not invalidConfiguration: \(error)") }
        }
    }

    @Test func loadRefusesAMissingFileWithoutCrashing() {
        #expect(throws: EngineError.self) { try ScalingTargets.load("/nonexistent/targets.csv") }
    }

    @Test func signalsAreCPUAsItIsAndTheRequestRatePerReplica() {
        var values = [Double](repeating: .nan, count: ServiceMetric.allCases.count)
        values[ServiceMetric.cpu.rawValue] = 70
        values[ServiceMetric.requestRate.rawValue] = 600
        let signals = ScalingTargets.signals(values: values, replicas: 3,
                                             targets: .init(cpu: 50, requestRate: 100, bounds: 1...10))
        #expect(signals.cpu == .init(metric: .cpu, current: 70, target: 50))
        #expect(signals.requestRate == .init(metric: .requestRate, current: 200, target: 100))
        let none = ScalingTargets.signals(values: values, replicas: 3, targets: .init(cpu: nil, requestRate: nil, bounds: 1...10))
        #expect(none.cpu == nil && none.requestRate == nil)
    }
}
