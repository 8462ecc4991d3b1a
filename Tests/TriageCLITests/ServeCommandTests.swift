import Foundation
import Testing
import TriageCore
import TriageData
import TriageEngine
#if canImport(Glibc)
import Glibc
#endif

/// `triage serve` as a process: start-up checks, the bound address, and a stop request while a
/// large request is in flight.
@Suite struct ServeCommandTests {
    static let bundle = CLIRunner.packageRoot + "/models/simulated"

    static func tokenFile(_ folder: String, mode: mode_t = 0o600) throws -> String {
        let path = folder + "/tokens"
        try "ops-token-0123456789abcdef alice\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    @Test func aTokenFileOthersCanReadIsRefused() throws {
        let folder = CLIRunner.folder()
        let tokens = try Self.tokenFile(folder, mode: 0o644)
        let run = try CLIRunner.run("serve", "--model", Self.bundle, "--token-file", tokens, "--port", "0")
        #expect(run.status == 1 && run.stderr.contains("chmod 600") && run.stderr.contains("644"), "\(run.stderr)")
        try "short alice\n".write(toFile: tokens, atomically: false, encoding: .utf8)
        chmod(tokens, 0o600)
        let short = try CLIRunner.run("serve", "--model", Self.bundle, "--token-file", tokens, "--port", "0")
        #expect(short.status == 1 && short.stderr.contains("tokens:1:") && short.stderr.contains("shorter"), "\(short.stderr)")
    }

    /// A bad scaling targets file is bad data, named by line and column, before the queue is
    /// created; the scaling flags without an engine, or an incident limit out of range, are usage.
    @Test func aBadScalingTargetsFileStopsTheServerBeforeItWritesAnything() throws {
        let folder = CLIRunner.folder()
        let targets = CLIRunner.file("service,cpu\nsvc-01,0\n", name: "t.csv", in: folder)
        let run = try CLIRunner.run("serve", "--model", Self.bundle, "--db", folder + "/q.sqlite", "--scaling-targets", targets,
                                    "--port", "0")
        #expect(run.status == 1 && run.stderr.hasPrefix("error: \(targets):2:8: cpu target must be"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/q.sqlite"))
        #expect(try CLIRunner.run("serve", "--model", Self.bundle, "--scaling-targets", targets, "--port", "0").status == 64)
        #expect(try CLIRunner.run("serve", "--model", Self.bundle, "--db", folder + "/q.sqlite", "--incident-limit", "8d",
                                  "--port", "0").status == 64)
    }

    @Test func badSettingsAreUsageErrors() throws {
        #expect(try CLIRunner.run("serve", "--model", Self.bundle, "--port", "70000").status == 64)
        #expect(try CLIRunner.run("serve", "--model", Self.bundle, "--max-body", "lots").status == 64)
        #expect(try CLIRunner.run("serve", "--model", Self.bundle, "--log-level", "loud").status == 64)
        let missing = try CLIRunner.run("serve", "--model", CLIRunner.folder() + "/nothing")
        #expect(missing.status == 1 && missing.stderr.contains("nothing"))
    }

    /// SIGTERM while a 100 000-row request is being answered: the request completes, the server
    /// exits 0 well within 10 s.
    @Test func aStopRequestLetsTheRequestInFlightFinish() throws {
        let folder = CLIRunner.folder()
        let names = ServiceFeatureExtractor.featureNames
        var body = names.joined(separator: ",") + "\n"
        let row = names.indices.map { "0.\($0)" }.joined(separator: ",") + "\n"
        body.reserveCapacity(row.utf8.count * 100_000 + body.utf8.count)
        for _ in 0..<100_000 { body += row }
        let data = folder + "/rows.csv"
        try body.write(toFile: data, atomically: false, encoding: .utf8)

        let errPath = folder + "/serve.err"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let server = Process()
        server.executableURL = CLIRunner.binary
        server.arguments = ["serve", "--model", Self.bundle + "/iforest.model", "--port", "0", "--log-level", "notice"]
        server.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() } }
        var address: String?
        for _ in 0..<300 where address == nil {
            usleep(50_000)
            let text = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) { address = String(text[range]) }
        }
        let base = try #require(address, "no listening line: \((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")")

        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        let answer = folder + "/answer.json"
        // 2.8 MB uploaded at 1.5 MB/s (about 2 s): the stop request surely arrives while the body
        // streams in, and the answer still comes well within the 8 s the server gives requests.
        client.arguments = ["-s", "--limit-rate", "1500K", "-o", answer, "-w", "%{http_code}", "-X", "POST", "-H", "Content-Type: text/csv",
                            "--data-binary", "@" + data, base + "/v1/score"]
        let codePath = folder + "/code"
        _ = FileManager.default.createFile(atPath: codePath, contents: nil)
        client.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: codePath))
        try client.run()
        usleep(500_000)
        let stopAt = Date()
        kill(server.processIdentifier, SIGTERM)
        client.waitUntilExit()
        server.waitUntilExit()
        let stopped = Date().timeIntervalSince(stopAt)
        #expect(server.terminationStatus == 0)
        #expect(stopped < 10, "took \(stopped) s to stop")
        #expect(try String(contentsOfFile: codePath, encoding: .utf8) == "200")
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: answer))) as? [String: Any]
        #expect((results?["results"] as? [Any])?.count == 100_000)
    }
}

