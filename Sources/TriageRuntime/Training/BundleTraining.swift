import TriageCore
import TriageData

/// The steps of `triage train`: a bundle (baselines, detectors, action classifier, remediation
/// policy, symptom table) as a function of (metrics, incident log, seed, rule), independent of
/// how the inputs arrived — the CLI reads them from files, a service may hold them in memory.
/// Bundles trained on any thread count are byte-identical.
public enum BundleTraining {
    public static func train(history: MetricsHistory, records: [IncidentRecord], seed: UInt64,
                             rule: QLearning.Parameters.Rule = .qLearning, threads: Int = 1) throws -> ModelBundle.Builder {
        var baselines = [String: ServiceBaseline]()
        for name in history.services { baselines[name] = ServiceBaseline(service: name, series: history.series[name]!) }
        let extractor = SymptomExtractor()
        var notes = [String]()
        var training: [String: Double] = ["metrics_rows": Double(history.rowCount), "services": Double(history.services.count),
                                          "incident_rows": Double(records.count)]
        var policy: RemediationPolicy?
        var symptomTable: [UInt8]?
        var classifierData: (episodes: [RemediationPolicy.Episode], incidents: [IncidentEpisode])?
        if records.isEmpty {
            notes.append("the incident log has no incidents: trained the detectors only (no action classifier, no remediation policy)")
        } else {
            let incidents = IncidentRecord.episodes(records)
            let (episodes, used, skipped) = RemediationPolicy.episodes(incidents, series: history.series, baselines: baselines,
                                                                 extractor: extractor)
            if !skipped.isEmpty {
                notes.append("\(skipped.count) incident(s) start after the last metrics row of their service and were not used (first: line \(skipped[0].attempts[0].line))")
            }
            symptomTable = symptomsCSV(episodes, used)
            classifierData = (episodes, used)
            training["incidents"] = Double(incidents.count)
            training["episodes_used"] = Double(episodes.count)
            if episodes.isEmpty {
                notes.append("no incident has metrics at its start: trained without a remediation policy")
            } else {
                policy = try RemediationPolicy.train(episodes, extractor: extractor,
                                                     parameters: QLearning.Parameters(rule: rule))
                training["policy_states"] = Double(policy!.learner.states.count)
                training["logged_mean_downtime_s"] = policy!.meanLoggedDowntime
                training["logged_mean_reward"] = policy!.meanLoggedReward
            }
        }
        var thresholds = [String: Double]()
        for (name, value) in extractor.thresholds.named { thresholds["symptom." + name] = value }
        let manifest = BundleManifest(
            created: Timestamp.iso(history.lastTimestamp), triageVersion: TriageVersion.string, seed: seed,
            features: ServiceMetric.names, thresholds: thresholds, services: history.services,
            interval: history.interval, training: training, notes: notes)
        var builder = ModelBundle.Builder(manifest: manifest)
        try builder.addJSON(BaselineSet(interval: history.interval, services: history.services.map { baselines[$0]! }),
                            role: "baselines", file: "baselines.json")
        try addDetectors(to: &builder, history: history, baselines: baselines, records: records, seed: seed, threads: threads)
        if let classifierData, !classifierData.episodes.isEmpty {
            try addActionClassifier(to: &builder, episodes: classifierData.episodes, incidents: classifierData.incidents,
                                    seed: seed, threads: threads)
        }
        if let policy { try builder.addModel(policy, role: "policy", file: "policy.model", kind: ModelKind.remediationPolicy) }
        if let symptomTable { builder.add(role: "incident_symptoms", file: "symptoms.csv", kind: "incident-symptoms", bytes: symptomTable) }
        return builder
    }

    /// One row per incident: its symptoms at detection, the fault label, the first action and
    /// the action that fixed it (empty when none did) — the training table of an action
    /// classifier, and what `inspect`-style tools show about the log.
    static func symptomsCSV(_ episodes: [RemediationPolicy.Episode], _ incidents: [IncidentEpisode]) -> [UInt8] {
        var table = OutputTable()
        table.add("incident_id", .text(incidents.map { $0.attempts[0].id }))
        table.add("service", .text(incidents.map(\.service)))
        table.add("start", .text(incidents.map { Timestamp.iso($0.start) }))
        table.add("fault", .text(incidents.map(\.fault)))
        for (j, name) in SymptomExtractor.featureNames.enumerated() {
            table.add(name, .real(episodes.map { $0.symptoms.features[j] }))
        }
        table.add("symptom_code", .integer(episodes.map { $0.symptoms.code }))
        table.add("first_action", .text(incidents.map { $0.attempts[0].action.name }))
        table.add("fixed_by", .text(incidents.map { $0.attempts.first(where: \.succeeded)?.action.name ?? "" }))
        return table.render()
    }
}
