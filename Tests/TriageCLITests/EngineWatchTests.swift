import Foundation
import Testing
import TriageEngine

/// `watch --model BUNDLE --db DB`: the engine loop end to end through the CLI, on a simulation of
/// a seed the shipped bundle was not trained on.
@Suite struct EngineWatchTests {
    static func events(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    @Test func recommendationsReachTheQueueAndARestartResumes() throws {
        let folder = CLIRunner.folder()
        let bundle = CLIRunner.packageRoot + "/models/simulated"
        let sim = folder + "/sim"
        #expect(try CLIRunner.run(["simulate", "--output", sim, "--services", "2", "--days", "1", "--interval", "120",
                                   "--seed", "5"]).status == 0)
        let db = folder + "/triage.sqlite"
        let run = try CLIRunner.run(["watch", sim + "/metrics.csv", "--model", bundle, "--db", db,
                                     "--events", folder + "/events.jsonl", "--scores", folder + "/scores.csv", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let events = try Self.events(folder + "/events.jsonl")
        #expect(events.allSatisfy { $0["timestamp"] is String && $0["service"] is String && $0["type"] is String })
        let recommendations = events.filter { $0["type"] as? String == "recommendation" }
        #expect(!recommendations.isEmpty)
        for r in recommendations {
            #expect((r["id"] as? String)?.hasPrefix("rec-") == true && r["action"] is String && r["confidence"] is Double)
            #expect((r["reasons"] as? [String])?.isEmpty == false)
        }
        // Most injected faults get a recommendation while they last (or just after).
        let truth = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sim + "/truth.json"))) as! [String: Any]
        let faults = truth["faults"] as! [[String: String]]
        let iso = ISO8601DateFormatter()
        let matched = faults.filter { fault in
            let start = iso.date(from: fault["start"]!)!, end = iso.date(from: fault["end"]!)!.addingTimeInterval(1_200)
            return recommendations.contains { r in
                let created = iso.date(from: r["created"] as! String)!
                return r["service"] as? String == fault["service"] && created >= start && created <= end
            }
        }
        #expect(Double(matched.count) >= 0.8 * Double(faults.count), "\(matched.count) of \(faults.count) faults")
        let scores = try String(contentsOfFile: folder + "/scores.csv", encoding: .utf8).split(separator: "\n")
        #expect(scores[0] == "timestamp,anomaly_score,service,state" && scores.count == 1 + 2 * 720)

        let evaluated = try CLIRunner.run(["evaluate", "--events", folder + "/events.jsonl", "--truth", sim + "/truth.json", "--json"])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as! [String: Any]
        for key in ["recall", "precision", "action_accuracy", "median_delay_intervals", "p90_delay_intervals"] {
            #expect(report[key] is Double, "missing \(key)")
        }
        #expect(report["interval_seconds"] as? Int == 120 && (report["recall"] as! Double) >= 0.8)
        _ = CLIRunner.file("{\"type\":\"score\"}\nnot json\n", name: "bad.jsonl", in: folder)
        let bad = try CLIRunner.run(["evaluate", "--events", folder + "/bad.jsonl", "--truth", sim + "/truth.json"])
        #expect(bad.status == 1 && bad.stderr.hasPrefix("error: \(folder)/bad.jsonl:1"))
        #expect(try CLIRunner.run(["evaluate", "--events", folder + "/events.jsonl"]).status == 64)

        // The HTML report, from the events alone and with the queue's decisions.
        let page = folder + "/report.html"
        let reported = try CLIRunner.run(["report", "--events", folder + "/events.jsonl", "--db", db, "--output", page])
        #expect(reported.status == 0, "\(reported.stderr)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.hasPrefix("<!doctype html>") && html.contains("svc-01") && html.contains("svc-02") && !html.contains("<script"))
        #expect(html.contains(recommendations[0]["id"] as! String) && html.contains("class=\"pill pending\""))
        let eventsOnly = try CLIRunner.run(["report", "--events", folder + "/events.jsonl", "--output", folder + "/plain.html"])
        let plain = try String(contentsOfFile: folder + "/plain.html", encoding: .utf8)
        #expect(eventsOnly.status == 0 && plain.contains("not queued"))
        #expect(try CLIRunner.run(["report", "--events", folder + "/missing.jsonl", "--output", folder + "/x.html"]).status == 1)
        #expect(try CLIRunner.run(["report", "--events", folder + "/events.jsonl", "--output", folder + "/no/x.html"]).status == 1)

        let listed = try CLIRunner.run(["approvals", "list", "--db", db, "--json"])
        let pending = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as! [[String: Any]]
        #expect(pending.count == recommendations.count)

        // The same command again resumes after the last committed row: nothing new is raised.
        let again = try CLIRunner.run(["watch", sim + "/metrics.csv", "--model", bundle, "--db", db,
                                       "--events", folder + "/again.jsonl", "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(again.stderr.utf8)) as! [String: Any]
        #expect(summary["resumed"] as? Bool == true && summary["rows"] as? Int == 0 && summary["recommendations"] as? Int == 0)
        #expect(try String(contentsOfFile: folder + "/again.jsonl", encoding: .utf8).isEmpty)
    }

    /// --follow: rows appended later are scored, heartbeats come while waiting, SIGTERM stops
    /// with exit 0 and the position committed.
    @Test func followWritesHeartbeatsAndStopsCleanly() throws {
        let folder = CLIRunner.folder()
        let bundle = CLIRunner.packageRoot + "/models/simulated"
        let path = folder + "/m.csv"
        let header = "timestamp,service,cpu,memory,latency_p99_ms,error_rate,request_rate,replicas,heartbeat_age_s\n"
        func row(_ k: Int) -> String { "\(1_767_225_600 + 120 * k),svc-01,30,55,120,0.001,200,2,5\n" }
        try (header + (0..<5).map(row).joined()).write(toFile: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = CLIRunner.binary
        process.arguments = ["watch", path, "--model", bundle, "--db", folder + "/q.sqlite", "--events", folder + "/e.jsonl",
                             "--follow", "--poll-interval", "0.05", "--heartbeat", "1", "--quiet"]
        try process.run()
        usleep(600_000)
        let handle = FileHandle(forWritingAtPath: path)!
        handle.seekToEndOfFile()
        handle.write(Data((5..<8).map(row).joined().utf8))
        handle.closeFile()
        usleep(2_400_000)
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let events = try Self.events(folder + "/e.jsonl")
        #expect(events.filter { $0["type"] as? String == "score" }.count == 8)
        let beats = events.filter { $0["type"] as? String == "heartbeat" }
        #expect(!beats.isEmpty && beats.allSatisfy { $0["service"] as? String == "svc-01" && $0["last_row"] is String })
        let queue = try ApprovalQueue(path: folder + "/q.sqlite")
        #expect(try queue.readPosition(source: path)?.line == 9)
    }

    @Test func badUsageAndBadBundles() throws {
        let folder = CLIRunner.folder()
        let metrics = CLIRunner.file("timestamp,service,cpu\n2026-01-01T00:00:00Z,svc-01,1\n", name: "m.csv", in: folder)
        #expect(try CLIRunner.run(["watch", metrics, "--db", folder + "/q.sqlite"]).status == 64)
        #expect(try CLIRunner.run(["watch", metrics, "--model", folder, "--ttl", "soon"]).status == 64)
        let notABundle = try CLIRunner.run(["watch", metrics, "--model", folder])
        #expect(notABundle.status == 1 && notABundle.stderr.hasPrefix("error: "))
        let bundle = CLIRunner.packageRoot + "/models/simulated"
        let noService = CLIRunner.file("timestamp,cpu\n2026-01-01T00:00:00Z,1\n", name: "n.csv", in: folder)
        let missing = try CLIRunner.run(["watch", noService, "--model", bundle])
        #expect(missing.status == 1 && missing.stderr.contains("service"))
        let text = CLIRunner.file("timestamp,service,cpu,memory,latency_p99_ms,error_rate,request_rate,replicas,heartbeat_age_s\n"
                                  + "2026-01-01T00:00:00Z,svc-01,high,50,30,0,200,2,5\n", name: "t.csv", in: folder)
        let bad = try CLIRunner.run(["watch", text, "--model", bundle, "--db", folder + "/q.sqlite"])
        #expect(bad.status == 1 && bad.stderr.hasPrefix("error: \(text):2:3:"))
        let nowhere = try CLIRunner.run(["watch", metrics, "--model", bundle, "--db", folder + "/no/such/q.sqlite"])
        #expect(nowhere.status == 1)
    }
}

/// `triage demo`: one command leaves a queue of recommendations that the current user may approve.
@Test func demoLeavesRecommendationsTheUserCanApprove() throws {
    let folder = CLIRunner.folder() + "/demo"
    let demo = try CLIRunner.run(["demo", "--output", folder, "--services", "2", "--quiet"])
    #expect(demo.status == 0, "\(demo.stderr)")
    for file in ["history/metrics.csv", "bundle/manifest.json", "live/truth.json", "events.jsonl", "triage.sqlite", "approvers.txt"] {
        #expect(FileManager.default.fileExists(atPath: folder + "/" + file), "missing \(file)")
    }
    let user = try String(contentsOfFile: folder + "/approvers.txt", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    let listed = try CLIRunner.run(["approvals", "list", "--db", folder + "/triage.sqlite", "--json"])
    let pending = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as! [[String: Any]]
    let id = try #require(pending.first?["id"] as? String)
    #expect(demo.stdout.contains("triage approvals approve \(id) --by \(user)"))
    let approved = try CLIRunner.run(["approvals", "approve", id, "--by", user, "--db", folder + "/triage.sqlite"])
    #expect(approved.status == 0, "\(approved.stderr)")
    #expect(try CLIRunner.run(["demo", "--output", folder]).status == 1)
}
