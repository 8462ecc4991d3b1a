import ArgumentParser
import TriageCore
import TriageData
import TriageEngine
import TriageRuntime
import TriageStorePostgres
#if canImport(Glibc)
import Glibc
#endif

/// The `triage` root command. Subcommands are added here as they are built; a command that
/// does not work yet is absent rather than a placeholder.
public struct TriageCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "Anomaly detection and remediation recommendations for microservices.",
        version: TriageVersion.string,
        subcommands: [Fit.self, Score.self, Evaluate.self, Inspect.self, Watch.self, Simulate.self, Train.self, Policy.self, Features.self,
                      Approvals.self, Outcome.self, Breakers.self, ReportCommand.self, Demo.self, Serve.self, Canary.self]
    )
    public init() {}

    /// Entry point used by the executable: parses, runs, and maps failures to the exit codes
    /// of the CLI contract (1 for bad input or a failed operation, 64 for wrong usage).
    public static func runMain(_ arguments: [String]? = nil) -> Never {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            Glibc.exit(0)
        } catch let status as ExitStatus {
            Glibc.exit(status.code)
        } catch let error as CLIFailure {
            printError(error.description)
            Glibc.exit(error.exitCode)
        } catch let error as DataError {
            printError(error.description)
            Glibc.exit(1)
        } catch let error as EstimatorError {
            printError(error.description)
            Glibc.exit(1)
        } catch let error as EngineError {
            printError(error.description)
            Glibc.exit(1)
        } catch let error as PostgresStoreError {
            printError(error.description)
            Glibc.exit(1)
        } catch let error as EngineSetup.Failure {
            printError(error.description)
            Glibc.exit(1)
        } catch {
            // ArgumentParser's own messages echo the arguments: escaped like ours, except help
            // and version output (exit 0), which is our own text.
            let code = exitCode(for: error)
            guard code != .success else { TriageCommand.exit(withError: error) }
            var standardError = StandardError()
            print(TerminalText.escapedKeepingLines(fullMessage(for: error)), to: &standardError)
            Glibc.exit(code.rawValue)
        }
    }

    /// Prints `error: MESSAGE`; control characters that reached the message from input are
    /// shown escaped, whichever error carried them (its own lines are kept).
    static func printError(_ message: String) {
        var standardError = StandardError()
        print("error: \(TerminalText.escapedKeepingLines(message))", to: &standardError)
    }
}
