import Foundation
import Testing
@testable import TriageEngine
#if canImport(Glibc)
import Glibc
#endif

/// The outbox and the allowlist on devices and FIFOs (issue 14, defects 4 and 6).
@Suite struct OutboxFileTests {
    @Test func anOutboxOnADeviceIsWrittenNotSynced() throws {
        // fsync on /dev/null fails with EINVAL: the line was handed over all the same.
        try Outbox(path: "/dev/null").append("{\"id\":\"rec-000001\"}")
        var info = stat()
        #expect(lstat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
        #expect(!Outbox(path: "/dev/null").contains(idempotencyKey: "k"))
        // The lock is taken on the device itself: nothing is created in /dev.
        let locked = try Outbox(path: "/dev/null").withLock { () throws(EngineError) -> Bool in true }
        #expect(locked)
        #expect(!FileManager.default.fileExists(atPath: "/dev/null.lock"))
    }

    @Test func anAllowlistMustBeASmallRegularFile() throws {
        let folder = NSTemporaryDirectory() + "triage-outbox-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let fifo = folder + "/approvers.txt"
        #expect(mkfifo(fifo, 0o600) == 0)
        let error = #expect(throws: EngineError.self) { _ = try Approvers.load(fifo) }
        #expect("\(error!)".contains("approver allowlist is a FIFO (named pipe), not a regular file"))
        let zero = #expect(throws: EngineError.self) { _ = try Approvers.load("/dev/zero") }
        #expect("\(zero!)".contains("character device"))
    }
}
