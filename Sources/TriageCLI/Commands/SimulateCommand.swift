import ArgumentParser
import TriageCore
import TriageData
import TriageSim

/// `triage simulate --output DIR [--seed 0] [--services 4] [--days 7] [--interval 60]`.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate services with injected faults: metrics.csv, incidents.csv, truth.json.",
        discussion: """
            Services svc-01 … svc-NN keep the same profiles whatever the seed; the seed changes \
            noise, load and faults. The same seed and flags give byte-identical files.
            """)

    @Option(help: "Folder to create (must not exist; its parent must).") var output: String
    @Option(help: "Number of services (1–99).") var services = 4
    @Option(help: "Days of history (1–366).") var days = 7
    @Option(help: "Seconds between metric rows (10–3600, dividing a day).") var interval = 60
    @OptionGroup var options: RunOptions

    func validate() throws {
        guard (1...99).contains(services) else { throw ValidationError("--services must be 1–99, got \(services)") }
        guard (1...366).contains(days) else { throw ValidationError("--days must be 1–366, got \(days)") }
        guard (10...3600).contains(interval), 86_400 % interval == 0 else {
            throw ValidationError("--interval must be 10–3600 seconds and divide a day (86400), got \(interval)")
        }
        guard services * days * (86_400 / interval) <= 60_000_000 else {
            throw ValidationError("--services × --days × rows per day exceeds 60 million rows")
        }
    }

    func run() throws {
        try OutputPath.refuseStandardOutput(output, option: "--output")
        try AtomicFolder.validateDestination(output)
        let settings = SimulationSettings(seed: options.seed, services: services, days: days, interval: interval)
        let reporter = options.reporter
        reporter.report("simulating \(services) services × \(days) days at \(interval) s …")
        let simulation = Simulation.run(settings, threads: options.threadCount)
        reporter.report("writing \(settings.rowsPerService * services) metric rows, \(simulation.incidents.count) incidents")
        try AtomicFolder.write([
            ("metrics.csv", simulation.metricsCSV(threads: options.threadCount)),
            ("incidents.csv", simulation.incidentsCSV()),
            ("truth.json", simulation.truthJSON()),
        ], to: output)
    }
}
