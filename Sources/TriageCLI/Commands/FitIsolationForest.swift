import ArgumentParser
import TriageCore
import TriageData

/// `triage fit iforest DATA.csv --output MODEL ...`: fits (or, with `--warm-start`, extends) an
/// isolation forest and saves it as a model file of kind "iforest".
struct FitIsolationForest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iforest",
        abstract: "Fit an isolation forest (Liu, Ting & Zhou 2008) on the numeric columns of a CSV file.",
        discussion: """
            Every column is a feature except those given with --exclude and a column named 'label' \
            (kept with --include-label). Rows must be complete: a missing value is an error naming its \
            line and column. With fewer rows than --sample-size every tree uses all rows (a note says so).
            --warm-start MODEL adds --trees new trees to an existing isolation forest, fitted on DATA.csv \
            with the model's own features, sample size, max features, contamination and seed.
            """)

    @Argument(help: "Training CSV (header row required).") var data: String
    @Option(help: "Where to write the model file.") var output: String
    @Option(help: "Number of trees (with --warm-start: trees to add).") var trees: Int = 100
    @Option(name: .customLong("sample-size"), help: "Rows sub-sampled per tree, ψ (default 256).")
    var sampleSize: Int?
    @Option(name: .customLong("max-features"), help: "Fraction of features each tree may split on, in (0, 1] (default 1.0).")
    var maxFeatures: Double?
    @Option(help: "'auto' (flag s ≥ 0.5, as in the paper) or the fraction of training rows to flag, in (0, 0.5].")
    var contamination: ContaminationOption?
    @Option(name: .customLong("warm-start"), help: "Existing isolation forest model to add trees to.")
    var warmStart: String?
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var selection: FeatureSelectionOptions

    func validate() throws {
        if trees < 1 { throw ValidationError("--trees must be at least 1, got \(trees)") }
        if let sampleSize, sampleSize < 2 { throw ValidationError("--sample-size must be at least 2, got \(sampleSize)") }
        if let maxFeatures, !(maxFeatures > 0 && maxFeatures <= 1) {
            throw ValidationError("--max-features must be a fraction in (0, 1], got \(maxFeatures)")
        }
        if warmStart != nil {
            var refused = [String]()
            if sampleSize != nil { refused.append("--sample-size") }
            if maxFeatures != nil { refused.append("--max-features") }
            if contamination != nil { refused.append("--contamination") }
            if !selection.excluded.isEmpty { refused.append("--exclude") }
            if selection.includeLabel { refused.append("--include-label") }
            if !refused.isEmpty {
                throw ValidationError("\(refused.joined(separator: ", ")) cannot be combined with --warm-start: the model's own settings and features are used")
            }
        }
    }

    func run() throws {
        var files = FileRoles()
        files.input("DATA", data)
        files.input("--warm-start", warmStart)
        files.output("--output", output)
        try files.check()
        try OutputPath.validate(output)
        let reporter = runOptions.reporter
        let threads = runOptions.threadCount
        if let warmStart { return try extend(warmStart, threads: threads, reporter: reporter) }

        let parameters = IsolationForest.Parameters(
            treeCount: trees, sampleSize: sampleSize ?? 256, maxFeatures: maxFeatures ?? 1.0,
            contamination: contamination?.value ?? .auto)
        let table = try readTrainingTable()
        let names = table.numericNames
        let matrix = table.numeric
        var notes = try checkTrainingData(table, matrix: matrix, names: names, sampleSize: parameters.sampleSize)
        reporter.report("fitting \(trees) trees on \(matrix.rows) rows × \(names.count) features")
        let forest = try IsolationForest.fit(matrix, parameters: parameters, seed: runOptions.seed, threads: threads)
        if case .fraction = parameters.contamination {
            notes.append("threshold \(forest.threshold) flags the top \(contamination!.text) of training rows")
        }
        try save(forest, features: names, matrix: matrix, notes: notes)
    }

    /// Warm start: more trees on the model's features.
    func extend(_ path: String, threads: Int, reporter: ProgressReporter) throws {
        let saved = try ModelFile.read(SavedModel<IsolationForest>.self, kind: "iforest", from: path)
        let table = try readFeatures(data, features: saved.features, threads: runOptions.threads)
        let matrix = try table.features(saved.features)
        var notes = saved.training.notes
        notes += try checkTrainingData(table, matrix: matrix, names: saved.features, sampleSize: saved.model.sampleSize)
        guard matrix.rows >= saved.model.sampleSize else {
            throw CLIFailure.failed("\(data): \(matrix.rows) rows, but the model's trees use samples of \(saved.model.sampleSize) rows; warm start needs at least that many")
        }
        reporter.report("adding \(trees) trees to \(saved.model.treeCount) on \(matrix.rows) rows")
        let forest = try saved.model.addingTrees(trees, on: matrix, threads: threads)
        notes.append("warm start: added \(trees) trees on \(matrix.rows) rows of \(data)")
        try save(forest, features: saved.features, matrix: matrix, notes: notes)
    }

    /// Every column is numeric except the excluded ones and `label` (unless included).
    func readTrainingTable() throws -> CSVTable<Float> {
        var roles = [String: ColumnRole]()
        for name in selection.excluded { roles[name] = .skip }
        if !selection.includeLabel && !selection.excluded.contains("label") { roles["label"] = .skip }
        let table = try CSVReader.read(data, options: CSVOptions(roles: roles, defaultRole: .numeric, threads: runOptions.threads))
        for name in selection.excluded where table.fieldNumber(of: name) == nil {
            throw DataError(.missingColumn, file: data, line: 1, columnName: name)
        }
        guard !table.numericNames.isEmpty else {
            throw CLIFailure.failed("\(data): no feature columns left after excluding \(table.header.joined(separator: ", "))")
        }
        return table
    }

    /// Refuses what the forest cannot use (all-missing column, missing values, a single row,
    /// no varying feature) with file/line/column errors; returns notes for what it tolerates.
    func checkTrainingData(_ table: CSVTable<Float>, matrix: Matrix<Float>, names: [String], sampleSize: Int) throws -> [String] {
        let scan = ColumnScan(matrix)
        if scan.hasNonFinite {
            // Slow paths only when something is wrong: they locate and word the error.
            if let error = table.firstAllMissingColumn(in: matrix, names: names) { throw error }
            if let error = table.firstMissing(in: matrix, names: names) {
                throw CLIFailure.failed(error.description + " (the isolation forest needs complete rows; fill or drop them)")
            }
            if let bad = firstNonFinite(matrix) {
                let name = names[bad.column]
                throw DataError(.other("column '\(name)' has an infinite value"), file: data,
                                line: table.line(ofRow: bad.row), column: table.fieldNumber(of: name))
            }
        }
        if matrix.rows < IsolationForest.minimumRows {
            throw CLIFailure.failed("\(data): needs at least \(IsolationForest.minimumRows) data rows to fit an isolation forest, got \(matrix.rows)")
        }
        var notes = [String]()
        let constant = (0..<matrix.columns).filter { !scan.varies[$0] }
        if constant.count == matrix.columns {
            throw CLIFailure.failed("\(data): every feature column is constant (\(names.joined(separator: ", "))); there is nothing to isolate")
        }
        if !constant.isEmpty {
            notes.append("constant columns are never split on: \(constant.map { names[$0] }.joined(separator: ", "))")
        }
        if matrix.rows < sampleSize {
            notes.append("sample size \(sampleSize) > \(matrix.rows) rows: every tree uses all \(matrix.rows) rows")
        }
        if !runOptions.quiet {
            var standardError = StandardError()
            for note in notes { print("note: \(note)", to: &standardError) }
        }
        return notes
    }

    func save(_ forest: IsolationForest, features: [String], matrix: Matrix<Float>, notes: [String]) throws {
        let saved = SavedModel(features: features, medians: matrix.columnMedians(threads: runOptions.threadCount),
                               training: TrainingSummary(rows: matrix.rows, notes: notes,
                                                         values: ["threshold": forest.threshold]),
                               model: forest)
        try OutputPath.writeModel(saved, kind: "iforest", to: output)
        runOptions.reporter.report("wrote \(output) (\(forest.treeCount) trees)")
    }
}

/// `--contamination auto|FRACTION`.
struct ContaminationOption: ExpressibleByArgument {
    let value: IsolationForest.Contamination
    let text: String

    init?(argument: String) {
        if argument == "auto" {
            value = .auto
        } else if let fraction = Double(argument), fraction > 0, fraction <= 0.5 {
            value = .fraction(fraction)
        } else {
            return nil
        }
        text = argument
    }

    static var defaultCompletionKind: CompletionKind { .list(["auto"]) }
}

/// One pass over a training matrix: does any value fail `isFinite`, and which columns vary.
struct ColumnScan {
    var hasNonFinite = false
    var varies: [Bool]

    init(_ matrix: Matrix<Float>) {
        let columns = matrix.columns
        varies = [Bool](repeating: false, count: columns)
        guard matrix.rows > 0 else { return }
        var nonFinite = false
        matrix.storage.withUnsafeBufferPointer { x in
            varies.withUnsafeMutableBufferPointer { varies in
                for i in 0..<matrix.rows {
                    for j in 0..<columns {
                        let v = x[i * columns + j]
                        nonFinite = nonFinite || !v.isFinite
                        varies[j] = varies[j] || v != x[j]
                    }
                }
            }
        }
        hasNonFinite = nonFinite
    }
}
