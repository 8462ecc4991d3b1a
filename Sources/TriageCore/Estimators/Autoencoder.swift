/// Dense autoencoder anomaly detector: a network trained to reproduce normal rows scores a row
/// by how badly it reconstructs it (Hawkins et al. 2002, "Outlier detection using replicator
/// neural networks"; the ADBench "AutoEncoder" baseline).
///
/// Fitting standardises every column (x′ = (x − μ)/σ, zero-variance columns get σ = 1 so they
/// map to 0, never NaN), then minimises the mean squared reconstruction error
///
///     ℓ(θ) = 1/(B·d) Σ_batch ‖f_θ(x′) − x′‖² + (λ/2) Σ_l ‖W_l‖²
///
/// with mini-batch Adam (Kingma & Ba 2015) over a d → h₁ → … → h_k → d network of ReLU hidden
/// layers and a linear output (`DenseNetwork`). A seeded share of the rows is held out; after
/// each epoch its loss decides early stopping, and the weights of the best epoch are kept.
///
/// The score of a row is its mean squared reconstruction error over the standardised features,
/// (1/d)·Σ_j (f_θ(x′)_j − x′_j)², higher = more anomalous; the feature with the largest squared
/// error explains it. The threshold is the (1 − contamination) quantile of the training scores
/// (`auto`: the 99th percentile).
///
/// Missing values are rejected (`EstimatorError.nonFinite`): the network has no notion of them,
/// and imputing silently would hide data problems; the CLI offers median imputation at score time.
public struct Autoencoder: ExplainingDetector, SummarizableModel, Equatable {
    /// How the threshold is set from the training scores.
    public enum Contamination: Codable, Sendable, Equatable, CustomStringConvertible {
        /// The 99th percentile of the training scores (1 % of training rows flagged).
        case auto
        /// The (1 − f) quantile of the training scores, f in (0, 0.5].
        case fraction(Double)

        public var description: String {
            switch self {
            case .auto: return "auto"
            case .fraction(let f): return "\(f)"
            }
        }

        var quantile: Double {
            switch self {
            case .auto: return 0.99
            case .fraction(let f): return 1 - f
            }
        }
    }

    /// Hyperparameters; the defaults are the protocol (ADBench-style AE, Adam's paper values).
    public struct Parameters: Codable, Sendable, Equatable {
        /// Widths of the hidden layers between input and output (d → 32 → 8 → 32 → d).
        public var hiddenLayers = [32, 8, 32]
        /// Passes over the training rows (an upper bound when early stopping is on).
        public var epochs = 50
        /// Rows per Adam step; clamped to the number of training rows (noted in the history).
        public var batchSize = 256
        /// Adam step size α (Kingma & Ba's default 1e-3).
        public var learningRate = 1e-3
        /// L2 penalty λ on the weights (not biases). Small: it only keeps the 8-wide bottleneck
        /// from growing large weights on near-duplicate columns, without biasing the fit.
        public var weightDecay = 1e-5
        /// Share of rows held out for early stopping, in [0, 1); 0 trains on every row for all
        /// epochs and keeps the last weights.
        public var validationFraction = 0.1
        /// Epochs without a better validation loss before stopping.
        public var patience = 10
        public var contamination = Contamination.auto
        /// Adam's β₁, β₂, ε (the paper's defaults).
        public var beta1 = 0.9
        public var beta2 = 0.999
        public var epsilon = 1e-8

        public init() {}

