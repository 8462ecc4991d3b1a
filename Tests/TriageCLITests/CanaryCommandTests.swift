import Foundation
import Testing

/// `triage canary`: exit codes a pipeline gates on, the JSON contract, bad input, the rollback.
@Suite("canary command")
struct CanaryCommandTests {
    /// One hour at one minute of a service with seeded noise; `latency` and `errors` scale and
    /// shift the canary's signals.
    static func metrics(seed: UInt64, rows: Int = 60, latency: Double = 1, errors: Double = 0, cpu: Double = 1,
                        nanAt: Int? = nil) -> String {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func uniform() -> Double { // xorshift: deterministic, independent of the library under test
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Double(state >> 11) / Double(1 << 53)
        }
        var text = "timestamp,service,cpu,memory,latency_p99_ms,error_rate,request_rate,replicas,heartbeat_age_s\n"
        for i in 0..<rows {
            let p99 = i == nanAt ? "NaN" : String(format: "%.1f", 80 * (0.9 + 0.2 * uniform()) * latency)
            text += String(format: "2026-01-05T10:%02d:00Z,svc-01,%.1f,%.1f,%@,%.4f,%.1f,3,%.1f\n", i,
                           45 * (0.95 + 0.1 * uniform()) * cpu, 50 + uniform(), p99, 0.003 * (0.8 + 0.4 * uniform()) + errors,
                           200 * (0.97 + 0.06 * uniform()), 15 * uniform())
        }
        return text
    }

    static func pair(_ canary: String, baseline: String = metrics(seed: 1)) -> (folder: String, base: String, canary: String) {
        let folder = CLIRunner.folder()
        return (folder, CLIRunner.file(baseline, name: "base.csv", in: folder), CLIRunner.file(canary, name: "canary.csv", in: folder))
    }

