import ArgumentParser
import TriageCore
import TriageData
import TriageRuntime

/// Options shared by `fit tree` and `fit forest` (../shared/CLI.md "Estimators").
struct TreeOptions: ParsableArguments {
    @Argument(help: "Training CSV: numeric feature columns and the target column.") var data: String
    @Option(help: "Column with the class labels (numbers or text).") var target: String
    @Option(help: "Where to write the model file.") var output: String
    @Option(help: "Split impurity: gini or entropy.") var criterion: ClassificationCriterion = .gini
    @Option(help: "Depth limit (default: grow until leaves are pure or too small).") var maxDepth: Int?
    @Option(help: "A node with fewer samples is not split.") var minSamplesSplit = 2
    @Option(help: "Each leaf keeps at least this many samples.") var minSamplesLeaf = 1
    @Option(help: "A split must decrease the weighted impurity by at least this.") var minImpurityDecrease = 0.0
    @Option(help: "none, balanced, or explicit weights as CLASS=WEIGHT,... (classes as written in the CSV).")
    var classWeight = "none"

    /// Inputs and output checked before any work starts (nothing read, nothing written).
    func checkFiles() throws {
        var files = FileRoles()
        files.input("DATA", data)
        files.output("--output", output)
        try files.check()
        try OutputPath.validate(output)
    }

    func validate() throws {
        if let maxDepth, maxDepth < 1 { throw ValidationError("--max-depth must be at least 1, got \(maxDepth)") }
        if minSamplesSplit < 2 { throw ValidationError("--min-samples-split must be at least 2, got \(minSamplesSplit)") }
        if minSamplesLeaf < 1 { throw ValidationError("--min-samples-leaf must be at least 1, got \(minSamplesLeaf)") }
        if !(minImpurityDecrease >= 0 && minImpurityDecrease.isFinite) {
            throw ValidationError("--min-impurity-decrease must be a finite number ≥ 0, got \(minImpurityDecrease)")
        }
        _ = try ClassWeightOption.parse(classWeight)
    }
}

extension ClassificationCriterion: ExpressibleByArgument {}
extension SplitterKind: ExpressibleByArgument {}

/// `--class-weight` as typed: resolved against the classes once the target is read.
enum ClassWeightOption {
    case none, balanced, explicit([String: Double])

    static func parse(_ text: String) throws -> ClassWeightOption {
        switch text {
        case "none": return .none
        case "balanced": return .balanced
        default:
            var weights = [String: Double]()
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pieces.count == 2, let w = Double(pieces[1]), w > 0, w.isFinite else {
                    throw ValidationError("--class-weight must be none, balanced or CLASS=WEIGHT,... with positive weights, got '\(text)'")
                }
                weights[String(pieces[0])] = w
            }
            return .explicit(weights)
        }
    }

    func resolve(classes: [String]) throws -> ClassWeight {
        switch self {
        case .none: return .none
        case .balanced: return .balanced
        case .explicit(let weights):
            if let unknown = weights.keys.sorted().first(where: { !classes.contains($0) }) {
                throw CLIFailure.usage("--class-weight names class '\(unknown)', which is not in the target (classes: \(classes.joined(separator: ", ")))")
            }
            return .explicit(classes.map { weights[$0] ?? 1 })
        }
    }
}

/// A supervised training set read from CSV: features, encoded labels and their classes.
struct LabelledData {
    let features: [String]
    let matrix: Matrix<Float>
    let classes: [String]
    let labels: [Int]
    let notes: [String]

    static func read(_ path: String, target: String, excluded: [String], threads: Int?) throws -> LabelledData {
        var roles: [String: ColumnRole] = [target: .text]
        for name in excluded where name != target { roles[name] = .skip }
        let table: CSVTable<Float>
        do {
            table = try CSVReader.read(path, options: CSVOptions(roles: roles, defaultRole: .numeric, threads: threads))
        } catch {
            // A misspelt --target would otherwise surface as "text in a numeric column": check
            // the header (a cheap structural pass) and name the real problem.
            let header = try CSVReader.read(path, options: CSVOptions(defaultRole: .skip, threads: threads)).header
            if !header.contains(target) { throw DataError(.missingColumn, file: path, line: 1, columnName: target) }
            throw error
        }
        if let unknown = excluded.first(where: { table.fieldNumber(of: $0) == nil }) {
            throw CLIFailure.usage("--exclude names column '\(unknown)', which is not in \(path)")
        }
        guard !table.numericNames.isEmpty else {
            throw CLIFailure.failed("\(path): no feature columns left besides the target '\(target)'")
        }
        let (classes, labels) = try ClassLabels.learn(table, column: target)
        guard classes.count >= 2 else {
            throw CLIFailure.failed("\(path): target column '\(target)' has a single class '\(classes[0])'; a classifier needs at least two")
        }
        var counts = [Int](repeating: 0, count: classes.count)
        for y in labels { counts[y] += 1 }
        let notes = zip(classes, counts).filter { $0.1 == 1 }.map { "class '\($0.0)' has a single training sample" }
        return LabelledData(features: table.numericNames, matrix: table.numeric, classes: classes, labels: labels, notes: notes)
    }

