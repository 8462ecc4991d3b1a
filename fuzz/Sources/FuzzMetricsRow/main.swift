import FuzzSupport
import TriageData

// Fuzzes the line parser of `watch`: the input is a metrics file; its first line is the header
// and every further line a row, cut at `\n` with a trailing `\r` dropped, as LineFollower does.
// First byte: bit 0 long format (a `service` column), bit 1 exclude `label`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let control = input.byte()
    let bytes = input.rest
    var lines = [UnsafeBufferPointer<UInt8>]()
    var start = 0
    for i in 0...bytes.count where i == bytes.count || bytes[i] == 10 {
        var end = i
        if end > start && bytes[end - 1] == 13 { end -= 1 }
        lines.append(UnsafeBufferPointer(rebasing: bytes[start..<end]))
        start = i + 1
    }
    guard let header = lines.first else { return 0 }
    let parser: MetricsRowParser
    do {
        parser = try MetricsRowParser(file: "fuzz.csv", headerLine: header, lineNumber: 1, timeColumn: "timestamp",
                                      serviceColumn: control & 1 != 0 ? "service" : nil,
                                      excluded: control & 2 != 0 ? ["label"] : [])
    } catch {
        _ = error.description
        return 0
    }
    precondition(parser.header.indices.contains(parser.timeField))
    for (n, line) in lines.dropFirst().enumerated() {
        do {
            let row = try parser.parse(line, lineNumber: n + 2)
            precondition(row.values.count == parser.metricFields.count, "row has \(row.values.count) values")
            precondition(row.time.isFinite, "non-finite time \(row.time) from \(row.timestampText)")
        } catch {
            _ = error.description
        }
    }
    return 0
}

@_cdecl("FuzzMetricsRow_main")
public func harnessMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    return runFuzzer(argc, argv, fuzz)
}
