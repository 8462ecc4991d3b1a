import Foundation
import GRDB
import Synchronization
import Testing
@testable import TriageCore
@testable import TriageEngine

/// Hand-offs through the operator's command: retries with backoff, the audit, the failed
/// outcome, and runs after a crash with the same idempotency key.
@Suite struct HandoffRunnerTests {
    /// A queue with one recommendation approved for hand-off (`handOff: false`: approved without).
    static func approved(handOff: Bool = true) throws -> (Workspace, ApprovalQueue, Recommendation) {
        let w = Workspace()
        let queue = try ApprovalQueue(path: w.database)
        let raised = try queue.raise(proposal("svc-01", at: 100, action: .scaleUp)).recommendation
        guard case .approved(let record) = try queue.approve(raised.id, by: .http(tokenName: "alice"), comment: "go",
                                                             approvers: try Approvers.load(w.allowlist), outbox: w.outbox,
                                                             handOff: handOff, now: 1_100) else {
            throw EngineError.invalid("not approved")
        }
        return (w, queue, record)
    }

    /// Fast settings: millisecond backoff so retries cost nothing.
    static func settings(_ command: String, tries: Int = 3, timeout: Duration = .seconds(20)) -> HandoffSettings {
        var settings = HandoffSettings(command: command)
        settings.tries = tries
        settings.timeout = timeout
        settings.backoff = .milliseconds(1)
        return settings
    }

