import Foundation

/// Multivariate detector features of one service's metric row: every metric as a robust z-score
/// against the service's own baseline, (x − median) / scale, with scale the MAD × 1.4826 of
/// `ServiceBaseline` — the modified z-score M = 0.6745 (x − median) / MAD of Iglewicz & Hoaglin,
/// "How to Detect and Handle Outliers" (1993), §3.2 (0.6745 = 1 / 1.4826).
///
/// Expressing each service in units of its own normal spread puts every service on one scale, so
/// one isolation forest and one autoencoder serve all services of a bundle, and a service added
/// later only needs its baseline. The same function serves training (`matrix`) and the online
/// engine (`row`, one metrics row at a time), so training and scoring never drift apart.
///
/// The z-score is then log-compressed, f(z) = sign(z) · ln(1 + |z|): an outage moves a metric by
/// hundreds of σ while normal load swings it by a few, and on the raw scale the first would
/// swamp the autoencoder's squared error and squeeze every normal row into one corner of the
/// isolation forest's split range. The compression is monotone, so order within a metric is kept
/// (z = 1 → 0.69, 3 → 1.39, 50 → 3.93, 1000 → 6.91).
///
/// Guards, each for a reason:
/// - a metric that never varied in training (replicas, a MAD of 0) would turn any change into
///   an infinite score, so the scale is at least `relativeScaleFloor` × |median| and at least
///   `absoluteScaleFloor`;
/// - |z| is capped at `clip` before compression, so an absurd value (a unit error, 1e30) stays
///   a finite, bounded input;
/// - a missing metric (NaN) or one the baseline never saw maps to 0 (its baseline): a gap in
///   collection is not itself evidence of a fault, and the detectors need complete rows.
public struct ServiceFeatureExtractor: Codable, Sendable, Equatable {
    public var clip = 1e6
    public var relativeScaleFloor = 0.05
    public var absoluteScaleFloor = 1e-6

    public init() {}

    /// Feature names in column order: the metric name with a `_z` suffix (log-compressed z).
    public static var featureNames: [String] { ServiceMetric.names.map { $0 + "_z" } }
    public static var featureCount: Int { ServiceMetric.allCases.count }

    /// Checks settings read from a bundle (it could have been edited by hand).
    public func validate() throws(EstimatorError) {
        guard clip > 0, clip.isFinite else {
            throw .invalidParameter(name: "clip", value: "\(clip)", expected: "a finite number > 0")
        }
        guard relativeScaleFloor >= 0, relativeScaleFloor.isFinite else {
            throw .invalidParameter(name: "relative_scale_floor", value: "\(relativeScaleFloor)", expected: "a finite number ≥ 0")
        }
        guard absoluteScaleFloor > 0, absoluteScaleFloor.isFinite else {
            throw .invalidParameter(name: "absolute_scale_floor", value: "\(absoluteScaleFloor)", expected: "a finite number > 0")
        }
    }

    /// The divisor used for each metric of `baseline` (NaN when the baseline has no median).
    public func scales(_ baseline: ServiceBaseline) -> [Double] {
        zip(baseline.median, baseline.scale).map { median, scale in
            guard median.isFinite else { return .nan }
            let s = scale.isFinite ? scale : 0
            return max(s, relativeScaleFloor * abs(median), absoluteScaleFloor)
        }
    }

    /// Features of one row: `values` in `ServiceMetric` order (NaN = missing).
    public func row(_ values: [Double], baseline: ServiceBaseline) -> [Float] {
        precondition(values.count == ServiceFeatureExtractor.featureCount, "a metrics row has one value per ServiceMetric")
        return Self.row(values, median: baseline.median, scales: scales(baseline), clip: clip)
    }

    /// Features of every row of `series` (rows × `featureCount`), row-major in time order.
    /// `keep`, when given, selects the rows to include (same length as the series).
    public func matrix(_ series: ServiceSeries, baseline: ServiceBaseline, keep: [Bool]? = nil) -> Matrix<Float> {
        precondition(keep == nil || keep!.count == series.count, "keep needs one flag per row")
        let scales = scales(baseline)
        let width = ServiceFeatureExtractor.featureCount
        var storage = [Float]()
        storage.reserveCapacity(series.count * width)
        var values = [Double](repeating: 0, count: width)
        var rows = 0
        for i in 0..<series.count where keep?[i] ?? true {
            for m in 0..<width { values[m] = series.values[m][i] }
            storage += Self.row(values, median: baseline.median, scales: scales, clip: clip)
            rows += 1
        }
        return Matrix(rows: rows, columns: width, storage: storage)
    }

    /// Appends the features of one row (`values` in `ServiceMetric` order) to `storage`, with the
    /// baseline's medians and `scales(_:)` worked out once by the caller: the same values as
    /// `row(_:baseline:)`, without a divisor array and a result array per row (1.4 k of the 2 k
    /// instructions a row of `row(_:baseline:)` in `triage watch`).
    public func appendRow(_ values: [Double], median: [Double], scales: [Double], to storage: inout [Float]) {
        precondition(values.count == ServiceFeatureExtractor.featureCount, "a metrics row has one value per ServiceMetric")
        precondition(median.count >= values.count && scales.count >= values.count, "a baseline covers every metric")
        for m in 0..<values.count {
            let z = (values[m] - median[m]) / scales[m]
            guard !z.isNaN else { storage.append(0); continue }
            let capped = min(abs(z), clip)
            storage.append(Float(z < 0 ? -log1p(capped) : log1p(capped)))
        }
    }

    private static func row(_ values: [Double], median: [Double], scales: [Double], clip: Double) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        for m in 0..<values.count {
            let z = (values[m] - median[m]) / scales[m]
            // NaN (missing value or unknown baseline) stays at the baseline, 0.
            guard !z.isNaN else { continue }
            let capped = min(abs(z), clip)
            out[m] = Float(z < 0 ? -log1p(capped) : log1p(capped))
        }
        return out
    }
}
