import TriageCore

/// What a model file holds: the fitted estimator plus everything needed to apply it to a CSV
/// by column name (feature names, target and class labels, imputation medians) and what
/// `inspect` shows about its training.
///
/// Nothing time- or machine-dependent is stored, so the same seed and data give the same bytes.
public struct SavedModel<Model: Codable & Sendable>: Codable, Sendable {
    public var features: [String]
    /// Supervised models: the target column and class labels as written in the training CSV.
    public var target: String?
    public var classes: [String]?
    /// Training medians per feature, for `score --impute median`.
    public var medians: [Float]
    public var training: TrainingSummary
    public var model: Model

    public init(features: [String], target: String? = nil, classes: [String]? = nil, medians: [Float],
                training: TrainingSummary, model: Model) {
        self.features = features
        self.target = target
        self.classes = classes
        self.medians = medians
        self.training = training
        self.model = model
    }
}

/// Facts about a fit, shown by `triage inspect`.
public struct TrainingSummary: Codable, Sendable, Equatable {
    public var rows: Int
    /// Human-readable remarks (e.g. "sample size 256 > 100 rows: used all rows").
    public var notes: [String]
    /// Named scalar results (e.g. "out_of_bag_accuracy", "best_validation_loss").
    public var values: [String: Double]
    /// Named series (e.g. "training_loss" per epoch).
    public var series: [String: [Double]]

    public init(rows: Int, notes: [String] = [], values: [String: Double] = [:], series: [String: [Double]] = [:]) {
        self.rows = rows
        self.notes = notes
        self.values = values
        self.series = series
    }
}
