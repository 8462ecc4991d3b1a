import ArgumentParser
import Foundation
import TriageCore
import TriageData
import TriageEngine
import TriageRuntime
import TriageStorePostgres

/// `triage approvals …`: the human decision on recommendations in the queue.
struct Approvals: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, show, approve or reject recommendations waiting in the approval queue.",
        subcommands: [ApprovalsList.self, ApprovalsShow.self, ApprovalsApprove.self, ApprovalsReject.self,
                      ApprovalsHandoff.self])
}

/// The queue database named by `--db`: an SQLite file, which must exist (`watch --model … --db`
/// creates it), or a `postgres://` URL. Commands that only read open an SQLite file read-only:
/// they work on a write-protected queue and can never create, migrate or change anything.
struct QueueOptions: ParsableArguments {
    @Option(help: "Approval queue database: an SQLite file or postgres://USER[:PASS]@HOST[:PORT]/DB, as given to 'watch --db'.")
    var db: String

    init() {}
    init(db: String) { self.db = db }

    var isPostgres: Bool { DatabaseAddress.isPostgres(db) }

    func open(_ access: ApprovalQueue.Access) throws -> any ApprovalStore {
        if isPostgres { return try StoreOpening.open(db, access: access) }
        var isFolder: ObjCBool = false
        let shown = TerminalText.escaped(db)
        guard FileManager.default.fileExists(atPath: db, isDirectory: &isFolder) else {
            throw CLIFailure.failed("\(shown): no such database (it is created by 'triage watch --model BUNDLE --db \(shown)')")
        }
        guard !isFolder.boolValue else { throw CLIFailure.failed("\(shown): is a folder, not a database") }
        return try ApprovalQueue(path: db, access: access)
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }
}

/// Who decides, and against which allowlist.
///
/// `--by` is checked against the OS account running the command (effective uid, not `$USER`):
/// it must be that account's name or a name the allowlist maps the account to, and the audit
/// records both. No flag or variable turns the check off: it is what makes the trail worth keeping.
struct DecisionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Approver name recorded with the decision.",
                               discussion: "It must be your OS account's name, or a name the allowlist maps your account to "
                                   + "('NAME: ACCOUNT …'); the audit records the account too."))
    var by: String
    @Option(help: "Approver allowlist: 'NAME' or 'NAME: ACCOUNT …' per line (default: approvers.txt beside the db).")
    var approvers: String?

    func validate() throws {
        guard !by.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--by must name a person") }
    }

    /// The allowlist; when there is none, the engine's message plus how to name another file here.
    func allowlist(database: String) throws -> Approvers {
        let path = approvers ?? Approvers.defaultPath(forDatabase: database)
        // A Result rather than `catch EngineError.noAllowlist(…)`: that pattern over a typed
        // throw crashes Swift 6.3.1's SIL ownership verifier.
        switch Result(catching: { () throws(EngineError) in try Approvers.load(path) }) {
        case .success(let list): return list
        case .failure(.noAllowlist(let missing)):
            throw CLIFailure.failed(EngineError.noAllowlist(path: missing).description + ", or pass --approvers FILE")
        case .failure(let error): throw error
        }
    }

    /// `--by` as typed by the OS account running this process.
    var decider: Decider { .commandLine(name: by, account: OSAccount.effective()) }

    /// Refuses `decider` before anything is written, saying how to pick an allowed name here;
    /// the queue checks it again itself.
    func authorize(_ decider: Decider, in approvers: Approvers) throws {
        switch Result(catching: { () throws(EngineError) in try approvers.check(decider) }) {
        case .success: return
        case .failure(let error):
            switch error {
            case .notAllowedAs(_, _, let allowed, _) where !allowed.isEmpty:
                throw CLIFailure.failed(error.description + "; pass one of them to --by")
            case .notAnApprover:
                // Also say who ran it and what it could use, so the fix is in the message.
                let allowed = approvers.names(forAccount: decider.account)
                let may = allowed.isEmpty ? "may act as no approver"
                    : "may act as " + allowed.map { "'\($0.shown)'" }.joined(separator: ", ") + " (pass one to --by)"
                throw CLIFailure.failed(error.description + "; OS account '\(decider.account.shown)' \(may)")
            default: throw error
            }
        }
    }
}

enum StatusFilter: String, ExpressibleByArgument, CaseIterable {
    case pending, approved, rejected, expired, all

    var status: Recommendation.Status? { self == .all ? nil : Recommendation.Status(rawValue: rawValue) }
}

/// `triage approvals list --db DB [--status pending|approved|rejected|expired|all] [--json]`.
struct ApprovalsList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List recommendations by status.")

    @OptionGroup var queue: QueueOptions
    @Option(help: "Which recommendations: pending, approved, rejected, expired or all.") var status: StatusFilter = .pending
    @Flag(help: "Print a JSON array.") var json = false

    func run() throws {
        let records = try queue.open(.readOnly).list(status: status.status, now: QueueOptions.now)
        if json {
            try StandardOutput.write(JSONValue.array(records.map(\.json)).serialized() + "\n")
            return
        }
        guard !records.isEmpty else {
            try StandardOutput.write("no \(status == .all ? "" : status.rawValue + " ")recommendations\n")
            return
        }
        var lines = ["id          service       action     confidence  status    created               expires"]
        for r in records {
            lines.append([r.id.shown.padded(11), r.service.shown.padded(13), r.action.name.padded(10),
                          String(format: "%10.2f", r.confidence) + " ", r.status.rawValue.padded(9),
                          Timestamp.iso(r.created).padded(21), Timestamp.iso(r.expires)].joined(separator: " "))
        }
        try StandardOutput.write(lines.joined(separator: "\n") + "\n")
    }
}

