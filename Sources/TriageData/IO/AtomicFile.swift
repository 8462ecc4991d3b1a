#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes files so that readers see either the old content or the complete new content.
///
/// The bytes go to a temporary file in the destination's folder (same file system, so the final
/// `rename(2)` is atomic), are flushed with `fsync`, and only then renamed into place. On any
/// error the temporary file is removed and the destination is untouched.
///
/// A destination that exists and is not a regular file (a character or block device such as
/// `/dev/null`, a FIFO, a socket) is written in place instead: renaming over it would replace
/// the device node with a regular file (as root) or fail (as anyone else). It is opened
/// without `O_CREAT`/`O_TRUNC`, and a FIFO's open waits for its reader, as `cat > FIFO` does.
public enum AtomicFile {
    /// Checks before any work starts that `path` can be written: not an existing folder, and its
    /// folder exists (a device or FIFO is written in place and needs neither).
    public static func validateDestination(_ path: String) throws(DataError) {
        switch FileNode.of(path) {
        case .directory?:
            throw DataError(.invalidOutput("output path is an existing folder"), file: path)
        case .special?:
            return
        case nil:
            throw DataError(.invalidOutput("cannot use output path: \(String(cString: strerror(errno)))"), file: path)
        case .regular?, .missing?:
            let folder = folderOf(path)
            guard case .directory? = FileNode.of(folder) else {
                throw DataError(.invalidOutput("folder '\(folder)' does not exist"), file: path)
            }
        }
    }

    /// Atomically replaces `path` with `data` (a device or FIFO: writes to it in place).
    public static func write(_ data: some Collection<UInt8>, to path: String) throws(DataError) {
        let contiguous = Array(data)
        if FileNode.of(path)?.isSpecial == true, try writeInPlace(contiguous, to: path) { return }
        let temporary = temporaryPath(for: path)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw DataError(.invalidOutput("cannot create temporary file: \(String(cString: strerror(errno)))"), file: path)
        }
        var failure = contiguous.withUnsafeBytes { writeAll(descriptor, $0) }
        if failure == 0 && fsync(descriptor) != 0 { failure = errno }
        close(descriptor)
        if failure == 0 && rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw DataError(.invalidOutput("cannot write: \(String(cString: strerror(failure)))"), file: path)
        }
    }

    /// Atomically replaces `path` with the UTF-8 bytes of `text`.
    public static func write(_ text: String, to path: String) throws(DataError) {
        try write(Array(text.utf8), to: path)
    }

    /// Writes `bytes` to the existing non-regular file at `path` in place. Returns false when the
    /// opened file turns out to be a regular file after all (the path was replaced since it
    /// was checked): the caller then writes it atomically.
    static func writeInPlace(_ bytes: [UInt8], to path: String) throws(DataError) -> Bool {
        guard let descriptor = try openInPlace(path) else { return false }
        defer { close(descriptor) }
        let failure = bytes.withUnsafeBytes { writeAll(descriptor, $0) }
        if failure != 0 {
            throw DataError(.invalidOutput("cannot write: \(String(cString: strerror(failure)))"), file: path)
        }
        return true
    }

    /// Opens an existing device, FIFO or socket for writing, without creating or truncating;
    /// nil when the path now names a regular file (or nothing).
    static func openInPlace(_ path: String) throws(DataError) -> Int32? {
        // No retry on EINTR: a stop signal must end a wait for a FIFO's reader.
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw DataError(.invalidOutput("cannot open for writing: \(String(cString: strerror(errno)))"), file: path)
        }
        guard FileNode.of(descriptor: descriptor)?.isSpecial == true else {
            close(descriptor)
            return nil
        }
        return descriptor
    }

    /// Writes every byte of `raw` to `descriptor`, retrying after signals; 0 or the `errno`.
    public static func writeAll(_ descriptor: Int32, _ raw: UnsafeRawBufferPointer) -> Int32 {
        var offset = 0
        while offset < raw.count {
            let n = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return 0
    }

    static func folderOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = String(path[..<slash])
        return folder.isEmpty ? "/" : folder
    }

    static func temporaryPath(for path: String) -> String {
        let folder = folderOf(path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        var random = SystemRandomNumberGenerator()
        return "\(folder)/.\(name).tmp-\(getpid())-\(String(random.next() & 0xFFFF_FFFF, radix: 16))"
    }
}
