import ArgumentParser
import Foundation
import TriageCore
import TriageData
import TriageEngine
import TriageStorePostgres

/// `--exec CMD [--exec-timeout 30s] [--exec-retries 3] [--exec-backoff 1s]`: the hand-off hook
/// of `approvals approve`, `approvals handoff` and `serve` (README, "Hand-off hook").
struct HandoffOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Command run once per approved action: the outbox line on stdin, TRIAGE_IDEMPOTENCY_KEY in its environment.",
        discussion: "Run as /bin/sh -c CMD in its own process group; recommendation data reaches it only on stdin and in "
            + "the environment, never on the command line.",
        valueName: "CMD"))
    var exec: String?
    @Option(help: "Time limit of one hand-off attempt: 500ms, 30s, 2m (at most 1h); its process group is killed after it.")
    var execTimeout = Interval(milliseconds: 30_000)
    @Option(help: "Attempts in all, the first included (1–20); a failed or timed-out attempt is retried.")
    var execRetries = 3
    @Option(help: "Wait before the second attempt, doubled before each next one: 0ms, 250ms, 1s, … (at most 1h).")
    var execBackoff = Interval(milliseconds: 1_000)

    init() {}

    func validate() throws {
        if let exec, exec.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError("--exec must name a command")
        }
        guard execTimeout.milliseconds > 0 else { throw ValidationError("--exec-timeout must be more than 0, got \(execTimeout)") }
        guard (1...HandoffSettings.mostTries).contains(execRetries) else {
            throw ValidationError("--exec-retries must be 1–\(HandoffSettings.mostTries), got \(execRetries)")
        }
        let usesExec = exec != nil
        if !usesExec && (execTimeout.milliseconds != 30_000 || execRetries != 3 || execBackoff.milliseconds != 1_000) {
            throw ValidationError("--exec-timeout, --exec-retries and --exec-backoff need --exec")
        }
    }

    /// The settings, or nil without `--exec`.
    var settings: HandoffSettings? {
        guard let exec else { return nil }
        var settings = HandoffSettings(command: exec)
        settings.timeout = .milliseconds(execTimeout.milliseconds)
        settings.tries = execRetries
        settings.backoff = .milliseconds(execBackoff.milliseconds)
        return settings
    }

    /// A line per hand-off for the terminal, and whether it failed.
    static func describe(_ result: HandoffRunner.Result) -> (line: String, failed: Bool) {
        func last(_ h: Handoff) -> String { h.attempts.last.map { "attempt \($0.number): \($0.summary)" } ?? "no attempt" }
        func output(_ h: Handoff) -> String {
            guard let text = h.attempts.last?.output?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return "" }
            let firstLine = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? text
            return ": " + firstLine.shown
        }
        switch result {
        case .succeeded(let h):
            return ("handed off \(h.recommendationID.shown) (key \(h.idempotencyKey.shown)); \(last(h))", false)
        case .failed(let h):
            return ("hand-off of \(h.recommendationID.shown) failed after \(h.failures) \(h.failures == 1 ? "try" : "tries") "
                    + "(\(last(h))\(output(h))); recorded as a failed outcome", true)
        case .busy(let id):
            return ("hand-off of \(id.shown) is running in another process; left to it", false)
        case .interrupted(let h):
            return ("hand-off of \(h.recommendationID.shown) was stopped before a result; the next run retries it with the same key", true)
        case .notQueued(let id):
            return ("\(id.shown) was approved without a hand-off; nothing run", false)
        }
    }
}

/// A duration with a unit: `500ms`, `30s`, `2m`, `1h`, or plain seconds.
struct Interval: ExpressibleByArgument, CustomStringConvertible {
    let milliseconds: Int64

    init(milliseconds: Int64) { self.milliseconds = milliseconds }

