import Foundation
import Testing
import TriageCore
import TriageData
import TriageEngine

/// The `triage` commands with `--db postgres://…`, end to end through the built binary, on the
/// test server: `watch` raises the same recommendations and writes the same events as with an
/// SQLite file; `approvals`, `outcome`, `breakers` and `report` work on what it raised; an
/// unreachable server is named and nothing is written.
@Suite(.enabled(if: StoreKind.postgresURL != nil))
struct CommandsOnPostgresTests {
    /// A bundle trained on 3 days of seed 0 and 2 unseen days of seed 7 to watch (8 640 rows,
    /// 27 recommendations), made once for the suite.
    static let data: (folder: String, bundle: String, metrics: String) = {
        let folder = NSTemporaryDirectory() + "triage-pg-cli-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (seed, days) in [(0, 3), (7, 2)] {
            let made = try! Triage.run(["simulate", "--output", "\(folder)/seed\(seed)", "--seed", "\(seed)", "--services", "3",
                                        "--days", "\(days)", "--quiet"])
            precondition(made.status == 0, made.stderr)
        }
        let trained = try! Triage.run(["train", "--metrics", "\(folder)/seed0/metrics.csv", "--incidents", "\(folder)/seed0/incidents.csv",
                                       "--output", "\(folder)/bundle", "--seed", "0", "--quiet"])
        precondition(trained.status == 0, trained.stderr)
        return (folder, folder + "/bundle", folder + "/seed7/metrics.csv")
    }()

    /// Events without their wall-clock fields (when a recommendation entered the queue, when it
    /// expires, and the idempotency key, which carries the database's random instance).
    static func comparable(_ events: String) throws -> [NSDictionary] {
        try events.split(separator: "\n").map { line in
            var object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            for field in ["raised_at", "expires", "idempotency_key"] { object[field] = nil }
            return object as NSDictionary
        }
    }

    static func listed(_ json: String) throws -> [String] {
        let items = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        return items.map { "\($0["id"] ?? "") \($0["service"] ?? "") \($0["action"] ?? "") \($0["created"] ?? "")" }
    }

    @Test func watchRaisesTheSameOnBothStores() async throws {
        let (_, bundle, metrics) = Self.data
        let folder = NSTemporaryDirectory() + "triage-pg-watch-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let database = try await TestServer.createDatabase()
        let url = try TestServer.url(database: database)
        let sqlite = try Triage.run(["watch", metrics, "--model", bundle, "--db", folder + "/q.sqlite", "--events", folder + "/sqlite.jsonl"])
        let postgres = try Triage.run(["watch", metrics, "--model", bundle, "--db", url, "--events", folder + "/postgres.jsonl"])
        #expect(sqlite.status == 0, "\(sqlite.stderr)")
        #expect(postgres.status == 0, "\(postgres.stderr)")
        let sqliteEvents = try String(contentsOfFile: folder + "/sqlite.jsonl", encoding: .utf8)
        let postgresEvents = try String(contentsOfFile: folder + "/postgres.jsonl", encoding: .utf8)
        #expect(sqliteEvents.contains("\"type\":\"recommendation\""))
        #expect(try Self.comparable(sqliteEvents) == Self.comparable(postgresEvents))
        let sqliteList = try Self.listed(try Triage.run(["approvals", "list", "--db", folder + "/q.sqlite", "--status", "all", "--json"]).stdout)
        let postgresList = try Self.listed(try Triage.run(["approvals", "list", "--db", url, "--status", "all", "--json"]).stdout)
        #expect(!sqliteList.isEmpty && sqliteList == postgresList)
        // The same command again resumes after the last committed row: nothing read, nothing raised.
        let again = try Triage.run(["watch", metrics, "--model", bundle, "--db", url, "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("\"resumed\":true") && again.stderr.contains("\"rows\":0"), "\(again.stderr)")
        #expect(try Self.listed(try Triage.run(["approvals", "list", "--db", url, "--status", "all", "--json"]).stdout) == postgresList)
        try? await TestServer.dropDatabase(database)
    }

    @Test func decisionsOutcomesBreakersAndTheReportWorkOnPostgres() async throws {
        let (_, bundle, metrics) = Self.data
        let folder = NSTemporaryDirectory() + "triage-pg-approve-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let database = try await TestServer.createDatabase()
        let url = try TestServer.url(database: database)
        let watched = try Triage.run(["watch", metrics, "--model", bundle, "--db", url, "--events", folder + "/events.jsonl"])
        #expect(watched.status == 0, "\(watched.stderr)")
        // The policy's incident actions first (scaling recommendations come from the HPA rule,
        // not the policy, and teach it nothing).
        let listed = try Self.listed(try Triage.run(["approvals", "list", "--db", url, "--json"]).stdout).map { $0.split(separator: " ") }
        let ids = (listed.filter { !$0[2].hasPrefix("scale") } + listed.filter { $0[2].hasPrefix("scale") }).map { String($0[0]) }
        #expect(ids.count >= 3)
        try "alice: \(OSAccount.effective())\n".write(toFile: folder + "/approvers.txt", atomically: true, encoding: .utf8)
        let decide = ["--by", "alice", "--db", url, "--approvers", folder + "/approvers.txt"]
        let approved = try Triage.run(["approvals", "approve", ids[0]] + decide + ["--outbox", folder + "/outbox.jsonl"])
        #expect(approved.status == 0 && approved.stdout.hasPrefix("approved \(ids[0])"), "\(approved.stderr)")
        let again = try Triage.run(["approvals", "approve", ids[0]] + decide + ["--outbox", folder + "/outbox.jsonl"])
        #expect(again.status == 0 && again.stdout.contains("already approved"), "\(again.stderr)")
        let outbox = try String(contentsOfFile: folder + "/outbox.jsonl", encoding: .utf8)
        #expect(outbox.split(separator: "\n").count == 1 && outbox.contains(ids[0]))
        let rejected = try Triage.run(["approvals", "reject", ids[1]] + decide + ["--reason", "not now"])
        #expect(rejected.status == 0, "\(rejected.stderr)")
        let refused = try Triage.run(["approvals", "approve", ids[1]] + decide + ["--outbox", folder + "/outbox.jsonl"])
        #expect(refused.status == 1 && refused.stderr.contains("rejected, not pending"), "\(refused.stderr)")
        // The hook on PostgreSQL: this command is the dispatcher for one pass (no serve holds the
        // lock); the hook gets the outbox line on stdin and the key in its environment.
        let hook = try Triage.run(["approvals", "approve", ids[2]] + decide + [
            "--outbox", folder + "/outbox.jsonl", "--exec", "cat > \(folder)/hook.json; echo $TRIAGE_IDEMPOTENCY_KEY > \(folder)/hook.key"])
        #expect(hook.status == 0 && hook.stdout.contains("handed off \(ids[2])"), "\(hook.stdout) \(hook.stderr)")
        let hooked = try String(contentsOfFile: folder + "/hook.json", encoding: .utf8)
        let lines = try String(contentsOfFile: folder + "/outbox.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2 && hooked == lines[1] + "\n", "\(hooked)")
        let shown = try Triage.run(["approvals", "show", ids[2], "--db", url, "--json"])
        #expect(shown.status == 0 && shown.stdout.contains("\"status\":\"approved\"") && shown.stdout.contains("\"state\":\"succeeded\""),
                "\(shown.stdout) \(shown.stderr)")
        let key = try String(contentsOfFile: folder + "/hook.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(shown.stdout.contains("\"idempotency_key\":\"\(key)\""))
        let text = try Triage.run(["approvals", "show", ids[2], "--db", url])
        #expect(text.stdout.contains("hand-off: succeeded") && text.stdout.contains("attempt 1"), "\(text.stdout)")
        let drained = try Triage.run(["approvals", "handoff", "--db", url, "--exec", "true"])
        #expect(drained.status == 0 && drained.stdout.contains("no unfinished hand-offs"), "\(drained.stdout) \(drained.stderr)")
        let outcome = try Triage.run(["outcome", ids[0], "--db", url, "--result", "failure", "--recovery-seconds", "30"])
        #expect(outcome.status == 0 && outcome.stdout.contains("the policy learned from it"), "\(outcome.stderr)")
        let breakers = try Triage.run(["breakers", "--db", url, "--json"])
        #expect(breakers.status == 0 && breakers.stdout.contains("\"failures\":1") && breakers.stdout.contains("\"state\":\"closed\""),
                "\(breakers.stdout) \(breakers.stderr)")
        let report = try Triage.run(["report", "--events", folder + "/events.jsonl", "--db", url, "--output", folder + "/report.html"])
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: folder + "/report.html", encoding: .utf8)
        #expect(html.contains(ids[0]) && !html.contains("password"))
        try? await TestServer.dropDatabase(database)
    }

    /// A server that does not answer is named by host and port, exit 1, and no output is created.
    @Test func anUnreachableServerIsNamedAndNothingIsWritten() throws {
        let (_, bundle, metrics) = Self.data
        let folder = NSTemporaryDirectory() + "triage-pg-down-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let url = "postgres://triage:secret@127.0.0.1:1/triage"
        let watched = try Triage.run(["watch", metrics, "--model", bundle, "--db", url, "--events", folder + "/events.jsonl"])
        #expect(watched.status == 1)
        #expect(watched.stderr.hasPrefix("error: cannot reach PostgreSQL at 127.0.0.1:1"), "\(watched.stderr)")
        #expect(!watched.stderr.contains("secret"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
        let served = try Triage.run(["serve", "--model", bundle, "--db", url, "--port", "0"])
        #expect(served.status == 1 && served.stderr.contains("cannot reach PostgreSQL at 127.0.0.1:1"), "\(served.stderr)")
        for command in [["approvals", "list"], ["breakers"], ["outcome", "rec-000001", "--result", "success"]] {
            let result = try Triage.run(command + ["--db", url])
            #expect(result.status == 1 && result.stderr.hasPrefix("error: cannot reach PostgreSQL at 127.0.0.1:1"), "\(result.stderr)")
        }
    }
}

/// Runs the built `triage` binary (beside the test bundle, as the CLI tests find it).
enum Triage {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let binary: URL = {
        if let products = Bundle.allBundles.map(\.bundleURL).first(where: { $0.pathExtension == "xctest" })?.deletingLastPathComponent() {
            return products.appendingPathComponent("triage")
        }
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.path + "/Package.swift") { url.deleteLastPathComponent() }
        return url.appendingPathComponent(".build/debug/triage")
    }()

    /// Output goes to temporary files, not pipes (as `CLIRunner` does: a pipe read through
    /// FileHandle can trap on EINTR when the child exits mid-read).
    /// Runs `executable` (the `triage` binary by default) with `environment` added to this process's.
    static func run(_ arguments: [String], executable: String? = nil, environment: [String: String] = [:]) throws -> Result {
        let scratch = NSTemporaryDirectory() + "triage-run-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outPath = scratch + "/stdout", errPath = scratch + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = executable.map { URL(fileURLWithPath: $0) } ?? binary
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, given in given }
        }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: try Data(contentsOf: URL(fileURLWithPath: outPath)), as: UTF8.self),
                      stderr: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self))
    }
}
