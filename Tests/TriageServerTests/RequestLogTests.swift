import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
@testable import TriageServer

/// Collects every log line a logger writes, rendered with its metadata.
final class CapturedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var lines: [String] { lock.withLock { stored } }
    func append(_ line: String) { lock.withLock { stored.append(line) } }
}

struct CapturingHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let all = self.metadata.merging(event.metadata ?? [:]) { $1 }
        log.append("\(event.level) \(event.message) " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }
}

@Suite struct RequestLogTests {
    /// One line per request with method, route pattern, status and duration; never a token,
    /// a recommendation id or a body.
    @Test func oneLinePerRequestAndNeverAToken() async throws {
        let log = CapturedLog()
        let folder = temporaryFolder()
        let tokens = folder + "/tokens"
        try "\(aliceToken) alice\n".write(toFile: tokens, atomically: false, encoding: .utf8)
        chmod(tokens, 0o600)
        try "alice\n".write(toFile: folder + "/approvers.txt", atomically: false, encoding: .utf8)
        var settings = ServerConfiguration(model: TrainedFixture.shared.bundle)
        settings.database = folder + "/queue.sqlite"
        settings.tokenFile = tokens
        let server = try TriageServer(configuration: settings, logger: Logger(label: "test") { _ in CapturingHandler(log: log) })
        try await server.application().test(.router) { client in
            try await ingestFixture(client, rows: 30)
            _ = try await client.execute(uri: "/v1/recommendations/rec-424242/approve", method: .post, headers: json(aliceToken))
            _ = try await client.execute(uri: "/v1/metrics", method: .post, headers: csv("wrong-\(aliceToken)"), body: buffer("a\n"))
        }
        let requests = log.lines.filter { $0.contains("request ") }
        #expect(requests.count == 3, "\(log.lines)")
        #expect(requests[0].contains("method=POST") && requests[0].contains("route=/v1/metrics") && requests[0].contains("status=202"))
        #expect(requests[1].contains("route=/v1/recommendations/{id}/approve") && requests[1].contains("status=404"))
        #expect(requests[2].contains("status=401"))
        #expect(requests.allSatisfy { $0.contains("duration_ms=") })
        #expect(!log.lines.contains { $0.contains(aliceToken) || $0.contains("rec-424242") })
    }
}
