#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The bytes of a file, memory-mapped read-only (or read into memory when the file cannot be
/// mapped, e.g. a pipe). The mapping is released when the value is deallocated.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeBufferPointer<UInt8>
    private let isMapped: Bool

    public init(path: String) throws(DataError) {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw DataError(.notFound, file: path) }
            throw DataError(.unreadable(String(cString: strerror(errno))), file: path)
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw DataError(.isDirectory, file: path) }
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw DataError(.unreadable(String(cString: strerror(errno))), file: path) }
        defer { close(descriptor) }

        if (info.st_mode & S_IFMT) == S_IFREG {
            let size = Int(info.st_size)
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
        }
        // Not a regular file (pipe, device) or mmap refused: read it all.
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DataError(.unreadable(String(cString: strerror(errno))), file: path)
            }
            if n == 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, data.count))
        _ = buffer.initialize(from: data)
        bytes = UnsafeBufferPointer(start: buffer.baseAddress, count: data.count)
        isMapped = false
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
