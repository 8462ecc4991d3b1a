import ArgumentParser
import Foundation
import TriageCore
import TriageData
import TriageEngine
import TriageRuntime

/// `triage report --events EVENTS.jsonl [--db DB] --output REPORT.html`.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report of what 'watch' saw and recommended.",
        discussion: """
            Per service: the anomaly score over time with degraded/unhealthy periods shaded and \
            recommendations marked. Then every recommendation with its reasons; with --db, also \
            its decision and outcome from the approval queue. The page has no scripts and loads \
            nothing from the network.
            """)

    @Option(help: "Events (JSON lines) written by 'watch --events'.") var events: String
    @Option(help: "Approval queue database: adds decisions and outcomes.") var db: String?
    @Option(help: "HTML file to write.") var output: String
    @Option(help: "Page title.") var title = "Triage report"

    func run() throws {
        var files = FileRoles()
        files.input("--events", events)
        if let db, !DatabaseAddress.isPostgres(db) { files.input("--db", db) }
        files.output("--output", output)
        try files.check()
        try OutputPath.validate(output)
        let file = try EventsFile.read(events)
        var points = [String: [HTMLReport.ScorePoint]]()
        var changes = [String: [HTMLReport.StateChange]]()
        var raised = [Recommendation]()
        for e in file.events {
            switch e.type {
            case "score":
                // Bundle engine: the isolation forest's s; model-free watch: anomaly_score.
                guard let score = e.number("iforest") ?? e.number("anomaly_score") else { continue }
                points[e.service, default: []].append(.init(time: e.time, score: score))
            case "state":
                guard let name = e.text("state"), let state = HealthState(rawValue: name) else {
                    throw DataError(.other("state event without a known 'state'"), file: events, line: e.line)
                }
                // A change into critical names its cause (events written before it had none).
                let escalation = e.text("cause").flatMap(CriticalEscalation.Cause.init(rawValue:)).map {
                    CriticalEscalation.Escalation(cause: $0, observed: e.text("observed") ?? "", threshold: e.text("threshold") ?? "")
                }
                changes[e.service, default: []].append(.init(time: e.time, state: state, escalation: escalation))
            case "recommendation":
                guard db == nil else { continue }
                let name = try file.text(e, "action")
                guard let action = RemediationAction(name: name) else {
                    throw DataError(.other("unknown action \(JSONValue.quote(name))"), file: events, line: e.line)
                }
                var r = Recommendation(service: e.service, action: action, confidence: e.number("confidence") ?? 0,
                                       created: try file.time(e, "created"), raisedAt: e.time, expires: e.time,
                                       reasons: e.fields["reasons"] as? [String] ?? [],
                                       symptoms: Symptoms(features: [], levels: []))
                r.id = e.text("id") ?? ""
                raised.append(r)
            default: continue
            }
        }
        if let db {
            raised = try QueueOptions(db: db).open(.readOnly).list(status: nil, now: QueueOptions.now)
        }
        let services = Set(points.keys).union(changes.keys).union(raised.map(\.service))
        let tracks = services.map { HTMLReport.Track(service: $0, points: points[$0] ?? [], changes: changes[$0] ?? []) }
        let report = HTMLReport(title: title, sources: [events] + (db.map { [StoreOpening.shown($0)] } ?? []),
                                generated: QueueOptions.now, tracks: tracks, recommendations: raised, fromQueue: db != nil)
        if let path = OutputPath.file(output) {
            try AtomicFile.write(report.render(), to: path)
        } else {
            try StandardOutput.write(report.render())
        }
        var standardError = StandardError()
        print("wrote \(output.shown): \(tracks.count) services, \(raised.count) recommendations", to: &standardError)
    }
}
