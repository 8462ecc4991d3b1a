/// An autoencoder read from a file is checked before use: at least one network, each mapping
/// the standardiser's feature count back to itself (`init` enforces the same with
/// preconditions, which a decoded value would bypass).
extension Autoencoder {
    enum CodingKeys: String, CodingKey { case parameters, standardizer, networks, threshold }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let standardizer = try c.decode(Standardizer<Float>.self, forKey: .standardizer)
        let networks = try c.decode([DenseNetwork<Float>].self, forKey: .networks)
        let width = standardizer.means.count
        guard width >= 1, standardizer.scales.count == width, !networks.isEmpty,
              networks.allSatisfy({ $0.inputWidth == width && $0.outputWidth == width }) else {
            throw DecodingError.dataCorruptedError(forKey: .networks, in: c,
                debugDescription: "networks and standardiser do not share one feature count")
        }
        self.init(parameters: try c.decode(Parameters.self, forKey: .parameters), standardizer: standardizer,
                  networks: networks, threshold: try c.decode(Double.self, forKey: .threshold))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(parameters, forKey: .parameters)
        try c.encode(standardizer, forKey: .standardizer)
        try c.encode(networks, forKey: .networks)
        try c.encode(threshold, forKey: .threshold)
    }
}
