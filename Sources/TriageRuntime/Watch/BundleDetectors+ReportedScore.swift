import TriageData

extension BundleDetectors {
    /// The one number reported for a row (the `anomaly_score` of `watch --scores`, and what the
    /// server answers), in 0..1, higher = more anomalous: the isolation forest's s(x, ψ) when the
    /// bundle has the forest; otherwise the autoencoder's reconstruction error e mapped to
    /// e / (e + threshold), which is 0.5 exactly at the autoencoder's threshold, as s(x, ψ) is at
    /// the forest's default one; 0 when neither scored the row.
    public func reportedScore(_ score: RowScore) -> Double {
        score.isolationForest?.score
            ?? score.autoencoder.map { a in a.score / (a.score + (autoencoder?.threshold ?? 1)) } ?? 0
    }
}
