#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a path names, as `stat(2)` (following symbolic links) sees it: the one place readers and
/// writers decide how a path may be used.
///
/// Why it matters: an atomic write renames a temporary file over its destination, which turns
/// `/dev/null` into a regular file when run as root; a whole-file read of `/dev/zero` or a FIFO
/// never ends. Readers of files Triage wrote (models, bundles, JSON) accept regular files only;
/// writers write non-regular destinations (devices, FIFOs, sockets) in place.
public enum FileNode: Equatable, Sendable {
    case missing
    case regular(size: Int, device: UInt64, inode: UInt64)
    case directory(device: UInt64, inode: UInt64)
    /// A character or block device, FIFO or socket.
    case special(kind: String, device: UInt64, inode: UInt64)

    /// Classifies `path`; nil (with `errno` set) when `stat` fails for another reason than a
    /// missing path (permissions, a loop of links, …).
    public static func of(_ path: String) -> FileNode? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return errno == ENOENT || errno == ENOTDIR ? .missing : nil
        }
        return FileNode(info)
    }

    /// Classifies an open descriptor.
    public static func of(descriptor: Int32) -> FileNode? {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        return FileNode(info)
    }

    init(_ info: stat) {
        let device = UInt64(info.st_dev), inode = UInt64(info.st_ino)
        switch info.st_mode & S_IFMT {
        case S_IFREG: self = .regular(size: Int(info.st_size), device: device, inode: inode)
        case S_IFDIR: self = .directory(device: device, inode: inode)
        default: self = .special(kind: FileNode.describe(info.st_mode), device: device, inode: inode)
        }
    }

    /// `(device, inode)` of an existing node.
    public var identity: (device: UInt64, inode: UInt64)? {
        switch self {
        case .missing: return nil
        case .regular(_, let d, let i), .directory(let d, let i), .special(_, let d, let i): return (d, i)
        }
    }

    public var isSpecial: Bool { if case .special = self { return true } else { return false } }

    /// "a character device", "a FIFO (named pipe)", …, for messages.
    public var description: String {
        switch self {
        case .missing: return "missing"
        case .regular: return "a regular file"
        case .directory: return "a folder"
        case .special(let kind, _, _): return kind
        }
    }

    static func describe(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }
}

/// Size limits of whole-file reads, so that a sparse 64 GiB file or a device cannot exhaust
/// memory: a file above its limit is refused before a byte is read (README "Files, devices
/// and limits").
public enum FileLimits {
    /// Model files (`triage fit`, bundle models, `watch --state`): the payload is decoded as JSON
    /// in memory, which needs several times the file size. The largest models the benchmarks
    /// write (a 100-tree forest on 1 M rows) stay well below this.
    public static let modelBytes = 2 << 30
    /// A bundle's `manifest.json`.
    public static let metadataBytes = 16 << 20
    /// An events file read back by `report` and `evaluate`, and a simulation's truth.json.
    public static let eventsBytes = 1 << 30
    /// An approver allowlist.
    public static let allowlistBytes = 1 << 20

    /// "16 MiB", "2 GiB", … for messages and README.
    public static func describe(_ bytes: Int) -> String {
        if bytes >= 1 << 30 && bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