/// `triage approvals show ID --db DB [--json]`.
struct ApprovalsShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one recommendation with its reasons.")

    @Argument(help: "Recommendation id (rec-NNNNNN).") var id: String
    @OptionGroup var queue: QueueOptions
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let store = try queue.open(.readOnly)
        let r = try store.recommendation(id, now: QueueOptions.now)
        if json {
            try StandardOutput.write(try store.jsonWithHandoff(r).serialized() + "\n")
            return
        }
        var lines = [
            "\(r.id.shown): \(r.action.name) on \(r.service.shown) (\(r.status.rawValue))",
            "confidence: \(String(format: "%.2f", r.confidence))",
            "created: \(Timestamp.iso(r.created))   raised: \(Timestamp.iso(r.raisedAt))   expires: \(Timestamp.iso(r.expires))",
        ]
        if !r.parameters.isEmpty {
            lines.append("parameters: " + r.parameters.sorted { $0.key < $1.key }.map { "\($0.key.shown)=\($0.value)" }.joined(separator: ", "))
        }
        if !r.scores.isEmpty {
            lines.append("scores: " + r.scores.sorted { $0.key < $1.key }.map { "\($0.key.shown) \(String(format: "%.3f", $0.value))" }.joined(separator: ", "))
        }
        if r.status == .pending, let held = r.heldReason {
            lines.append("held when raised (approval refused while a cap is reached): \(held.shown)")
        }
        lines.append("reasons:")
        lines += r.reasons.map { "  - \($0.shown)" }
        if let by = r.decidedBy, let at = r.decidedAt {
            let note = r.decisionNote.map { ": \($0.shown)" } ?? ""
            let account = r.decidedAccount.map { r.decidedChannel == .http ? " (token)" : " (account \($0.shown))" } ?? ""
            lines.append("\(r.status.rawValue) by \(by.shown)\(account) at \(Timestamp.iso(at))\(note)")
        }
        if let outcome = r.outcome {
            lines.append("outcome: \(outcome.rawValue)" + (r.recoverySeconds.map { " after \(JSONValue.number($0).serialized()) s" } ?? ""))
        }
        if let handoff = try store.handoff(r.id) {
            lines.append("hand-off: \(handoff.state.rawValue) (key \(handoff.idempotencyKey.shown))")
            for attempt in handoff.attempts {
                lines.append("  attempt \(attempt.number) at \(Timestamp.iso(attempt.startedAt)): \(attempt.summary.shown)")
                if let output = attempt.output, !output.isEmpty {
                    let more = (attempt.outputBytes ?? 0) > output.utf8.count ? " (first \(output.utf8.count) of \(attempt.outputBytes!) bytes)" : ""
                    lines.append("    output\(more): " + output.trimmingCharacters(in: .whitespacesAndNewlines).shown)
                }
            }
        }
        try StandardOutput.write(lines.joined(separator: "\n") + "\n")
    }
}