        /// Throws on any value outside its valid range, naming it and the range.
        public func validate() throws(EstimatorError) {
            if hiddenLayers.isEmpty {
                throw .invalidParameter(name: "hidden", value: "(none)", expected: "at least one hidden layer size")
            }
            if let bad = hiddenLayers.first(where: { $0 < 1 }) {
                throw .invalidParameter(name: "hidden layer size", value: "\(bad)", expected: "a positive integer")
            }
            if epochs < 1 { throw .invalidParameter(name: "epochs", value: "\(epochs)", expected: "at least 1") }
            if batchSize < 1 { throw .invalidParameter(name: "batch size", value: "\(batchSize)", expected: "at least 1") }
            if !(learningRate > 0 && learningRate.isFinite) {
                throw .invalidParameter(name: "learning rate", value: "\(learningRate)", expected: "a finite number > 0")
            }
            if !(weightDecay >= 0 && weightDecay.isFinite) {
                throw .invalidParameter(name: "weight decay", value: "\(weightDecay)", expected: "a finite number ≥ 0")
            }
            if !(validationFraction >= 0 && validationFraction < 1) {
                throw .invalidParameter(name: "validation fraction", value: "\(validationFraction)", expected: "a number in [0, 1)")
            }
            if patience < 1 { throw .invalidParameter(name: "patience", value: "\(patience)", expected: "at least 1") }
            if case .fraction(let f) = contamination, !(f > 0 && f <= 0.5) {
                throw .invalidParameter(name: "contamination", value: "\(f)", expected: "'auto' or a fraction in (0, 0.5]")
            }
            if !(beta1 >= 0 && beta1 < 1) { throw .invalidParameter(name: "beta1", value: "\(beta1)", expected: "[0, 1)") }
            if !(beta2 >= 0 && beta2 < 1) { throw .invalidParameter(name: "beta2", value: "\(beta2)", expected: "[0, 1)") }
            if !(epsilon > 0) { throw .invalidParameter(name: "epsilon", value: "\(epsilon)", expected: "> 0") }
        }
    }

    /// What happened during one epoch, for progress reports.
    public struct EpochReport: Sendable, Equatable {
        public var epoch: Int
        public var epochs: Int
        public var trainingLoss: Double
        /// nil when nothing is held out.
        public var validationLoss: Double?
        public var isBest: Bool
    }

    /// The course of a fit: what `inspect` shows as the training summary.
    public struct TrainingHistory: Sendable, Equatable {
        /// Mean reconstruction loss over the training rows, per epoch (weights as they moved).
        public var trainingLoss: [Double] = []
        /// Loss on the held-out rows after each epoch (empty without a validation split).
        public var validationLoss: [Double] = []
        /// 1-based epoch whose weights were kept.
        public var bestEpoch = 0
        public var stoppedEarly = false
        public var trainingRows = 0
        public var validationRows = 0
        public var batchSize = 0
        public var notes: [String] = []
    }

    public let parameters: Parameters
    public let standardizer: Standardizer<Float>
    public let network: DenseNetwork<Float>
    public let threshold: Double

    public var featureCount: Int { standardizer.means.count }

    public init(parameters: Parameters, standardizer: Standardizer<Float>, network: DenseNetwork<Float>, threshold: Double) {
        self.parameters = parameters
        self.standardizer = standardizer
        self.network = network
        self.threshold = threshold
    }

    // MARK: Fitting

    /// Fits on every row of `data` (rows × features, no NaN/inf).
    ///
    /// Random streams of `seed`: 0 initialises the weights, 1 draws the validation rows, 2
    /// shuffles the batches, so the model is a function of (data, parameters, seed) alone. All
    /// arithmetic is on one thread with OpenBLAS held to one thread (at these widths a batch is
    /// tens of microseconds of GEMM, less than a fork-join costs), so results never depend on
    /// `threads`, which parallelises only the scoring of rows.
    ///
    /// - Throws: `invalidParameter`, `emptyData`, `tooFewRows` (fewer than 2), `nonFinite`,
    ///   and `diverged(epoch:)` when the loss becomes NaN or infinite.
    /// - Complexity: O(epochs · n · Σ n_l·n_{l+1}).
    public static func fit(_ data: Matrix<Float>, parameters: Parameters = Parameters(), seed: UInt64 = 0,
                           threads: Int = 1,
                           onEpoch: (EpochReport) -> Void = { _ in }) throws(EstimatorError) -> (model: Autoencoder, history: TrainingHistory) {
        try parameters.validate()
        guard data.rows > 0, data.columns > 0 else { throw .emptyData }
        guard data.rows >= 2 else { throw .tooFewRows(needed: 2, got: data.rows) }
        if let bad = firstNonFinite(data) { throw .nonFinite(row: bad.row, column: bad.column) }

        return try withSingleThreadedBLAS { () throws(EstimatorError) in
            try train(data, parameters: parameters, seed: seed, threads: threads, onEpoch: onEpoch)
        }
    }