    init?(argument: String) {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)]
        var text = Substring(argument), unit: Int64 = 1_000
        for (suffix, size) in units where text.hasSuffix(suffix) {
            unit = size
            text = text.dropLast(suffix.count)
            break
        }
        // At most an hour (`HandoffSettings.longest`).
        guard let n = Int64(text), n >= 0, n <= 3_600_000 / unit else { return nil }
        milliseconds = n * unit
    }

    var description: String {
        milliseconds % 1_000 == 0 ? "\(milliseconds / 1_000)s" : "\(milliseconds)ms"
    }
    static var defaultCompletionKind: CompletionKind { .default }
}

/// `triage approvals handoff --db DB --exec CMD [...]`: runs the hand-offs a previous run left
/// unfinished (killed mid-hand-off, stopped, or queued and never started).
struct ApprovalsHandoff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handoff",
        abstract: "Run the hand-offs that are queued or were interrupted (with their original idempotency keys).",
        discussion: """
            An approved action whose hand-off started but has no recorded result (the process was \
            killed) is run again with the same TRIAGE_IDEMPOTENCY_KEY; one with a recorded success \
            is never run again. Exits 1 when a hand-off failed after all its tries.
            """)

    @OptionGroup var queue: QueueOptions
    @OptionGroup var handoff: HandoffOptions

    func validate() throws {
        guard handoff.exec != nil else { throw ValidationError("approvals handoff needs --exec CMD") }
    }

    func run() throws {
        let store = try queue.open(.readWrite)
        if let postgres = store as? PostgresApprovalStore {
            // The hook runs under the dispatcher lock; the outbox file is the dispatcher's business.
            try HandoffOptions.report(try postgres.handOff(nil, settings: handoff.settings!, outbox: nil), noneMessage: "no unfinished hand-offs")
            return
        }
        let runner = try HandoffRunner(queue: try HandoffOptions.sqliteQueue(store), settings: handoff.settings!)
        let results = try runner.drain()
        guard !results.isEmpty else {
            try StandardOutput.write("no unfinished hand-offs\n")
            return
        }
        var failed = 0
        for result in results {
            let (line, isFailure) = HandoffOptions.describe(result)
            if isFailure { failed += 1 }
            try StandardOutput.write(line + "\n")
        }
        if failed > 0 { throw CLIFailure.failed("\(failed) of \(results.count) hand-offs did not succeed") }
    }
}

extension HandoffOptions {
    /// Prints what a PostgreSQL dispatcher pass did with the hand-offs (a line each, as on
    /// SQLite) and exits 1 when one failed; says so when another process is the dispatcher.
    static func report(_ pass: PostgresApprovalStore.DispatchPass, noneMessage: String? = nil) throws {
        switch pass {
        case .elsewhere:
            try StandardOutput.write("another process holds the dispatcher lock (a serve replica): it runs the hand-offs with its own --exec\n")
        case .dispatched(_, let results):
            if results.isEmpty, let noneMessage {
                try StandardOutput.write(noneMessage + "\n")
                return
            }
            var failed = [String]()
            for result in results {
                let (line, isFailure) = describe(result)
                if isFailure { failed.append(line) } else { try StandardOutput.write(line + "\n") }
            }
            if failed.count == 1 && results.count == 1 { throw CLIFailure.failed(failed[0]) }
            for line in failed { try StandardOutput.write(line + "\n") }
            if !failed.isEmpty { throw CLIFailure.failed("\(failed.count) of \(results.count) hand-offs did not succeed") }
        }
    }

    /// The SQLite queue the hand-off hook needs (its audit and per-recommendation lock file live
    /// beside it); on PostgreSQL the hook runs through the dispatcher (`report`).
    static func sqliteQueue(_ store: any ApprovalStore) throws(EngineError) -> ApprovalQueue {
        guard let queue = store as? ApprovalQueue else {
            throw .unsupportedByStore(feature: "handing approved actions to a command (--exec)", location: store.location)
        }
        return queue
    }
}
