import Foundation
import Testing
import TriageCore

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
        FileManager.default.createFile(atPath: errPath, contents: nil)
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
        FileManager.default.createFile(atPath: codePath, contents: nil)
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
