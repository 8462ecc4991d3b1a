import Foundation
import Testing
import TriageEngine

/// `watch --model --db` after a failure (a bad row, an over-long line, an output that cannot be
/// written): the read position never passes rows whose events were lost, so the rerun writes
/// exactly the events and recommendations of a run that never failed, and the bad row is read
/// again rather than skipped.
@Suite struct EngineWatchRecoveryTests {
    static let bundle = CLIRunner.packageRoot + "/models/simulated"
    static let header = "timestamp,service,cpu,memory,latency_p99_ms,error_rate,request_rate,replicas,heartbeat_age_s"

    /// Events without the wall-clock fields (`raised_at`, `expires`) and the per-database key,
    /// which differ between two databases even for the same recommendation.
    static func events(_ path: String) throws -> [NSDictionary] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            return object.filter { !["raised_at", "expires", "idempotency_key"].contains($0.key) } as NSDictionary
        }
    }

    /// (id, service, action, created) of every recommendation in the queue.
    static func recommendations(_ db: String) throws -> [[String]] {
        try ApprovalQueue(path: db).list(now: 0).map { [$0.id, $0.service, $0.action.name, "\($0.created)"] }
    }

    static func position(_ db: String, _ metrics: String) throws -> Int64? {
        try ApprovalQueue(path: db).readPosition(source: URL(fileURLWithPath: metrics).standardizedFileURL.path)?.line
    }

    /// Runs `triage arguments` under a file size limit (RLIMIT_FSIZE), set by bash for it alone.
    static func runLimited(kibibytes: Int, _ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let scratch = CLIRunner.folder()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = FileManager.default.createFile(atPath: scratch + "/stderr", contents: nil)
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + "/stderr"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "trap '' XFSZ; ulimit -f \(kibibytes); exec \"$0\" \"$@\"", CLIRunner.binary.path] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try err.close()
        return (process.terminationStatus, try String(contentsOfFile: scratch + "/stderr", encoding: .utf8))
    }

    /// Two services over one day (1 441 lines), with recommendations before line 1 300.
    static func simulation(in folder: String) throws -> String {
        let sim = folder + "/sim"
        let made = try CLIRunner.run(["simulate", "--output", sim, "--services", "2", "--days", "1", "--interval", "120",
                                      "--seed", "5"])
        #expect(made.status == 0, "\(made.stderr)")
        return try String(contentsOfFile: sim + "/metrics.csv", encoding: .utf8)
    }

    /// A text value, or a 10 MB line, at line 1 300: exit 1, nothing written, nothing committed.
    /// Fixed, the file is read again from where the last good run stopped, and the events and
    /// queue equal those of a clean run (recommendations raised before the error reported again,
    /// with their ids, none twice).
    @Test(arguments: ["text value", "10 MB line"])
    func aFailedRunIsReplayedExactly(corruption: String) throws {
        let folder = CLIRunner.folder()
        let good = try Self.simulation(in: folder)
        var lines = good.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if corruption == "text value" {
            var fields = lines[1299].split(separator: ",").map(String.init)
            fields[3] = "abc"
            lines[1299] = fields.joined(separator: ",")
        } else {
            lines[1299] = String(repeating: "7", count: 10_000_000)
        }
        let metrics = folder + "/m.csv", db = folder + "/q.sqlite"
        let clean = try CLIRunner.run(["watch", folder + "/sim/metrics.csv", "--model", Self.bundle, "--db", folder + "/clean.sqlite",
                                       "--events", folder + "/clean.jsonl", "--scores", folder + "/clean.csv", "--quiet"])
        #expect(clean.status == 0, "\(clean.stderr)")

        try lines.joined(separator: "\n").write(toFile: metrics, atomically: true, encoding: .utf8)
        let arguments = ["watch", metrics, "--model", Self.bundle, "--db", db, "--events", folder + "/e.jsonl",
                         "--scores", folder + "/s.csv"]
        for _ in 0..<2 {  // the bad row stops every run: it is never skipped on resume
            let failed = try CLIRunner.run(arguments)
            #expect(failed.status == 1 && failed.stderr.hasPrefix("error: \(metrics):1300"), "\(failed.stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder + "/e.jsonl"))
            #expect(!FileManager.default.fileExists(atPath: folder + "/s.csv"))
            #expect(try Self.position(db, metrics) == nil)
        }
        // The recommendations raised before the bad row stay queued (a person may act on them).
        let queued = try Self.recommendations(db)
        #expect(!queued.isEmpty)

        try good.write(toFile: metrics, atomically: false, encoding: .utf8)
        let rerun = try CLIRunner.run(arguments + ["--json"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try Self.events(folder + "/e.jsonl") == Self.events(folder + "/clean.jsonl"))
        #expect(FileManager.default.contentsEqual(atPath: folder + "/s.csv", andPath: folder + "/clean.csv"))
        #expect(try Self.recommendations(db) == Self.recommendations(folder + "/clean.sqlite"))
        #expect(try Self.position(db, metrics) == 1441)
    }

    /// An events file that cannot be written (a file size limit: EFBIG, as a full disk gives
    /// ENOSPC) on the second run of a growing file: exit 1, the position stays where the first
    /// run committed it, and the next run writes the rows the failed one lost.
    @Test func anUnwritableOutputCommitsNoPosition() throws {
        let folder = CLIRunner.folder()
        let good = try Self.simulation(in: folder)
        let lines = good.split(separator: "\n").map(String.init)
        let metrics = folder + "/m.csv", db = folder + "/q.sqlite"
        let clean = try CLIRunner.run(["watch", folder + "/sim/metrics.csv", "--model", Self.bundle, "--db", folder + "/clean.sqlite",
                                       "--events", folder + "/clean.jsonl", "--quiet"])
        #expect(clean.status == 0, "\(clean.stderr)")

        try (lines[..<701].joined(separator: "\n") + "\n").write(toFile: metrics, atomically: false, encoding: .utf8)
        let first = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--db", db, "--events", folder + "/e1.jsonl", "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try Self.position(db, metrics) == 701)
        let handle = try #require(FileHandle(forWritingAtPath: metrics))
        handle.seekToEndOfFile()
        handle.write(Data((lines[701...].joined(separator: "\n") + "\n").utf8))
        handle.closeFile()

        // The second run's events (150 KB) pass a 128 KiB file size limit before its database
        // writes come near it: measured, the database (with its event journal, 98 KB at the end of
        // a run without a limit) fails first at 96 KiB and below. SIGXFSZ is ignored so that the
        // write fails with EFBIG instead of a signal.
        let limited = try Self.runLimited(kibibytes: 128, ["watch", metrics, "--model", Self.bundle, "--db", db,
                                                          "--events", folder + "/e2.jsonl"])
        #expect(limited.status == 1 && limited.stderr.contains("e2.jsonl: cannot write"), "\(limited.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/e2.jsonl"))
        #expect(try Self.position(db, metrics) == 701)

        let resumed = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--db", db, "--events", folder + "/e2.jsonl"])
        #expect(resumed.status == 0 && resumed.stderr.contains("(resumed)"), "\(resumed.stderr)")
        #expect(try Self.events(folder + "/e1.jsonl") + Self.events(folder + "/e2.jsonl") == Self.events(folder + "/clean.jsonl"))
        #expect(try Self.recommendations(db) == Self.recommendations(folder + "/clean.sqlite"))
    }

    /// With --follow the events are a live file: /dev/full fails the first write (ENOSPC), and
    /// the checkpoint's transaction, which syncs them first, never commits.
    @Test func aFullDiskUnderFollowCommitsNoPosition() throws {
        let folder = CLIRunner.folder()
        let good = try Self.simulation(in: folder)
        let lines = good.split(separator: "\n").map(String.init)
        let metrics = folder + "/m.csv", db = folder + "/q.sqlite"
        try (lines[..<701].joined(separator: "\n") + "\n").write(toFile: metrics, atomically: false, encoding: .utf8)
        #expect(try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--db", db, "--quiet"]).status == 0)
        let handle = try #require(FileHandle(forWritingAtPath: metrics))
        handle.seekToEndOfFile()
        handle.write(Data((lines[701...].joined(separator: "\n") + "\n").utf8))
        handle.closeFile()
        let full = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--db", db, "--events", "/dev/full", "--follow"])
        #expect(full.status == 1 && full.stderr.contains("/dev/full: cannot write"), "\(full.stderr)")
        #expect(try Self.position(db, metrics) == 701)
    }
}
