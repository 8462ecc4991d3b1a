import Foundation
import Testing
import TriageCore
@testable import TriageRuntime

/// The byte writers must reproduce `description`/`String(_:)`/`escape` exactly, and chunked
/// rendering must not depend on the thread count.
@Suite struct OutputTableRenderTests {
    @Test func bytesMatchStringFormatting() {
        var rng = RandomSource(seed: 9)
        var reals: [Double] = [0, -0.0, 0.5, 1, 5, 1e-5, 1e16, 1e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                               .nan, .infinity, -.infinity, 0.1 + 0.2, 123456789.125]
        for _ in 0..<2_000 { reals.append(rng.uniform() * pow(10, rng.uniform(-12, 12)) * (rng.uniform() < 0.5 ? -1 : 1)) }
        let integers = [0, 7, 10, -1, -10, 99, 100, 123_456, Int.max, Int.min]
        for v in reals {
            var bytes = [UInt8]()
            CSVBytes.appendReal(v, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == OutputTable.format(v))
        }
        for v in integers {
            var bytes = [UInt8]()
            CSVBytes.appendInteger(v, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == String(v))
        }
    }

    @Test func chunkedRenderingIsTheSameForAnyThreadCount() {
        let rows = 150_000 // three chunks
        var table = OutputTable()
        table.add("score", .real((0..<rows).map { Double($0) / 7 }))
        table.add("anomaly", .integer((0..<rows).map { $0 % 3 - 1 }))
        table.add("top_feature", .labels((0..<rows).map { $0 % 3 }, names: ["a", "b,c", "d\"e"]))
        let one = table.render(threads: 1)
        #expect(one == table.render(threads: 3))
        let text = String(decoding: one, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == rows + 2 && lines.last == "")
        #expect(lines[0] == "score,anomaly,top_feature")
        #expect(lines[1] == "0.0,-1,a")
        #expect(lines[2] == "\(1.0 / 7),0,\"b,c\"")
        #expect(lines[3] == "\(2.0 / 7),1,\"d\"\"e\"")
    }
}
