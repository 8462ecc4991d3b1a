import Foundation
import Testing
import TriageEngine

/// What `watch --model` accepts and refuses in a metrics file: every metric the bundle reads must
/// be a column, gaps in a row are accepted (they map to the baseline), NUL is refused.
@Suite struct EngineWatchInputTests {
    static let bundle = CLIRunner.packageRoot + "/models/simulated"

    static func simulation(in folder: String) throws -> [String] {
        let made = try CLIRunner.run(["simulate", "--output", folder + "/sim", "--services", "2", "--days", "1",
                                      "--interval", "120", "--seed", "5"])
        #expect(made.status == 0, "\(made.stderr)")
        return try String(contentsOfFile: folder + "/sim/metrics.csv", encoding: .utf8)
            .split(separator: "\n").map(String.init)
    }

    /// Without `memory` and `heartbeat_age_s` the features would be NaN in every row: refused at
    /// the header, naming both, before the queue or any output is created.
    @Test func aMissingMetricColumnIsNamedAtTheHeader() throws {
        let folder = CLIRunner.folder()
        let metrics = CLIRunner.file("timestamp,service,cpu,latency_p99_ms,error_rate,request_rate,replicas\n"
                                     + "2026-01-05T00:00:00Z,svc-01,31.7,35.1,0.0048,257.7,2\n", name: "m.csv", in: folder)
        for extra in [[], ["--follow"]] {
            let result = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--db", folder + "/q.sqlite",
                                            "--events", folder + "/e.jsonl", "--scores", folder + "/s.csv"] + extra)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("error: \(metrics):1: ") && result.stderr.contains("'memory', 'heartbeat_age_s'"),
                    "\(result.stderr)")
            for file in ["q.sqlite", "e.jsonl", "s.csv"] {
                #expect(!FileManager.default.fileExists(atPath: folder + "/" + file), "\(file) was created")
            }
        }
        let without = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--events", folder + "/e.jsonl"])
        #expect(without.status == 1 && without.stderr.contains("'heartbeat_age_s'"))
    }

    /// Gaps (empty values) in a metric: the features take the baseline and a symptom with no
    /// value in its window is unknown. The queue stores those recommendations (their symptoms
    /// used to fail to encode: `EncodingError.invalidValue: nan`), the engine state with the
    /// gaps is committed, and both read back.
    @Test func gapsInAMetricReachNeitherEncoderAsNaN() throws {
        let folder = CLIRunner.folder()
        var lines = try Self.simulation(in: folder)
        for i in 1..<lines.count {
            var fields = lines[i].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields[8] = ""  // heartbeat_age_s
            if i % 7 == 0 { fields[3] = "NaN" }  // memory, now and then
            lines[i] = fields.joined(separator: ",")
        }
        let metrics = CLIRunner.file(lines.joined(separator: "\n") + "\n", name: "m.csv", in: folder)
        let db = folder + "/q.sqlite"
        let run = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--db", db, "--events", folder + "/e.jsonl", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let queued = try ApprovalQueue(path: db).list(now: 0)
        #expect(!queued.isEmpty)
        #expect(queued.allSatisfy { $0.symptoms.features[5].isNaN })
        let shown = try CLIRunner.run(["approvals", "show", queued[0].id, "--db", db, "--json"])
        #expect(shown.status == 0, "\(shown.stderr)")
        let again = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--db", db, "--json"])
        #expect(again.status == 0 && again.stderr.contains("\"resumed\":true"), "\(again.stderr)")
    }

    @Test func aNULInAServiceNameIsALocatedError() throws {
        let folder = CLIRunner.folder()
        var lines = try Self.simulation(in: folder)
        lines[4] = lines[4].replacingOccurrences(of: "svc-0", with: "svc\u{0}-0")
        let metrics = CLIRunner.file(lines.joined(separator: "\n") + "\n", name: "m.csv", in: folder)
        let result = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--db", folder + "/q.sqlite",
                                        "--events", folder + "/e.jsonl"])
        #expect(result.status == 1 && result.stderr.hasPrefix("error: \(metrics):5:2: NUL byte in column 'service'"),
                "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/e.jsonl"))
    }

    /// A quoted field holding a line break (RFC 4180) in a column the engine does not read.
    @Test func aQuotedLineBreakIsOneRecord() throws {
        let folder = CLIRunner.folder()
        var lines = try Self.simulation(in: folder)
        lines[0] += ",note"
        let rows = lines.count - 1
        for i in 1..<lines.count { lines[i] += i == 10 ? ",\"first line\nsecond, \"\"quoted\"\" line\"" : ",ok" }
        // A service name with a line break: a service the bundle does not know, named escaped.
        lines.append(lines[1].replacingOccurrences(of: ",svc-01,", with: ",\"svc\n-01\u{1B}[2J\","))
        let metrics = CLIRunner.file(lines.joined(separator: "\n") + "\n", name: "m.csv", in: folder)
        let run = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--exclude", "note",
                                     "--scores", folder + "/s.csv", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let scores = try String(contentsOfFile: folder + "/s.csv", encoding: .utf8).split(separator: "\n")
        #expect(scores.count == 1 + rows)
        let warning = try #require(run.stderr.split(separator: "\n").first { $0.hasPrefix("warning:") })
        #expect(warning.hasSuffix("m.csv:1443: service \"svc\\n-01\\u001b[2J\" has no baseline in the bundle; its rows are not scored"),
                "\(warning)")
    }

    /// A bad scaling targets file is bad data: `error: FILE:LINE:COLUMN: …`, exit 1, and nothing
    /// created; a good one is used; an out-of-range incident limit is a usage error (64).
    @Test func aBadScalingTargetsFileIsALocatedErrorAndWritesNothing() throws {
        let folder = CLIRunner.folder()
        let metrics = CLIRunner.file(try Self.simulation(in: folder).joined(separator: "\n") + "\n", name: "m.csv", in: folder)
        let targets = CLIRunner.file("service,cpu,max_replicas\nsvc-01,60,8\nsvc-02,sixty,8\n", name: "targets.csv", in: folder)
        let bad = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--db", folder + "/q.sqlite",
                                     "--events", folder + "/e.jsonl", "--scaling-targets", targets])
        #expect(bad.status == 1, "\(bad.stderr)")
        #expect(bad.stderr.hasPrefix("error: \(targets):3:8: cpu target must be"), "\(bad.stderr)")
        for file in ["q.sqlite", "e.jsonl"] {
            #expect(!FileManager.default.fileExists(atPath: folder + "/" + file), "\(file) was created")
        }
        let good = CLIRunner.file("service,cpu,max_replicas\n*,60,8\n", name: "good.csv", in: folder)
        let run = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--db", folder + "/q.sqlite",
                                     "--events", folder + "/e.jsonl", "--scaling-targets", good, "--incident-limit", "45m"])
        #expect(run.status == 0, "\(run.stderr)")
        let limit = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--incident-limit", "10s"])
        #expect(limit.status == 64 && limit.stderr.contains("--incident-limit must be 1m–7d"), "\(limit.stderr)")
        let missing = try CLIRunner.run(["watch", metrics, "--model", Self.bundle, "--scaling-targets", folder + "/none.csv"])
        #expect(missing.status != 0 && missing.stderr.contains("none.csv"), "\(missing.stderr)")
    }
}
