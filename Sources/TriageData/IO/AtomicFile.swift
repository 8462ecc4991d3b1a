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
public enum AtomicFile {
    /// Checks before any work starts that `path` can be written: not an existing folder, and its
    /// folder exists.
    public static func validateDestination(_ path: String) throws(DataError) {
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            throw DataError(.invalidOutput("output path is an existing folder"), file: path)
        }
        let folder = folderOf(path)
        guard stat(folder, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw DataError(.invalidOutput("folder '\(folder)' does not exist"), file: path)
        }
    }

    /// Atomically replaces `path` with `data`.
    public static func write(_ data: some Collection<UInt8>, to path: String) throws(DataError) {
        let temporary = temporaryPath(for: path)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw DataError(.invalidOutput("cannot create temporary file: \(String(cString: strerror(errno)))"), file: path)
        }
        var failure: String?
        let contiguous = Array(data)
        contiguous.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += n
            }
        }
        if failure == nil && fsync(descriptor) != 0 { failure = String(cString: strerror(errno)) }
        close(descriptor)
        if failure == nil && rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw DataError(.invalidOutput("cannot write: \(failure)"), file: path)
        }
    }

    /// Atomically replaces `path` with the UTF-8 bytes of `text`.
    public static func write(_ text: String, to path: String) throws(DataError) {
        try write(Array(text.utf8), to: path)
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
