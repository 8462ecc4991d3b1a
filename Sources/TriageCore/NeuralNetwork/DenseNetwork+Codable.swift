/// A network read from a file is checked before use: layer sizes, weight shapes and bias
/// lengths must chain, or the forward pass would hand BLAS shapes its buffers do not have.
extension DenseNetwork {
    enum CodingKeys: String, CodingKey { case layerSizes, weights, biases }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let layerSizes = try c.decode([Int].self, forKey: .layerSizes)
        let weights = try c.decode([Matrix<Scalar>].self, forKey: .weights)
        let biases = try c.decode([[Scalar]].self, forKey: .biases)
        guard layerSizes.count >= 2, layerSizes.allSatisfy({ $0 > 0 }),
              weights.count == layerSizes.count - 1, biases.count == weights.count,
              weights.indices.allSatisfy({ l in
                  weights[l].rows == layerSizes[l] && weights[l].columns == layerSizes[l + 1]
                      && biases[l].count == layerSizes[l + 1]
              }) else {
            throw DecodingError.dataCorruptedError(forKey: .weights, in: c,
                debugDescription: "weights and biases do not match the layer sizes \(layerSizes)")
        }
        self.layerSizes = layerSizes
        self.weights = weights
        self.biases = biases
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(layerSizes, forKey: .layerSizes)
        try c.encode(weights, forKey: .weights)
        try c.encode(biases, forKey: .biases)
    }
}
