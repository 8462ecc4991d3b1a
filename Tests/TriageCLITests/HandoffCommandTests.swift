import Foundation
import Testing
import TriageEngine
#if canImport(Glibc)
import Glibc
#endif

/// `approvals approve --exec`, `approvals handoff` and the faults of issue 16's hand-off hook,
/// through the binary: a command that does not exist, hangs, exits non-zero, writes 10 MB, and a
/// kill -9 of `triage` between the hand-off and its audit record.
@Suite struct HandoffCommandTests {
    static func show(_ id: String, db: String) throws -> [String: Any] {
        let shown = try CLIRunner.run("approvals", "show", id, "--db", db, "--json")
        #expect(shown.status == 0, "\(shown.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
    }

    static func handoff(_ id: String, db: String) throws -> [String: Any] {
        try #require(try show(id, db: db)["handoff"] as? [String: Any])
    }

    static func attempts(_ id: String, db: String) throws -> [[String: Any]] {
        try #require(try handoff(id, db: db)["attempts"] as? [[String: Any]])
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func approveWithExecHandsOffTheOutboxLineWithTheKey() throws {
        let (folder, db, ids) = try ApprovalCommandsTests.queue()
        let log = folder + "/hook.log", input = folder + "/stdin.json"
        let approve = try CLIRunner.run(["approvals", "approve", ids[0], "--by", "alice", "--db", db,
                                         "--exec", "cat > '\(input)'; echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'; echo applied"])
        #expect(approve.status == 0, "\(approve.stderr)")
        #expect(approve.stdout.contains("handed off \(ids[0])") && approve.stdout.contains("attempt 1: exit 0"), "\(approve.stdout)")
        let record = try Self.show(ids[0], db: db)
        let key = try #require(record["idempotency_key"] as? String)
        #expect(Self.lines(log) == [key])
        // The same line as the outbox file's.
        let outbox = try String(contentsOfFile: folder + "/outbox.jsonl", encoding: .utf8)
        #expect(try String(contentsOfFile: input, encoding: .utf8) == outbox)
        let handoff = try Self.handoff(ids[0], db: db)
        #expect(handoff["state"] as? String == "succeeded" && handoff["idempotency_key"] as? String == key)
        let attempt = try #require((handoff["attempts"] as? [[String: Any]])?.first)
        #expect(attempt["exit_code"] as? Int == 0 && attempt["output"] as? String == "applied\n" && attempt["timed_out"] as? Bool == false)
        #expect(attempt["duration_ms"] is Int && attempt["started_at"] is String && attempt["finished_at"] is String)
        let text = try CLIRunner.run("approvals", "show", ids[0], "--db", db)
        #expect(text.stdout.contains("hand-off: succeeded") && text.stdout.contains("attempt 1 at"), "\(text.stdout)")
        // Approving again with the hook: nothing is sent or run again.
        let again = try CLIRunner.run(["approvals", "approve", ids[0], "--by", "alice", "--db", db,
                                       "--exec", "echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'"])
        #expect(again.status == 0 && again.stdout.contains("already approved"), "\(again.stderr)")
        #expect(Self.lines(log).count == 1)
        // Without --exec, the record shows no hand-off.
        #expect(try CLIRunner.run("approvals", "approve", ids[1], "--by", "alice", "--db", db).status == 0)
        #expect(try Self.show(ids[1], db: db)["handoff"] is NSNull)
    }

    @Test func aCommandThatDoesNotExistFailsAfterItsTriesAsAFailedOutcome() throws {
        let (_, db, ids) = try ApprovalCommandsTests.queue()
        let r = try CLIRunner.run(["approvals", "approve", ids[0], "--by", "alice", "--db", db,
                                   "--exec", "/nonexistent/remediate --now", "--exec-retries", "2", "--exec-backoff", "1ms"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("error: hand-off of \(ids[0]) failed after 2 tries") && r.stderr.contains("exit 127")
                && r.stderr.contains("not found") && r.stderr.contains("failed outcome"), "\(r.stderr)")
        // The approval itself stands; the failure is the recorded outcome.
        let record = try Self.show(ids[0], db: db)
        #expect(record["status"] as? String == "approved" && record["outcome"] as? String == "failure")
        let attempts = try Self.attempts(ids[0], db: db)
        #expect(attempts.map { $0["exit_code"] as? Int } == [127, 127])
        #expect((try Self.handoff(ids[0], db: db))["state"] as? String == "failed")
    }

    @Test func aNonZeroExitIsRetriedThenRecorded() throws {
        let (folder, db, ids) = try ApprovalCommandsTests.queue()
        let log = folder + "/hook.log"
        let r = try CLIRunner.run(["approvals", "approve", ids[0], "--by", "alice", "--db", db, "--exec-backoff", "1ms",
                                   "--exec", "echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'; echo 'cluster says no' >&2; exit 4"])
        #expect(r.status == 1 && r.stderr.contains("failed after 3 tries") && r.stderr.contains("exit 4")
                && r.stderr.contains("cluster says no"), "\(r.stderr)")
        let keys = Self.lines(log)
        #expect(keys.count == 3 && Set(keys).count == 1)
    }

    @Test func aHangingCommandTimesOut() throws {
        let (_, db, ids) = try ApprovalCommandsTests.queue()
        let r = try CLIRunner.run(["approvals", "approve", ids[0], "--by", "alice", "--db", db,
                                   "--exec", "sleep 60", "--exec-timeout", "200ms", "--exec-retries", "1"])
        #expect(r.status == 1 && r.stderr.contains("timed out"), "\(r.stderr)")
        let attempt = try #require(try Self.attempts(ids[0], db: db).first)
        #expect(attempt["timed_out"] as? Bool == true && attempt["signal"] as? Int == 9)
    }

    @Test func tenMegabytesOfOutputKeepOnlyTheFirstKiB() throws {
        let (_, db, ids) = try ApprovalCommandsTests.queue()
        let r = try CLIRunner.run(["approvals", "approve", ids[0], "--by", "alice", "--db", db,
                                   "--exec", "head -c 10485760 /dev/zero | tr '\\0' z"])
        #expect(r.status == 0, "\(r.stderr)")
        let attempt = try #require(try Self.attempts(ids[0], db: db).first)
        #expect(attempt["output_bytes"] as? Int == 10_485_760)
        #expect((attempt["output"] as? String) == String(repeating: "z", count: 1_024))
    }

    @Test func outOfRangeHandoffOptionsAreUsageErrors() throws {
        let (_, db, ids) = try ApprovalCommandsTests.queue()
        let base = ["approvals", "approve", ids[0], "--by", "alice", "--db", db]
        for extra in [["--exec", " "], ["--exec", "true", "--exec-retries", "0"], ["--exec", "true", "--exec-retries", "21"],
                      ["--exec", "true", "--exec-timeout", "0s"], ["--exec", "true", "--exec-timeout", "2h"],
                      ["--exec", "true", "--exec-timeout", "soon"], ["--exec", "true", "--exec-backoff", "-1s"],
                      ["--exec-timeout", "5s"]] {
            let r = try CLIRunner.run(base + extra)
            #expect(r.status == 64, "\(extra): \(r.stderr)")
        }
        #expect(try CLIRunner.run("approvals", "handoff", "--db", db).status == 64)
        #expect(try CLIRunner.run("serve", "--model", db, "--exec", "true").status == 64)
        // Nothing was approved by the refused commands.
        #expect(try Self.show(ids[0], db: db)["status"] as? String == "pending")
    }

    /// kill -9 of `triage` after the command did its work and before the result was recorded:
    /// the next `approvals handoff` runs it again with the same key (the command can tell it
    /// already acted), and once a success is recorded nothing runs again.
    @Test func killNineBetweenHandoffAndAuditRetriesWithTheSameKey() throws {
        let (folder, db, ids) = try ApprovalCommandsTests.queue()
        let log = folder + "/keys.log", pidFile = folder + "/triage.pid"
        // The hook logs its key, then kills the `triage` that runs it (its pid written by the
        // test once started) and exits 0: the hand-off happened, its result never recorded.
        let hook = CLIRunner.file("""
            while [ ! -s '\(pidFile)' ]; do sleep 0.01; done
            echo "$TRIAGE_IDEMPOTENCY_KEY" >> '\(log)'
            kill -9 "$(cat '\(pidFile)')"
            exit 0
            """, name: "hook.sh", in: folder)
        let process = try FileSafetyTests.launch(["approvals", "approve", ids[0], "--by", "alice", "--db", db,
                                                  "--exec", "sh '\(hook)'"], in: folder)
        try "\(process.processIdentifier)".write(toFile: pidFile, atomically: true, encoding: .utf8)
        #expect(FileSafetyTests.finishes(process, within: 60))
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)
        let key = try #require(try Self.show(ids[0], db: db)["idempotency_key"] as? String)
        #expect(Self.lines(log) == [key])
        let before = try Self.handoff(ids[0], db: db)
        #expect(before["state"] as? String == "started")
        #expect((before["attempts"] as? [[String: Any]])?.first?["finished_at"] is NSNull)

        let retry = try CLIRunner.run(["approvals", "handoff", "--db", db, "--exec", "echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'"])
        #expect(retry.status == 0 && retry.stdout.contains("handed off \(ids[0])"), "\(retry.stderr)")
        #expect(Self.lines(log) == [key, key])
        let attempts = try Self.attempts(ids[0], db: db)
        #expect(attempts.count == 2 && (attempts[0]["error"] as? String)?.contains("no result recorded") == true)
        #expect(attempts[1]["exit_code"] as? Int == 0)

        let third = try CLIRunner.run(["approvals", "handoff", "--db", db, "--exec", "echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'"])
        #expect(third.status == 0 && third.stdout.contains("no unfinished hand-offs"), "\(third.stdout)")
        let again = try CLIRunner.run(["approvals", "approve", ids[0], "--by", "alice", "--db", db,
                                       "--exec", "echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'"])
        #expect(again.status == 0)
        #expect(Self.lines(log) == [key, key])
        // The outbox has its one line: the crash was after the approval's flush.
        #expect(Self.lines(folder + "/outbox.jsonl").count == 1)
    }