/// `triage approvals approve ID --by NAME --db DB [--comment TEXT] [--outbox FILE] [--exec CMD …]`.
struct ApprovalsApprove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve a pending recommendation and hand it to the remediation layer (the outbox).",
        discussion: """
            Approving an already approved id prints so and exits 0 without a second outbox line; \
            approving a rejected or expired id exits 1. Without an approver allowlist every \
            approval is refused. An approval that would pass a rate cap of the engine \
            (--max-approvals-per-hour, --max-approvals-per-service-per-hour of watch/serve) is \
            refused (exit 1) until the hour's window allows it. With --exec the command runs after \
            the approval commits; a hand-off that fails after all its tries is recorded as a failed \
            outcome and exits 1.
            """)

    @Argument(help: "Recommendation id (rec-NNNNNN).") var id: String
    @OptionGroup var queue: QueueOptions
    @OptionGroup var decision: DecisionOptions
    @Option(help: "A note kept with the approval and sent in the outbox line.") var comment: String?
    @Option(help: "JSON-lines outbox for approved actions (default: outbox.jsonl beside the db).") var outbox: String?
    @OptionGroup var handoff: HandoffOptions

    func run() throws {
        var files = FileRoles()
        files.input("--approvers", decision.approvers ?? Approvers.defaultPath(forDatabase: queue.db))
        if !queue.isPostgres { files.output("--db", queue.db) }
        files.output(outbox == nil ? "the default outbox" : "--outbox", outbox ?? Outbox.defaultPath(forDatabase: queue.db))
        try files.check()
        // Who may decide is settled before the queue is opened for writing, which may upgrade it
        // and creates its WAL files: a refused decider leaves the database as it was.
        let approvers = try decision.allowlist(database: queue.db)
        let decider = decision.decider
        try decision.authorize(decider, in: approvers)
        let store = try queue.open(.readWrite)
        let target = Outbox(path: outbox ?? Outbox.defaultPath(forDatabase: queue.db))
        // The runner first: settings out of range are refused before anything is approved. (On
        // PostgreSQL the hook runs under the dispatcher lock, `PostgresApprovalStore.handOff`.)
        var runner: HandoffRunner?
        let postgres = store as? PostgresApprovalStore
        if let settings = handoff.settings {
            if postgres == nil { runner = try HandoffRunner(queue: try HandoffOptions.sqliteQueue(store), settings: settings) } else { try settings.validate() }
        }
        switch try store.approve(id, by: decider, comment: comment, approvers: approvers, outbox: target,
                                 handOff: handoff.settings != nil, now: QueueOptions.now) {
        case .approved(let r):
            let sent = !queue.isPostgres || r.outboxWritten ? "handed off in \(target.path.shown)"
                : "queued in the outbox table for the dispatcher that holds its lock (a serve replica)"
            try StandardOutput.write("approved \(r.id.shown): \(r.action.name) on \(r.service.shown); \(sent)\n")
        case .alreadyApproved(let r):
            let when = r.decidedAt.map(Timestamp.iso) ?? "?"
            try StandardOutput.write("\(r.id.shown) was already approved by \((r.decidedBy ?? "?").shown) at \(when); nothing sent again\n")
        }
        // Also for an id approved before: its hand-off may be unfinished (a success is never rerun).
        if let postgres, let settings = handoff.settings {
            try HandoffOptions.report(try postgres.handOff([id], settings: settings, outbox: target))
            return
        }
        guard let runner else { return }
        let (line, failed) = HandoffOptions.describe(try runner.handOff(id))
        guard !failed else { throw CLIFailure.failed(line) }
        try StandardOutput.write(line + "\n")
    }
}

/// `triage approvals reject ID --by NAME --db DB [--reason TEXT]`.
struct ApprovalsReject: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reject", abstract: "Reject a pending recommendation.")

    @Argument(help: "Recommendation id (rec-NNNNNN).") var id: String
    @OptionGroup var queue: QueueOptions
    @OptionGroup var decision: DecisionOptions
    @Option(help: "Why it was rejected (kept with the decision).") var reason: String?

    func run() throws {
        // Before opening for writing, as in `approve`.
        let approvers = try decision.allowlist(database: queue.db)
        let decider = decision.decider
        try decision.authorize(decider, in: approvers)
        let store = try queue.open(.readWrite)
        let r = try store.reject(id, by: decider, reason: reason, approvers: approvers, now: QueueOptions.now)
        try StandardOutput.write("rejected \(r.id.shown): \(r.action.name) on \(r.service.shown)\n")
    }
}

/// `triage outcome ID --db DB --result success|failure [--recovery-seconds N]`.
struct Outcome: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record how an approved action went; the stored policy learns from it.",
        discussion: """
            Each approved recommendation takes one outcome. When the queue holds the bundle's \
            policy (installed by 'watch --model'), the outcome updates its Q-table in the same \
            transaction; later recommendations use the updated policy.
            """)

    enum Result: String, ExpressibleByArgument, CaseIterable { case success, failure }

    @Argument(help: "Recommendation id (rec-NNNNNN).") var id: String
    @OptionGroup var queue: QueueOptions
    @Option(help: "success or failure.") var result: Result
    @Option(help: "Seconds from the action to recovery, 0–604800 (7 days) (default: time since the approval).")
    var recoverySeconds: Double?

    func validate() throws {
        let limit = RemediationPolicy.maximumRecoverySeconds
        if let s = recoverySeconds, !(s.isFinite && (0...limit).contains(s)) {
            throw ValidationError("--recovery-seconds must be a number of seconds in 0–\(Int(limit)) (7 days), got \(s)")
        }
    }

    func run() throws {
        let store = try queue.open(.readWrite)
        let recorded: (recommendation: Recommendation, learned: Bool)
        do {
            recorded = try store.recordOutcome(id, result: result == .success ? .success : .failure,
                                               recoverySeconds: recoverySeconds, now: QueueOptions.now)
        } catch {
            // Only the default (time since the approval) can get here: validate() checked the flag.
            guard case .outOfRange(let field, let value, let expected) = error, field == "recovery seconds" else { throw error }
            throw CLIFailure.failed("recovery time must be \(expected), got \(value); pass --recovery-seconds")
        }
        let r = recorded.recommendation
        let learned = recorded.learned ? "; the policy learned from it" : "; no policy stored in this db, nothing learned"
        try StandardOutput.write("recorded \(result.rawValue) for \(r.id.shown) (\(r.action.name) on \(r.service.shown))\(learned)\n")
    }
}

extension String {
    /// As a terminal may show it (`TerminalText.escaped`): for every value from outside.
    var shown: String { TerminalText.escaped(self) }

    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