    static func runner(_ queue: ApprovalQueue, _ settings: HandoffSettings) throws -> HandoffRunner {
        try HandoffRunner(queue: queue, settings: settings, now: { 1_200 })
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func approvalQueuesTheHandoffInItsTransaction() throws {
        let (_, queue, record) = try Self.approved()
        let handoff = try #require(try queue.handoff(record.id))
        #expect(handoff.state == .queued && handoff.attempts.isEmpty && handoff.idempotencyKey == record.idempotencyKey)
        #expect(try queue.unfinishedHandoffs() == [record.id])
        let (_, plain, other) = try Self.approved(handOff: false)
        #expect(try plain.handoff(other.id) == nil && plain.unfinishedHandoffs().isEmpty)
        guard case .object(let fields) = try plain.jsonWithHandoff(other) else { Issue.record("not an object"); return }
        #expect(fields["handoff"] == .null)
    }

    @Test func aSuccessGetsTheOutboxLineAndKeyAndIsNeverRunAgain() throws {
        let (w, queue, record) = try Self.approved()
        let log = w.folder + "/hook.log", input = w.folder + "/stdin"
        let runner = try Self.runner(queue, Self.settings("cat > '\(input)'; echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'; echo done"))
        guard case .succeeded(let handoff) = try runner.handOff(record.id) else { Issue.record("not succeeded"); return }
        #expect(handoff.state == .succeeded && handoff.attempts.count == 1)
        let attempt = handoff.attempts[0]
        #expect(attempt.exitCode == 0 && attempt.output == "done\n" && attempt.finishedAt == 1_200 && attempt.durationMilliseconds != nil)
        #expect(try String(contentsOfFile: input, encoding: .utf8) == Outbox.line(for: record) + "\n")
        #expect(Self.lines(log) == [record.idempotencyKey])
        // Again, and through a drain: nothing runs.
        guard case .succeeded = try runner.handOff(record.id) else { Issue.record("not succeeded"); return }
        #expect(try runner.drain().isEmpty)
        #expect(Self.lines(log).count == 1)
        #expect(try queue.recommendation(record.id, now: 1_300).outcome == nil)
    }

    @Test func aFailureIsRetriedWithTheSameKeyUntilASuccess() throws {
        let (w, queue, record) = try Self.approved()
        let log = w.folder + "/hook.log"
        // Fails on the first two tries, succeeds on the third.
        let command = "echo \"$TRIAGE_IDEMPOTENCY_KEY $TRIAGE_HANDOFF_ATTEMPT\" >> '\(log)'; [ \"$TRIAGE_HANDOFF_ATTEMPT\" -ge 3 ]"
        guard case .succeeded(let handoff) = try Self.runner(queue, Self.settings(command)).handOff(record.id) else {
            Issue.record("not succeeded"); return
        }
        #expect(handoff.attempts.map(\.exitCode) == [1, 1, 0])
        #expect(Self.lines(log) == (1...3).map { "\(record.idempotencyKey) \($0)" })
        #expect(try queue.recommendation(record.id, now: 1_300).outcome == nil)
    }

    /// Every try fails: the hand-off is failed and a failed outcome is recorded through
    /// `recordOutcome` (the policy learns it like one from `triage outcome`).
    @Test func theLastFailureIsRecordedAsAFailedOutcome() throws {
        let (_, queue, record) = try Self.approved()
        let episode = RemediationPolicy.Episode(symptoms: symptomsA, attempts: [(.scaleUp, 100, true)])
        try queue.installPolicy(try RemediationPolicy.train([episode]), source: "test", now: 1_000)
        let runner = try Self.runner(queue, Self.settings("echo broken; exit 7", tries: 2))
        guard case .failed(let handoff) = try runner.handOff(record.id) else { Issue.record("not failed"); return }
        #expect(handoff.state == .failed && handoff.attempts.map(\.exitCode) == [7, 7] && handoff.failures == 2)
        #expect(handoff.attempts.allSatisfy { $0.output == "broken\n" })
        let after = try queue.recommendation(record.id, now: 1_300)
        #expect(after.outcome == .failure && after.recoverySeconds == 100)
        #expect(try queue.policy()?.outcomesLearned == 1)
        // Final: not run again, not recorded twice.
        guard case .failed = try runner.handOff(record.id) else { Issue.record("not failed"); return }
        #expect(try queue.handoff(record.id)?.attempts.count == 2)
        #expect(try queue.unfinishedHandoffs().isEmpty)
    }

    @Test func aTimeoutIsAFailedAttempt() throws {
        let (_, queue, record) = try Self.approved()
        let runner = try Self.runner(queue, Self.settings("sleep 60", tries: 2, timeout: .milliseconds(150)))
        guard case .failed(let handoff) = try runner.handOff(record.id) else { Issue.record("not failed"); return }
        #expect(handoff.attempts.allSatisfy { $0.timedOut && $0.signal == 9 && $0.exitCode == nil })
        #expect(handoff.attempts[0].summary.hasPrefix("timed out"))
        #expect(try queue.recommendation(record.id, now: 1_300).outcome == .failure)
    }

    /// The crash between the hand-off and its audit record: an attempt committed as started with
    /// no result. The next run hands off again with the same key and marks the first as such.
    @Test func anAttemptWithoutAResultIsRetriedWithTheSameKey() throws {
        let (w, queue, record) = try Self.approved()
        let started = try #require(try queue.beginHandoffAttempt(record.id, command: "killed", now: 1_150))
        #expect(started.attempt == 1 && started.handoff.state == .started)
        #expect(try queue.unfinishedHandoffs() == [record.id])
        let log = w.folder + "/hook.log"
        let runner = try Self.runner(queue, Self.settings("echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'"))
        guard case .succeeded(let handoff) = try runner.drain().first else { Issue.record("not succeeded"); return }
        #expect(Self.lines(log) == [record.idempotencyKey])
        #expect(handoff.attempts.count == 2 && handoff.attempts[0].finishedAt == nil)
        #expect(handoff.attempts[0].error == ApprovalQueue.noResultRecorded && !handoff.attempts[0].failed)
        #expect(handoff.attempts[1].exitCode == 0)
    }

    /// A failure recorded before a crash counts toward the tries; a failed hand-off whose
    /// outcome was not recorded (crash between the two) gets it on the next drain.
    @Test func failuresBeforeACrashCountAndAMissingOutcomeIsRecorded() throws {
        let (_, queue, record) = try Self.approved()
        let first = try #require(try queue.beginHandoffAttempt(record.id, command: "x", now: 1_150))
        var failed = HookProcess.Run()
        failed.exitCode = 1
        try queue.finishHandoffAttempt(record.id, attempt: first.attempt, run: failed, tries: 2, now: 1_151)
        let second = try #require(try queue.beginHandoffAttempt(record.id, command: "x", now: 1_152))
        let final = try queue.finishHandoffAttempt(record.id, attempt: second.attempt, run: failed, tries: 2, now: 1_153)
        #expect(final.state == .failed)
        #expect(try queue.recommendation(record.id, now: 1_200).outcome == nil)
        #expect(try queue.unfinishedHandoffs() == [record.id])
        guard case .failed = try Self.runner(queue, Self.settings("exit 0", tries: 2)).drain().first else {
            Issue.record("not failed"); return
        }
        #expect(try queue.recommendation(record.id, now: 1_300).outcome == .failure)
        #expect(try queue.handoff(record.id)?.attempts.count == 2)
    }

    @Test func anActionApprovedWithoutAHandoffIsNotRun() throws {
        let (w, queue, record) = try Self.approved(handOff: false)
        let runner = try Self.runner(queue, Self.settings("touch '\(w.folder)/ran'"))
        #expect(try runner.handOff(record.id) == .notQueued(id: record.id))
        #expect(!FileManager.default.fileExists(atPath: w.folder + "/ran"))
    }

    /// Another process (here: another descriptor) running the hand-off: skipped, not run twice.
    @Test func aHandoffRunningElsewhereIsSkipped() throws {
        let (w, queue, record) = try Self.approved()
        let slot = try #require(try queue.rowNumber(record.id))
        let lock = try #require(try HandoffLock.acquire(databasePath: queue.path, slot: slot))
        let runner = try Self.runner(queue, Self.settings("touch '\(w.folder)/ran'"))
        #expect(try runner.handOff(record.id) == .busy(id: record.id))
        lock.release()
        guard case .succeeded = try runner.handOff(record.id) else { Issue.record("not succeeded"); return }
        #expect(FileManager.default.fileExists(atPath: w.folder + "/ran"))
    }

    @Test func settingsOutOfRangeAreRefusedByName() {
        var cases = [HandoffSettings]()
        cases.append(HandoffSettings(command: "  "))
        for change in [{ (s: inout HandoffSettings) in s.tries = 0 }, { $0.tries = 21 }, { $0.timeout = .zero },
                       { $0.timeout = .seconds(3_601) }, { $0.backoff = .milliseconds(-1) }] {
            var settings = HandoffSettings(command: "true")
            change(&settings)
            cases.append(settings)
        }
        for settings in cases {
            #expect(throws: EngineError.self) { try settings.validate() }
            do { try settings.validate() } catch {
                guard case .outOfRange(let field, _, _) = error else { Issue.record("\(error)"); continue }
                #expect(field.hasPrefix("hand-off") && !field.contains("--"))
            }
        }
        #expect(throws: Never.self) { try HandoffSettings(command: "true").validate() }
    }

    @Test func backoffDoublesFromItsStart() {
        var settings = HandoffSettings(command: "true")
        settings.backoff = .milliseconds(250)
        #expect((1...5).map { settings.wait(beforeTry: $0) } == [.zero, .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2)])
        settings.backoff = .seconds(3_000)
        #expect(settings.wait(beforeTry: 20) == HandoffSettings.longest)
    }

    /// A queue made before hand-offs (no v6-handoff) reads without them, read-only.
    @Test func aQueueWithoutTheHandoffTablesReadsAsNone() throws {
        let w = Workspace()
        let database = try DatabaseQueue(path: w.database)
        try ApprovalQueue.migrator.migrate(database, upTo: "v4-list-order")
        try database.close()
        let queue = try ApprovalQueue(path: w.database, access: .readOnly)
        #expect(try queue.handoff("rec-000001") == nil && queue.unfinishedHandoffs().isEmpty)
    }
}

/// The background runner of `serve --exec`: hand-offs off the caller's thread, and a shutdown
/// that leaves an unfinished one recorded as started for the next start.
@Suite struct HandoffWorkersTests {
    /// Polls `condition` for up to 30 s (a guard against a hang, not a timing assertion).
    static func eventually(_ condition: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<3_000 {
            if try condition() { return true }
            usleep(10_000)
        }
        return try condition()
    }

