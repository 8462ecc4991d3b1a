/// The contracts every learner in Triage honours (after scikit-learn's estimator API).
///
/// - Hyperparameters are a `Codable` value with the paper's defaults.
/// - Fitting is a static function returning an immutable fitted model: there is no
///   half-fitted state to check.
/// - The same data, hyperparameters and seed give an identical model whatever `threads` is.
/// - Fitted models are `Codable`; save → load gives identical outputs.

/// An unsupervised detector: a raw anomaly score per row, **higher = more anomalous**, and a
/// threshold at or above which a row is flagged.
public protocol AnomalyDetector: Codable, Sendable {
    /// Number of feature columns the model was fitted on.
    var featureCount: Int { get }
    /// Rows scoring at or above this are anomalies.
    var threshold: Double { get }
    /// Raw anomaly scores, one per row of `data`.
    ///
    /// - Throws: `shapeMismatch` unless `data.columns == featureCount` (a request never traps).
    func scores(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> [Double]
}

extension AnomalyDetector {
    /// 1 for rows whose score reaches the threshold.
    public func predict(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> [Bool] {
        let t = threshold
        return try scores(data, threads: threads).map { $0 >= t }
    }
}

/// A detector that can say which feature drove each row's score.
public protocol ExplainingDetector: AnomalyDetector {
    /// Index of the feature contributing most to each row's anomaly score.
    func topFeatures(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> [Int]
    /// Scores and top features together; detectors that get both from one pass override it.
    func scoresAndTopFeatures(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> (scores: [Double], topFeatures: [Int])
}

extension ExplainingDetector {
    public func scoresAndTopFeatures(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> (scores: [Double], topFeatures: [Int]) {
        (try scores(data, threads: threads), try topFeatures(data, threads: threads))
    }
}

/// A probabilistic classifier over `classCount` classes numbered 0..<classCount.
public protocol Classifier: Codable, Sendable {
    var featureCount: Int { get }
    var classCount: Int { get }
    /// Rows × classes matrix of class probabilities (each row sums to 1).
    ///
    /// - Throws: `shapeMismatch` unless `data.columns == featureCount`.
    func probabilities(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> Matrix<Float>
}

extension Classifier {
    /// The most probable class of each row (lowest index on ties).
    public func predict(_ data: Matrix<Float>, threads: Int) throws(EstimatorError) -> [Int] {
        try probabilities(data, threads: threads).argmaxPerRow()
    }
}

/// A detector that learns one observation at a time (River's `learn_one`/`score_one`).
/// Scores use only what was learned before; higher = more anomalous.
public protocol StreamingDetector: Sendable {
    /// - Throws: `shapeMismatch` when `x` does not have the detector's width.
    mutating func scoreOne(_ x: [Double]) throws(EstimatorError) -> Double
    mutating func learnOne(_ x: [Double]) throws(EstimatorError)
}

/// Why a fit or a prediction was refused. Indices are 0-based row/column positions in the
/// matrix given; the data layer maps them back to file lines and column names.
public enum EstimatorError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidParameter(name: String, value: String, expected: String)
    case emptyData
    case tooFewRows(needed: Int, got: Int)
    case shapeMismatch(expectedColumns: Int, gotColumns: Int)
    /// Two inputs that must pair up element by element differ in length (scores and labels, …).
    case lengthMismatch(what: String, expected: Int, got: Int)
    case nonFinite(row: Int, column: Int)
    case allMissingColumn(column: Int)
    case diverged(epoch: Int)
    case invalidTarget(String)

    public var description: String {
        switch self {
        case .invalidParameter(let name, let value, let expected):
            return "invalid \(name) \(value): expected \(expected)"
        case .emptyData: return "no rows to fit on"
        case .tooFewRows(let needed, let got): return "needs at least \(needed) rows, got \(got)"
        case .shapeMismatch(let expected, let got): return "data has \(got) feature columns, the model expects \(expected)"
        case .lengthMismatch(let what, let expected, let got): return "\(what) has \(got) values, expected \(expected)"
        case .nonFinite(let row, let column): return "non-finite value at row \(row + 1), feature \(column + 1)"
        case .allMissingColumn(let column): return "feature \(column + 1) has no values (all missing)"
        case .diverged(let epoch): return "training diverged (loss became NaN or infinite) at epoch \(epoch)"
        case .invalidTarget(let reason): return reason
        }
    }
}

/// Throws `shapeMismatch` unless `data` has `expected` columns: the check at every public
/// scoring and prediction entry point, so a request with the wrong width is an error, never a
/// trap or an out-of-bounds read in a kernel.
@inlinable
public func checkColumns<S: BLASScalar>(_ data: Matrix<S>, expected: Int) throws(EstimatorError) {
    if data.columns != expected { throw .shapeMismatch(expectedColumns: expected, gotColumns: data.columns) }
}

/// Positions of the first NaN/±inf in `data`, or nil. Inlinable so callers in other modules get
/// a specialised loop (unspecialised it cost ~10 % of `triage score`).
@inlinable
public func firstNonFinite<S: BLASScalar>(_ data: Matrix<S>) -> (row: Int, column: Int)? {
    let index: Int? = data.storage.withUnsafeBufferPointer { buffer in
        for i in buffer.indices where !buffer[i].isFinite { return i }
        return nil
    }
    guard let index else { return nil }
    return (index / max(1, data.columns), index % max(1, data.columns))
}

/// What `triage inspect` shows about a fitted model, in one shape for every kind.
public struct ModelSummary: Codable, Sendable, Equatable {
    /// Hyperparameters as given (and as resolved, e.g. an effective sample size).
    public var parameters: [String: String]
    /// Scalar facts about the fitted model (node counts, depth, threshold, …).
    public var values: [String: Double]
    /// Per-feature importance, in feature order, when the model has a notion of it.
    public var importances: [Double]?
    /// Human-readable rules (decision trees), one line each.
    public var rules: [String]?

    public init(parameters: [String: String], values: [String: Double] = [:], importances: [Double]? = nil,
                rules: [String]? = nil) {
        self.parameters = parameters
        self.values = values
        self.importances = importances
        self.rules = rules
    }
}

/// A fitted model that can describe itself for `inspect`. Feature names are supplied by the
/// caller because the numeric core knows only column indices.
public protocol SummarizableModel {
    func summary(featureNames: [String]) -> ModelSummary
}
