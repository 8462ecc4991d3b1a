import Foundation
import Testing
import TriageCore
import TriageData
@testable import TriageRuntime

/// Reading the two files of a canary analysis: every bad input is a located `DataError`.
@Suite("Canary input files")
struct CanaryInputTests {
    /// A metrics file with `rows` rows of `columns` (name → value of row i).
    static func file(_ folder: String, _ name: String, rows: Int, columns: [(String, (Int) -> String)]) -> String {
        var text = "timestamp," + columns.map(\.0).joined(separator: ",") + "\n"
        for i in 0..<rows {
            text += "2026-01-05T10:\(String(format: "%02d", i % 60)):00Z," + columns.map { $0.1(i) }.joined(separator: ",") + "\n"
        }
        let path = folder + "/" + name
        try! text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    static var standard: [(String, (Int) -> String)] {
        [("cpu", { "\(40 + $0 % 7)" }), ("latency_p99_ms", { "\(80 + $0 % 11)" }),
         ("error_rate", { "0.00\($0 % 5)" }), ("replicas", { _ in "3" })]
    }

    @Test func readsSharedMetricsLeavingReplicasOutByDefault() throws {
        let folder = temporaryFolder()
        let base = Self.file(folder, "base.csv", rows: 30, columns: Self.standard)
        let canary = Self.file(folder, "canary.csv", rows: 25, columns: Self.standard)
        let input = try CanaryInput.read(baseline: base, canary: canary, metrics: nil, minimumRows: 20)
        #expect(input.names == ["cpu", "latency_p99_ms", "error_rate"])
        #expect(input.baseline["cpu"]?.count == 30 && input.canary["cpu"]?.count == 25)
        #expect(input.lastCanaryTime == Timestamp.parse("2026-01-05T10:24:00Z"))
        let chosen = try CanaryInput.read(baseline: base, canary: canary, metrics: ["replicas", "cpu"], minimumRows: 20)
        #expect(chosen.names == ["replicas", "cpu"])
    }

    @Test func differentMetricColumnsAreRefusedNamingTheColumn() throws {
        let folder = temporaryFolder()
        let base = Self.file(folder, "base.csv", rows: 30, columns: Self.standard)
        let canary = Self.file(folder, "canary.csv", rows: 30, columns: Array(Self.standard.prefix(2)) + [("memory", { _ in "40" })])
        #expect {
            try CanaryInput.read(baseline: base, canary: canary, metrics: nil, minimumRows: 20)
        } throws: { error in
            let e = error as! DataError
            return e.file == base && e.line == 1 && e.column == 4 && e.columnName == "error_rate"
                && e.description.contains("only in the canary: memory")
        }
    }

    @Test func tooFewRowsIsAClearError() {
        let folder = temporaryFolder()
        let base = Self.file(folder, "base.csv", rows: 30, columns: Self.standard)
        let canary = Self.file(folder, "canary.csv", rows: 19, columns: Self.standard)
        #expect {
            try CanaryInput.read(baseline: base, canary: canary, metrics: nil, minimumRows: 20)
        } throws: { error in
            let e = error as! DataError
            return e.file == canary && e.description.contains("19 data rows") && e.description.contains("at least 20")
        }
    }

    @Test func missingAndInfiniteValuesAreLocated() {
        let folder = temporaryFolder()
        let base = Self.file(folder, "base.csv", rows: 30, columns: Self.standard)
        for (bad, expected) in [("NaN", "missing value"), ("", "missing value"), ("inf", "infinite value")] {
            let canary = Self.file(folder, "canary.csv", rows: 30, columns: [
                ("cpu", { "\(40 + $0 % 7)" }), ("latency_p99_ms", { $0 == 6 ? bad : "80" }),
                ("error_rate", { _ in "0.001" }), ("replicas", { _ in "3" })])
            #expect {
                try CanaryInput.read(baseline: base, canary: canary, metrics: nil, minimumRows: 20)
            } throws: { error in
                let e = error as! DataError
                // Row 6 is physical line 8 (header = 1); latency is field 3.
                return e.location == "\(canary):8:3" && e.description.contains(expected) && e.columnName == "latency_p99_ms"
            }
        }
    }

    @Test func unknownRequestedMetricAndMissingFileAreErrors() {
        let folder = temporaryFolder()
        let base = Self.file(folder, "base.csv", rows: 30, columns: Self.standard)
        #expect {
            try CanaryInput.read(baseline: base, canary: base, metrics: ["cpu", "latency"], minimumRows: 20)
        } throws: { error in
            let e = error as! DataError
            return e.description.contains("requested metric 'latency'") && !e.description.contains("--")
        }
        #expect(throws: DataError.self) {
            try CanaryInput.read(baseline: base, canary: base, metrics: ["cpu", "cpu"], minimumRows: 20)
        }
        #expect {
            try CanaryInput.read(baseline: base, canary: folder + "/absent.csv", metrics: nil, minimumRows: 20)
        } throws: { error in (error as! DataError).kind == .notFound }
    }

    @Test func aFileOfSeveralServicesIsRefused() throws {
        let folder = temporaryFolder()
        let base = Self.file(folder, "base.csv", rows: 30, columns: [("service", { $0 < 20 ? "svc-01" : "svc-02" })] + Self.standard)
        let single = Self.file(folder, "canary.csv", rows: 30, columns: [("service", { _ in "svc-01" })] + Self.standard)
        #expect {
            try CanaryInput.read(baseline: base, canary: single, metrics: nil, minimumRows: 20)
        } throws: { error in
            let e = error as! DataError
            return e.location == "\(base):22:2" && e.description.contains("more than one service")
        }
        // One service a side reads, the service column is no metric.
        #expect(try CanaryInput.read(baseline: single, canary: single, metrics: nil, minimumRows: 20).names
                == ["cpu", "latency_p99_ms", "error_rate"])
    }

    @Test func textInAMetricColumnIsLocated() {
        let folder = temporaryFolder()
        let base = Self.file(folder, "base.csv", rows: 30, columns: Self.standard)
        let canary = Self.file(folder, "canary.csv", rows: 30, columns: [
            ("cpu", { $0 == 2 ? "high" : "40" }), ("latency_p99_ms", { _ in "80" }),
            ("error_rate", { _ in "0.001" }), ("replicas", { _ in "3" })])
        #expect {
            try CanaryInput.read(baseline: base, canary: canary, metrics: nil, minimumRows: 20)
        } throws: { error in (error as! DataError).location == "\(canary):4:2" }
    }
}
