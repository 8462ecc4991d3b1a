#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A buffered output for results that arrive row by row.
///
/// - `.atomic`: bytes go to a temporary file beside `path`, renamed into place by `commit()`
///   (the CLI contract's "nothing half-written"); `discard()` removes it, leaving `path` untouched.
/// - `.live`: bytes go straight to `path` (created or truncated), flushed on `flush()`, for
///   outputs that a follower of a never-ending stream must see as they grow.
/// - `.standardOutput`: bytes go to file descriptor 1.
///
/// Whatever the mode, an existing destination that is not a regular file (`/dev/null`, a FIFO,
/// a socket) is written in place, never created, truncated or renamed over (see `AtomicFile`).
public final class StreamingOutput {
    public enum Mode: Sendable { case atomic, live, standardOutput }

    public let path: String
    let mode: Mode
    let temporary: String?
    /// The destination is a device, FIFO or socket written in place: no fsync, no rename.
    let inPlace: Bool
    var descriptor: Int32
    /// Unchecked exclusivity: the buffer is only touched by the owner's thread (the class is
    /// not Sendable), and the runtime check (swift_beginAccess on every append) cost 2.9 % of
    /// `watch` under checked `-O` (callgrind, 30 000 rows: 18.7 M of 653 M instructions;
    /// BENCHMARKS.md, "Checked release builds").
    @exclusivity(unchecked) var pending: [UInt8] = []

    public init(path: String?, mode: Mode) throws(DataError) {
        guard let path, mode != .standardOutput else {
            self.path = "<stdout>"
            self.mode = .standardOutput
            temporary = nil
            inPlace = false
            descriptor = 1
            pending.reserveCapacity(1 << 16)
            return
        }
        self.path = path
        self.mode = mode
        try AtomicFile.validateDestination(path)
        if FileNode.of(path)?.isSpecial == true, let special = try AtomicFile.openInPlace(path) {
            temporary = nil
            inPlace = true
            descriptor = special
            pending.reserveCapacity(1 << 16)
            return
        }
        inPlace = false
        let target = mode == .atomic ? AtomicFile.temporaryPath(for: path) : path
        temporary = mode == .atomic ? target : nil
        descriptor = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (mode == .atomic ? O_EXCL : 0), 0o644)
        guard descriptor >= 0 else {
            throw DataError(.invalidOutput("cannot create: \(String(cString: strerror(errno)))"), file: path)
        }
        pending.reserveCapacity(1 << 16)
    }

    deinit {
        if mode != .standardOutput && descriptor >= 0 { close(descriptor) }
        if let temporary, descriptor >= 0 { unlink(temporary) }
    }

    /// Appends bytes, writing them out once 64 KiB are pending.
    @inline(__always)
    public func append(_ bytes: some Sequence<UInt8>) throws(DataError) {
        pending.append(contentsOf: bytes)
        if pending.count >= 1 << 16 { try flush() }
    }

    /// Appends bytes from a buffer: the generic `append(_:)` is not specialised across modules,
    /// and copied a line element by element through its iterator (~970 instructions for a
    /// scores line of `triage watch`).
    public func append(bytes: UnsafeBufferPointer<UInt8>) throws(DataError) {
        pending.append(contentsOf: bytes)
        if pending.count >= 1 << 16 { try flush() }
    }

    public func append(_ text: String) throws(DataError) {
        var text = text
        text.withUTF8 { pending.append(contentsOf: $0) }
        if pending.count >= 1 << 16 { try flush() }
    }

    /// Writes out every pending byte.
    public func flush() throws(DataError) {
        guard !pending.isEmpty else { return }
        let failure = pending.withUnsafeBytes { AtomicFile.writeAll(descriptor, $0) }
        pending.removeAll(keepingCapacity: true)
        if failure != 0 {
            throw DataError(.invalidOutput("cannot write: \(String(cString: strerror(failure)))"), file: path)
        }
    }

    /// Flushes, syncs and (atomic mode) renames the file into place.
    public func commit() throws(DataError) {
        try flush()
        guard mode != .standardOutput, descriptor >= 0 else { return }
        if !inPlace && fsync(descriptor) != 0 && mode == .atomic {
            throw DataError(.invalidOutput("cannot write: \(String(cString: strerror(errno)))"), file: path)
        }
        close(descriptor)
        descriptor = -1
        if let temporary, rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw DataError(.invalidOutput("cannot write: \(reason)"), file: path)
        }
    }

    /// Writes out every pending byte and forces the file's bytes to stable storage, so that a
    /// checkpoint taken after it (a read position) never covers output a crash could lose. A
    /// device or pipe that cannot be synced (EINVAL, ENOTSUP) only gets the write.
    public func sync() throws(DataError) {
        try flush()
        guard mode != .standardOutput, descriptor >= 0 else { return }
        if fsync(descriptor) != 0 && errno != EINVAL && errno != ENOTSUP && errno != EROFS {
            throw DataError(.invalidOutput("cannot write: \(String(cString: strerror(errno)))"), file: path)
        }
    }

    /// Drops the output: an atomic output leaves no file behind.
    public func discard() {
        pending.removeAll()
        guard mode != .standardOutput, descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        if let temporary { unlink(temporary) }
    }
}