    @Test func cleanCanaryPassesWithExitZeroAndTheContractedJSON() throws {
        let files = Self.pair(Self.metrics(seed: 2))
        let result = try CLIRunner.run(["canary", "--baseline", files.base, "--canary", files.canary, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(Set(json.keys) == ["score", "verdict", "metrics"])
        #expect(json["score"] as? Double == 100 && json["verdict"] as? String == "pass")
        let metrics = try #require(json["metrics"] as? [[String: Any]])
        // Every metric but replicas, in file order.
        #expect(metrics.map { $0["name"] as? String } == ["cpu", "memory", "latency_p99_ms", "error_rate", "request_rate", "heartbeat_age_s"])
        for m in metrics {
            #expect(Set(m.keys) == ["name", "baseline_median", "canary_median", "effect", "p_value", "classification", "critical"])
            #expect(m["critical"] as? Bool == ["latency_p99_ms", "error_rate"].contains(m["name"] as? String ?? ""))
        }
        let text = try CLIRunner.run(["canary", "--baseline", files.base, "--canary", files.canary])
        #expect(text.status == 0 && text.stdout.contains("latency_p99_ms") && text.stdout.contains("score 100.0"))
    }

    @Test func regressionsFailWithExitThreeAndMarginalGivesTwo() throws {
        let slow = Self.pair(Self.metrics(seed: 3, latency: 1.3))
        let two = ["--metrics", "error_rate,latency_p99_ms"]
        let failed = try CLIRunner.run(["canary", "--baseline", slow.base, "--canary", slow.canary, "--json"] + two)
        #expect(failed.status == 3, "\(failed.stderr)")
        #expect(failed.stdout.contains("\"verdict\":\"fail\"") && failed.stdout.contains("\"classification\":\"high\""))
        #expect(failed.stderr.isEmpty)
        // Six metrics, one failing: 83.3. A critical one (p99) fails the canary whatever the score …
        let critical = try CLIRunner.run(["canary", "--baseline", slow.base, "--canary", slow.canary])
        #expect(critical.status == 3 && critical.stdout.contains("score 83.3 (5 of 6 metrics pass): fail; critical metric latency_p99_ms failed"),
                "\(critical.stdout)")
        // … a non-critical one (CPU 30 % up for the same traffic) leaves it marginal.
        let hungry = Self.pair(Self.metrics(seed: 3, cpu: 1.3))
        let marginal = try CLIRunner.run(["canary", "--baseline", hungry.base, "--canary", hungry.canary])
        #expect(marginal.status == 2 && marginal.stdout.contains("score 83.3 (5 of 6 metrics pass): marginal"), "\(marginal.stdout)")
        let errors = Self.pair(Self.metrics(seed: 4, errors: 0.03))
        #expect(try CLIRunner.run(["canary", "--baseline", errors.base, "--canary", errors.canary] + two).status == 3)
        // A large enough --min-effect lets the slower canary through.
        #expect(try CLIRunner.run(["canary", "--baseline", slow.base, "--canary", slow.canary, "--min-effect", "0.5"] + two).status == 0)
    }

    @Test func badInputIsALocatedErrorWithExitOneAndNoVerdict() throws {
        let short = Self.pair(Self.metrics(seed: 5, rows: 12))
        let few = try CLIRunner.run(["canary", "--baseline", short.base, "--canary", short.canary])
        #expect(few.status == 1 && few.stdout.isEmpty)
        #expect(few.stderr.hasPrefix("error: \(short.canary): 12 data rows"))

        let gap = Self.pair(Self.metrics(seed: 6, nanAt: 9))
        let nan = try CLIRunner.run(["canary", "--baseline", gap.base, "--canary", gap.canary])
        #expect(nan.status == 1 && nan.stdout.isEmpty)
        #expect(nan.stderr.hasPrefix("error: \(gap.canary):11:5: missing value in metric 'latency_p99_ms'"))

        let other = Self.pair(Self.metrics(seed: 7).replacingOccurrences(of: "heartbeat_age_s", with: "queue_depth"))
        let columns = try CLIRunner.run(["canary", "--baseline", other.base, "--canary", other.canary])
        #expect(columns.status == 1 && columns.stderr.hasPrefix("error: \(other.base):1:9: metric column 'heartbeat_age_s' is not in the canary file"))

        let files = Self.pair(Self.metrics(seed: 8))
        let unknown = try CLIRunner.run(["canary", "--baseline", files.base, "--canary", files.canary, "--metrics", "latency"])
        #expect(unknown.status == 1 && unknown.stderr.contains("requested metric 'latency'"))
        let missing = try CLIRunner.run(["canary", "--baseline", files.base, "--canary", files.folder + "/none.csv"])
        #expect(missing.status == 1 && missing.stderr.hasPrefix("error: \(files.folder)/none.csv"))
    }

    @Test func constantMetricsPass() throws {
        var text = "timestamp,error_rate,replicas\n"
        for i in 0..<30 { text += "\(1_767_600_000 + 60 * i),0,3\n" }
        let files = Self.pair(text, baseline: text)
        let result = try CLIRunner.run(["canary", "--baseline", files.base, "--canary", files.canary, "--metrics", "error_rate,replicas", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"p_value\":1") && !result.stdout.contains("null"))
    }

    @Test func wrongUsageExitsSixtyFour() throws {
        let files = Self.pair(Self.metrics(seed: 9))
        for extra in [["--confidence", "1"], ["--confidence", "0"], ["--min-effect", "-1"], ["--db", files.folder + "/q.sqlite"],
                      ["--service", "svc-01"], ["--metrics", "cpu,,memory"]] {
            let result = try CLIRunner.run(["canary", "--baseline", files.base, "--canary", files.canary] + extra)
            #expect(result.status == 64, "\(extra): \(result.stderr)")
        }
        #expect(try CLIRunner.run(["canary", "--canary", files.canary]).status == 64)
    }

    @Test func failedCanaryRaisesOneRollbackIntoTheQueue() throws {
        let slow = Self.pair(Self.metrics(seed: 10, errors: 0.03))
        let db = slow.folder + "/queue.sqlite"
        let arguments = ["canary", "--baseline", slow.base, "--canary", slow.canary, "--metrics", "error_rate,latency_p99_ms",
                         "--db", db, "--service", "svc-01"]
        let failed = try CLIRunner.run(arguments)
        #expect(failed.status == 3, "\(failed.stderr)")
        #expect(failed.stderr.contains("raised: rec-000001 rollback for svc-01"))
        // The same files again: the same data time, so no second recommendation.
        let again = try CLIRunner.run(arguments)
        #expect(again.status == 3 && again.stderr.contains("already raised: rec-000001"))
        let listed = try CLIRunner.run(["approvals", "list", "--db", db, "--json"])
        let items = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(items.count == 1)
        #expect(items.first?["action"] as? String == "rollback" && items.first?["service"] as? String == "svc-01")
        #expect(items.first?["created"] as? String == "2026-01-05T10:59:00Z")
        let reasons = items.first?["reasons"] as? [String] ?? []
        #expect(reasons.contains { $0.hasPrefix("error_rate high") })
        // A passing canary raises nothing.
        let clean = Self.pair(Self.metrics(seed: 11))
        let passed = try CLIRunner.run(["canary", "--baseline", clean.base, "--canary", clean.canary, "--db", db, "--service", "svc-02"])
        #expect(passed.status == 0)
        let after = try CLIRunner.run(["approvals", "list", "--db", db, "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [Any])?.count == 1)
    }
}
