import FuzzSupport
import TriageEngine

// Fuzzes the approval queue opened from a file (`approvals list --db FILE`): the input is the
// database file. Opening must refuse what is not a Triage queue and never trap on a damaged
// one; an opened queue is listed, shown, its policy and read position read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    Scratch.remove("queue.sqlite")
    Scratch.write("queue.sqlite", input.bytes)
    defer { Scratch.remove("queue.sqlite") }
    do {
        let queue = try ApprovalQueue(path: Scratch.folder + "/queue.sqlite")
        let all = try queue.list(now: 1_767_225_600)
        for r in all.prefix(4) { _ = try? queue.recommendation(r.id, now: 1_767_225_600) }
        _ = try queue.policy()
        _ = try queue.readPosition(source: "metrics.csv")
        _ = try queue.expireOverdue(now: 1_767_225_600)
    } catch {
        _ = "\(error)"
    }
    return 0
}

@_cdecl("FuzzApprovals_main")
public func harnessMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    return runFuzzer(argc, argv, fuzz)
}
