// In-process benchmarks of the library (no CLI or file overhead), driven by benchmarks/*.sh.
// Each subcommand prints one JSON object of timings so the scripts can set them beside a peer's.
import ArgumentParser

struct TriageBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage-bench",
        abstract: "In-process micro-benchmarks of Triage's numeric core and learners.",
        subcommands: [GEMMBench.self, CSVBench.self, IsolationForestBench.self, TreesBench.self, StreamNABBench.self, AutoencoderBench.self]
    )
}

TriageBench.main()
