import TriageCore
import TriageData

/// The learned models of a bundle besides the policy: the two detectors on per-service feature
/// rows (`ServiceFeatureExtractor`) and the action classifier on incident symptoms.
extension BundleTraining {
    /// Settings of the bundle's models, fixed so that a bundle is a function of (data, seed).
    enum Settings {
        /// Detector training rows are thinned to at most this many, evenly over time: 30 days of
        /// 8 services at 1 minute are 345 600 rows, and fitting on a 64 k-row stride loses no
        /// regime (each service keeps every ~5th row) while keeping `train` within seconds.
        static let maximumDetectorRows = 65_536
        /// Rows this long before an incident's start are left out of detector training too:
        /// faults show in the metrics before someone opens the incident (a leak climbs for a
        /// while), and the detectors should learn normal operation only.
        static let incidentLeadSeconds: Int64 = 3600
        /// Fewer rows than this (after removing incidents) is too little to learn what normal looks like.
        static let minimumDetectorRows = 32
        /// Both detectors flag 1 % of the (incident-free) training rows.
        static let contamination = 0.01

        static var isolationForest: IsolationForest.Parameters {
            IsolationForest.Parameters(treeCount: 100, sampleSize: 256, maxFeatures: 1.0, contamination: .fraction(contamination))
        }

        /// Small network and ensemble: 7 inputs need little capacity, and train time stays low.
        static var autoencoder: Autoencoder.Parameters {
            var p = Autoencoder.Parameters()
            p.hiddenLayers = [16, 4, 16]
            p.epochs = 20
            p.ensembleSize = 2
            p.batchSize = 256
            p.patience = 4
            p.contamination = .fraction(contamination)
            return p
        }

        /// 50 trees with leaves of ≥ 3 incidents: a few hundred incidents need no more, and the
        /// model file (shipped in models/) stays a few hundred kB.
        static var actionForest: RandomForest.Hyperparameters {
            var h = RandomForest.Hyperparameters()
            h.trees = 50
            h.minSamplesLeaf = 3
            return h
        }
    }

    /// Per-service feature rows for detector training: every service's rows outside logged
    /// incidents (and their lead time), in service then time order, thinned to
    /// `Settings.maximumDetectorRows` by an even stride.
    static func detectorTrainingRows(history: MetricsHistory, baselines: [String: ServiceBaseline], records: [IncidentRecord],
                                     extractor: ServiceFeatureExtractor) -> (matrix: Matrix<Float>, excluded: Int) {
        var windows = [String: [(Int64, Int64)]]()
        for r in records { windows[r.service, default: []].append((r.start - Settings.incidentLeadSeconds, r.end)) }
        var parts = [Matrix<Float>]()
        var excluded = 0
        for name in history.services {
            let series = history.series[name]!
            var keep = [Bool](repeating: true, count: series.count)
            for (from, to) in windows[name] ?? [] {
                var i = series.firstIndex(atOrAfter: from)
                while i < series.count && series.times[i] <= to {
                    if keep[i] { excluded += 1 }
                    keep[i] = false
                    i += 1
                }
            }
            parts.append(extractor.matrix(series, baseline: baselines[name]!, keep: keep))
        }
        let total = parts.reduce(0) { $0 + $1.rows }
        let stride = max(1, (total + Settings.maximumDetectorRows - 1) / Settings.maximumDetectorRows)
        let width = ServiceFeatureExtractor.featureCount
        var storage = [Float]()
        storage.reserveCapacity((total / stride + 1) * width)
        var index = 0
        for part in parts {
            for i in 0..<part.rows {
                if index % stride == 0 { storage += part.storage[(i * width)..<((i + 1) * width)] }
                index += 1
            }
        }
        return (Matrix(rows: storage.count / width, columns: width, storage: storage), excluded)
    }

