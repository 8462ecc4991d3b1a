/// A fully connected feed-forward network with ReLU hidden layers and a linear output layer,
/// evaluated a mini-batch at a time as BLAS GEMMs.
///
/// With a₀ = X (batch × n₀) and layers l = 0..<L:
///
///     z_{l+1} = a_l · W_l + 1·b_lᵀ          (W_l is n_l × n_{l+1}, row-major)
///     a_{l+1} = max(0, z_{l+1}) for hidden layers, a_L = z_L at the output.
///
/// Backpropagation (Rumelhart, Hinton & Williams 1986) of a loss with output gradient δ_L = ∂ℓ/∂z_L:
///
///     ∂ℓ/∂W_l = a_lᵀ · δ_{l+1}      ∂ℓ/∂b_l = 1ᵀ · δ_{l+1}
///     δ_l = (δ_{l+1} · W_lᵀ) ⊙ 1[a_l > 0]
///
/// Every product is one GEMM over the whole batch with the transposes given as flags, so no
/// per-sample loop runs and nothing is transposed in memory. Generic over the BLAS scalar: the
/// detector trains in `Float`; gradient checks run in `Double`. The hot entry points are
/// pre-specialised for both (`@_specialize(exported:)`) so callers in other modules do not
/// fall back to unspecialised generic code, which is ~10× slower on the element-wise loops.
public struct DenseNetwork<Scalar: BLASScalar>: Codable, Sendable, Equatable {
    /// n₀, n₁, …, n_L: input width, hidden widths, output width.
    public let layerSizes: [Int]
    /// W_l, n_l × n_{l+1}.
    public internal(set) var weights: [Matrix<Scalar>]
    /// b_l, n_{l+1} values.
    public internal(set) var biases: [[Scalar]]

    public var layerCount: Int { weights.count }
    public var inputWidth: Int { layerSizes.first ?? 0 }
    public var outputWidth: Int { layerSizes.last ?? 0 }
    /// Number of trainable scalars.
    public var parameterCount: Int {
        zip(layerSizes, layerSizes.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 + $1.1 }
    }

    /// A network with He initialisation for the ReLU layers and Xavier (Glorot) initialisation
    /// for the linear output layer, biases zero.
    ///
    /// He et al. 2015 ("Delving deep into rectifiers", eq. 10): W ~ N(0, 2/n_in) keeps the
    /// variance of ReLU activations constant through depth. Glorot & Bengio 2010 (eq. 16, normal
    /// form): W ~ N(0, 2/(n_in + n_out)) for a linear layer. Draws come from `random` in a fixed
    /// order (layer by layer, row-major), so a seed fixes the network.
    public init(layerSizes: [Int], random: inout RandomSource) {
        precondition(layerSizes.count >= 2 && layerSizes.allSatisfy { $0 > 0 }, "invalid layer sizes \(layerSizes)")
        self.layerSizes = layerSizes
        var weights = [Matrix<Scalar>]()
        var biases = [[Scalar]]()
        let count = layerSizes.count - 1
        for l in 0..<count {
            let fanIn = layerSizes[l], fanOut = layerSizes[l + 1]
            let isOutput = l == count - 1
            let standardDeviation = isOutput ? (2.0 / Double(fanIn + fanOut)).squareRoot()
                                             : (2.0 / Double(fanIn)).squareRoot()
            weights.append(Matrix(rows: fanIn, columns: fanOut) { _, _ in
                Scalar(random.normal() * standardDeviation)
            })
            biases.append([Scalar](repeating: 0, count: fanOut))
        }
        self.weights = weights
        self.biases = biases
    }

    /// A network with the given parameters (shapes must chain).
    public init(weights: [Matrix<Scalar>], biases: [[Scalar]]) {
        precondition(!weights.isEmpty && weights.count == biases.count, "one bias vector per weight matrix")
        for l in weights.indices {
            precondition(biases[l].count == weights[l].columns, "bias \(l) has the wrong length")
            if l > 0 { precondition(weights[l].rows == weights[l - 1].columns, "layer \(l) does not chain") }
        }
        self.layerSizes = [weights[0].rows] + weights.map(\.columns)
        self.weights = weights
        self.biases = biases
    }

    enum CodingKeys: String, CodingKey { case layerSizes, weights, biases }

