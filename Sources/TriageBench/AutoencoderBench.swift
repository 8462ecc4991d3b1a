import ArgumentParser
import Foundation
import TriageCore
import TriageData

/// Seconds per training epoch of the autoencoder on a CSV (all columns features), plus a
/// breakdown of one epoch into GEMM, element-wise work, Adam and batch gathering.
struct AutoencoderBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "autoencoder",
                                                    abstract: "Autoencoder training seconds per epoch.")

    @Argument var path: String
    @Option var epochs = 5
    @Option var batchSize = 256
    @Option var ensemble = 1
    @Option var threads = 1
    @Option var hidden = "32,8,32"

    func run() throws {
        let table = try CSVReader.read(path, options: CSVOptions(roles: ["label": .skip]))
        let data = table.numeric
        var parameters = Autoencoder.Parameters()
        parameters.hiddenLayers = hidden.split(separator: ",").compactMap { Int($0) }
        parameters.epochs = epochs
        parameters.batchSize = batchSize
        parameters.ensembleSize = ensemble
        parameters.validationFraction = 0   // every epoch identical work: n rows, no scoring pass
        var epochSeconds = [Double]()
        var epochCPUSeconds = [Double]()
        var last = DispatchTime.now().uptimeNanoseconds
        var lastCPU = processCPUSeconds()
        _ = try Autoencoder.fit(data, parameters: parameters, seed: 0, threads: threads) { _ in
            let now = DispatchTime.now().uptimeNanoseconds
            let cpu = processCPUSeconds()
            epochSeconds.append(Double(now - last) / 1e9)
            epochCPUSeconds.append(cpu - lastCPU)
            last = now
            lastCPU = cpu
        }
        let sizes = [data.columns] + parameters.hiddenLayers + [data.columns]
        let layerProducts = zip(sizes, sizes.dropFirst()).map { Double($0 * $1) }
        // Forward 2·n·Σ n_l·n_{l+1}; backward ∂W the same, ∂a the same minus the first layer.
        let flopsPerRow = 2 * (3 * layerProducts.reduce(0, +) - layerProducts[0])
        let flopsPerEpoch = flopsPerRow * Double(data.rows) * Double(ensemble)
        let sorted = epochSeconds.sorted()
        let median = sorted[sorted.count / 2]
        var fields: [String: Any] = [
            "rows": data.rows, "columns": data.columns, "ensemble": ensemble, "threads": threads,
            "batch_size": batchSize, "epochs": epochs,
            "seconds_per_epoch_median": median,
            "cpu_seconds_per_epoch_median": epochCPUSeconds.sorted()[epochCPUSeconds.count / 2], "seconds_per_epoch_best": sorted[0],
            "gflop_per_epoch": flopsPerEpoch / 1e9, "gflops": flopsPerEpoch / median / 1e9,
        ]
        if ensemble == 1 {
            for (key, value) in breakdown(data, sizes: sizes, parameters: parameters) { fields[key] = value }
        }
        emit(fields)
    }

    /// Seconds since `start`, resetting it to now.
    static func since(_ start: inout UInt64) -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { start = now }
        return Double(now - start) / 1e9
    }

    /// One epoch's batches timed piece by piece on one thread (best of 3 each).
    private func breakdown(_ data: Matrix<Float>, sizes: [Int], parameters: Autoencoder.Parameters) -> [String: Double] {
        let x = try! Standardizer(fitting: data).transform(data)
        let n = x.rows, batches = n / batchSize
        var random = RandomSource(seed: 0)
        var network = DenseNetwork<Float>(layerSizes: sizes, random: &random)
        var workspace = NetworkWorkspace<Float>(layerSizes: sizes, batchSize: batchSize)
        var gradients = NetworkGradients(like: network)
        var optimizer = AdamOptimizer(for: network, learningRate: 1e-3)
        var order = Array(0..<n)
        random.shuffle(&order)
        let shuffled = order
        let columns = x.columns

        // Timed with inline clocks rather than closures: a closure would box the network and
        // buffers it captures, and the boxed accesses cost more than the work measured.
        var sequential = Double.infinity, gather = Double.infinity, forward = Double.infinity, forwardBackward = Double.infinity, adam = Double.infinity
        for _ in 0..<3 {
            var start = DispatchTime.now().uptimeNanoseconds
            for b in 0..<batches {
                x.storage.withUnsafeBufferPointer { src in
                    workspace.activations[0].storage.withUnsafeMutableBufferPointer { dst in
                        for r in 0..<batchSize {
                            let from = shuffled[b * batchSize + r] * columns, to = r * columns
                            for j in 0..<columns { dst[to + j] = src[from + j] }
                        }
                    }
                }
            }
            gather = min(gather, Self.since(&start))
            for b in 0..<batches {
                x.storage.withUnsafeBufferPointer { src in
                    workspace.activations[0].storage.withUnsafeMutableBufferPointer { dst in
                        (dst.baseAddress!).update(from: src.baseAddress! + b * batchSize * columns, count: columns * batchSize)
                    }
                }
            }
            sequential = min(sequential, Self.since(&start))
            for _ in 0..<batches { network.forward(&workspace) }
            forward = min(forward, Self.since(&start))
            for _ in 0..<batches {
                network.meanSquaredErrorGradients(target: workspace.activations[0], weightDecay: 1e-5,
                                                  workspace: &workspace, gradients: &gradients)
            }
            forwardBackward = min(forwardBackward, Self.since(&start))
            for _ in 0..<batches { optimizer.update(&network, with: gradients) }
            adam = min(adam, Self.since(&start))
        }
        // The same GEMMs alone (shapes of forward, ∂W and ∂a), to split GEMM from element-wise work.
        var a = sizes.map { Matrix<Float>(rows: batchSize, columns: $0, repeating: 0.5) }
        let w = zip(sizes, sizes.dropFirst()).map { Matrix<Float>(rows: $0, columns: $1, repeating: 0.01) }
        var dw = w
        let gemmOnly = bestOf(3) {
            for _ in 0..<batches {
                for l in 0..<w.count { let input = a[l]; Matrix.gemm(input, w[l], into: &a[l + 1]) }
                for l in stride(from: w.count - 1, through: 0, by: -1) {
                    Matrix.gemm(a[l], transposeA: true, a[l + 1], into: &dw[l])
                    if l > 0 { let delta = a[l + 1]; Matrix.gemm(delta, w[l], transposeB: true, into: &a[l]) }
                }
            }
        }
        let layerProducts = zip(sizes, sizes.dropFirst()).map { Double($0 * $1) }
        let gemmFlops = 2 * (3 * layerProducts.reduce(0, +) - layerProducts[0]) * Double(batches * batchSize)
        return [
            "breakdown_gather_s": gather, "breakdown_sequential_copy_s": sequential, "breakdown_forward_s": forward,
            "breakdown_forward_backward_s": forwardBackward, "breakdown_adam_s": adam,
            "breakdown_gemm_only_s": gemmOnly, "breakdown_gemm_only_gflops": gemmFlops / gemmOnly / 1e9,
            "breakdown_elementwise_s": max(0, forwardBackward - gemmOnly),
        ]
    }
}