    /// kill -9 while the command still runs (before it acted): the next run hands off with the
    /// same key, and the lock of the killed process does not block it.
    @Test func killNineDuringTheCommandRetriesWithTheSameKey() throws {
        let (folder, db, ids) = try ApprovalCommandsTests.queue()
        let log = folder + "/keys.log", ready = folder + "/ready"
        let process = try FileSafetyTests.launch(["approvals", "approve", ids[0], "--by", "alice", "--db", db,
                                                  "--exec", "echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'; echo $$ > '\(ready)'; exec sleep 60"],
                                                 in: folder)
        var waited = 0
        while ((try? String(contentsOfFile: ready, encoding: .utf8)) ?? "").isEmpty && waited < 6_000 {
            usleep(10_000)
            waited += 1
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // The killed run's command lives on in its own process group (an interrupted CLI leaves
        // it be); the test ends it.
        if let text = try? String(contentsOfFile: ready, encoding: .utf8), let group = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(-group, SIGKILL)
        }
        let retry = try CLIRunner.run(["approvals", "handoff", "--db", db, "--exec", "echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'"])
        #expect(retry.status == 0, "\(retry.stderr)")
        let keys = Self.lines(log)
        #expect(keys.count == 2 && Set(keys).count == 1)
        #expect(try Self.handoff(ids[0], db: db)["state"] as? String == "succeeded")
    }
}