    private static func train(_ data: Matrix<Float>, parameters: Parameters, seed: UInt64, threads: Int,
                              onEpoch: (EpochReport) -> Void) throws(EstimatorError) -> (model: Autoencoder, history: TrainingHistory) {
        let standardizer = Standardizer(fitting: data)
        let x = standardizer.transform(data)
        let n = x.rows, d = x.columns
        var history = TrainingHistory()

        // Held-out rows for early stopping, drawn from their own stream.
        var splitRandom = RandomSource(seed: seed, stream: 1)
        var validationCount = Int((Double(n) * parameters.validationFraction).rounded(.down))
        if parameters.validationFraction > 0 && validationCount == 0 {
            history.notes.append("validation fraction \(parameters.validationFraction) of \(n) rows is no row: early stopping off")
        }
        validationCount = min(validationCount, n - 1)
        let permutation = validationCount > 0 ? splitRandom.sampleWithoutReplacement(n, from: n) : Array(0..<n)
        let validationX = x.rows(at: permutation[..<validationCount].sorted())
        let trainingX = validationCount > 0 ? x.rows(at: permutation[validationCount...].sorted()) : x
        let trainingCount = trainingX.rows
        history.trainingRows = trainingCount
        history.validationRows = validationCount

        let batchSize = min(parameters.batchSize, trainingCount)
        if batchSize < parameters.batchSize {
            history.notes.append("batch size \(parameters.batchSize) > \(trainingCount) training rows: used \(batchSize)")
        }
        history.batchSize = batchSize

        let layerSizes = [d] + parameters.hiddenLayers + [d]
        var initRandom = RandomSource(seed: seed, stream: 0)
        var network = DenseNetwork<Float>(layerSizes: layerSizes, random: &initRandom)
        var optimizer = AdamOptimizer(for: network, learningRate: parameters.learningRate,
                                      beta1: parameters.beta1, beta2: parameters.beta2, epsilon: parameters.epsilon)
        var gradients = NetworkGradients(like: network)
        // One workspace for full batches and one for the last, shorter batch of an epoch:
        // allocated once, reused for every batch of every epoch.
        var fullWorkspace = NetworkWorkspace<Float>(layerSizes: layerSizes, batchSize: batchSize)
        let remainder = trainingCount % batchSize
        var tailWorkspace = NetworkWorkspace<Float>(layerSizes: layerSizes, batchSize: remainder)
        let weightDecay = Float(parameters.weightDecay)

        var shuffleRandom = RandomSource(seed: seed, stream: 2)
        var order = Array(0..<trainingCount)
        var best = network
        var bestLoss = Double.infinity
        var epochsSinceBest = 0

        for epoch in 1...parameters.epochs {
            shuffleRandom.shuffle(&order)
            var lossSum = 0.0
            var start = 0
            while start < trainingCount {
                let rows = min(batchSize, trainingCount - start)
                let batchLoss: Double
                if rows == batchSize {
                    gather(trainingX, order[start..<(start + rows)], into: &fullWorkspace.activations[0])
                    batchLoss = network.meanSquaredErrorGradients(
                        target: fullWorkspace.activations[0], weightDecay: weightDecay,
                        workspace: &fullWorkspace, gradients: &gradients)
                } else {
                    gather(trainingX, order[start..<(start + rows)], into: &tailWorkspace.activations[0])
                    batchLoss = network.meanSquaredErrorGradients(
                        target: tailWorkspace.activations[0], weightDecay: weightDecay,
                        workspace: &tailWorkspace, gradients: &gradients)
                }
                guard batchLoss.isFinite else { throw .diverged(epoch: epoch) }
                optimizer.update(&network, with: gradients)
                lossSum += batchLoss * Double(rows)
                start += rows
            }
            let trainingLoss = lossSum / Double(trainingCount)
            history.trainingLoss.append(trainingLoss)

            var validationLoss: Double?
            var isBest = false
            if validationCount > 0 {
                let errors = rowErrors(network, validationX, threads: 1)
                let loss = errors.reduce(0, +) / Double(errors.count)
                guard loss.isFinite else { throw .diverged(epoch: epoch) }
                validationLoss = loss
                history.validationLoss.append(loss)
                if loss < bestLoss {
                    bestLoss = loss
                    best = network
                    history.bestEpoch = epoch
                    epochsSinceBest = 0
                    isBest = true
                } else {
                    epochsSinceBest += 1
                }
            } else {
                best = network
                history.bestEpoch = epoch
                isBest = true
            }
            onEpoch(EpochReport(epoch: epoch, epochs: parameters.epochs, trainingLoss: trainingLoss,
                                validationLoss: validationLoss, isBest: isBest))
            if validationCount > 0 && epochsSinceBest >= parameters.patience {
                history.stoppedEarly = epoch < parameters.epochs
                break
            }
        }

        // Threshold from the scores of every row given (training and held-out alike).
        let scores = rowErrors(best, x, threads: threads)
        guard scores.allSatisfy(\.isFinite) else { throw .diverged(epoch: history.trainingLoss.count) }
        let threshold = Metrics.quantile(scores, parameters.contamination.quantile)
        let model = Autoencoder(parameters: parameters, standardizer: standardizer, network: best, threshold: threshold)
        return (model, history)
    }

