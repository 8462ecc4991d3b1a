import Foundation
import Testing
import TriageCore
import TriageData

/// Runs the built `triage` binary (found by `CLIRunner`) in a fresh temporary folder.
private struct CLI {
    let folder: URL


    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("triage-iforest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws { try text.write(toFile: path(name), atomically: true, encoding: .utf8) }

    func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }

    @discardableResult
    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let result = try CLIRunner.run(arguments, in: folder.path)
        return (result.status, result.stdout, result.stderr)
    }

    /// a,b,c,label: a Gaussian cluster with every 25th row far out in column b.
    func writeTrainingData(_ name: String = "train.csv", rows: Int = 400) throws {
        var rng = RandomSource(seed: 11)
        var text = "a,b,c,label\n"
        for i in 0..<rows {
            let outlier = i % 25 == 0
            text += "\(rng.normal()),\(outlier ? 8 + rng.normal() : rng.normal()),\(rng.normal()),\(outlier ? 1 : 0)\n"
        }
        try write(name, text)
    }
}

@Suite
struct IsolationForestCLITests {
    @Test func fitScoreEvaluateInspect() throws {
        let cli = try CLI()
        try cli.writeTrainingData()
        let fit = try cli.run(["fit", "iforest", "train.csv", "--output", "m.model", "--trees", "50", "--seed", "3"])
        #expect(fit.status == 0, "\(fit.stderr)")
        let score = try cli.run(["score", "m.model", "train.csv"])
        #expect(score.status == 0)
        let lines = score.stdout.split(separator: "\n")
        #expect(lines.first == "score,anomaly,top_feature")
        #expect(lines.count == 401)
        // Every 25th row is an outlier in b: flagged and explained by b.
        let outliers = stride(from: 1, to: 401, by: 25).map { lines[$0] }
        #expect(outliers.filter { $0.hasSuffix(",1,b") }.count >= 15, "\(outliers)")
        // --no-explain: the same score,anomaly columns without top_feature; any thread count.
        let plain = try cli.run(["score", "m.model", "train.csv", "--no-explain", "--threads", "3"])
        #expect(plain.status == 0)
        #expect(plain.stdout == lines.map { $0.split(separator: ",").prefix(2).joined(separator: ",") + "\n" }.joined()
            .replacingOccurrences(of: "score,anomaly,top_feature", with: "score,anomaly"))
        let evaluate = try cli.run(["evaluate", "m.model", "train.csv", "--target", "label", "--json"])
        #expect(evaluate.status == 0)
        let report = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as! [String: Any]
        #expect((report["roc_auc"] as! Double) > 0.95)
        let inspect = try cli.run(["inspect", "m.model", "--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [String: Any]
        #expect(summary["kind"] as? String == "iforest")
        #expect(summary["features"] as? [String] == ["a", "b", "c"]) // label excluded by default
        let withLabel = try cli.run(["fit", "iforest", "train.csv", "--output", "l.model", "--include-label", "--exclude", "c"])
        #expect(withLabel.status == 0)
        #expect(try cli.run(["inspect", "l.model"]).stdout.contains("features (3): a, b, label"))
    }

    @Test func sameSeedGivesIdenticalFilesForAnyThreadCountAndWarmStartAdds() throws {
        let cli = try CLI()
        try cli.writeTrainingData(rows: 600)
        try cli.run(["fit", "iforest", "train.csv", "--output", "one.model", "--threads", "1", "--contamination", "0.05"])
        try cli.run(["fit", "iforest", "train.csv", "--output", "two.model", "--threads", "2", "--contamination", "0.05"])
        #expect(try cli.read("one.model") == cli.read("two.model"))
        try cli.run(["score", "one.model", "train.csv", "--output", "s1.csv", "--threads", "1"])
        try cli.run(["score", "two.model", "train.csv", "--output", "s2.csv", "--threads", "2"])
        #expect(try cli.read("s1.csv") == cli.read("s2.csv"))
        let flagged = try cli.read("s1.csv").split(separator: "\n").dropFirst().filter { $0.split(separator: ",")[1] == "1" }
        #expect(abs(flagged.count - 30) <= 2)
        let warm = try cli.run(["fit", "iforest", "train.csv", "--warm-start", "one.model", "--trees", "20", "--output", "w.model"])
        #expect(warm.status == 0, "\(warm.stderr)")
        #expect(try cli.run(["inspect", "w.model"]).stdout.contains("trees: 120"))
        let refused = try cli.run(["fit", "iforest", "train.csv", "--warm-start", "one.model", "--sample-size", "64", "--output", "x.model"])
        #expect(refused.status == 64)
    }

    @Test func badInput() throws {
        let cli = try CLI()
        try cli.writeTrainingData()
        // Out-of-range options are usage errors (exit 64) per the CLI contract.
        for options in [["--trees", "0"], ["--sample-size", "1"], ["--contamination", "0.7"], ["--contamination", "0"],
                        ["--max-features", "0"], ["--contamination", "x"]] {
            let result = try cli.run(["fit", "iforest", "train.csv", "--output", "m.model"] + options)
            #expect(result.status == 64, "\(options)")
        }
        #expect(!FileManager.default.fileExists(atPath: cli.path("m.model")))

        try cli.write("one.csv", "a,b\n1,2\n")
        let single = try cli.run(["fit", "iforest", "one.csv", "--output", "m.model"])
        #expect(single.status == 1 && single.stderr.contains("at least 2 data rows"))

        try cli.write("few.csv", "a,b\n1,2\n2,3\n4,1\n0,0\n")
        let few = try cli.run(["fit", "iforest", "few.csv", "--output", "few.model"])
        #expect(few.status == 0 && few.stderr.contains("every tree uses all 4 rows"))

        try cli.write("nan.csv", "a,b\n1,\n2,NaN\n3,\n")
        let allMissing = try cli.run(["fit", "iforest", "nan.csv", "--output", "m.model"])
        #expect(allMissing.status == 1 && allMissing.stderr.contains("'b'") && allMissing.stderr.contains("all missing"))

        try cli.write("const.csv", "a,b\n1,5\n1,5\n1,5\n")
        let constant = try cli.run(["fit", "iforest", "const.csv", "--output", "m.model"])
        #expect(constant.status == 1 && constant.stderr.contains("constant"))

        try cli.write("partly.csv", "a,b,c\n1,5,0\n2,5,1\n3,5,0\n")
        let partly = try cli.run(["fit", "iforest", "partly.csv", "--output", "p.model"])
        #expect(partly.status == 0 && partly.stderr.contains("never split on: b"))

        try cli.write("hole.csv", "a,b,c\n1,2,3\n4,,6\n")
        let hole = try cli.run(["score", "few.model", "hole.csv"])
        #expect(hole.status == 1 && hole.stderr.contains("hole.csv:3:2") && hole.stderr.contains("'b'"))
        #expect(!FileManager.default.fileExists(atPath: cli.path("m.model")))

        struct Other: Codable { var weights = [1.0] }
        try ModelFile.write(Other(), kind: "autoencoder", to: cli.path("other.model"))
        let foreign = try cli.run(["fit", "iforest", "train.csv", "--warm-start", "other.model", "--output", "w.model"])
        #expect(foreign.status == 1 && foreign.stderr.contains("'autoencoder' model, expected 'iforest'"))
    }
}

/// Issue 14, defect 1: a stray quote at the end of an unquoted field made `fit` read 27 of 300
/// rows and die of SIGSEGV (and `score` the same); now a located error and nothing written.
@Suite struct StrayQuoteCLITests {
    @Test(arguments: [(28, "\"\"\""), (240, "\"")])
    func fitAndScoreRefuseAStrayQuoteWithItsLocation(line: Int, suffix: String) throws {
        let folder = CLIRunner.folder()
        var rng = RandomSource(seed: 3)
        var lines = ["alpha,beta,gamma,delta,label"]
        for _ in 0..<300 {
            lines.append((0..<4).map { _ in String(format: "%.5f", rng.uniform(-1, 1)) }.joined(separator: ",") + ",0")
        }
        let clean = lines.joined(separator: "\n") + "\n"
        lines[line - 1] += suffix
        try clean.write(toFile: folder + "/clean.csv", atomically: true, encoding: .utf8)
        try (lines.joined(separator: "\n") + "\n").write(toFile: folder + "/bad.csv", atomically: true, encoding: .utf8)

        let fit = try CLIRunner.run(["fit", "iforest", "bad.csv", "--output", "m.model"], in: folder)
        #expect(fit.status == 1)
        #expect(fit.stderr.hasPrefix("error: bad.csv:\(line):5: quote inside an unquoted field in column 'label'"), "\(fit.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/m.model"))

        let good = try CLIRunner.run(["fit", "iforest", "clean.csv", "--output", "m.model"], in: folder)
        #expect(good.status == 0, "\(good.stderr)")
        let score = try CLIRunner.run(["score", "m.model", "bad.csv", "--output", "scores.csv"], in: folder)
        #expect(score.status == 1)
        #expect(score.stderr.contains("bad.csv:\(line):5: quote inside an unquoted field"), "\(score.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/scores.csv"))
    }
}
