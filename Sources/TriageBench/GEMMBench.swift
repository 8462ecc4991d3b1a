import ArgumentParser
import TriageCore

struct GEMMBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gemm", abstract: "float32 GEMM GFLOP/s.")

    @Option var size = 1024
    @Option var threads = 1
    @Option var repeats = 10

    func run() {
        BLASThreads.configureProcess(threads: threads)
        var rng = RandomSource(seed: 1)
        let a = Matrix<Float>(rows: size, columns: size) { _, _ in rng.uniformFloat() }
        let b = Matrix<Float>(rows: size, columns: size) { _, _ in rng.uniformFloat() }
        var c = Matrix<Float>(rows: size, columns: size)
        Matrix.gemm(a, b, into: &c) // warm-up
        let best = bestOf(repeats) { Matrix.gemm(a, b, into: &c) }
        emit(["size": size, "threads": threads, "seconds": best, "gflops": 2 * pow(Double(size), 3) / best / 1e9])
    }
}

import Foundation
