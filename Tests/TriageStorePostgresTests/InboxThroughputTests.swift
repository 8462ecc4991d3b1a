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
                    // A lease long enough for the whole consumption (a replica would renew it every round).
                    let owner = try await LeaseKeeper.join(store: stores[0], replica: "owner",
                                                           settings: LeaseSettings(renewInterval: .seconds(60), ttl: .seconds(600)))
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
        // Chunked: one inbox entry per service and request, its body holding that service's
        // 100 metric rows of the request (as `POST /v1/metrics` could store a body), 50 services:
        // 5 000 metric rows per append, 100 appends.
        var chunkedAppend = [Double](), chunkedConsume = [Double]()
        let rowsPerChunk = 100, appends = 100
        let chunk = (0..<rowsPerChunk).map { #"{"latency_p99_ms":"# + "\($0)}" }.joined(separator: "\n")
        for _ in 0..<rounds {
            let f = try await ReplicaFixture.make()
            let store = try await f.store()
            let inbox = MetricsInbox(store: store)
            let names = services(serviceCount)
            let start = ContinuousClock.now
            for request in 0..<appends {
                _ = try await inbox.append(names.map { InboxRow(service: $0, at: Int64(request), body: chunk) }, acceptedBy: "r0")
            }
            chunkedAppend.append(Double(appends * serviceCount * rowsPerChunk) / (ContinuousClock.now - start).seconds)
            let owner = try await LeaseKeeper.join(store: store, replica: "owner", settings: LeaseSettings(renewInterval: .seconds(60), ttl: .seconds(600)))
            let writes = FencedWrites(store: store)
            let consumeStart = ContinuousClock.now
            var consumed = 0
            for lease in try await owner.round().held {
                while true {
                    let n = try await writes.consumeInbox(under: lease, limit: 50) { checkpoint, rows in
                        checkpoint.state = Data("\(rows.count)".utf8)
                    }
                    if n == 0 { break }
                    consumed += n * rowsPerChunk
                }
            }
            chunkedConsume.append(Double(consumed) / (ContinuousClock.now - consumeStart).seconds)
            await f.tearDown()
        }
        func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
        print(String(format: "inbox-bench chunked (100 metric rows an entry, 50 services an append): append %.0f metric rows/s, consume %.0f metric rows/s (medians of %d)",
                     median(chunkedAppend), median(chunkedConsume), rounds))
        for shape in shapes {
            let key = "batch \(shape.batch) × \(shape.appenders) appender\(shape.appenders > 1 ? "s" : "")"
            print(String(format: "inbox-bench append %@: %.0f rows/s (median of %d × %d rows), client CPU %.2f s",
                         key, median(appendRates[key] ?? [0]), rounds, shape.rows, median(cpu[key] ?? [0])))
        }
        print(String(format: "inbox-bench consume (500 a checkpoint, 50 services): %.0f rows/s (median of %d × 50 000), client CPU %.2f s",
                     median(consumeRates), rounds, median(cpu["consume"] ?? [0])))
    }
}
