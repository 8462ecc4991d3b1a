import Foundation
import Testing
@testable import TriageStorePostgres
#if canImport(Glibc)
import Glibc
#endif

/// `triage serve --db postgres://…` end to end through the built binary: the same
/// recommendations as `serve` on an SQLite file for the same rows, decisions, outcomes and the
/// event stream over HTTP, `/readyz` following the database's availability, and a server that
/// cannot be reached at start named by host and port.
@Suite(.enabled(if: StoreKind.postgresURL != nil))
struct ServeOnPostgresTests {
    static let token = "alice-token-0123456789"

    /// A folder with a token file (alice), an allowlist naming alice, and room for the outbox.
    static func folder() throws -> String {
        let folder = NSTemporaryDirectory() + "triage-pg-serve-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "\(token) alice\n".write(toFile: folder + "/tokens", atomically: false, encoding: .utf8)
        chmod(folder + "/tokens", 0o600)
        try "alice\n".write(toFile: folder + "/approvers.txt", atomically: false, encoding: .utf8)
        return folder
    }

    static func serveArguments(db: String, folder: String) -> [String] {
        ["--model", CommandsOnPostgresTests.data.bundle, "--db", db, "--token-file", folder + "/tokens",
         "--approvers", folder + "/approvers.txt", "--outbox", folder + "/outbox.jsonl"]
    }

    /// (service, action, created) of every recommendation, in the list's order.
    static func answers(_ base: String) throws -> [String] {
        let listed = try HTTP.request("GET", base + "/v1/recommendations?status=all")
        #expect(listed.status == 200, "\(listed.body)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(listed.body.utf8)) as? [String: Any])
        let items = try #require(object["recommendations"] as? [[String: Any]])
        return items.map { "\($0["service"] ?? "") \($0["action"] ?? "") \($0["created"] ?? "")" }
    }

