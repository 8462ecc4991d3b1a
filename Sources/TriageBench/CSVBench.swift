import ArgumentParser
import TriageCore
import TriageData

struct CSVBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "csv", abstract: "CSV parse throughput.")

    @Argument var path: String
    @Option var threads: Int?
    @Option var repeats = 3

    func run() throws {
        var rows = 0, columns = 0
        let cpuStart = cpuSeconds()
        let best = try bestOf(repeats) {
            let table = try CSVReader.read(path, options: CSVOptions(threads: threads))
            rows = table.rowCount
            columns = table.numeric.columns
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let cpuPerParse = (cpuSeconds() - cpuStart) / Double(repeats)
        emit(["rows": rows, "columns": columns, "seconds": best, "mb_per_s": Double(bytes) / best / 1e6,
              "cpu_seconds": cpuPerParse,
              "threads": Parallel.threadCount(threads)])
    }
}

import Foundation
