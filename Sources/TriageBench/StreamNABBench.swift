import ArgumentParser
import Foundation
import TriageCore
import TriageData

/// Runs the online detector over every file of a NAB folder (labels.json lists them) and writes
/// NAB result files `OUT/CATEGORY/FILE.csv` (`timestamp,anomaly_score`) for benchmarks/nab_score.py.
/// `--config` overrides fields of the default configuration (JSON, merged key by key) for
/// method studies; the shipped default is what `triage watch` uses.
struct StreamNABBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stream-nab",
                                                    abstract: "Online detector over a NAB folder.")

    @Option var data: String
    @Option var output: String
    @Option(help: "JSON object merged into the default OnlineDetectorConfiguration.") var config: String?
    @Option var seed: UInt64 = 0

    func run() throws {
        let configuration = try Self.configuration(overrides: config)
        let labels = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: data + "/labels.json")))
        guard let names = (labels as? [String: Any])?.keys.sorted() else { throw ValidationError("bad labels.json") }
        var totalRows = 0
        let elapsed = try seconds {
            for name in names {
                let table = try CSVReader.readDouble(data + "/" + name,
                                                     options: CSVOptions(roles: ["timestamp": .text], threads: 1))
                var detector = try MetricStreamDetector(columns: table.numeric.columns, configuration: configuration,
                                                        seed: seed)
                let times = table.text["timestamp"] ?? []
                var out = "timestamp,anomaly_score,forest,z,forest_evidence,statistical_evidence,seasonal_evidence,ready\n"
                for r in 0..<table.rowCount {
                    let row = (0..<table.numeric.columns).map { table.numeric[r, $0] }
                    let s = try! detector.process(row, time: Timestamp.seconds(Array(times[r].utf8)))
                    let c = s.perColumn[0]
                    out += "\(times[r]),\(s.score),\(c.forest),\(c.zScore),\(c.forestEvidence),\(c.statisticalEvidence),\(c.seasonalEvidence),\(c.warmingUp ? 0 : 1)\n"
                }
                totalRows += table.rowCount
                let path = output + "/" + name
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try out.write(toFile: path, atomically: true, encoding: .utf8)
            }
        }
        emit(["files": names.count, "rows": totalRows, "seconds": elapsed])
    }

    static func configuration(overrides: String?) throws -> OnlineDetectorConfiguration {
        let base = OnlineDetectorConfiguration()
        guard let overrides else { return base }
        var dict = try JSONSerialization.jsonObject(with: JSONEncoder().encode(base)) as! [String: Any]
        let patch = try JSONSerialization.jsonObject(with: Data(overrides.utf8)) as! [String: Any]
        func merge(_ a: inout [String: Any], _ b: [String: Any]) {
            for (k, v) in b {
                if var inner = a[k] as? [String: Any], let patchInner = v as? [String: Any] {
                    merge(&inner, patchInner); a[k] = inner
                } else { a[k] = v }
            }
        }
        merge(&dict, patch)
        return try JSONDecoder().decode(OnlineDetectorConfiguration.self, from: JSONSerialization.data(withJSONObject: dict))
    }
}
