import ArgumentParser
import TriageCore
import TriageData

/// `triage-bench iforest`: in-process fit and score timings (no CSV in the timed part).
struct IsolationForestBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iforest", abstract: "Isolation forest fit / score / explain timings.")

    @Option(help: "CSV to load (untimed); a column named 'label' is dropped. Default: generated data.")
    var data: String?
    @Option(help: "Use the first N rows (default: all; generated data: 1000000).") var rows: Int?
    @Option(help: "Generated data: feature count.") var features = 16
    @Option var trees = 100
    @Option(name: .customLong("sample-size")) var sampleSize = 256
    @Option var threads: Int?
    @Option var repeats = 3
    @Option var seed: UInt64 = 0
    @Flag(help: "Also time topFeatures (the explanation pass).") var explain = false

    func run() throws {
        let matrix = try loadMatrix()
        let threadCount = Parallel.threadCount(threads)
        let parameters = IsolationForest.Parameters(treeCount: trees, sampleSize: sampleSize)
        var forest: IsolationForest?
        let fitSeconds = try bestOf(repeats) {
            forest = try IsolationForest.fit(matrix, parameters: parameters, seed: seed, threads: threadCount)
        }
        var checksum = 0.0
        let cpuBefore = processCPUSeconds()
        let scoreSeconds = bestOf(repeats) { checksum = try! forest!.scores(matrix, threads: threadCount).reduce(0, +) }
        let scoreCPUSeconds = (processCPUSeconds() - cpuBefore) / Double(max(1, repeats))
        var fields: [String: Any] = [
            "rows": matrix.rows, "features": matrix.columns, "trees": trees, "sample_size": sampleSize,
            "threads": threadCount, "fit_seconds": fitSeconds, "score_seconds": scoreSeconds,
            "fit_score_seconds": fitSeconds + scoreSeconds, "score_cpu_seconds": scoreCPUSeconds,
            "score_rows_per_s": Double(matrix.rows) / scoreSeconds, "mean_score": checksum / Double(matrix.rows),
        ]
        if explain {
            let before = processCPUSeconds()
            fields["explain_seconds"] = bestOf(repeats) { _ = try! forest!.topFeatures(matrix, threads: threadCount) }
            fields["explain_cpu_seconds"] = (processCPUSeconds() - before) / Double(max(1, repeats))
            let combinedBefore = processCPUSeconds()
            fields["score_and_explain_seconds"] = bestOf(repeats) { _ = try! forest!.scoresAndTopFeatures(matrix, threads: threadCount) }
            fields["score_and_explain_cpu_seconds"] = (processCPUSeconds() - combinedBefore) / Double(max(1, repeats))
        }
        emit(fields)
    }

    func loadMatrix() throws -> Matrix<Float> {
        if let data {
            let table = try CSVReader.read(data, options: CSVOptions(roles: ["label": .skip], threads: threads))
            guard let rows, rows < table.rowCount else { return table.numeric }
            return table.numeric.rows(0..<rows)
        }
        // Gaussian inliers with 2 % uniform outliers, the same recipe as benchmarks/iforest_speed.py.
        let n = rows ?? 1_000_000
        var rng = RandomSource(seed: 42)
        return Matrix(rows: n, columns: features) { i, _ in
            i % 50 == 0 ? Float(rng.uniform(-6, 6)) : Float(rng.normal())
        }
    }
}
