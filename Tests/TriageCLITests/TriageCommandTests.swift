import Foundation
import Testing
@testable import TriageCLI
import TriageRuntime

@Suite struct TriageCommandTests {
    @Test func versionAndHelp() throws {
        let version = try CLIRunner.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == TriageVersion.string)
        let help = try CLIRunner.run(["--help"])
        #expect(help.status == 0)
        for command in ["fit", "score", "evaluate", "inspect"] { #expect(help.stdout.contains(command)) }
    }

    @Test func wrongUsageExitsWith64() throws {
        #expect(try CLIRunner.run(["score"]).status == 64)
        #expect(try CLIRunner.run(["no-such-command"]).status == 64)
        #expect(try CLIRunner.run(["score", "m", "d", "--threads", "0"]).status == 64)
    }

    @Test func modelThatIsNotAModelIsAnErrorNotACrash() throws {
        let csv = CLIRunner.file("a,b\n1,2\n")
        let result = try CLIRunner.run(["inspect", csv])
        #expect(result.status == 1)
        #expect(result.stderr == "error: \(csv): not a Triage model file\n")
        let missing = try CLIRunner.run(["inspect", "/nonexistent/model"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("error: /nonexistent/model: no such file"))
    }
}