    @Test func startReturnsAtOnceAndTheHandoffRunsInTheBackground() throws {
        let (w, queue, record) = try HandoffRunnerTests.approved()
        let gate = w.folder + "/gate"
        let runner = try HandoffRunnerTests.runner(queue, HandoffRunnerTests.settings("while [ ! -e '\(gate)' ]; do sleep 0.01; done"))
        let reports = Mutex<[HandoffRunner.Result]>([])
        let workers = HandoffWorkers(runner: runner) { result, _ in
            if case .success(let r) = result { reports.withLock { $0.append(r) } }
        }
        workers.start(record.id)
        workers.start(record.id)  // already running here: not started twice
        // The command waits for the gate, which only this thread opens: had `start` waited for
        // it, this line would never be reached.
        #expect(try Self.eventually { try queue.handoff(record.id)?.state == .started })
        #expect(workers.inFlight == 1)
        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        #expect(try Self.eventually { try queue.handoff(record.id)?.state == .succeeded })
        #expect(Self.eventually { workers.inFlight == 0 })
        #expect(reports.withLock { $0.count } == 1)
        #expect(try queue.handoff(record.id)?.attempts.count == 1)
    }

    @Test func shutdownLeavesAnUnfinishedHandoffStartedForTheNextStart() throws {
        let (w, queue, record) = try HandoffRunnerTests.approved()
        let log = w.folder + "/keys.log"
        let runner = try HandoffRunnerTests.runner(queue, HandoffRunnerTests.settings("echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'; sleep 60"))
        let workers = HandoffWorkers(runner: runner) { _, _ in }
        workers.start(record.id)
        #expect(Self.eventually { HandoffRunnerTests.lines(log).count == 1 })
        workers.shutdown(grace: .milliseconds(50))
        #expect(workers.inFlight == 0)
        let left = try #require(try queue.handoff(record.id))
        #expect(left.state == .started && left.attempts.count == 1 && left.attempts[0].finishedAt == nil)
        // A stopped runner starts nothing new.
        workers.start(record.id)
        #expect(workers.inFlight == 0)
        // The next start resumes it with the same key.
        let next = try HandoffRunnerTests.runner(queue, HandoffRunnerTests.settings("echo \"$TRIAGE_IDEMPOTENCY_KEY\" >> '\(log)'"))
        let resumed = HandoffWorkers(runner: next) { _, _ in }
        resumed.resumeUnfinished()
        #expect(try Self.eventually { try queue.handoff(record.id)?.state == .succeeded })
        #expect(HandoffRunnerTests.lines(log) == [record.idempotencyKey, record.idempotencyKey])
    }
}
