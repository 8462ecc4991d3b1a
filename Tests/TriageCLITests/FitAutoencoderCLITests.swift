import Foundation
import Testing

/// Runs the built `triage` binary end to end.
@Suite("triage fit autoencoder (binary)")
struct FitAutoencoderCLITests {
    /// A temporary folder with `data.csv`: 120 rows of 4 correlated features, a constant column,
    /// an id column to exclude and a label.
    static func folder(missingAtRow: Int? = nil) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("triage-ae-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var lines = ["id,a,b,c,constant,label"]
        for i in 0..<120 {
            let t = Double(i) / 10
            let a = sin(t), b = cos(t), c = i == 7 ? 9.0 : a + b
            let cField = missingAtRow == i ? "" : String(c)
            lines.append("\(i),\(a),\(b),\(cField),5,\(i == 7 ? 1 : 0)")
        }
        try (lines.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("data.csv"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test("fit, score, evaluate and inspect round trip")
    func roundTrip() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data.csv").path, model = dir.appendingPathComponent("m.model").path
        let fit = try CLIRunner.run(["fit", "autoencoder", data, "--output", model, "--exclude", "id", "--hidden", "8,2,8",
                                   "--epochs", "20", "--batch-size", "32", "--learning-rate", "0.01", "--ensemble", "2",
                                   "--seed", "3", "--progress"])
        #expect(fit.status == 0, "\(fit.stderr)")
        #expect(fit.stderr.contains("epoch 1/20"))
        #expect(fit.stdout.isEmpty)
        let score = try CLIRunner.run(["score", model, data])
        #expect(score.status == 0, "\(score.stderr)")
        let rows = score.stdout.split(separator: "\n")
        #expect(rows.first == "score,anomaly,top_feature")
        #expect(rows.count == 121)
        #expect(rows[8].hasSuffix(",c"))   // the planted outlier (data row 7) is explained by column c
        let evaluate = try CLIRunner.run(["evaluate", model, data, "--target", "label", "--json"])
        #expect(evaluate.status == 0 && evaluate.stdout.contains("\"roc_auc\""))
        let inspect = try CLIRunner.run(["inspect", model, "--json"])
        #expect(inspect.stdout.contains("\"training_loss\"") && inspect.stdout.contains("\"kind\":\"autoencoder\""))
        #expect(!inspect.stdout.contains("\"id\""))
        // Same seed, other thread count: byte-identical model.
        let again = dir.appendingPathComponent("again.model").path
        _ = try CLIRunner.run(["fit", "autoencoder", data, "--output", again, "--exclude", "id", "--hidden", "8,2,8",
                             "--epochs", "20", "--batch-size", "32", "--learning-rate", "0.01", "--ensemble", "2",
                             "--seed", "3", "--threads", "1"])
        #expect(FileManager.default.contents(atPath: again) == FileManager.default.contents(atPath: model))
    }

    @Test("bad input: missing value (exit 1 with line and column), bad flags (exit 64), divergence (no model)")
    func badInput() throws {
        let dir = try Self.folder(missingAtRow: 4)
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data.csv").path, model = dir.appendingPathComponent("m.model").path
        let missing = try CLIRunner.run(["fit", "autoencoder", data, "--output", model])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("error: \(data):6:4:"), "\(missing.stderr)")
        for flags in [["--learning-rate", "0"], ["--hidden", "32,0,32"], ["--hidden", ""], ["--epochs", "0"],
                      ["--batch-size", "0"], ["--validation-fraction", "1"], ["--contamination", "0.9"]] {
            let usage = try CLIRunner.run(["fit", "autoencoder", data, "--output", model] + flags)
            #expect(usage.status == 64, "\(flags): \(usage.stderr)")
        }
        let clean = try Self.folder()
        defer { try? FileManager.default.removeItem(at: clean) }
        let cleanData = clean.appendingPathComponent("data.csv").path
        let diverged = try CLIRunner.run(["fit", "autoencoder", cleanData, "--output", model, "--learning-rate", "1e30",
                                        "--ensemble", "1"])
        #expect(diverged.status == 1)
        #expect(diverged.stderr.contains("diverged"), "\(diverged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: model))
    }
}