    @Test func serveOnPostgresAnswersAsOnSQLiteAndDecidesOverHTTP() async throws {
        let metrics = CommandsOnPostgresTests.data.metrics
        let folder = try Self.folder()
        let database = try await TestServer.createDatabase()
        let url = try TestServer.url(database: database)
        let sqlite = try ServeProcess.start(Self.serveArguments(db: folder + "/queue.sqlite", folder: folder), folder: folder, name: "sqlite")
        defer { sqlite.stop() }
        let postgres = try ServeProcess.start(Self.serveArguments(db: url, folder: folder), folder: folder, name: "postgres")
        defer { postgres.stop() }
        #expect(try HTTP.request("GET", postgres.base + "/readyz").status == 200)

        // The same rows, in the same batches, to both.
        let body = try String(contentsOfFile: metrics, encoding: .utf8)
        for server in [sqlite, postgres] {
            let ingested = try HTTP.request("POST", server.base + "/v1/metrics", body: body, headers: ["Content-Type: text/csv", "Authorization: Bearer \(Self.token)"])
            #expect(ingested.status == 202, "\(ingested.body)")
        }
        let onSQLite = try Self.answers(sqlite.base), onPostgres = try Self.answers(postgres.base)
        #expect(!onSQLite.isEmpty && onSQLite == onPostgres)
        let services = try HTTP.request("GET", postgres.base + "/v1/services")
        #expect(services.status == 200 && services.body.contains("\"service\":\"svc-01\""), "\(services.body)")

        // Approve over HTTP: one outbox line, however often it is approved; then its outcome.
        let pending = try HTTP.request("GET", postgres.base + "/v1/recommendations")
        let first = try #require(((try JSONSerialization.jsonObject(with: Data(pending.body.utf8)) as? [String: Any])?["recommendations"]
            as? [[String: Any]])?.first?["id"] as? String)
        let decide = ["Content-Type: application/json", "Authorization: Bearer \(Self.token)"]
        for _ in 0..<2 {
            let approved = try HTTP.request("POST", postgres.base + "/v1/recommendations/\(first)/approve", body: "{\"comment\":\"go\"}",
                                            headers: decide)
            #expect(approved.status == 200 && approved.body.contains("\"status\":\"approved\""), "\(approved.body)")
        }
        let outbox = try String(contentsOfFile: folder + "/outbox.jsonl", encoding: .utf8)
        #expect(outbox.split(separator: "\n").count == 1 && outbox.contains(first), "\(outbox)")
        let shown = try HTTP.request("GET", postgres.base + "/v1/recommendations/\(first)")
        #expect(shown.status == 200 && shown.body.contains("\"decided_by\":\"alice\"") && shown.body.contains("\"handoff\":null"), "\(shown.body)")
        let outcome = try HTTP.request("POST", postgres.base + "/v1/recommendations/\(first)/outcome", body: "{\"result\":\"success\"}",
                                       headers: decide)
        #expect(outcome.status == 200 && outcome.body.contains("\"outcome\":\"success\""), "\(outcome.body)")
        let again = try HTTP.request("POST", postgres.base + "/v1/recommendations/\(first)/outcome", body: "{\"result\":\"success\"}",
                                     headers: decide)
        #expect(again.status == 409, "\(again.body)")
        let missing = try HTTP.request("GET", postgres.base + "/v1/recommendations/rec-999999")
        #expect(missing.status == 404, "\(missing.body)")

        // The event stream: the journal from the start, then resumed after an id.
        let stream = try HTTP.request("GET", postgres.base + "/v1/events", headers: ["Last-Event-ID: 0"], maxSeconds: 2)
        #expect(stream.body.contains("event: recommendation") && stream.body.contains("event: approved")
                && stream.body.contains("event: outcome"), "\(stream.body.prefix(500))")
        let ids = stream.body.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int64($0.dropFirst(4)) }
        #expect(ids.count > 2 && ids == ids.sorted())
        let resumeAfter = ids[ids.count - 2]
        let resumed = try HTTP.request("GET", postgres.base + "/v1/events", headers: ["Last-Event-ID: \(resumeAfter)"], maxSeconds: 2)
        let resumedIDs = resumed.body.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int64($0.dropFirst(4)) }
        #expect(resumedIDs == [ids.last!], "\(resumed.body)")

        let scrape = try HTTP.request("GET", postgres.base + "/metrics")
        #expect(scrape.status == 200 && scrape.body.contains("status=\"approved\"} 1"), "\(scrape.body.prefix(2_000))")
        let page = try HTTP.request("GET", postgres.base + "/")
        #expect(page.status == 200)
        postgres.stop()
        #expect(postgres.process.terminationStatus == 0, "\(postgres.log)")
        try? await TestServer.dropDatabase(database)
    }

    /// `/readyz` is 503 while PostgreSQL is down and 200 again once it is back; writes answer
    /// 503 meanwhile, naming the server.
    @Test(.enabled(if: PostgresRestartTests.enabled)) func readinessFollowsTheDatabase() async throws {
        let server = try OwnPostgresServer.start()
        defer { server.destroy() }
        let folder = try Self.folder()
        let serve = try ServeProcess.start(Self.serveArguments(db: server.url, folder: folder), folder: folder, name: "restart")
        defer { serve.stop() }
        #expect(try HTTP.request("GET", serve.base + "/readyz").status == 200)
        // The first half of the rows before the stop, the second half after the restart.
        let lines = try String(contentsOfFile: CommandsOnPostgresTests.data.metrics, encoding: .utf8).split(separator: "\n")
        let half = 1 + (lines.count - 1) / 2
        let ingest = ["Content-Type: text/csv", "Authorization: Bearer \(Self.token)"]
        let before = try HTTP.request("POST", serve.base + "/v1/metrics", body: lines[..<half].joined(separator: "\n") + "\n", headers: ingest)
        #expect(before.status == 202, "\(before.body)")
        try server.control("stop", "-m", "fast", "-w")
        // The last probe is reused for a second.
        try await Task.sleep(for: .milliseconds(1_200))
        let down = try HTTP.request("GET", serve.base + "/readyz")
        #expect(down.status == 503 && down.body.contains("PostgreSQL at socket \(server.root)/socket"), "\(down.body)")
        let write = try HTTP.request("POST", serve.base + "/v1/recommendations/rec-000001/reject", body: "{}",
                                     headers: ["Content-Type: application/json", "Authorization: Bearer \(Self.token)"])
        #expect(write.status == 503, "\(write.body)")
        try server.startServer()
        var ready = false
        let deadline = ContinuousClock.now + .seconds(20)
        while !ready && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
            ready = try HTTP.request("GET", serve.base + "/readyz").status == 200
        }
        #expect(ready, "\(serve.log)")
        let after = try HTTP.request("POST", serve.base + "/v1/metrics",
                                     body: ([lines[0]] + lines[half...]).joined(separator: "\n") + "\n", headers: ingest)
        #expect(after.status == 202 && after.body.contains("\"accepted\":\(lines.count - half)"), "\(after.body)")
        let listed = try HTTP.request("GET", serve.base + "/v1/recommendations?status=all")
        #expect(listed.status == 200 && listed.body.contains("rec-000001"), "\(listed.body.prefix(300))")
    }

    /// `serve --exec` on PostgreSQL: the outbox dispatcher (this server holds its lock) writes the
    /// outbox line and runs the hook once, with the line on stdin and the key in its environment;
    /// the audit shows on `GET /v1/recommendations/{id}` and `approvals show`. An event another
    /// process journals reaches an open `/v1/events` stream through NOTIFY, well before the
    /// fallback poll would have read it.
    @Test func serveRunsTheHookThroughTheDispatcherAndStreamsEventsOfOtherProcesses() async throws {
        let folder = try Self.folder()
        let database = try await TestServer.createDatabase()
        let url = try TestServer.url(database: database)
        let hook = "cat >> \(folder)/hook.jsonl; echo $TRIAGE_IDEMPOTENCY_KEY >> \(folder)/hook.keys"
        let serve = try ServeProcess.start(Self.serveArguments(db: url, folder: folder) + ["--exec", hook], folder: folder, name: "hook")
        defer { serve.stop() }
        // Raised by another process (a replica's engine, say): the approval and the hand-off are
        // this server's whoever raised it. (Raised directly rather than ingested: cheap.)
        let other = try await PostgresRecommendationStore.open(url)
        let now = Int64(Date().timeIntervalSince1970)
        let first = try await other.raise(sampleRecommendation("svc-01", at: 1, raisedAt: now)).recommendation.id
        let decide = ["Content-Type: application/json", "Authorization: Bearer \(Self.token)"]
        for _ in 0..<2 {
            let approved = try HTTP.request("POST", serve.base + "/v1/recommendations/\(first)/approve", body: "{}", headers: decide)
            #expect(approved.status == 200, "\(approved.body)")
        }
        // The line is in the file when the approval answers (this server is the dispatcher).
        let outbox = try String(contentsOfFile: folder + "/outbox.jsonl", encoding: .utf8)
        #expect(outbox.split(separator: "\n").count == 1 && outbox.contains(first), "\(outbox)")
        let shown = try await eventually("the hand-off succeeds") { () -> String? in
            let shown = try HTTP.request("GET", serve.base + "/v1/recommendations/\(first)")
            return shown.body.contains("\"state\":\"succeeded\"") ? shown.body : nil
        }
        #expect(shown.contains("\"exit_code\":0"), "\(shown)")
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(try String(contentsOfFile: folder + "/hook.jsonl", encoding: .utf8) == outbox, "the hook ran once, with the line")
        let keys = try String(contentsOfFile: folder + "/hook.keys", encoding: .utf8).split(separator: "\n")
        #expect(keys.count == 1 && outbox.contains("\"idempotency_key\":\"\(keys[0])\""))
        let text = try Triage.run(["approvals", "show", first, "--db", url])
        #expect(text.stdout.contains("hand-off: succeeded"), "\(text.stdout) \(text.stderr)")

        // Another process (a replica, a command) journals an event while a stream is open.
        let last = try await other.lastEventID()
        let stream = Task.detached {
            try HTTP.request("GET", serve.base + "/v1/events", headers: ["Last-Event-ID: \(last)"], maxSeconds: 6)
        }
        try await Task.sleep(for: .milliseconds(1_500))
        let written = ContinuousClock.now
        try await other.appendEvents([(type: "state", json: .object(["service": .string("svc-from-elsewhere")]))], now: 2_000)
        let streamed = try await stream.value
        #expect(streamed.body.contains("svc-from-elsewhere"), "\(streamed.body)")
        // (How promptly is `OutboxDispatcherTests`' business: there with the fallback poll at 60 s.)
        #expect(ContinuousClock.now - written < .seconds(6))
        await other.close()
        serve.stop()
        #expect(serve.process.terminationStatus == 0, "\(serve.log)")
        try? await TestServer.dropDatabase(database)
    }

    /// Unreachable at start: exit 1 naming host and port (never the password), nothing written,
    /// with or without the `--exec` hook (which the outbox dispatcher runs on PostgreSQL).
    @Test func serveRefusesAnUnreachableDatabaseOrAHookNamingWhy() throws {
        let folder = try Self.folder()
        let url = "postgres://triage:secret@127.0.0.1:1/triage"
        let served = try Triage.run(["serve", "--port", "0"] + Self.serveArguments(db: url, folder: folder))
        #expect(served.status == 1 && served.stderr.contains("cannot reach PostgreSQL at 127.0.0.1:1"), "\(served.stderr)")
        #expect(!served.stderr.contains("secret") && !FileManager.default.fileExists(atPath: folder + "/outbox.jsonl"))
        let hooked = try Triage.run(["serve", "--port", "0", "--exec", "true"] + Self.serveArguments(db: url, folder: folder))
        #expect(hooked.status == 1 && hooked.stderr.contains("cannot reach PostgreSQL at 127.0.0.1:1"), "\(hooked.stderr)")
    }
}

