import ArgumentParser
import TriageCore
import TriageData
import TriageEngine

/// `triage breakers --db DB [--json]`: the circuit breakers of the queue, as of now.
struct Breakers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the circuit breakers of the approval queue (one per service and action).",
        discussion: """
            A breaker opens when enough of an action's recent outcomes on a service failed; while \
            open the engine recommends other actions, after its wait one trial is allowed \
            (half_open). Breakers appear once an outcome was recorded for their action.
            """)

    @OptionGroup var queue: QueueOptions
    @Flag(help: "Print a JSON array.") var json = false

    func run() throws {
        let breakers = try queue.open(.readOnly).breakers(now: QueueOptions.now)
        if json {
            try StandardOutput.write(JSONValue.array(breakers.map(\.json)).serialized() + "\n")
            return
        }
        guard !breakers.isEmpty else {
            try StandardOutput.write("no breakers (none until an outcome is recorded)\n")
            return
        }
        var lines = ["service       action     state      failures  outcomes  opened_at             retry_at"]
        for b in breakers {
            lines.append([b.service.shown.padded(13), b.action.name.padded(10), b.state.rawValue.padded(10),
                          String(format: "%8d ", b.failures), String(format: "%8d ", b.outcomes),
                          (b.openedAt.map(Timestamp.iso) ?? "-").padded(21), b.retryAt.map(Timestamp.iso) ?? "-"]
                .joined(separator: " "))
        }
        try StandardOutput.write(lines.joined(separator: "\n") + "\n")
    }
}
