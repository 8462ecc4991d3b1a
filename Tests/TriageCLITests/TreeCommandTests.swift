import Foundation
import Testing

/// End-to-end checks of `triage fit tree|forest`, `score`, `evaluate`, `inspect` on the built
/// binary.
@Suite(.serialized) struct TreeCommandTests {
    /// A folder with a small labelled CSV: class "10" when cpu > 0.5, "2" otherwise, plus noise.
    static func workspace() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("triage-trees-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var text = "cpu,noise,host,label\n"
        for i in 0..<60 {
            let cpu = Double(i % 20) / 20, noise = Double((i * 7) % 11) / 11
            text += "\(cpu),\(i == 5 ? "" : String(noise)),h\(i % 3),\(cpu > 0.5 ? "10" : "2")\n"
        }
        try text.write(to: dir.appendingPathComponent("train.csv"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test func fitScoreEvaluateInspectTree() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIRunner.binary.path), "build the binary first: swift build")
        let dir = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("train.csv").path, model = dir.appendingPathComponent("m.tree").path
        let fit = try CLIRunner.run("fit", "tree", data, "--target", "label", "--output", model, "--exclude", "host", "--max-depth", "3")
        #expect(fit.status == 0, "\(fit.stderr)")

        let score = try CLIRunner.run("score", model, data)
        #expect(score.status == 0)
        let lines = score.stdout.split(separator: "\n")
        #expect(lines.first == "prediction,p_2,p_10") // numeric class order, labels as written
        #expect(lines.count == 61)
        #expect(lines[1].hasPrefix("2,1.0,0.0"))

        let evaluate = try CLIRunner.run("evaluate", model, data, "--target", "label", "--json")
        #expect(evaluate.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as! [String: Any]
        #expect(json["accuracy"] as? Double == 1)
        #expect(json["classes"] as? [String] == ["2", "10"])
        for key in ["balanced_accuracy", "macro_f1", "roc_auc", "confusion_matrix"] { #expect(json[key] != nil) }

        let inspect = try CLIRunner.run("inspect", model)
        #expect(inspect.stdout.contains("rules:"))
        #expect(inspect.stdout.contains("if cpu <= "))
        #expect(inspect.stdout.contains("predict 10"))
    }

    @Test func forestFitIsReproducibleAcrossThreadCounts() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIRunner.binary.path), "build the binary first: swift build")
        let dir = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("train.csv").path
        let a = dir.appendingPathComponent("a.forest").path, b = dir.appendingPathComponent("b.forest").path
        #expect(try CLIRunner.run("fit", "forest", data, "--target", "label", "--output", a, "--exclude", "host", "--trees", "15", "--threads", "1").status == 0)
        #expect(try CLIRunner.run("fit", "forest", data, "--target", "label", "--output", b, "--exclude", "host", "--trees", "15", "--threads", "3").status == 0)
        #expect(FileManager.default.contents(atPath: a) == FileManager.default.contents(atPath: b))
        let inspect = try CLIRunner.run("inspect", a, "--json")
        let json = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [String: Any]
        #expect(json["kind"] as? String == "forest")
        #expect((json["importances"] as? [String: Double])?.keys.sorted() == ["cpu", "noise"])
    }

    @Test func badInputGivesClearErrors() throws {
        try #require(FileManager.default.isExecutableFile(atPath: CLIRunner.binary.path), "build the binary first: swift build")
        let dir = try Self.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let train = dir.appendingPathComponent("train.csv").path, model = dir.appendingPathComponent("m").path
        func write(_ name: String, _ text: String) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        // Target column missing.
        var r = try CLIRunner.run("fit", "tree", train, "--target", "nope", "--output", model)
        #expect(r.status == 1 && r.stderr.contains("'nope' not found"))
        // All one class.
        let one = try write("one.csv", "a,y\n1,x\n2,x\n")
        r = try CLIRunner.run("fit", "tree", one, "--target", "y", "--output", model)
        #expect(r.status == 1 && r.stderr.contains("single class 'x'"))
        // NaN in target.
        let nan = try write("nan.csv", "a,y\n1,x\n2,NaN\n3,z\n")
        r = try CLIRunner.run("fit", "tree", nan, "--target", "y", "--output", model)
        #expect(r.status == 1 && r.stderr.contains("nan.csv:3:2: missing target value"))
        // Text in a feature column.
        let text = try write("text.csv", "a,y\n1,x\nhigh,z\n")
        r = try CLIRunner.run("fit", "forest", text, "--target", "y", "--output", model)
        #expect(r.status == 1 && r.stderr.contains("text.csv:3:1:") && r.stderr.contains("\"high\""))
        // min_samples_leaf above the row count.
        r = try CLIRunner.run("fit", "tree", train, "--target", "label", "--output", model, "--min-samples-leaf", "61", "--exclude", "host")
        #expect(r.status == 1 && r.stderr.contains("min_samples_leaf 61"))
        #expect(!FileManager.default.fileExists(atPath: model))
        // Wrong usage.
        r = try CLIRunner.run("fit", "forest", train, "--target", "label", "--output", model, "--max-features", "1.5")
        #expect(r.status == 64)
        // A class with one sample is fine; an unseen class at evaluate time is an error with its line.
        let single = try write("single.csv", "a,y\n1,x\n2,x\n3,z\n")
        r = try CLIRunner.run("fit", "tree", single, "--target", "y", "--output", model)
        #expect(r.status == 0)
        let unseen = try write("unseen.csv", "a,y\n1,x\n3,w\n")
        r = try CLIRunner.run("evaluate", model, unseen, "--target", "y")
        #expect(r.status == 1 && r.stderr.contains("unseen.csv:3:2:") && r.stderr.contains("\"w\""))
    }
}
