import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TriageData
import TriageEngine

/// `triage demo [--output DIR]`: the whole product on simulated data, in one folder: a history,
/// a bundle trained on it, an unseen day watched by the engine into an approval queue, and an
/// allowlist naming the current user, so the next step is a person's decision.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a history, train a bundle, watch an unseen day and leave recommendations to approve.",
        discussion: """
            Writes DIR/history (simulated metrics and incidents, seed 0), DIR/bundle (trained on it), \
            DIR/live (an unseen day, seed 1), DIR/events.jsonl and DIR/triage.sqlite (the engine's \
            events and approval queue), DIR/approvers.txt (the current user) and prints the \
            commands to review and approve what was raised.
            """)

    @Option(help: "Folder to create (must not exist; its parent must).") var output = "triage-demo"
    @Option(help: "Number of simulated services (1–99).") var services = 4
    @Flag(help: "No progress output.") var quiet = false

    func validate() throws {
        guard (1...99).contains(services) else { throw ValidationError("--services must be 1–99, got \(services)") }
    }

    /// The OS account running the demo (effective uid): the name `approvals approve --by` accepts
    /// from it. Not `$USER`, which could name someone the account may not act as.
    static var currentUser: String { OSAccount.effective() }

    func run() throws {
        try OutputPath.refuseStandardOutput(output, option: "--output")
        try AtomicFolder.validateDestination(output)
        let user = Self.currentUser
        let folder = output
        func say(_ text: String) { if !quiet { var e = StandardError(); print(text, to: &e) } }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let common = ["--services", "\(services)", "--interval", "120", "--quiet"]
        say("simulating 7 days of history (seed 0) …")
        try Simulate.parse(["--output", folder + "/history", "--seed", "0", "--days", "7"] + common).run()
        say("training the bundle …")
        try Train.parse(["--metrics", folder + "/history/metrics.csv", "--incidents", folder + "/history/incidents.csv",
                         "--output", folder + "/bundle", "--seed", "0", "--quiet"]).run()
        say("simulating an unseen day (seed 1) and watching it …")
        try Simulate.parse(["--output", folder + "/live", "--seed", "1", "--days", "1"] + common).run()
        try AtomicFile.write(user + "\n", to: folder + "/approvers.txt")
        try Watch.parse([folder + "/live/metrics.csv", "--model", folder + "/bundle", "--db", folder + "/triage.sqlite",
                         "--events", folder + "/events.jsonl", "--ttl", "1d", "--quiet"]).run()
        let queue = try ApprovalQueue(path: folder + "/triage.sqlite")
        let pending = try queue.list(status: .pending, now: Int64(Date().timeIntervalSince1970))
        var lines = ["demo written to \(folder): \(pending.count) recommendations wait for approval (approvers.txt names \(user))",
                     "", "next:",
                     "  triage approvals list --db \(folder)/triage.sqlite"]
        if let first = pending.first {
            lines += ["  triage approvals show \(first.id) --db \(folder)/triage.sqlite",
                      "  triage approvals approve \(first.id) --by \(user) --db \(folder)/triage.sqlite   # appends to \(folder)/outbox.jsonl",
                      "  triage outcome \(first.id) --db \(folder)/triage.sqlite --result success --recovery-seconds 300"]
        }
        lines.append("  triage evaluate --events \(folder)/events.jsonl --truth \(folder)/live/truth.json")
        try StandardOutput.write(lines.joined(separator: "\n") + "\n")
    }
}
