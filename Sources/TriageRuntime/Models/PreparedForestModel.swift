import TriageCore
import TriageData

extension ModelRegistry {
    /// `model` made ready for many small `score` calls (`triage serve`: one row per request):
    /// an isolation forest gets its scoring and explanation tables built once here instead of
    /// on every call (see `PreparedExplainingIsolationForest`); other kinds come back as they
    /// are. Scores, errors and output are those of `model`.
    public static func preparedForRepeatedScoring(_ model: any LoadedModel) -> any LoadedModel {
        if let forest = model as? DetectorModel<IsolationForest> { return PreparedForestModel(base: forest) }
        return model
    }
}

/// An isolation-forest model file whose tables are built once (`ModelRegistry.preparedForRepeatedScoring`).
struct PreparedForestModel: LoadedModel {
    let base: DetectorModel<IsolationForest>
    let prepared: PreparedExplainingIsolationForest

    init(base: DetectorModel<IsolationForest>) {
        self.base = base
        prepared = PreparedExplainingIsolationForest(base.saved.model)
    }

    var kind: String { base.kind }
    var features: [String] { base.features }

    /// The columns of `DetectorModel.score` (score, anomaly, top_feature), from the prepared
    /// tables; `PreparedForestModelTests` checks the bytes match the unprepared model's.
    func score(_ table: CSVTable<Float>, settings: ScoreSettings) throws -> OutputTable {
        let data = try base.featureMatrix(table, settings: settings)
        let threshold = base.saved.model.threshold
        let scores: [Double], top: [Int]?
        if settings.explain {
            (scores, top) = try prepared.scoresAndTopFeatures(data, threads: settings.threads)
        } else {
            (scores, top) = (try prepared.scores(data, threads: settings.threads), nil)
        }
        var output = OutputTable()
        output.add("score", .real(scores))
        output.add("anomaly", .integer(scores.map { $0 >= threshold ? 1 : 0 }))
        if let top { output.add("top_feature", .labels(top, names: base.saved.features)) }
        return output
    }

    func evaluate(_ table: CSVTable<Float>, target: String, settings: ScoreSettings) throws -> Report {
        try base.evaluate(table, target: target, settings: settings)
    }

    func inspection() -> Report { base.inspection() }
}