    /// Copies rows `indices` of `source` into `batch` (a preallocated workspace buffer).
    private static func gather(_ source: Matrix<Float>, _ indices: ArraySlice<Int>, into batch: inout Matrix<Float>) {
        let columns = source.columns
        source.storage.withUnsafeBufferPointer { src in
            batch.storage.withUnsafeMutableBufferPointer { dst in
                var offset = 0
                for i in indices {
                    (dst.baseAddress! + offset).update(from: src.baseAddress! + i * columns, count: columns)
                    offset += columns
                }
            }
        }
    }

    // MARK: Scoring

    /// Mean squared reconstruction error of each row, over the standardised features.
    ///
    /// - Complexity: O(n · Σ n_l·n_{l+1}), in row blocks spread over `threads`.
    public func scores(_ data: Matrix<Float>, threads: Int) -> [Double] {
        precondition(data.columns == featureCount, "data has \(data.columns) columns, model \(featureCount)")
        return Self.withSingleThreadedBLAS { Self.rowErrors(network, standardizer.transform(data), threads: threads) }
    }

    /// The feature with the largest squared reconstruction error in each row.
    public func topFeatures(_ data: Matrix<Float>, threads: Int) -> [Int] {
        precondition(data.columns == featureCount, "data has \(data.columns) columns, model \(featureCount)")
        let perFeature = featureErrors(data, threads: threads)
        return perFeature.argmaxPerRow()
    }

    /// Squared reconstruction error of every feature of every row (rows × features), in
    /// standardised units: the explanation behind each score (a score is the row mean).
    public func featureErrors(_ data: Matrix<Float>, threads: Int) -> Matrix<Float> {
        precondition(data.columns == featureCount, "data has \(data.columns) columns, model \(featureCount)")
        let x = standardizer.transform(data)
        var errors = Matrix<Float>(rows: x.rows, columns: x.columns)
        let columns = x.columns
        errors.storage.withUnsafeMutableBufferPointer { buffer in
            let output = SendablePointer(buffer.baseAddress ?? UnsafeMutablePointer<Float>.allocate(capacity: 1))
            Self.withSingleThreadedBLAS {
                Self.forEachReconstructedBlock(network, x, threads: threads) { range, input, reconstruction in
                    for i in 0..<range.count {
                        let base = (range.lowerBound + i) * columns
                        for j in 0..<columns {
                            let difference = reconstruction[i * columns + j] - input[i * columns + j]
                            output[base + j] = difference * difference
                        }
                    }
                }
            }
        }
        return errors
    }

