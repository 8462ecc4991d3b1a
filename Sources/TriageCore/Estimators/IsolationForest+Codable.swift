/// A forest read from a file is checked before it is used: the heap layout's sizes follow from
/// `height`, so a file stating a height (or a feature count) that the stored arrays do not
/// have would otherwise divide by zero, index out of bounds or allocate 2^height slots. Every
/// size is checked against the arrays present; nothing is allocated from a stated size.
extension IsolationForest {
    enum CodingKeys: String, CodingKey {
        case parameters, seed, featureCount, sampleSize, height, threshold
        case splitFeatures, splitThresholds, leafPathLengths, slotRows, splitMass
    }

    /// ψ up to 2^30 rows per tree: far above any sub-sample (the paper's ψ is 256).
    static let maximumHeight = 30

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func corrupted(_ key: CodingKeys, _ what: String) -> DecodingError {
            DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: what)
        }
        let parameters = try c.decode(Parameters.self, forKey: .parameters)
        let featureCount = try c.decode(Int.self, forKey: .featureCount)
        let sampleSize = try c.decode(Int.self, forKey: .sampleSize)
        let height = try c.decode(Int.self, forKey: .height)
        let splitFeatures = try c.decode([Int32].self, forKey: .splitFeatures)
        let splitThresholds = try c.decode([Float].self, forKey: .splitThresholds)
        let leafPathLengths = try c.decode([Float].self, forKey: .leafPathLengths)
        let slotRows = try c.decode([Int32].self, forKey: .slotRows)
        let splitMass = try c.decode([Double].self, forKey: .splitMass)
        guard (1...Self.maximumHeight).contains(height) else {
            throw corrupted(.height, "height \(height) is outside 1...\(Self.maximumHeight)")
        }
        guard sampleSize >= 2, sampleSize <= 1 << height, sampleSize > 1 << (height - 1) else {
            throw corrupted(.sampleSize, "sample size \(sampleSize) does not match height \(height)")
        }
        guard featureCount >= 1, splitMass.count == featureCount else {
            throw corrupted(.featureCount, "feature count \(featureCount) does not match \(splitMass.count) split masses")
        }
        let leafSlots = 1 << height, internalSlots = (1 << height) - 1
        let trees = leafPathLengths.count / leafSlots
        guard trees >= 1, leafPathLengths.count == trees * leafSlots, splitFeatures.count == trees * internalSlots,
              splitThresholds.count == trees * internalSlots, slotRows.count == trees * (2 * leafSlots - 1) else {
            throw corrupted(.leafPathLengths, "tree arrays do not hold whole trees of height \(height)")
        }
        guard parameters.treeCount == trees else {
            throw corrupted(.parameters, "parameters state \(parameters.treeCount) trees, the file holds \(trees)")
        }
        do { try parameters.validate() } catch { throw corrupted(.parameters, "\(error)") }
        guard splitFeatures.allSatisfy({ $0 >= 0 && Int($0) < featureCount }) else {
            throw corrupted(.splitFeatures, "a split names a feature outside 0..<\(featureCount)")
        }
        self.init(parameters: parameters, seed: try c.decode(UInt64.self, forKey: .seed), featureCount: featureCount,
                  sampleSize: sampleSize, height: height, threshold: try c.decode(Double.self, forKey: .threshold),
                  splitFeatures: splitFeatures, splitThresholds: splitThresholds, leafPathLengths: leafPathLengths,
                  slotRows: slotRows, splitMass: splitMass)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(parameters, forKey: .parameters)
        try c.encode(seed, forKey: .seed)
        try c.encode(featureCount, forKey: .featureCount)
        try c.encode(sampleSize, forKey: .sampleSize)
        try c.encode(height, forKey: .height)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(splitFeatures, forKey: .splitFeatures)
        try c.encode(splitThresholds, forKey: .splitThresholds)
        try c.encode(leafPathLengths, forKey: .leafPathLengths)
        try c.encode(slotRows, forKey: .slotRows)
        try c.encode(splitMass, forKey: .splitMass)
    }
}
