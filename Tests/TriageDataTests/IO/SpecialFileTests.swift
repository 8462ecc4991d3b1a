import Foundation
import Testing
@testable import TriageData
#if canImport(Glibc)
import Glibc
#endif

/// A FIFO in a fresh folder, with its read end open (non-blocking), so that a writer's open
/// does not wait and what it writes can be read back without threads.
private final class OpenFIFO {
    let path: String
    let reader: Int32

    init() {
        path = temporaryFolder() + "/pipe"
        precondition(mkfifo(path, 0o600) == 0)
        reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        precondition(reader >= 0)
    }

    deinit { close(reader) }

    /// What the pipe holds now.
    func drain() -> String {
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    var isStillFIFO: Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO
    }
}

private func isCharacterDevice(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR
}

/// A sparse file of `size` bytes (no disk used).
private func sparseFile(_ path: String, size: Int) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0 && ftruncate(fd, off_t(size)) == 0)
    close(fd)
}

@Suite struct SpecialOutputTests {
    @Test func atomicWriteToAFIFOWritesInPlaceAndKeepsTheFIFO() throws {
        let fifo = OpenFIFO()
        try AtomicFile.validateDestination(fifo.path)
        try AtomicFile.write("a,b\n1,2\n", to: fifo.path)
        #expect(fifo.isStillFIFO)
        #expect(fifo.drain() == "a,b\n1,2\n")
        // No temporary file was left beside it.
        let folder = (fifo.path as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["pipe"])
    }

    @Test func streamingOutputsToAFIFOCommitInPlace() throws {
        for mode in [StreamingOutput.Mode.atomic, .live] {
            let fifo = OpenFIFO()
            let output = try StreamingOutput(path: fifo.path, mode: mode)
            try output.append("x\n")
            try output.commit()
            #expect(fifo.isStillFIFO)
            #expect(fifo.drain() == "x\n")
        }
    }

    @Test func devNullStaysACharacterDevice() throws {
        try AtomicFile.validateDestination("/dev/null")
        try AtomicFile.write("discarded\n", to: "/dev/null")
        #expect(isCharacterDevice("/dev/null"))
        let output = try StreamingOutput(path: "/dev/null", mode: .atomic)
        try output.append("discarded\n")
        try output.commit()
        #expect(isCharacterDevice("/dev/null"))
        let discarded = try StreamingOutput(path: "/dev/null", mode: .atomic)
        discarded.discard()
        #expect(isCharacterDevice("/dev/null"))
    }

    @Test func aFolderIsNotAnOutputAndNoFolderReplacesADevice() {
        let folder = temporaryFolder()
        let error = #expect(throws: DataError.self) { try AtomicFile.validateDestination(folder) }
        #expect(error?.message == "output path is an existing folder")
        let device = #expect(throws: DataError.self) { try AtomicFolder.validateDestination("/dev/null") }
        #expect(device?.message.contains("character device") == true)
    }
}

@Suite struct BoundedReadTests {
    @Test func aFIFOIsRefusedWithoutWaitingForAWriter() {
        let path = temporaryFolder() + "/pipe"
        #expect(mkfifo(path, 0o600) == 0)
        let error = #expect(throws: DataError.self) { _ = try MappedFile(path: path, what: "model file") }
        #expect(error?.description == "\(path): model file is a FIFO (named pipe), not a regular file")
    }

    @Test func devicesAreRefusedBeforeAnyRead() {
        for device in ["/dev/zero", "/dev/urandom", "/dev/null"] {
            let error = #expect(throws: DataError.self) { _ = try MappedFile(path: device) }
            #expect(error?.message == "input file is a character device, not a regular file")
        }
    }

    @Test func aFileAboveTheLimitIsRefusedBeforeItIsRead() {
        let path = temporaryFolder() + "/manifest.json"
        sparseFile(path, size: 64 << 30)
        let error = #expect(throws: DataError.self) {
            _ = try MappedFile(path: path, limit: FileLimits.metadataBytes, what: "bundle manifest")
        }
        #expect(error?.message == "bundle manifest is 68719476736 bytes, above the limit of 16 MiB")
    }

    @Test func aSparseModelFileIsRefusedBySize() {
        let path = temporaryFolder() + "/huge.model"
        sparseFile(path, size: 64 << 30)
        let error = #expect(throws: DataError.self) { _ = try ModelFile.readHeader(path) }
        #expect(error?.message.contains("above the limit of 2 GiB") == true)
    }

    @Test func aModelFileClaimingAHugePayloadIsAnErrorWithoutAllocating() throws {
        let path = temporaryFolder() + "/claims.model"
        let header = #"{"format_version":1,"kind":"iforest","payload_bytes":1000000000000,"payload_sha256":"00"}"#
        try ("TRIAGE-MODEL\n" + header + "\n{}").write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: DataError.self) { _ = try ModelFile.read([String: Int].self, kind: "iforest", from: path) }
        #expect(error?.message == "model file is truncated (2 of 1000000000000 payload bytes)")
        let negative = #"{"format_version":1,"kind":"iforest","payload_bytes":-5,"payload_sha256":"00"}"#
        try ("TRIAGE-MODEL\n" + negative + "\n{}").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: DataError.self) { _ = try ModelFile.read([String: Int].self, kind: "iforest", from: path) }
    }

    @Test func aModelHeaderWithoutNewlineIsNotScannedWhole() throws {
        let path = temporaryFolder() + "/noline.model"
        try ("TRIAGE-MODEL\n" + String(repeating: "{", count: 100_000)).write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: DataError.self) { _ = try ModelFile.readHeader(path) }
        #expect(error?.message == "model header is unreadable (longer than 4096 bytes)")
    }
}
