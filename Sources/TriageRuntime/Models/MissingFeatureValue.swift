import TriageData

/// A detector's feature value is missing and `ScoreSettings.imputeMedian` does not ask to fill
/// it. `location` names the file, line and column; a front door adds how its user asks for
/// imputation (the command line: `--impute median`).
public struct MissingFeatureValue: Error, CustomStringConvertible {
    public let location: DataError

    public var description: String {
        location.description + " (imputation 'median' fills missing values with the training medians)"
    }
}