extension ServeCommandTests {
    /// Resident memory of a process, in KiB.
    static func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Starts `triage serve ARGS --port 0`; returns the process and its base address.
    static func startServer(_ arguments: [String], folder: String) throws -> (Process, String) {
        let errPath = folder + "/serve.err"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let server = Process()
        server.executableURL = CLIRunner.binary
        server.arguments = ["serve"] + arguments + ["--port", "0", "--log-level", "notice"]
        server.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        for _ in 0..<400 {
            usleep(50_000)
            let text = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                return (server, String(text[range]))
            }
            if !server.isRunning { break }
        }
        server.terminate()
        throw CLIFailureInTest("the server did not start: \((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")")
    }

    /// An event-stream client that never reads: the server holds at most one batch for it,
    /// however many events arrive, and goes on serving others.
    @Test func anEventStreamClientThatNeverReadsDoesNotGrowTheServer() throws {
        let folder = CLIRunner.folder()
        let db = folder + "/queue.sqlite"
        let (server, base) = try Self.startServer(["--model", Self.bundle, "--db", db], folder: folder)
        defer { if server.isRunning { server.terminate() } }
        let port = UInt16(base.split(separator: ":").last!)!

        // A socket with a tiny receive buffer that sends the request and never reads.
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var small: Int32 = 4_096
        setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        let request = "GET /v1/events HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: 0\r\n\r\n"
        _ = request.withCString { send(socket, $0, strlen($0), 0) }
        usleep(500_000)
        let before = Self.residentKiB(server.processIdentifier)

        // 40 000 events of about 2 KB (80 MB) arrive while the client reads nothing.
        let queue = try ApprovalQueue(path: db)
        let filler = JSONValue.string(String(repeating: "x", count: 2_000))
        for batch in 0..<40 {
            try queue.appendEvents((0..<1_000).map { _ in (type: "state", json: JSONValue.object(["pad": filler, "batch": .integer(batch)])) },
                                   now: 0)
        }
        sleep(3)
        let after = Self.residentKiB(server.processIdentifier)
        #expect(after - before < 32 * 1_024, "resident memory grew from \(before) KiB to \(after) KiB")
        // Others are still served.
        let health = try CLIRunnerCurl.get(base + "/healthz")
        #expect(health == "{\"status\":\"ok\"}\n")
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(server.terminationStatus == 0)
    }
}

struct CLIFailureInTest: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// GET with curl, the body as text.
enum CLIRunnerCurl {
    static func get(_ url: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "--max-time", "5", url]
        let folder = CLIRunner.folder()
        let out = folder + "/out"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        try process.run()
        process.waitUntilExit()
        return try String(contentsOfFile: out, encoding: .utf8)
    }
}
