import ArgumentParser
import Foundation
import TriageCore
import TriageData
import TriageRuntime

/// `triage features --model BUNDLE METRICS.csv [--output FEATURES.csv]`: the detector feature
/// rows of a bundle (`ServiceFeatureExtractor` against the bundle's per-service baselines), one
/// per metrics row in input order, so `triage score BUNDLE/iforest.model FEATURES.csv` (or the
/// autoencoder) scores raw metrics exactly as the bundle's detectors were trained.
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn metric rows into a bundle's detector features (for 'score BUNDLE/iforest.model').",
        discussion: """
            Output: timestamp, service and one column per detector feature (the manifest's \
            detector_features), one row per input row in input order. Every service must have a \
            baseline in the bundle; a missing metric value maps to its baseline (0).
            """)

    @Argument(help: "Long-format metrics CSV (timestamp,service,cpu,memory,…).") var metrics: String
    @Option(help: "Bundle folder written by 'triage train'.") var model: String
    @Option(help: "Write features here (default: standard output).") var output: String?
    @Option(help: "Worker threads for reading (default: all cores).") var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        var files = FileRoles()
        files.input("METRICS", metrics)
        files.inputFolder("--model", model)
        files.output("--output", output)
        try files.check()
        try OutputPath.validate(output)
        let bundle = try ModelBundle.open(model)
        guard let extractor = try bundle.json(ServiceFeatureExtractor.self, role: "features"),
              let baselines = try bundle.json(BaselineSet.self, role: "baselines") else {
            throw CLIFailure.failed("\(model): the bundle has no detector features (it was trained by an older triage); retrain it with 'triage train'")
        }
        do { try extractor.validate() } catch {
            throw DataError(.invalidModel("features.json: \(error)"), file: bundle.path + "/features.json")
        }
        var roles: [String: ColumnRole] = ["timestamp": .text, "service": .text]
        for name in ServiceMetric.names { roles[name] = .numeric }
        let table = try CSVReader.readDouble(metrics, options: CSVOptions(roles: roles, defaultRole: .skip, threads: threads))
        for name in ["timestamp", "service"] + ServiceMetric.names where table.fieldNumber(of: name) == nil {
            throw DataError(.missingColumn, file: metrics, line: 1, columnName: name)
        }
        let services = table.text["service"]!
        let columns = ServiceMetric.allCases.map { table.numericIndex(of: $0.name)! }
        var byName = [String: ServiceBaseline]()
        for b in baselines.services { byName[b.service] = b }
        let width = ServiceFeatureExtractor.featureCount
        var features = [[Double]](repeating: [Double](repeating: 0, count: table.rowCount), count: width)
        var values = [Double](repeating: 0, count: width)
        for row in 0..<table.rowCount {
            let name = services[row].trimmingCharacters(in: .whitespaces)
            guard let baseline = byName[name] else {
                throw DataError(.other("service '\(name)' has no baseline in \(model) (its services: \(baselines.services.map(\.service).joined(separator: ", ")))"),
                                file: metrics, line: table.line(ofRow: row), column: table.fieldNumber(of: "service"))
            }
            for m in 0..<width { values[m] = table.numeric[row, columns[m]] }
            for (m, f) in extractor.row(values, baseline: baseline).enumerated() { features[m][row] = Double(f) }
        }
        var out = OutputTable()
        out.add("timestamp", .text(table.text["timestamp"]!))
        out.add("service", .text(services))
        for (m, name) in ServiceFeatureExtractor.featureNames.enumerated() { out.add(name, .real(features[m])) }
        try out.write(to: OutputPath.file(output))
    }
}