    func save<M: Codable & Sendable>(_ model: M, kind: String, target: String, to path: String, values: [String: Double] = [:]) throws {
        let saved = SavedModel(features: features, target: target, classes: classes, medians: matrix.columnMedians(threads: Parallel.availableCores),
                               training: TrainingSummary(rows: matrix.rows, notes: notes, values: values), model: model)
        try OutputPath.writeModel(saved, kind: kind, to: path)
    }
}

/// `triage fit tree DATA.csv --target COL --output MODEL ...`.
struct FitTree: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tree", abstract: "Fit a CART decision tree classifier (readable rules: see 'triage inspect').")

    @OptionGroup var options: TreeOptions
    @Option(help: "Threshold search: histogram (≤ 255 quantile bins, fast) or exact (every midpoint).")
    var splitter: SplitterKind = .histogram
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var selection: FeatureSelectionOptions

    func run() throws {
        try options.checkFiles()
        let weightOption = try ClassWeightOption.parse(options.classWeight)
        let data = try LabelledData.read(options.data, target: options.target, excluded: selection.excluded, threads: runOptions.threads)
        var h = DecisionTree.Hyperparameters()
        h.criterion = options.criterion
        h.maxDepth = options.maxDepth
        h.minSamplesSplit = options.minSamplesSplit
        h.minSamplesLeaf = options.minSamplesLeaf
        h.minImpurityDecrease = options.minImpurityDecrease
        h.classWeight = try weightOption.resolve(classes: data.classes)
        h.splitter = splitter
        runOptions.reporter.report("fitting a decision tree on \(data.matrix.rows) rows × \(data.features.count) features")
        let tree = try DecisionTree.fit(data.matrix, labels: data.labels, classCount: data.classes.count, hyperparameters: h,
                                        seed: runOptions.seed, threads: runOptions.threadCount)
        runOptions.reporter.report("tree: \(tree.tree.nodeCount) nodes, depth \(tree.tree.depth)")
        try data.save(tree, kind: "tree", target: options.target, to: options.output)
    }
}

extension MaxFeatures: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "sqrt": self = .sqrt
        case "log2": self = .log2
        case "all": self = .all
        default:
            guard let f = Double(argument), f > 0, f <= 1 else { return nil }
            self = .fraction(f)
        }
    }
}

/// `triage fit forest DATA.csv --target COL --output MODEL ...`.
struct FitForest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forest", abstract: "Fit a random forest classifier (bootstrap, out-of-bag accuracy, importances).")

    @OptionGroup var options: TreeOptions
    @Option(help: "Number of trees.") var trees = 100
    @Option(help: "Features drawn per node: sqrt, log2, all, or a fraction in (0, 1].") var maxFeatures: MaxFeatures = .sqrt
    @Flag(help: "Also compute out-of-bag permutation importances (slower).") var permutationImportance = false
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var selection: FeatureSelectionOptions

    func validate() throws {
        if trees < 1 { throw ValidationError("--trees must be at least 1, got \(trees)") }
    }

    func run() throws {
        try options.checkFiles()
        let weightOption = try ClassWeightOption.parse(options.classWeight)
        let data = try LabelledData.read(options.data, target: options.target, excluded: selection.excluded, threads: runOptions.threads)
        var h = RandomForest.Hyperparameters()
        h.trees = trees
        h.criterion = options.criterion
        h.maxFeatures = maxFeatures
        h.maxDepth = options.maxDepth
        h.minSamplesSplit = options.minSamplesSplit
        h.minSamplesLeaf = options.minSamplesLeaf
        h.minImpurityDecrease = options.minImpurityDecrease
        h.classWeight = try weightOption.resolve(classes: data.classes)
        h.permutationImportance = permutationImportance
        runOptions.reporter.report("fitting \(trees) trees on \(data.matrix.rows) rows × \(data.features.count) features, \(runOptions.threadCount) threads")
        let forest = try RandomForest.fit(data.matrix, labels: data.labels, classCount: data.classes.count, hyperparameters: h,
                                          seed: runOptions.seed, threads: runOptions.threadCount)
        var values = [String: Double]()
        if let oob = forest.outOfBagAccuracy {
            values["oob_accuracy"] = oob
            runOptions.reporter.report("out-of-bag accuracy: \(Report.metric(oob))")
        }
        try data.save(forest, kind: "forest", target: options.target, to: options.output, values: values)
    }
}
