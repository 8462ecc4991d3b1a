import ArgumentParser
import Foundation
import TriageCore
import TriageData
import TriageRuntime

/// `triage fit autoencoder DATA.csv --output MODEL [...]`: trains a dense autoencoder on every
/// numeric column (minus `--exclude` and `label`) and saves it as kind "autoencoder".
struct FitAutoencoder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autoencoder",
        abstract: "Fit a dense autoencoder; score = mean squared reconstruction error per row.",
        discussion: """
            Columns are standardised (constant columns map to 0). Missing values are an error at \
            fit time; at score time use --impute median. Per-epoch loss is reported on stderr \
            (on a terminal or with --progress) and kept in the model ('triage inspect').
            """)

    static let kind = ModelKind.autoencoder

    @Argument(help: "Training CSV (header row; numeric feature columns).") var data: String
    @Option(help: "Model file to write.") var output: String
    @Option(help: "Hidden layer widths, comma separated (input and output width = feature count).")
    var hidden = HiddenLayers(sizes: [32, 8, 32])
    @Option(help: "Maximum passes over the training rows.") var epochs = 50
    @Option(help: "Networks trained with different seeds whose errors are averaged (steadier rankings; cost grows linearly, spread over --threads).")
    var ensemble = 5
    @Option(help: "Rows per Adam step (clamped to the training rows).") var batchSize = 256
    @Option(help: "Adam step size (> 0).") var learningRate = 1e-3
    @Option(help: "L2 penalty on the weights (≥ 0).") var weightDecay = 1e-5
    @Option(help: "Share of rows held out for early stopping, in [0, 1); 0 turns early stopping off.")
    var validationFraction = 0.1
    @Option(help: "Epochs without a better validation loss before stopping.") var patience = 10
    @Option(help: "'auto' (threshold at the 99th percentile of training scores) or the expected anomaly fraction in (0, 0.5].")
    var contamination = ContaminationArgument.auto
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var selection: FeatureSelectionOptions

    func validate() throws {
        if hidden.sizes.isEmpty { throw ValidationError("--hidden needs at least one layer width, e.g. 32,8,32") }
        if let bad = hidden.sizes.first(where: { $0 < 1 }) {
            throw ValidationError("--hidden layer widths must be positive integers, got \(bad)")
        }
        if epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if ensemble < 1 { throw ValidationError("--ensemble must be at least 1, got \(ensemble)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if !(learningRate > 0 && learningRate.isFinite) {
            throw ValidationError("--learning-rate must be a finite number > 0, got \(learningRate)")
        }
        if !(weightDecay >= 0 && weightDecay.isFinite) {
            throw ValidationError("--weight-decay must be a finite number ≥ 0, got \(weightDecay)")
        }
        if !(validationFraction >= 0 && validationFraction < 1) {
            throw ValidationError("--validation-fraction must be in [0, 1), got \(validationFraction)")
        }
        if patience < 1 { throw ValidationError("--patience must be at least 1, got \(patience)") }
    }

    func run() throws {
        var files = FileRoles()
        files.input("DATA", data)
        files.output("--output", output)
        try files.check()
        try OutputPath.validate(output)
        var roles = [String: ColumnRole]()
        for name in selection.excluded { roles[name] = .skip }
        if !selection.includeLabel { roles["label"] = .skip }
        let table = try CSVReader.read(data, options: CSVOptions(roles: roles, defaultRole: .numeric, threads: runOptions.threads))
        for name in selection.excluded where table.fieldNumber(of: name) == nil {
            throw DataError(.missingColumn, file: data, line: 1, columnName: name)
        }
        let features = table.numericNames
        guard !features.isEmpty else {
            throw DataError(.other("no feature columns left to fit on"), file: data, line: 1)
        }
        let matrix = table.numeric
        if let error = table.firstAllMissingColumn(in: matrix, names: features) { throw error }
        if let error = table.firstMissing(in: matrix, names: features) {
            throw CLIFailure.failed(error.description + " (the autoencoder needs every value; drop or fill the row)")
        }
        if let bad = firstNonFinite(matrix) {
            let name = features[bad.column]
            throw DataError(.other("column '\(name)' has an infinite value"), file: data,
                            line: table.line(ofRow: bad.row), column: table.fieldNumber(of: name), columnName: name)
        }

        var parameters = Autoencoder.Parameters()
        parameters.hiddenLayers = hidden.sizes
        parameters.epochs = epochs
        parameters.batchSize = batchSize
        parameters.ensembleSize = ensemble
        parameters.learningRate = learningRate
        parameters.weightDecay = weightDecay
        parameters.validationFraction = validationFraction
        parameters.patience = patience
        parameters.contamination = contamination.value

        let fitted = try train(matrix, parameters: parameters)
        let history = fitted.history
        var values: [String: Double] = [
            "epochs_run": Double(history.trainingLoss.count),
            "training_rows": Double(history.trainingRows),
            "validation_rows": Double(history.validationRows),
            "batch_size": Double(history.batchSize),
            "stopped_early": history.stoppedEarly ? 1 : 0,
            "final_training_loss": history.trainingLoss.last ?? .nan,
        ]
        var series = ["training_loss": history.trainingLoss, "best_epoch_per_network": history.bestEpochs.map(Double.init)]
        if !history.validationLoss.isEmpty {
            series["validation_loss"] = history.validationLoss
            series["best_validation_loss_per_network"] = history.bestValidationLosses
            values["mean_best_validation_loss"] = history.bestValidationLosses.reduce(0, +) / Double(history.bestValidationLosses.count)
        }
        let saved = SavedModel(features: features, medians: matrix.columnMedians(threads: runOptions.threadCount),
                               training: TrainingSummary(rows: matrix.rows, notes: history.notes,
                                                         values: values, series: series),
                               model: fitted.model)
        try OutputPath.writeModel(saved, kind: Self.kind, to: output)
        runOptions.reporter.report("wrote \(output): \(features.count) features, \(fitted.model.networks.count) network(s), \(history.trainingLoss.count) epochs, threshold \(fitted.model.threshold)")
    }

    /// Fits with per-epoch progress on stderr; a diverged fit becomes a message with a remedy.
    private func train(_ matrix: Matrix<Float>, parameters: Autoencoder.Parameters) throws
        -> (model: Autoencoder, history: Autoencoder.TrainingHistory) {
        let reporter = runOptions.reporter
        let clock = EpochClock()
        do {
            return try Autoencoder.fit(matrix, parameters: parameters, seed: runOptions.seed,
                                       threads: runOptions.threadCount) { report in
                var line = "epoch \(report.epoch)/\(report.epochs)  loss \(String(format: "%.6f", report.trainingLoss))"
                if let validation = report.validationLoss {
                    line += "  validation \(String(format: "%.6f", validation))"
                }
                if report.activeNetworks > 1 || parameters.ensembleSize > 1 {
                    line += "  networks training \(report.activeNetworks)/\(parameters.ensembleSize), improved \(report.improvedNetworks)"
                } else if report.improvedNetworks > 0 && report.validationLoss != nil {
                    line += " *"
                }
                reporter.report(line + "  \(String(format: "%.3f", clock.lap())) s")
            }
        } catch {
            if case .diverged(let epoch) = error {
                throw CLIFailure.failed("training diverged (loss became NaN or infinite) at epoch \(epoch); no model written. Try a smaller --learning-rate (now \(learningRate)).")
            }
            throw error
        }
    }

    /// Seconds since the previous lap (monotonic clock).
    private final class EpochClock {
        private var last = DispatchTime.now().uptimeNanoseconds
        func lap() -> Double {
            let now = DispatchTime.now().uptimeNanoseconds
            defer { last = now }
            return Double(now - last) / 1e9
        }
    }

    /// `--hidden 32,8,32`.
    struct HiddenLayers: ExpressibleByArgument {
        var sizes: [Int]
        init(sizes: [Int]) { self.sizes = sizes }
        init?(argument: String) {
            let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
            var sizes = [Int]()
            for part in parts {
                guard let size = Int(part.trimmingCharacters(in: .whitespaces)) else { return nil }
                sizes.append(size)
            }
            guard !sizes.isEmpty else { return nil }
            self.sizes = sizes
        }
        var defaultValueDescription: String { sizes.map(String.init).joined(separator: ",") }
    }

    /// `--contamination auto|FRACTION`.
    struct ContaminationArgument: ExpressibleByArgument {
        var value: Autoencoder.Contamination
        static let auto = ContaminationArgument(value: .auto)
        init(value: Autoencoder.Contamination) { self.value = value }
        init?(argument: String) {
            if argument == "auto" { value = .auto; return }
            guard let fraction = Double(argument), fraction > 0, fraction <= 0.5 else { return nil }
            value = .fraction(fraction)
        }
        var defaultValueDescription: String { value.description }
    }
}
