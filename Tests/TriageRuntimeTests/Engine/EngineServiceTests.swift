import Foundation
import Testing
import TriageCore
import TriageData
import TriageEngine
@testable import TriageRuntime

/// The first `count` rows of the shipped simulation, as the engine takes them.
private func shippedRows(_ count: Int) throws -> [MetricRow] {
    let text = try String(contentsOfFile: packageRoot + "/datasets/simulated/metrics.csv", encoding: .utf8)
    let lines = text.split(separator: "\n")
    let header = lines[0].split(separator: ",").map(String.init)
    let slots = ServiceMetric.names.map { header.firstIndex(of: $0)! }
    return lines.dropFirst().prefix(count).map { line in
        let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return MetricRow(service: fields[header.firstIndex(of: "service")!],
                         time: Int64(Timestamp.seconds(Array(fields[0].utf8))!),
                         values: slots.map { Double(fields[$0]) ?? .nan })
    }
}

@Suite struct EngineServiceTests {
    /// Scoring a batch at once gives the engine the same scores, states and recommendations as
    /// scoring row by row (what `watch` does).
    @Test func aBatchIsProcessedLikeItsRowsOneByOne() throws {
        let rows = try shippedRows(6_000)
        let bundle = try ModelBundle.open(packageRoot + "/models/simulated")
        let setup = try EngineSetup(bundle: bundle, path: "bundle", database: nil, settings: RemediationEngine.Settings())
        let single = try setup.makeEngine(now: 0), batched = try setup.makeEngine(now: 0)
        var one: [[EngineEvent]] = []
        for row in rows { one.append(try single.process(service: row.service, time: row.time, values: row.values, now: 0)) }
        var many: [[EngineEvent]] = []
        for chunk in stride(from: 0, to: rows.count, by: 997).map({ rows[$0..<min(rows.count, $0 + 997)] }) {
            many += try batched.process(batch: chunk.map { ($0.service, $0.time, $0.values) }, now: 0)
        }
        #expect(one.count == many.count)
        var recommendations = 0
        for (a, b) in zip(one, many) {
            #expect(a.map(\.type) == b.map(\.type))
            for (x, y) in zip(a, b) {
                switch (x, y) {
                case (.score(let p), .score(let q)):
                    #expect(p.score.features == q.score.features && p.anomalous == q.anomalous && p.state == q.state)
                    #expect(p.score.isolationForest?.score == q.score.isolationForest?.score)
                    // Each row's autoencoder error is summed on its own (`Autoencoder.rowScores`): equal to the bit.
                    #expect(p.score.autoencoder?.score == q.score.autoencoder?.score)
                case (.recommendation(let p), .recommendation(let q)):
                    recommendations += 1
                    #expect(p.action == q.action && p.created == q.created && p.confidence == q.confidence)
                default:
                    #expect(x.json == y.json)
                }
            }
        }
        #expect(recommendations > 0)
        #expect(single.states == batched.states)
    }

    @Test func aRowOlderThanItsServicesLastRefusesTheWholeBatch() async throws {
        let folder = NSTemporaryDirectory() + "triage-engine-service-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let bundle = try ModelBundle.open(packageRoot + "/models/simulated")
        let setup = try EngineSetup(bundle: bundle, path: "bundle", database: folder + "/q.sqlite", settings: RemediationEngine.Settings())
        let service = try EngineService(setup: setup)
        let rows = try shippedRows(40)
        let first = try await service.ingest(Array(rows[..<20]))
        #expect(first.accepted == 20)
        let before = await service.services()
        // Row 30 is fine, but row 5 is older than its service's last: nothing of the batch is processed.
        await #expect(throws: IngestRefusal.self) { try await service.ingest([rows[30], rows[5]]) }
        #expect(await service.services() == before)
        // Within one batch too.
        var older = rows[25]
        older.time -= 1
        await #expect(throws: IngestRefusal.self) { try await service.ingest([rows[25], older]) }
        #expect(await service.services() == before)
    }

    /// Scores computed outside the actor (as the server does, per request) give what scoring
    /// inside gives; scores of another batch are refused before anything is processed.
    @Test func batchesScoredByTheCallerAreIngestedLikeOthers() async throws {
        let bundle = try ModelBundle.open(packageRoot + "/models/simulated")
        var services: [EngineService] = []
        for _ in 0..<2 {
            let folder = NSTemporaryDirectory() + "triage-engine-service-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let setup = try EngineSetup(bundle: bundle, path: "bundle", database: folder + "/q.sqlite", settings: RemediationEngine.Settings())
            services.append(try EngineService(setup: setup, clock: { 1_000 }))
        }
        let rows = try shippedRows(3_020)
        var summaries: [[IngestSummary]] = [[], []]
        for start in stride(from: 0, to: 3_000, by: 500) {
            let batch = Array(rows[start..<(start + 500)])
            summaries[0].append(try await services[0].ingest(batch))
            summaries[1].append(try await services[1].ingest(batch, scored: services[1].score(batch)))
        }
        #expect(summaries[0] == summaries[1])
        #expect(summaries[1].last?.services == (await services[1].services()))
        #expect(try services[0].store.list(status: nil, now: 1_000).map(\.action) == (try services[1].store.list(status: nil, now: 1_000).map(\.action)))
        let before = await services[1].services()
        let other = try services[1].score(Array(rows[3_000..<3_010]))
        await #expect(throws: EngineError.self) { try await services[1].ingest(Array(rows[3_000...]), scored: other) }
        #expect(await services[1].services() == before)
    }
}
