import Foundation
import Testing
@testable import TriageCore
@testable import TriageEngine
@testable import TriageRuntime

/// The inbox body a replica writes for one service's rows and the owner reads back.
@Suite struct InboxRowsCodecTests {
    static let width = ServiceMetric.allCases.count

    @Test func rowsComeBackBitForBitWithGapsAndInfinities() throws {
        var values = (0..<Self.width).map { Double($0) * 0.1 + 1e-17 }
        values[1] = .nan
        values[2] = .infinity
        values[3] = -.infinity
        values[4] = -0.0
        values[5] = 1.7976931348623157e308
        let rows = [MetricRow(service: "api", time: 1_767_225_600, values: values),
                    MetricRow(service: "api", time: -5, values: Array(repeating: 0.30000000000000004, count: Self.width))]
        let decoded = try InboxRowsCodec.decode(InboxRowsCodec.encode(rows), service: "api", entry: 7)
        #expect(decoded.count == 2 && decoded.map(\.time) == [1_767_225_600, -5] && decoded.allSatisfy { $0.service == "api" })
        for (a, b) in zip(rows, decoded) {
            #expect(a.values.map(\.bitPattern).enumerated().allSatisfy { k, bits in
                a.values[k].isNaN ? b.values[k].isNaN : bits == b.values[k].bitPattern })
        }
        #expect(try InboxRowsCodec.decode("", service: "api", entry: 1).isEmpty)
    }

    /// A body of another version or damaged names the entry and line; never a crash.
    @Test func aDamagedBodyIsAnErrorNamingEntryAndLine() {
        let good = "60" + String(repeating: ",1", count: Self.width) + "\n"
        for (body, fragment) in [(good + "120,1,2\n", "line 2: expected a time and"),
                                 ("x" + String(repeating: ",1", count: Self.width), "line 1: expected a time"),
                                 ("60,1,zz" + String(repeating: ",1", count: Self.width - 2), "line 1, value 2: not a number")] {
            #expect {
                _ = try InboxRowsCodec.decode(body, service: "api", entry: 3)
            } throws: { error in
                "\(error)".contains("inbox entry 3 of service api, \(fragment)")
            }
        }
    }
}
