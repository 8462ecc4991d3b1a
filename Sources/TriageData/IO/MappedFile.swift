#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The bytes of a regular file, memory-mapped read-only: the one bounded whole-file reader
/// (CSV input, model files, bundles, events, allowlists). The mapping is released when the
/// value is deallocated.
///
/// Only regular files are read. A FIFO, socket or device is refused by name before it is
/// opened for reading (a FIFO would block the open, `/dev/zero` would never end, `/dev/urandom`
/// would fill memory), and so is a file above `limit` bytes (a sparse 64 GiB file would be
/// copied into memory by the decoders). The file is opened with `O_NONBLOCK`, so that a path
/// swapped for a FIFO after the check cannot block the open, and checked again with `fstat` on
/// the open descriptor: what is mapped is what was checked.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeBufferPointer<UInt8>
    private let isMapped: Bool

    /// Maps `path`. `limit` (bytes) refuses larger files; `what` names the file's role in that
    /// message ("model file", "bundle manifest").
    public init(path: String, limit: Int? = nil, what: String = "input file") throws(DataError) {
        self.path = path
        switch FileNode.of(path) {
        case .missing: throw DataError(.notFound, file: path)
        case .none: throw DataError(.unreadable(String(cString: strerror(errno))), file: path)
        case .directory: throw DataError(.isDirectory, file: path)
        case .special(let kind, _, _)?: throw MappedFile.notRegular(path, kind: kind, what: what)
        case .regular(let size, _, _)?: try MappedFile.checkSize(size, limit: limit, path: path, what: what)
        }
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw DataError(.unreadable(String(cString: strerror(errno))), file: path) }
        defer { close(descriptor) }
        let size: Int
        switch FileNode.of(descriptor: descriptor) {
        case .regular(let s, _, _)?: size = s
        case .special(let kind, _, _)?: throw MappedFile.notRegular(path, kind: kind, what: what)
        case .directory?: throw DataError(.isDirectory, file: path)
        case .missing?, nil: throw DataError(.unreadable(String(cString: strerror(errno))), file: path)
        }
        try MappedFile.checkSize(size, limit: limit, path: path, what: what)
        if size == 0 {
            bytes = UnsafeBufferPointer(start: nil, count: 0)
            isMapped = false
            return
        }
        if let address = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, descriptor, 0), address != MAP_FAILED {
            _ = madvise(address, size, MADV_SEQUENTIAL | MADV_WILLNEED)
            bytes = UnsafeBufferPointer(start: address.assumingMemoryBound(to: UInt8.self), count: size)
            isMapped = true
            return
        }
        // mmap refused (some file systems): read at most the `size` bytes fstat reported.
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: size)
        var filled = 0
        while filled < size {
            let n = read(descriptor, buffer.baseAddress! + filled, size - filled)
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n < 0 {
                let reason = String(cString: strerror(errno))
                buffer.deallocate()
                throw DataError(.unreadable(reason), file: path)
            }
            if n == 0 { break } // shrank while reading: take what is there
            filled += n
        }
        bytes = UnsafeBufferPointer(start: buffer.baseAddress, count: filled)
        isMapped = false
    }

    /// Runs `body` over the bytes while the mapping is certainly alive (`bytes` read from a
    /// value that is not used afterwards may be unmapped as soon as it is read).
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws(DataError) -> R) throws(DataError) -> R {
        try withExtendedLifetime(self) { () throws(DataError) -> R in try body(bytes) }
    }

    /// The whole file as an array (bounded as `init`).
    public static func readAll(_ path: String, limit: Int, what: String) throws(DataError) -> [UInt8] {
        try MappedFile(path: path, limit: limit, what: what).withBytes { Array($0) }
    }

    static func notRegular(_ path: String, kind: String, what: String) -> DataError {
        DataError(.other("\(what) is \(kind), not a regular file"), file: path)
    }

    static func checkSize(_ size: Int, limit: Int?, path: String, what: String) throws(DataError) {
        guard let limit, size > limit else { return }
        throw DataError(.other("\(what) is \(size) bytes, above the limit of \(FileLimits.describe(limit))"), file: path)
    }

    deinit {
        guard let base = bytes.baseAddress else { return }
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        } else {
            UnsafeMutablePointer(mutating: base).deallocate()
        }
    }
}
