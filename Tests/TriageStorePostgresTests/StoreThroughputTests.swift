import Foundation
import Testing
import TriageEngine

/// Raise and decide throughput of both stores, side by side in one run (figures in
/// BENCHMARKS.md, "Stores: SQLite and PostgreSQL"). Off unless `TRIAGE_STORE_BENCH=1` (and a
/// server, as for the conformance suite): it measures, it asserts no speed.
@Suite struct StoreThroughputTests {
    static let enabled = ProcessInfo.processInfo.environment["TRIAGE_STORE_BENCH"] == "1" && StoreKind.postgresURL != nil

    @Test(.enabled(if: enabled)) func raiseAndApproveThroughput() async throws {
        let raises = 2_000, approvals = 200, rounds = 3
        var seconds = [StoreKind: (raise: [Double], approve: [Double], cpu: [Double])]()
        for _ in 0..<rounds {
            // Alternating the stores, so load on the machine falls on both alike.
            for kind in StoreKind.allCases {
                let f = try await StoreFixture.make(kind)
                let cpuBefore = Self.processCPUSeconds()
                let start = ContinuousClock.now
                for i in 0..<raises {
                    _ = try await f.store.raise(sampleRecommendation("svc-\(i % 50)", at: Int64(i), raisedAt: 1_000 + Int64(i)))
                }
                let raised = ContinuousClock.now
                for i in 1...approvals {
                    _ = try await f.store.approve(Recommendation.id(number: i), by: .http(tokenName: "alice"), comment: nil,
                                                  approvers: f.approvers, outbox: f.outbox, now: 1_500)
                }
                let approved = ContinuousClock.now
                let cpu = Self.processCPUSeconds() - cpuBefore
                var entry = seconds[kind] ?? ([], [], [])
                entry.raise.append((raised - start).seconds)
                entry.approve.append((approved - raised).seconds)
                entry.cpu.append(cpu)
                seconds[kind] = entry
                #expect(f.outboxLines().count == approvals)
                await f.tearDown()
            }
        }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        for kind in StoreKind.allCases {
            guard let s = seconds[kind] else { continue }
            print(String(format: "store-bench %@: raise %.0f/s (median of %d × %d), approve+outbox %.0f/s (%d), test-process CPU %.2f s",
                         kind.rawValue, Double(raises) / median(s.raise), rounds, raises,
                         Double(approvals) / median(s.approve), approvals, median(s.cpu)))
        }
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
