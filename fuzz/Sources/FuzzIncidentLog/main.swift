import FuzzSupport
import TriageData

// Fuzzes the incident log reader (`train --incidents`): the input is the log, read against the
// services of datasets/simulated.
let services: Set<String> = Set((1...8).map { "svc-0\($0)" })

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let path = Scratch.write("incidents.csv", input.bytes)
    do {
        let records = try IncidentLogReader.read(path, services: services, metricsFile: "metrics.csv")
        for r in records { _ = "\(r)" }
    } catch {
        _ = error.description
    }
    return 0
}

@_cdecl("FuzzIncidentLog_main")
public func harnessMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    return runFuzzer(argc, argv, fuzz)
}
