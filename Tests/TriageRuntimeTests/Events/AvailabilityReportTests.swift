import Foundation
import Testing
import TriageCore
import TriageData
@testable import TriageRuntime

@Suite("Availability report of an incident log")
struct AvailabilityReportTests {
    static func write(_ text: String) -> String {
        let path = temporaryFolder() + "/incidents.csv"
        try! text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    static let header = "incident_id,service,start,end,fault,action,outcome,recovery_seconds\n"

    @Test func attemptsOfOneIncidentCountOnceFromDetectionToRecovery() throws {
        let path = Self.write(Self.header + """
            A-1,svc-01,2026-01-05T00:00:00Z,2026-01-05T00:05:00Z,hung_process,restart,failure,300
            A-2,svc-01,2026-01-05T00:05:00Z,2026-01-05T00:10:00Z,hung_process,failover,success,300
            B-1,svc-01,2026-01-05T01:10:00Z,2026-01-05T01:20:00Z,bad_deploy,rollback,success,600
            C-1,svc-02,2026-01-05T02:00:00Z,2026-01-05T02:01:00Z,slow_disk,failover,success,60

            """)
        let report = try AvailabilityReport.evaluate(incidents: path)
        guard case .array(let services)? = report.json["services"], services.count == 2,
              case .object(let first) = services[0], case .object(let second) = services[1] else {
            Issue.record("unexpected JSON \(report.render(json: true))")
            return
        }
        #expect(first["service"] == .string("svc-01") && first["incidents"] == .integer(2))
        #expect(first["mttr_s"] == .number(600))       // (600 + 600) / 2
        #expect(first["mtbf_s"] == .number(3_600))     // 00:10 → 01:10
        #expect(first["availability"] == .number(3_600.0 / 4_200))
        #expect(second["incidents"] == .integer(1) && second["mtbf_s"] == .null && second["availability"] == .null)
        #expect(report.render(json: false).contains("svc-01"))
    }

    @Test func badRowsAreLocatedAndEmptyLogsReportNothing() throws {
        let bad = Self.write(Self.header + "A-1,svc-01,2026-01-05T00:10:00Z,2026-01-05T00:05:00Z,x,restart,success,1\n")
        #expect {
            try AvailabilityReport.evaluate(incidents: bad)
        } throws: { error in
            let e = error as! DataError
            return e.location == "\(bad):2:4" && e.description.contains("before start")
        }
        let noService = Self.write(Self.header + "A-1,,2026-01-05T00:00:00Z,2026-01-05T00:05:00Z,x,restart,success,1\n")
        #expect(throws: DataError.self) { try AvailabilityReport.evaluate(incidents: noService) }
        let empty = try AvailabilityReport.evaluate(incidents: Self.write(Self.header))
        #expect(empty.json["services"] == .array([]))
        #expect(empty.render(json: false) == "no incidents")
    }
}
