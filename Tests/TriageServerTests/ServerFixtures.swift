import Foundation
import Hummingbird
import Hummingbird
import HummingbirdTesting
import NIOCore
import Logging
import NIOCore
import Testing
import TriageCore
import TriageData
import TriageEngine
import TriageRuntime
import TriageSim
@testable import TriageServer

/// A simulated history (3 services, 2 days at 60 s) and the bundle trained on it, made once per
/// test process and shared read-only by every test.
struct TrainedFixture: Sendable {
    let folder: String
    let bundle: String
    let metricsCSV: String
    /// The metric file's rows in order (header first).
    var metricLines: [Substring] { metricsCSV.split(separator: "\n") }

    static let shared: TrainedFixture = {
        let folder = temporaryFolder("fixture")
        let simulation = Simulation.run(SimulationSettings(seed: 1, services: 3, days: 2, interval: 60), threads: 1)
        let metrics = folder + "/metrics.csv", incidents = folder + "/incidents.csv"
        _ = FileManager.default.createFile(atPath: metrics, contents: Data(simulation.metricsCSV(threads: 1)))
        _ = FileManager.default.createFile(atPath: incidents, contents: Data(simulation.incidentsCSV()))
        let history = try! MetricsHistory.read(metrics, threads: 1)
        let records = try! IncidentLogReader.read(incidents, services: Set(history.services), metricsFile: metrics)
        let trained = try! BundleTraining.train(history: history, records: records, seed: 0, threads: 1)
        let bundle = folder + "/bundle"
        try! trained.write(to: bundle)
        let text = try! String(contentsOfFile: metrics, encoding: .utf8)
        return TrainedFixture(folder: folder, bundle: bundle, metricsCSV: text)
    }()

    /// The bundle's isolation forest is a model file of its own (`triage fit` format).
    var modelFile: String { bundle + "/iforest.model" }
}

func temporaryFolder(_ tag: String = "server") -> String {
    let path = NSTemporaryDirectory() + "triage-\(tag)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

let aliceToken = "alice-token-0123456789"
let bobToken = "bob-token-0123456789ab"
let malloryToken = "mallory-token-0123456789"

/// A server over the shared bundle with a fresh queue: tokens for alice, bob (both approvers)
/// and mallory (not an approver).
struct ServerSetup {
    let folder: String
    let server: TriageServer
    var database: String { folder + "/queue.sqlite" }
    var outbox: String { folder + "/outbox.jsonl" }

    init(model: String? = nil, database: Bool = true, tokens: Bool = true, maxBody: Int = 16 << 20,
         configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        folder = temporaryFolder()
        var settings = ServerConfiguration(model: model ?? TrainedFixture.shared.bundle)
        if database { settings.database = folder + "/queue.sqlite" }
        if tokens {
            let path = folder + "/tokens"
            try "# test tokens\n\(aliceToken) alice\n\(bobToken) bob\n\(malloryToken) mallory\n"
                .write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o600)
            settings.tokenFile = path
        }
        try "alice\nbob\n".write(toFile: folder + "/approvers.txt", atomically: false, encoding: .utf8)
        settings.maxBodyBytes = maxBody
        configure(&settings)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        server = try TriageServer(configuration: settings, logger: logger)
    }

    /// Runs `body` against the routes (no socket).
    func test<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        try await server.application().test(.router) { client in try await body(client) }
    }
}

func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

func json(_ token: String? = nil) -> HTTPFields {
    var fields: HTTPFields = [.contentType: "application/json"]
    if let token { fields[.authorization] = "Bearer \(token)" }
    return fields
}

func csv(_ token: String? = nil) -> HTTPFields {
    var fields: HTTPFields = [.contentType: "text/csv"]
    if let token { fields[.authorization] = "Bearer \(token)" }
    return fields
}

func buffer(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

extension TestResponse {
    var text: String { String(buffer: body) }
    /// The body as a JSON object.
    var object: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
}

/// Ingests the first `rows` data rows of the fixture (all of them by default) as CSV.
@discardableResult
func ingestFixture(_ client: any TestClientProtocol, rows: Int? = nil) async throws -> TestResponse {
    let lines = TrainedFixture.shared.metricLines
    let body = lines.prefix((rows ?? lines.count - 1) + 1).joined(separator: "\n") + "\n"
    return try await client.execute(uri: "/v1/metrics", method: .post, headers: csv(aliceToken), body: buffer(body))
}
