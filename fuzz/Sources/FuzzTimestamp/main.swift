import FuzzSupport
import TriageCore

// Fuzzes Timestamp: parsing arbitrary bytes must not trap, and whatever parses to a time in
// the supported range must print back (iso) to text that parses to the same second. The
// calendar conversion is also checked for round trips on days taken from the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let bytes = Array(input.bytes)
    if let seconds = Timestamp.seconds(bytes) {
        precondition(seconds.isFinite, "non-finite seconds \(seconds)")
        let whole = Int64(exactly: seconds.rounded(.down))
        if let whole, Timestamp.range.contains(whole) {
            let text = Timestamp.iso(whole)
            precondition(Timestamp.parse(text) == whole, "\(text) does not parse back to \(whole)")
            precondition(Timestamp.isoBytes(whole) == Array(text.utf8), "iso and isoBytes differ for \(whole)")
        }
    }
    _ = Timestamp.parse(String(decoding: bytes, as: UTF8.self))
    if bytes.count >= 8 {
        var raw: Int64 = 0
        for i in 0..<8 { raw = raw << 8 | Int64(bytes[i]) }
        // Days between years 0001 and 9999, the supported range.
        let days = Timestamp.range.lowerBound / 86_400 + Int64(UInt64(bitPattern: raw) % 3_652_059)
        let (y, m, d) = Timestamp.civil(fromDays: days)
        precondition(Timestamp.days(fromCivil: y, m, d) == days, "civil round trip failed for day \(days)")
        let seconds = days * 86_400 + Int64(UInt64(bitPattern: raw) % 86_400)
        if Timestamp.range.contains(seconds) {
            precondition(Timestamp.parse(Timestamp.iso(seconds)) == seconds, "iso round trip failed for \(seconds)")
        }
    }
    return 0
}

@_cdecl("FuzzTimestamp_main")
public func harnessMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    return runFuzzer(argc, argv, fuzz)
}
