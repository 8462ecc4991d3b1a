import TriageCore

/// A bundle's detectors ready to score raw metric rows: the feature settings, the per-service
/// baselines and whichever of the isolation forest and autoencoder the bundle holds. This is
/// what an online engine (`watch --model`, `serve`) loads once and calls per row, so its
/// features are computed exactly as `triage train` computed them.
public struct BundleDetectors: Sendable {
    public let extractor: ServiceFeatureExtractor
    public let baselines: [String: ServiceBaseline]
    public let isolationForest: IsolationForest?
    public let autoencoder: Autoencoder?
    /// The forest with its scoring tables built once: rows come one at a time.
    let preparedForest: PreparedIsolationForest?
    /// Each service's medians and feature divisors (`ServiceFeatureExtractor.scales`), worked
    /// out once instead of once a row.
    let featureScales: [String: (median: [Double], scales: [Double])]

    /// The scores of one metrics row.
    public struct RowScore: Sendable, Equatable {
        public var features: [Float]
        /// Isolation forest score s(x, ψ) and whether it reaches the bundle's threshold (nil without the model).
        public var isolationForest: (score: Double, anomaly: Bool)?
        /// Autoencoder reconstruction error and whether it reaches the threshold (nil without the model).
        public var autoencoder: (score: Double, anomaly: Bool)?

        public init(features: [Float], isolationForest: (score: Double, anomaly: Bool)? = nil,
                    autoencoder: (score: Double, anomaly: Bool)? = nil) {
            self.features = features
            self.isolationForest = isolationForest
            self.autoencoder = autoencoder
        }

        public static func == (a: RowScore, b: RowScore) -> Bool {
            a.features == b.features && a.isolationForest?.score == b.isolationForest?.score
                && a.isolationForest?.anomaly == b.isolationForest?.anomaly
                && a.autoencoder?.score == b.autoencoder?.score && a.autoencoder?.anomaly == b.autoencoder?.anomaly
        }
    }

    /// Loads from an opened bundle; nil when the bundle has no detector features (trained before
    /// detectors existed).
    public init?(_ bundle: ModelBundle) throws(DataError) {
        guard let extractor = try bundle.json(ServiceFeatureExtractor.self, role: "features"),
              let set = try bundle.json(BaselineSet.self, role: "baselines") else { return nil }
        do { try extractor.validate() } catch {
            throw DataError(.invalidModel("detector feature settings: \(error)"), file: bundle.file(role: "features")!)
        }
        let names = ServiceFeatureExtractor.featureNames
        let forest = try bundle.model(SavedModel<IsolationForest>.self, role: "iforest", kind: "iforest")
        let autoencoder = try bundle.model(SavedModel<Autoencoder>.self, role: "autoencoder", kind: "autoencoder")
        for (role, features) in [("iforest", forest?.features), ("autoencoder", autoencoder?.features)] {
            if let features, features != names {
                throw DataError(.invalidModel("\(role) model features (\(features.joined(separator: ", "))) are not the bundle's detector features (\(names.joined(separator: ", ")))"),
                                file: bundle.file(role: role)!)
            }
        }
        var baselines = [String: ServiceBaseline]()
        for b in set.services { baselines[b.service] = b }
        self.extractor = extractor
        self.baselines = baselines
        featureScales = baselines.mapValues { (median: $0.median, scales: extractor.scales($0)) }
        self.isolationForest = forest?.model
        self.preparedForest = forest.map { PreparedIsolationForest($0.model) }
        self.autoencoder = autoencoder?.model
    }

    /// Scores one row of `service` (`values` in `ServiceMetric` order, NaN = missing); nil when
    /// the bundle has no baseline for the service.
    ///
    /// - Throws: `shapeMismatch` when a detector was fitted on another number of features.
    public func score(service: String, values: [Double]) throws(EstimatorError) -> RowScore? {
        guard let baseline = baselines[service] else { return nil }
        let features = extractor.row(values, baseline: baseline)
        let row = Matrix(rows: 1, columns: features.count, storage: features)
        var result = RowScore(features: features)
        if let isolationForest, let preparedForest {
            let s = try preparedForest.scores(row, threads: 1)[0]
            result.isolationForest = (s, s >= isolationForest.threshold)
        }
        if let autoencoder {
            let s = try autoencoder.rowScores(row)[0]
            result.autoencoder = (s, s >= autoencoder.threshold)
        }
        return result
    }
}

extension BundleDetectors {
    /// Scores many rows at once: one walk of the forest and one pass of the autoencoder over
    /// all the rows of known services, instead of one call per row (a one-row call costs the
    /// forest's 12-row interleaved walk and a BLAS call per layer for a single row: about 120 k
    /// instructions a row, against about 15 k here). The forest's scores equal the one-row
    /// scores exactly (each row's path lengths are summed alone, in tree order), and so do the
    /// autoencoder's (`Autoencoder.rowScores`: each row's network outputs summed alone, not by
    /// a GEMM whose rounding depends on the batch).
    ///
    /// - Returns: one score per row, nil for a service without a baseline.
    public func scores(_ rows: [(service: String, values: [Double])]) throws(EstimatorError) -> [RowScore?] {
        var known: [Int] = []
        var storage: [Float] = []
        let width = ServiceFeatureExtractor.featureCount
        storage.reserveCapacity(rows.count * width)
        for (i, row) in rows.enumerated() {
            guard let baseline = featureScales[row.service] else { continue }
            known.append(i)
            extractor.appendRow(row.values, median: baseline.median, scales: baseline.scales, to: &storage)
        }
        var result = [RowScore?](repeating: nil, count: rows.count)
        guard !known.isEmpty else { return result }
        let matrix = Matrix(rows: known.count, columns: width, storage: storage)
        let forest = try preparedForest.map { prepared throws(EstimatorError) in try prepared.scores(matrix, threads: 1) }
        let errors = try autoencoder.map { model throws(EstimatorError) in try model.rowScores(matrix) }
        // The thresholds read once: binding the models per row copied them (retains of every array).
        let forestThreshold = isolationForest?.threshold ?? .infinity
        let autoencoderThreshold = autoencoder?.threshold ?? .infinity
        for (k, i) in known.enumerated() {
            var score = RowScore(features: Array(storage[(k * width)..<((k + 1) * width)]))
            if let forest { score.isolationForest = (forest[k], forest[k] >= forestThreshold) }
            if let errors { score.autoencoder = (errors[k], errors[k] >= autoencoderThreshold) }
            result[i] = score
        }
        return result
    }
}

extension BundleDetectors.RowScore {
    init(features: [Float]) {
        self.features = features
        isolationForest = nil
        autoencoder = nil
    }
}