    /// Decodes and checks that the layers chain (what `init(weights:biases:)` requires), so a
    /// malformed model file is a decoding error rather than a trap at the first forward pass.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let layerSizes = try c.decode([Int].self, forKey: .layerSizes)
        let weights = try c.decode([Matrix<Scalar>].self, forKey: .weights)
        let biases = try c.decode([[Scalar]].self, forKey: .biases)
        let chains = !weights.isEmpty && weights.count == biases.count
            && weights.indices.allSatisfy { l in
                biases[l].count == weights[l].columns && (l == 0 || weights[l].rows == weights[l - 1].columns)
            }
        guard chains, layerSizes == [weights[0].rows] + weights.map(\.columns), layerSizes.allSatisfy({ $0 > 0 }) else {
            throw DecodingError.dataCorruptedError(forKey: .weights, in: c,
                debugDescription: "network layers do not chain (layer sizes \(layerSizes))")
        }
        self.init(weights: weights, biases: biases)
    }

    /// Fills `workspace.activations[1...]` from `workspace.activations[0]` (the input batch).
    ///
    /// - Complexity: 2·B·Σ n_l·n_{l+1} flops in GEMM plus O(B·Σ n_l) for bias and ReLU.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public func forward(_ workspace: inout NetworkWorkspace<Scalar>) {
        precondition(workspace.activations.count == layerSizes.count, "workspace built for another network")
        for l in 0..<layerCount {
            let input = workspace.activations[l]
            Matrix.gemm(input, weights[l], into: &workspace.activations[l + 1])
            addBias(biases[l], to: &workspace.activations[l + 1], relu: l < layerCount - 1)
        }
    }

    /// The output for one row `x` (width `layerSizes[0]`) into `output` (width of the last
    /// layer), computed on its own: each unit's sum runs over its inputs in order, whatever other
    /// rows are scored alongside. (A batched GEMM gives a row last-bit differences that depend on
    /// the batch's size and the row's place in it: the online engine scores rows in batches whose
    /// sizes depend on timing, and needs a row's score to depend on the row alone.) `scratch`
    /// holds the hidden layers: at least twice the widest layer.
    public func forwardRow(_ x: UnsafeBufferPointer<Scalar>, into output: UnsafeMutableBufferPointer<Scalar>,
                           scratch: UnsafeMutableBufferPointer<Scalar>) {
        let widest = layerSizes.max() ?? 0
        precondition(x.count == layerSizes[0] && output.count == layerSizes[layerCount] && scratch.count >= 2 * widest,
                     "forwardRow buffers do not fit the network")
        var input = x
        var toFirst = true
        for l in 0..<layerCount {
            let inputs = layerSizes[l], outputs = layerSizes[l + 1]
            let target = l == layerCount - 1 ? output
                : UnsafeMutableBufferPointer(rebasing: scratch[(toFirst ? 0 : widest)..<((toFirst ? 0 : widest) + outputs)])
            biases[l].withUnsafeBufferPointer { bias in
                weights[l].storage.withUnsafeBufferPointer { w in
                    for j in 0..<outputs { target[j] = 0 }
                    // In input order, each a vector operation over the outputs (W is inputs × outputs).
                    for i in 0..<inputs {
                        let xi = input[i]
                        let row = w.baseAddress! + i * outputs
                        for j in 0..<outputs { target[j] += xi * row[j] }
                    }
                    if l < layerCount - 1 {
                        for j in 0..<outputs { target[j] = max(0, target[j] + bias[j]) }
                    } else {
                        for j in 0..<outputs { target[j] += bias[j] }
                    }
                }
            }
            input = UnsafeBufferPointer(target)
            toFirst.toggle()
        }
    }

    /// Mean squared error ℓ = 1/(B·n_L) Σ (a_L − target)² of the batch in
    /// `workspace.activations[0]` against `target` (same rows), plus the L2 penalty
    /// (λ/2)·Σ‖W_l‖² when `weightDecay` = λ > 0; writes ∂ℓ/∂θ into `gradients`.
    ///
    /// Biases are not decayed (the usual convention: penalising offsets only biases the fit).
    /// Returns the loss without the penalty (the reconstruction error the user reads).
    @discardableResult
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public func meanSquaredErrorGradients(target: Matrix<Scalar>, weightDecay: Scalar,
                                          workspace: inout NetworkWorkspace<Scalar>,
                                          gradients: inout NetworkGradients<Scalar>) -> Double {
        forward(&workspace)
        let L = layerCount
        let batch = workspace.activations[0].rows
        precondition(target.rows == batch && target.columns == outputWidth, "target shape differs from the output")

        // δ_L = ∂ℓ/∂a_L = 2(a_L − target)/(B·n_L); loss accumulated in Double for accuracy.
        let outputCount = batch * outputWidth
        let scale = Scalar(2) / Scalar(max(1, outputCount))
        var loss = 0.0
        workspace.activations[L].storage.withUnsafeBufferPointer { output in
            target.storage.withUnsafeBufferPointer { wanted in
                workspace.deltas[L - 1].storage.withUnsafeMutableBufferPointer { delta in
                    var sum = Scalar(0)
                    var partial = 0.0
                    for i in 0..<outputCount {
                        let difference = output[i] - wanted[i]
                        delta[i] = scale * difference
                        sum += difference * difference
                        // Flush the Scalar partial sum every 4096 terms so float32 keeps precision.
                        if i & 4095 == 4095 { partial += Double(sum); sum = 0 }
                    }
                    loss = (partial + Double(sum)) / Double(max(1, outputCount))
                }
            }
        }

        for l in stride(from: L - 1, through: 0, by: -1) {
            let delta = workspace.deltas[l]
            Matrix.gemm(workspace.activations[l], transposeA: true, delta, into: &gradients.weights[l])
            columnSums(delta, into: &gradients.biases[l])
            if weightDecay > 0 { gradients.weights[l].add(weights[l], scaledBy: weightDecay) }
            if l > 0 {
                Matrix.gemm(delta, weights[l], transposeB: true, into: &workspace.deltas[l - 1])
                maskByActive(&workspace.deltas[l - 1], activations: workspace.activations[l])
            }
        }
        return loss
    }

    /// (λ/2)·Σ‖W_l‖², the penalty whose gradient `meanSquaredErrorGradients` adds.
    public func weightPenalty(_ weightDecay: Double) -> Double {
        weightDecay / 2 * weights.reduce(0.0) { sum, w in
            sum + w.storage.reduce(0.0) { $0 + Double($1) * Double($1) }
        }
    }

    // MARK: Element-wise kernels (vectorisable loops over contiguous rows)

    /// z ← z + 1·bᵀ, then max(0, z) when `relu`.
    private func addBias(_ bias: [Scalar], to matrix: inout Matrix<Scalar>, relu: Bool) {
        let rows = matrix.rows, columns = matrix.columns
        bias.withUnsafeBufferPointer { b in
            matrix.storage.withUnsafeMutableBufferPointer { z in
                for i in 0..<rows {
                    let row = z.baseAddress! + i * columns
                    if relu {
                        for j in 0..<columns { row[j] = max(0, row[j] + b[j]) }
                    } else {
                        for j in 0..<columns { row[j] += b[j] }
                    }
                }
            }
        }
    }

    /// δ ← δ ⊙ 1[a > 0] (ReLU derivative, taken as 0 at the kink like PyTorch).
    ///
    /// A select on every element, not a store under `if`: about half the units of a layer are
    /// off, in no pattern, so the branch the conditional store compiled to mispredicted half the
    /// time; this loop was a fifth of a training epoch (perf, 100 k × 16, ensemble of 5).
    private func maskByActive(_ delta: inout Matrix<Scalar>, activations: Matrix<Scalar>) {
        let count = delta.count
        activations.storage.withUnsafeBufferPointer { a in
            delta.storage.withUnsafeMutableBufferPointer { d in
                var i = 0
                if Scalar.self == Float.self {
                    // Eight lanes at a time: the compiler kept the plain loop scalar and branchy.
                    let ap = UnsafeRawPointer(a.baseAddress!), dp = UnsafeMutableRawPointer(d.baseAddress!)
                    while i &+ 8 <= count {
                        let offset = i &* 4
                        let on = ap.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) .> 0
                        let kept = dp.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self).replacing(with: 0, where: .!on)
                        dp.storeBytes(of: kept, toByteOffset: offset, as: SIMD8<Float>.self)
                        i &+= 8
                    }
                }
                while i < count {
                    d[i] = a[i] > 0 ? d[i] : 0
                    i += 1
                }
            }
        }
    }

    /// out ← 1ᵀ·M (sum of the rows).
    private func columnSums(_ matrix: Matrix<Scalar>, into out: inout [Scalar]) {
        let rows = matrix.rows, columns = matrix.columns
        matrix.storage.withUnsafeBufferPointer { m in
            out.withUnsafeMutableBufferPointer { o in
                for j in 0..<columns { o[j] = 0 }
                for i in 0..<rows {
                    let row = m.baseAddress! + i * columns
                    for j in 0..<columns { o[j] += row[j] }
                }
            }
        }
    }
}

/// Preallocated per-batch buffers for one batch size, reused across batches and epochs.
public struct NetworkWorkspace<Scalar: BLASScalar>: Sendable {
    /// a₀ (the input batch, filled by the caller) … a_L.
    public var activations: [Matrix<Scalar>]
    /// δ_{l+1} = ∂ℓ/∂z_{l+1}, one per layer.
    var deltas: [Matrix<Scalar>]

    public var batchSize: Int { activations[0].rows }

    public init(layerSizes: [Int], batchSize: Int) {
        activations = layerSizes.map { Matrix(rows: batchSize, columns: $0) }
        deltas = layerSizes.dropFirst().map { Matrix(rows: batchSize, columns: $0) }
    }
}

/// ∂ℓ/∂θ with the shapes of a network's parameters.
public struct NetworkGradients<Scalar: BLASScalar>: Sendable {
    public var weights: [Matrix<Scalar>]
    public var biases: [[Scalar]]

    public init(like network: DenseNetwork<Scalar>) {
        weights = network.weights.map { Matrix(rows: $0.rows, columns: $0.columns) }
        biases = network.biases.map { [Scalar](repeating: 0, count: $0.count) }
    }
}
