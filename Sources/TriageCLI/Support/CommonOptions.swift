import ArgumentParser
import TriageCore
#if canImport(Glibc)
import Glibc
#endif

/// `--seed`, `--threads`, `--progress`, `--quiet`: shared by every command that computes.
struct RunOptions: ParsableArguments {
    @Option(help: "Seed for every random choice; the same seed gives identical results.")
    var seed: UInt64 = 0

    @Option(help: "Worker threads (default: all cores). Results do not depend on it.")
    var threads: Int?

    @Flag(help: "Report progress on stderr even when it is not a terminal.")
    var progress = false

    @Flag(help: "No progress output.")
    var quiet = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    var threadCount: Int { Parallel.threadCount(threads) }

    /// Progress goes to stderr only on a terminal or with --progress, never with --quiet.
    var reporter: ProgressReporter {
        ProgressReporter(enabled: !quiet && (progress || isatty(2) != 0))
    }
}

/// Columns to drop from the features of a fit.
struct FeatureSelectionOptions: ParsableArguments {
    @Option(name: .customLong("exclude"), help: "Drop this column from the features (repeatable).")
    var excluded: [String] = []

    @Flag(help: "Keep a column named 'label' as a feature in unsupervised fits.")
    var includeLabel = false
}

/// Writes progress lines to stderr when enabled.
struct ProgressReporter: Sendable {
    let enabled: Bool

    func report(_ message: @autoclosure () -> String) {
        guard enabled else { return }
        var standardError = StandardError()
        print(message(), to: &standardError)
    }
}