    /// Rows per forward block when scoring: large enough for efficient GEMMs, small enough
    /// that a block's activations stay in L2.
    static let scoringBlockRows = 1024

    /// Mean squared error of each row of standardised `x` (caller holds BLAS to one thread).
    static func rowErrors(_ network: DenseNetwork<Float>, _ x: Matrix<Float>, threads: Int) -> [Double] {
        var errors = [Double](repeating: 0, count: x.rows)
        let columns = x.columns
        errors.withUnsafeMutableBufferPointer { buffer in
            let output = SendablePointer(buffer.baseAddress ?? UnsafeMutablePointer<Double>.allocate(capacity: 1))
            forEachReconstructedBlock(network, x, threads: threads) { range, input, reconstruction in
                for i in 0..<range.count {
                    var sum = 0.0
                    for j in 0..<columns {
                        let difference = Double(reconstruction[i * columns + j]) - Double(input[i * columns + j])
                        sum += difference * difference
                    }
                    output[range.lowerBound + i] = sum / Double(columns)
                }
            }
        }
        return errors
    }

    /// Runs the network over fixed blocks of rows in parallel and hands each block's input and
    /// reconstruction to `body`. Blocks do not depend on `threads`, so neither do the results.
    private static func forEachReconstructedBlock(
        _ network: DenseNetwork<Float>, _ x: Matrix<Float>, threads: Int,
        _ body: @Sendable (Range<Int>, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>) -> Void
    ) {
        let blocks = Parallel.ranges(x.rows, chunks: (x.rows + scoringBlockRows - 1) / scoringBlockRows)
        Parallel.forEach(blocks.count, threads: threads) { b in
            let range = blocks[b]
            var workspace = NetworkWorkspace<Float>(layerSizes: network.layerSizes, batchSize: range.count)
            workspace.activations[0] = x.rows(range)
            network.forward(&workspace)
            workspace.activations[0].storage.withUnsafeBufferPointer { input in
                workspace.activations[network.layerCount].storage.withUnsafeBufferPointer { output in
                    body(range, input, output)
                }
            }
        }
    }

    /// Runs `body` with OpenBLAS on one thread (restored after): the layers are too narrow for
    /// BLAS threading to pay, and a fixed thread count keeps results bit-identical.
    static func withSingleThreadedBLAS<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        let previous = BLASThreads.current
        BLASThreads.set(1)
        defer { BLASThreads.set(previous) }
        return try body()
    }

    // MARK: Summary

    public func summary(featureNames: [String]) -> ModelSummary {
        ModelSummary(
            parameters: [
                "hidden": parameters.hiddenLayers.map(String.init).joined(separator: ","),
                "layers": network.layerSizes.map(String.init).joined(separator: " → "),
                "epochs": "\(parameters.epochs)",
                "batch_size": "\(parameters.batchSize)",
                "learning_rate": "\(parameters.learningRate)",
                "weight_decay": "\(parameters.weightDecay)",
                "validation_fraction": "\(parameters.validationFraction)",
                "patience": "\(parameters.patience)",
                "contamination": parameters.contamination.description,
                "optimizer": "adam(beta1=\(parameters.beta1), beta2=\(parameters.beta2), epsilon=\(parameters.epsilon))",
                "activation": "relu (hidden), linear (output)",
            ],
            values: [
                "threshold": threshold,
                "parameter_count": Double(network.parameterCount),
            ])
    }
}
