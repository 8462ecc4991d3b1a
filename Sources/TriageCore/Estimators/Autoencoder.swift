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
/// K networks (default 5) are trained this way from independent random streams — a bagged
/// ensemble in the sense of Breiman 1996 over initialisation, batch order and held-out rows.
///
/// The score of a row is its mean squared reconstruction error over the standardised features,
/// averaged over the K networks: (1/K)·Σ_k (1/d)·Σ_j (f_θk(x′)_j − x′_j)², higher = more
/// anomalous; the feature with the largest (averaged) squared error explains it. The threshold is the (1 − contamination) quantile of the training scores
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
        /// Networks trained independently (own initialisation and batch order, same held-out
        /// rows) whose reconstruction errors are averaged. One autoencoder's ranking of rows
        /// swings with its seed (ROC-AUC spreads of 0.1–0.3 across seeds on ADBench sets);
        /// averaging K of them cuts that variance, and they train in parallel over `threads`.
        public var ensembleSize = 5
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
            if ensembleSize < 1 { throw .invalidParameter(name: "ensemble size", value: "\(ensembleSize)", expected: "at least 1") }
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

    /// What happened during one epoch, for progress reports. Losses are means over the
    /// networks still training.
    public struct EpochReport: Sendable, Equatable {
        public var epoch: Int
        public var epochs: Int
        public var trainingLoss: Double
        /// nil when nothing is held out.
        public var validationLoss: Double?
        /// Networks that trained this epoch (the others had stopped early).
        public var activeNetworks: Int
        /// Networks whose held-out loss reached a new best this epoch.
        public var improvedNetworks: Int
    }

    /// The course of a fit: what `inspect` shows as the training summary.
    public struct TrainingHistory: Sendable, Equatable {
        /// Mean reconstruction loss over the training rows per epoch, averaged over the networks
        /// still training (weights as they moved during the epoch).
        public var trainingLoss: [Double] = []
        /// Loss on the held-out rows after each epoch, same averaging (empty without a split).
        public var validationLoss: [Double] = []
        /// Per network, the 1-based epoch whose weights were kept.
        public var bestEpochs: [Int] = []
        /// Per network, the best held-out loss (empty without a split).
        public var bestValidationLosses: [Double] = []
        /// True when every network stopped before the last epoch.
        public var stoppedEarly = false
        public var trainingRows = 0
        public var validationRows = 0
        public var batchSize = 0
        public var notes: [String] = []
    }

    public let parameters: Parameters
    public let standardizer: Standardizer<Float>
    /// The ensemble: K independently initialised and shuffled networks whose errors are averaged.
    public let networks: [DenseNetwork<Float>]
    public let threshold: Double

    public var featureCount: Int { standardizer.means.count }

    public init(parameters: Parameters, standardizer: Standardizer<Float>, networks: [DenseNetwork<Float>], threshold: Double) {
        precondition(!networks.isEmpty, "an autoencoder needs at least one network")
        self.parameters = parameters
        self.standardizer = standardizer
        self.networks = networks
        self.threshold = threshold
    }

    enum CodingKeys: String, CodingKey { case parameters, standardizer, networks, threshold }

    /// Decodes and checks what scoring relies on: at least one network, every network as wide
    /// as the standardiser at input and output, all with the same layer sizes.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let standardizer = try c.decode(Standardizer<Float>.self, forKey: .standardizer)
        let networks = try c.decode([DenseNetwork<Float>].self, forKey: .networks)
        let width = standardizer.means.count
        guard let first = networks.first, width > 0,
              networks.allSatisfy({ $0.layerSizes == first.layerSizes }),
              first.inputWidth == width, first.outputWidth == width else {
            throw DecodingError.dataCorruptedError(forKey: .networks, in: c,
                debugDescription: "autoencoder networks do not match its \(width) features")
        }
        self.init(parameters: try c.decode(Parameters.self, forKey: .parameters), standardizer: standardizer,
                  networks: networks, threshold: try c.decode(Double.self, forKey: .threshold))
    }

    // MARK: Scoring

    /// Mean squared reconstruction error of each row over the standardised features, averaged
    /// over the ensemble's networks.
    ///
    /// - Throws: `shapeMismatch` when `data` does not have `featureCount` columns.
    /// - Complexity: O(K · n · Σ n_l·n_{l+1}) for K networks, in row blocks spread over `threads`.
    public func scores(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> [Double] {
        try checkColumns(data, expected: featureCount)
        return Self.rowErrors(networks, try standardizer.transform(data), threads: threads)
    }

    /// `scores(_:threads:)` computed row by row (`DenseNetwork.forwardRow`): a row's score then
    /// depends on that row alone, never on the rows scored with it, so an online engine scoring
    /// batches of any size gives every row the score it gets alone. Within float rounding of
    /// `scores` (about 1e-6 relative); about as fast for networks of a few hundred weights,
    /// slower for wide ones.
    public func rowScores(_ data: Matrix<Float>) throws(EstimatorError) -> [Double] {
        try checkColumns(data, expected: featureCount)
        let x = try standardizer.transform(data)
        let columns = x.columns
        let widest = networks[0].layerSizes.max() ?? 0
        var scratch = [Float](repeating: 0, count: 2 * widest)
        var reconstructed = [Float](repeating: 0, count: columns)
        var squared = [Float](repeating: 0, count: columns)
        let weight = 1 / Float(networks.count)
        var errors = [Double](repeating: 0, count: x.rows)
        x.storage.withUnsafeBufferPointer { all in
            for r in 0..<x.rows {
                let row = UnsafeBufferPointer(rebasing: all[(r * columns)..<((r + 1) * columns)])
                for j in 0..<columns { squared[j] = 0 }
                for network in networks {
                    reconstructed.withUnsafeMutableBufferPointer { out in
                        scratch.withUnsafeMutableBufferPointer { network.forwardRow(row, into: out, scratch: $0) }
                    }
                    // As the batched path: the networks' squared errors summed per feature, weighted.
                    for j in 0..<columns {
                        let difference = reconstructed[j] - row[j]
                        squared[j] += weight * difference * difference
                    }
                }
                var sum = 0.0
                for j in 0..<columns { sum += Double(squared[j]) }
                errors[r] = sum / Double(columns)
            }
        }
        return errors
    }

    /// The feature with the largest squared reconstruction error in each row.
    public func topFeatures(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> [Int] {
        try featureErrors(data, threads: threads).argmaxPerRow()
    }

    /// Squared reconstruction error of every feature of every row (rows × features) in
    /// standardised units, averaged over the ensemble: the explanation behind each score (a
    /// row's score is the mean of its row here).
    public func featureErrors(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> Matrix<Float> {
        try checkColumns(data, expected: featureCount)
        let x = try standardizer.transform(data)
        var errors = Matrix<Float>(rows: x.rows, columns: x.columns)
        let columns = x.columns
        errors.storage.withUnsafeMutableBufferPointer { buffer in
            let output = SendablePointer(buffer.baseAddress ?? UnsafeMutablePointer<Float>.allocate(capacity: 1))
            Self.forEachBlockOfErrors(networks, x, threads: threads) { range, squared in
                for k in 0..<(range.count * columns) { output[range.lowerBound * columns + k] = squared[k] }
            }
        }
        return errors
    }

    /// Rows per forward block when scoring: large enough for efficient GEMMs, small enough
    /// that a block's activations stay in L2.
    static let scoringBlockRows = 1024

    /// Mean squared error of each row of standardised `x`, averaged over `networks`.
    static func rowErrors(_ networks: [DenseNetwork<Float>], _ x: Matrix<Float>, threads: Int) -> [Double] {
        var errors = [Double](repeating: 0, count: x.rows)
        let columns = x.columns
        errors.withUnsafeMutableBufferPointer { buffer in
            let output = SendablePointer(buffer.baseAddress ?? UnsafeMutablePointer<Double>.allocate(capacity: 1))
            forEachBlockOfErrors(networks, x, threads: threads) { range, squared in
                for i in 0..<range.count {
                    var sum = 0.0
                    for j in 0..<columns { sum += Double(squared[i * columns + j]) }
                    output[range.lowerBound + i] = sum / Double(columns)
                }
            }
        }
        return errors
    }

    /// Runs every network over fixed blocks of rows in parallel and hands `body` each block's
    /// squared reconstruction errors (block rows × features), averaged over the networks.
    /// Blocks do not depend on `threads`, so neither do the results.
    private static func forEachBlockOfErrors(
        _ networks: [DenseNetwork<Float>], _ x: Matrix<Float>, threads: Int,
        _ body: @Sendable (Range<Int>, UnsafeBufferPointer<Float>) -> Void
    ) {
        let blocks = Parallel.ranges(x.rows, chunks: (x.rows + scoringBlockRows - 1) / scoringBlockRows)
        let weight = 1 / Float(networks.count)
        Parallel.forEach(blocks.count, threads: threads) { b in
            let range = blocks[b]
            var squared = [Float](repeating: 0, count: range.count * x.columns)
            var workspace = NetworkWorkspace<Float>(layerSizes: networks[0].layerSizes, batchSize: range.count)
            workspace.activations[0] = x.rows(range)
            for network in networks {
                network.forward(&workspace)
                workspace.activations[0].storage.withUnsafeBufferPointer { input in
                    workspace.activations[network.layerCount].storage.withUnsafeBufferPointer { output in
                        squared.withUnsafeMutableBufferPointer { sq in
                            for k in 0..<sq.count {
                                let difference = output[k] - input[k]
                                sq[k] += weight * difference * difference
                            }
                        }
                    }
                }
            }
            squared.withUnsafeBufferPointer { body(range, $0) }
        }
    }

    // MARK: Summary

    public func summary(featureNames: [String]) -> ModelSummary {
        ModelSummary(
            parameters: [
                "ensemble": "\(parameters.ensembleSize)",
                "hidden": parameters.hiddenLayers.map(String.init).joined(separator: ","),
                "layers": networks[0].layerSizes.map(String.init).joined(separator: " → "),
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
                "parameter_count": Double(networks.reduce(0) { $0 + $1.parameterCount }),
            ])
    }
}
