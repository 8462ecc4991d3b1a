import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Creates a folder of files all at once: readers see no folder or the complete one.
///
/// The files are written into a hidden temporary folder beside the destination (same file
/// system), each flushed with `fsync`, and the folder is then renamed into place. On any error
/// the temporary folder is removed and nothing appears at the destination.
public enum AtomicFolder {
    /// Checks before any work starts that `path` can be created: nothing exists there yet, and
    /// its parent folder exists.
    public static func validateDestination(_ path: String) throws(DataError) {
        var info = stat()
        if lstat(path, &info) == 0 {
            // A folder is created by renaming; nothing that exists (a device included) is replaced.
            let what: String
            switch info.st_mode & S_IFMT {
            case S_IFDIR: what = "an existing folder"
            case S_IFREG, S_IFLNK: what = "an existing file"
            default: what = FileNode.describe(info.st_mode)
            }
            throw DataError(.invalidOutput("output path is \(what); give a new folder name"), file: path)
        }
        let parent = AtomicFile.folderOf(trimmed(path))
        guard stat(parent, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw DataError(.invalidOutput("folder '\(parent)' does not exist"), file: path)
        }
    }

    /// Creates folder `path` holding `files` (name → bytes; names must be plain file names).
    public static func write(_ files: [(name: String, bytes: [UInt8])], to path: String) throws(DataError) {
        try validateDestination(path)
        let target = trimmed(path)
        let temporary = AtomicFile.temporaryPath(for: target)
        guard mkdir(temporary, 0o755) == 0 else {
            throw DataError(.invalidOutput("cannot create temporary folder: \(String(cString: strerror(errno)))"), file: path)
        }
        do throws(DataError) {
            for file in files {
                precondition(!file.name.contains("/") && file.name != "." && file.name != "..", "plain file names only")
                try writeFlushed(file.bytes, to: temporary + "/" + file.name)
            }
            let descriptor = open(temporary, O_RDONLY | O_DIRECTORY)
            if descriptor >= 0 { fsync(descriptor); close(descriptor) }
            guard rename(temporary, target) == 0 else {
                throw DataError(.invalidOutput("cannot move folder into place: \(String(cString: strerror(errno)))"), file: path)
            }
        } catch {
            removeTree(temporary)
            throw error
        }
    }

    static func writeFlushed(_ bytes: [UInt8], to path: String) throws(DataError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw DataError(.invalidOutput("cannot create file: \(String(cString: strerror(errno)))"), file: path)
        }
        defer { close(descriptor) }
        var failure = bytes.withUnsafeBytes { AtomicFile.writeAll(descriptor, $0) }
        if failure == 0 && fsync(descriptor) != 0 { failure = errno }
        if failure != 0 { throw DataError(.invalidOutput("cannot write: \(String(cString: strerror(failure)))"), file: path) }
    }

    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `path` without trailing slashes (so `out/` names the folder `out`).
    static func trimmed(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        return String(p)
    }
}
