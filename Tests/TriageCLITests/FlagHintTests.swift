import Foundation
import Testing

/// The runtime library names settings; the command line names its flags in the same messages.
@Suite struct FlagHintTests {
    @Test func aMissingValueSuggestsImputeMedian() throws {
        let folder = CLIRunner.folder()
        let train = CLIRunner.file((["a,b"] + (0..<64).map { "\($0 % 8),\($0 % 5 + 10)" }).joined(separator: "\n") + "\n",
                                   name: "train.csv", in: folder)
        let model = folder + "/m.model"
        let fit = try CLIRunner.run(["fit", "iforest", train, "--output", model, "--trees", "10"])
        #expect(fit.status == 0, "\(fit.stderr)")
        let data = CLIRunner.file("a,b\n1,11\n2,\n", name: "data.csv", in: folder)
        let score = try CLIRunner.run(["score", model, data])
        #expect(score.status == 1 && score.stderr.hasPrefix("error: \(data):3:"), "\(score.stderr)")
        #expect(score.stderr.hasSuffix(" (use --impute median to fill missing values)\n"), "\(score.stderr)")
        let filled = try CLIRunner.run(["score", model, data, "--impute", "median"])
        #expect(filled.status == 0 && filled.stdout.split(separator: "\n").count == 3, "\(filled.stderr)")
    }

    @Test func eventsWithoutScoresAskForTheInterval() throws {
        let folder = CLIRunner.folder()
        let events = CLIRunner.file("""
            {"timestamp":"2026-01-05T00:10:00Z","service":"a","type":"recommendation","created":"2026-01-05T00:10:00Z","action":"restart"}

            """, name: "events.jsonl", in: folder)
        let truth = CLIRunner.file("""
            {"faults":[{"service":"a","start":"2026-01-05T00:00:00Z","end":"2026-01-05T00:20:00Z","best_action":"restart"}]}
            """, name: "truth.json", in: folder)
        let evaluated = try CLIRunner.run(["evaluate", "--events", events, "--truth", truth])
        #expect(evaluated.status == 1)
        #expect(evaluated.stderr == "error: \(events): no score events to infer the row interval from; pass --interval SECONDS\n")
    }
}
