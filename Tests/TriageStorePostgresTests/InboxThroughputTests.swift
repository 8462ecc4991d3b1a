import Foundation
import Testing
@testable import TriageStorePostgres

/// Metrics inbox throughput (BENCHMARKS.md, "Replicas: the metrics inbox"): rows appended per
/// second in batches of 1 and 100 rows over 50 services, by one appender and by two at once,
/// and rows consumed per second by the owner (read after the checkpoint, fenced checkpoint that
/// deletes them). Off unless `TRIAGE_INBOX_BENCH=1` (benchmarks/inbox_throughput.sh): it
/// measures, it asserts no speed.
@Suite struct InboxThroughputTests {
    static let enabled = ProcessInfo.processInfo.environment["TRIAGE_INBOX_BENCH"] == "1" && ReplicaFixture.enabled

    @Test(.enabled(if: enabled)) func inboxThroughput() async throws {
        let serviceCount = 50, rounds = 3
        let shapes: [(batch: Int, appenders: Int, rows: Int)] = [(1, 1, 2_000), (100, 1, 50_000), (100, 2, 50_000)]
        var appendRates = [String: [Double]]()
        var consumeRates = [Double]()
        var cpu = [String: [Double]]()
        for _ in 0..<rounds {
            for shape in shapes {
                let f = try await ReplicaFixture.make()
                let stores = [try await f.store(), try await f.store()]
                let names = services(serviceCount)
                let perAppender = shape.rows / shape.appenders
                let cpuBefore = StoreThroughputTests.processCPUSeconds()
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for appender in 0..<shape.appenders {
                        group.addTask {
                            let inbox = MetricsInbox(store: stores[appender])
                            var row = 0
                            while row < perAppender {
                                // Time advances per batch; appenders own alternate seconds, so few rows are late.
                                let at = Int64(row / shape.batch * shape.appenders + appender)
                                let batch = (0..<shape.batch).map { i in
                                    InboxRow(service: names[(row + i) % serviceCount], at: at, body: #"{"latency_p99_ms":"# + "\(row + i)}")
                                }
                                _ = try await inbox.append(batch, acceptedBy: "r\(appender)")
                                row += shape.batch
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let elapsed = (ContinuousClock.now - start).seconds
                let key = "batch \(shape.batch) × \(shape.appenders) appender\(shape.appenders > 1 ? "s" : "")"
                appendRates[key, default: []].append(Double(shape.rows) / elapsed)
                cpu[key, default: []].append(StoreThroughputTests.processCPUSeconds() - cpuBefore)

                // The owner consumes everything of its services, 500 rows a checkpoint.
                if shape.batch == 100 && shape.appenders == 1 {
                    let owner = try await LeaseKeeper.join(store: stores[0], replica: "owner", settings: ReplicaFixture.shortLeases)
                    let leases = try await owner.round().held
                    let writes = FencedWrites(store: stores[0])
                    let consumeStart = ContinuousClock.now
                    let cpuConsume = StoreThroughputTests.processCPUSeconds()
                    var consumed = 0
                    for lease in leases {
                        while true {
                            let n = try await writes.consumeInbox(under: lease, limit: 500) { checkpoint, rows in
                                checkpoint.state = Data("\(rows.count)".utf8)
                            }
                            if n == 0 { break }
                            consumed += n
                        }
                    }
                    consumeRates.append(Double(consumed) / (ContinuousClock.now - consumeStart).seconds)
                    cpu["consume", default: []].append(StoreThroughputTests.processCPUSeconds() - cpuConsume)
                    #expect(consumed == shape.rows)
                }
                await f.tearDown()
            }
        }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        for shape in shapes {
            let key = "batch \(shape.batch) × \(shape.appenders) appender\(shape.appenders > 1 ? "s" : "")"
            print(String(format: "inbox-bench append %@: %.0f rows/s (median of %d × %d rows), client CPU %.2f s",
                         key, median(appendRates[key] ?? [0]), rounds, shape.rows, median(cpu[key] ?? [0])))
        }
        print(String(format: "inbox-bench consume (500 a checkpoint, 50 services): %.0f rows/s (median of %d × 50 000), client CPU %.2f s",
                     median(consumeRates), rounds, median(cpu["consume"] ?? [0])))
    }
}
