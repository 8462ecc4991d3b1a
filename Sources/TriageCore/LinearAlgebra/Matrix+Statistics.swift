/// Column statistics and standardisation. Accumulation is in Double whatever the scalar, so
/// float32 data with large offsets keeps its precision; NaNs are skipped.
extension Matrix {
    /// Mean of each column over its non-NaN values (NaN when a column has none).
    public func columnMeans() -> [Scalar] {
        columnMoments().map { Scalar($0.mean) }
    }

    /// Population standard deviation of each column over its non-NaN values (ddof = 0, as numpy).
    public func columnStandardDeviations() -> [Scalar] {
        columnMoments().map { Scalar($0.standardDeviation) }
    }

    /// Count, mean and standard deviation of every column (Welford/Chan merge, NaN skipped).
    public func columnMoments() -> [ColumnMoments] {
        var moments = [ColumnMoments](repeating: ColumnMoments(), count: columns)
        storage.withUnsafeBufferPointer { buffer in
            for i in 0..<rows {
                let base = i * columns
                for j in 0..<columns {
                    let value = buffer[base + j]
                    if !value.isNaN { moments[j].add(Double(value)) }
                }
            }
        }
        return moments
    }
}

/// Running count, mean and sum of squared deviations (Welford 1962).
public struct ColumnMoments: Sendable, Equatable, Codable {
    public private(set) var count = 0
    public private(set) var mean = 0.0
    private var squaredDeviations = 0.0

    public init() {}

    public mutating func add(_ x: Double) {
        count += 1
        let delta = x - mean
        mean += delta / Double(count)
        squaredDeviations += delta * (x - mean)
    }

    /// Population variance (NaN when empty).
    public var variance: Double { count > 0 ? squaredDeviations / Double(count) : .nan }
    public var standardDeviation: Double { variance.squareRoot() }
}

/// Per-column affine scaling x′ = (x − mean) / scale, fitted on training data and stored in models.
///
/// A zero-variance column gets scale 1 (as scikit-learn's `StandardScaler`), so constant
/// features map to 0 instead of NaN.
public struct Standardizer<Scalar: BLASScalar>: Sendable, Equatable, Codable {
    public let means: [Scalar]
    public let scales: [Scalar]

    public init(means: [Scalar], scales: [Scalar]) {
        precondition(means.count == scales.count, "means and scales differ in length")
        self.means = means
        self.scales = scales
    }

    /// Fits means and standard deviations column by column (NaNs skipped).
    public init(fitting data: Matrix<Scalar>) {
        let moments = data.columnMoments()
        means = moments.map { Scalar($0.count > 0 ? $0.mean : 0) }
        scales = moments.map { m in
            let sd = m.standardDeviation
            return sd.isFinite && sd > 1e-12 * max(1, abs(m.mean)) ? Scalar(sd) : 1
        }
    }

    /// Standardised copy of `data` (same column order as at fit time).
    ///
    /// - Throws: `shapeMismatch` when `data` does not have one column per fitted mean.
    public func transform(_ data: Matrix<Scalar>) throws(EstimatorError) -> Matrix<Scalar> {
        try checkColumns(data, expected: means.count)
        var result = data
        let columns = data.columns
        let inverse = scales.map { 1 / $0 }
        result.storage.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<data.rows {
                let base = i * columns
                for j in 0..<columns { buffer[base + j] = (buffer[base + j] - means[j]) * inverse[j] }
            }
        }
        return result
    }

    enum CodingKeys: String, CodingKey { case means, scales }

    /// Decodes and checks one scale per mean, every scale finite and non-zero (a model file
    /// that broke this would index past `scales` or divide by zero when scoring).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let means = try c.decode([Scalar].self, forKey: .means), scales = try c.decode([Scalar].self, forKey: .scales)
        guard means.count == scales.count, scales.allSatisfy({ $0.isFinite && $0 != 0 }) else {
            throw DecodingError.dataCorruptedError(forKey: .scales, in: c,
                debugDescription: "standardiser has \(means.count) means and \(scales.count) scales (finite, non-zero)")
        }
        self.init(means: means, scales: scales)
    }

    /// Maps standardised values back to the original units.
    public func inverseTransform(_ data: Matrix<Scalar>) throws(EstimatorError) -> Matrix<Scalar> {
        try checkColumns(data, expected: means.count)
        var result = data
        let columns = data.columns
        result.storage.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<data.rows {
                let base = i * columns
                for j in 0..<columns { buffer[base + j] = buffer[base + j] * scales[j] + means[j] }
            }
        }
        return result
    }
}