    /// Fits both detectors and adds them (and the feature settings) to the bundle.
    static func addDetectors(to builder: inout ModelBundle.Builder, history: MetricsHistory, baselines: [String: ServiceBaseline],
                             records: [IncidentRecord], seed: UInt64, threads: Int) throws {
        let extractor = ServiceFeatureExtractor()
        let names = ServiceFeatureExtractor.featureNames
        try builder.addJSON(extractor, role: "features", file: "features.json")
        builder.manifest.detectorFeatures = names
        let (matrix, excluded) = detectorTrainingRows(history: history, baselines: baselines, records: records, extractor: extractor)
        builder.manifest.training["detector_rows"] = Double(matrix.rows)
        builder.manifest.training["detector_rows_in_incidents"] = Double(excluded)
        guard matrix.rows >= Settings.minimumDetectorRows else {
            builder.manifest.notes.append("only \(matrix.rows) metric rows outside incidents (at least \(Settings.minimumDetectorRows) needed): trained without detectors")
            return
        }
        let medians = matrix.columnMedians(threads: threads)
        let notes = ["features: each metric as a robust z-score against its service's baseline (features.json, baselines.json)"]

        let forest = try IsolationForest.fit(matrix, parameters: Settings.isolationForest, seed: seed, threads: threads)
        try builder.addModel(SavedModel(features: names, medians: medians,
                                        training: TrainingSummary(rows: matrix.rows, notes: notes, values: ["threshold": forest.threshold]),
                                        model: forest),
                             role: "iforest", file: "iforest.model", kind: ModelKind.isolationForest)
        builder.manifest.thresholds["detector.iforest"] = forest.threshold

        let (autoencoder, history) = try Autoencoder.fit(matrix, parameters: Settings.autoencoder, seed: seed, threads: threads)
        var values = ["threshold": autoencoder.threshold, "epochs_run": Double(history.trainingLoss.count),
                      "final_training_loss": history.trainingLoss.last ?? .nan]
        if !history.bestValidationLosses.isEmpty {
            values["mean_best_validation_loss"] = history.bestValidationLosses.reduce(0, +) / Double(history.bestValidationLosses.count)
        }
        try builder.addModel(SavedModel(features: names, medians: medians,
                                        training: TrainingSummary(rows: matrix.rows, notes: notes + history.notes, values: values,
                                                                  series: ["training_loss": history.trainingLoss]),
                                        model: autoencoder),
                             role: "autoencoder", file: "autoencoder.model", kind: ModelKind.autoencoder)
        builder.manifest.thresholds["detector.autoencoder"] = autoencoder.threshold
    }

    /// Fits the action classifier (a random forest from the symptoms at detection to the action
    /// that fixed the incident) on the incidents some action fixed, and adds it as `forest.model`.
    /// Its feature names are symptoms.csv's columns, so `triage score BUNDLE/forest.model
    /// BUNDLE/symptoms.csv` applies it to the table it learned from.
    static func addActionClassifier(to builder: inout ModelBundle.Builder, episodes: [RemediationPolicy.Episode],
                                    incidents: [IncidentEpisode], seed: UInt64, threads: Int) throws {
        var rows = [[Float]](), targets = [String]()
        for (episode, incident) in zip(episodes, incidents) {
            guard let fix = incident.attempts.first(where: \.succeeded) else { continue }
            rows.append(episode.symptoms.features.map(Float.init))
            targets.append(fix.action.name)
        }
        let classes = Set(targets).sorted()
        builder.manifest.training["action_classifier_incidents"] = Double(rows.count)
        guard rows.count >= 2, classes.count >= 2 else {
            builder.manifest.notes.append("\(rows.count) fixed incident(s) with \(classes.count) distinct fixing action(s): trained without an action classifier (it needs two actions)")
            return
        }
        let matrix = Matrix(rows)
        let labels = targets.map { classes.firstIndex(of: $0)! }
        let forest = try RandomForest.fit(matrix, labels: labels, classCount: classes.count, hyperparameters: Settings.actionForest,
                                          seed: seed, threads: threads)
        var values = [String: Double]()
        if let oob = forest.outOfBagAccuracy {
            values["oob_accuracy"] = oob
            builder.manifest.training["action_classifier_oob_accuracy"] = oob
        }
        let saved = SavedModel(features: SymptomExtractor.featureNames, target: "fixed_by", classes: classes,
                               medians: matrix.columnMedians(threads: threads),
                               training: TrainingSummary(rows: matrix.rows, notes: ["target: the action that fixed each incident (incidents nothing fixed are left out)"],
                                                         values: values),
                               model: forest)
        try builder.addModel(saved, role: "action_classifier", file: "forest.model", kind: ModelKind.randomForest)
    }
}