/// A `triage serve` process on a free port, its log in a file.
final class ServeProcess: @unchecked Sendable {
    // @unchecked: `Process` predates Sendable; it is only started here and stopped by the test.
    let process: Process
    let base: String
    let logPath: String
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    private init(process: Process, base: String, logPath: String) {
        self.process = process
        self.base = base
        self.logPath = logPath
    }

    static func start(_ arguments: [String], folder: String, name: String) throws -> ServeProcess {
        let logPath = folder + "/serve-\(name).err"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = Triage.binary
        process.arguments = ["serve"] + arguments + ["--port", "0", "--log-level", "notice"]
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<600 {
            usleep(50_000)
            let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                return ServeProcess(process: process, base: String(text[range]), logPath: logPath)
            }
            if !process.isRunning { break }
        }
        if process.isRunning { process.terminate() }
        throw OwnPostgresServer.ServerError(message: "serve did not start: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
    }

    /// SIGTERM (a graceful stop) and wait.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }
}

/// HTTP through curl (as the CLI tests do): the status and the body.
enum HTTP {
    static func request(_ method: String, _ url: String, body: String? = nil, headers: [String] = [],
                        maxSeconds: Int = 30) throws -> (status: Int, body: String) {
        let scratch = NSTemporaryDirectory() + "triage-http-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var arguments = ["-s", "-o", scratch + "/body", "-w", "%{http_code}", "-X", method, "--max-time", "\(maxSeconds)"]
        for header in headers { arguments += ["-H", header] }
        if let body {
            try body.write(toFile: scratch + "/request", atomically: false, encoding: .utf8)
            arguments += ["--data-binary", "@" + scratch + "/request"]
        }
        arguments.append(url)
        let result = try Triage.run(arguments, executable: "/usr/bin/curl")
        let text = (try? String(contentsOfFile: scratch + "/body", encoding: .utf8)) ?? ""
        return (Int(result.stdout.suffix(3)) ?? 0, text)
    }
}
