import Foundation
import TriageCore
import TriageData

/// A model file opened for `score`, `evaluate` and `inspect`, whatever its kind.
public protocol LoadedModel {
    var kind: String { get }
    var features: [String] { get }
    /// One output row per input row, in input order.
    func score(_ table: CSVTable<Float>, settings: ScoreSettings) throws -> OutputTable
    /// Metrics against the `target` column (a text column of `table`).
    func evaluate(_ table: CSVTable<Float>, target: String, settings: ScoreSettings) throws -> Report
    /// What `inspect` prints.
    func inspection() -> Report
}

/// How `LoadedModel.score` and `evaluate` run.
public struct ScoreSettings: Sendable {
    public var threads: Int
    /// Fill a detector's missing feature values with the training medians stored in the model;
    /// when false a missing value is a `MissingFeatureValue` error.
    public var imputeMedian: Bool
    /// Detectors that can explain add a `top_feature` column; false skips that work.
    public var explain = true

    public init(threads: Int, imputeMedian: Bool, explain: Bool = true) {
        self.threads = threads
        self.imputeMedian = imputeMedian
        self.explain = explain
    }
}

/// Kinds of model file and how to open each; one line per estimator.
public enum ModelRegistry {
    typealias Loader = @Sendable (String) throws -> any LoadedModel

    static let loaders: [String: Loader] = [
        ModelKind.isolationForest: { try DetectorModel<IsolationForest>(path: $0, kind: ModelKind.isolationForest) },
        ModelKind.decisionTree: { try ClassifierModel<DecisionTree>(path: $0, kind: ModelKind.decisionTree) },
        ModelKind.randomForest: { try ClassifierModel<RandomForest>(path: $0, kind: ModelKind.randomForest) },
        ModelKind.autoencoder: { try DetectorModel<Autoencoder>(path: $0, kind: ModelKind.autoencoder) },
    ]

    /// Opens the model file at `path` by the kind its header names.
    public static func load(_ path: String) throws -> any LoadedModel {
        let header = try ModelFile.readHeader(path)
        guard let loader = loaders[header.kind] else {
            throw DataError(.invalidModel("unknown model kind '\(header.kind)'"), file: path)
        }
        return try loader(path)
    }
}