/// `serve --exec` as a process: at start it resumes a hand-off a killed run left without a
/// result; SIGTERM stops a hand-off in flight and leaves it started; the next start finishes it,
/// every time with the same key.
@Suite struct ServeHandoffTests {
    static func startServer(db: String, exec: String, folder: String, log name: String) throws -> Process {
        let errPath = folder + "/" + name
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let server = Process()
        server.executableURL = CLIRunner.binary
        server.arguments = ["serve", "--model", ServeCommandTests.bundle, "--db", db, "--port", "0", "--log-level", "notice",
                            "--exec", exec, "--exec-backoff", "1ms"]
        server.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        return server
    }

    static func waitFor(_ condition: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<3_000 {
            if try condition() { return true }
            usleep(10_000)
        }
        return try condition()
    }

    static func handoff(_ db: String, _ id: String) throws -> Handoff? {
        try ApprovalQueue(path: db, access: .readOnly).handoff(id)
    }

    @Test func serveResumesAtStartAndLeavesAStoppedHandoffForTheNextStart() throws {
        let (folder, db, ids) = try ApprovalCommandsTests.queue()
        let id = ids[0], log = folder + "/keys.log"
        // A run killed after starting the hand-off: approved for hand-off, one attempt without a result.
        do {
            let queue = try ApprovalQueue(path: db)
            let now = Int64(Date().timeIntervalSince1970)
            _ = try queue.approve(id, by: .commandLine(name: "alice", account: ApprovalCommandsTests.account), comment: nil,
                                  approvers: try Approvers.load(folder + "/approvers.txt"),
                                  outbox: Outbox(path: folder + "/outbox.jsonl"), handOff: true, now: now)
            _ = try queue.beginHandoffAttempt(id, command: "killed", now: now)
        }
        let key = try #require(try Self.handoff(db, id)?.idempotencyKey)

        // First start: the hand-off is resumed, and hangs; SIGTERM stops it.
        let first = try Self.startServer(db: db, exec: "echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'; exec sleep 60",
                                         folder: folder, log: "first.err")
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        #expect(Self.waitFor { HandoffCommandTests.lines(log).count == 1 }, "not resumed at start")
        kill(first.processIdentifier, SIGTERM)
        #expect(FileSafetyTests.finishes(first, within: 30))
        #expect(first.terminationReason == .exit && first.terminationStatus == 0,
                "\((try? String(contentsOfFile: folder + "/first.err", encoding: .utf8)) ?? "")")
        let stopped = try #require(try Self.handoff(db, id))
        #expect(stopped.state == .started && stopped.attempts.count == 2 && stopped.attempts.allSatisfy { $0.finishedAt == nil })

        // Second start: finished with the same key.
        let second = try Self.startServer(db: db, exec: "echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'", folder: folder, log: "second.err")
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        #expect(try Self.waitFor { try Self.handoff(db, id)?.state == .succeeded })
        kill(second.processIdentifier, SIGTERM)
        #expect(FileSafetyTests.finishes(second, within: 30))
        #expect(HandoffCommandTests.lines(log) == [key, key])
        let done = try #require(try Self.handoff(db, id))
        #expect(done.attempts.count == 3 && done.attempts.last?.exitCode == 0)
        #expect(done.attempts.dropLast().allSatisfy { $0.error == ApprovalQueue.noResultRecorded })
    }
}
