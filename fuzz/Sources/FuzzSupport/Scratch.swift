#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files the harnesses hand to readers that take a path. They live in /dev/shm (memory, so a
/// run of millions of inputs does not wear a disk) in a folder per process, so two harnesses or
/// libFuzzer workers never share a file.
public enum Scratch {
    /// The folder of this process, created on first use.
    public static let folder: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        let path = "\(base)/triage-fuzz-\(getpid())"
        mkdir(path, 0o700)
        return path
    }()

    /// Writes `bytes` to `name` inside the folder (replacing it) and returns its path.
    @discardableResult
    public static func write(_ name: String, _ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let path = folder + "/" + name
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { fatalError("harness cannot create \(path): errno \(errno)") }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            guard n > 0 else { fatalError("harness cannot write \(path): errno \(errno)") }
            done += n
        }
        close(fd)
        return path
    }

    @discardableResult
    public static func write(_ name: String, _ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { write(name, $0) }
    }

    /// Removes `name` (and SQLite's -wal/-shm/-journal companions of it).
    public static func remove(_ name: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(folder + "/" + name + suffix) }
    }

    /// The repository root (seed files such as models/simulated live there): $TRIAGE_REPO, or
    /// two folders above this source file's package.
    public static let repository: String = {
        if let env = getenv("TRIAGE_REPO") { return String(cString: env) }
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        // …/fuzz/Sources/FuzzSupport/Scratch.swift → …
        parts.removeLast(4)
        return parts.joined(separator: "/")
    }()

    /// Reads a whole (small, trusted) file of the repository.
    public static func readRepositoryFile(_ relative: String) -> [UInt8] {
        readFile(repository + "/" + relative)
    }

    /// Reads a whole (small, trusted) file.
    public static func readFile(_ path: String) -> [UInt8] {
        guard let f = fopen(path, "rb") else { fatalError("harness cannot open \(path) (set TRIAGE_REPO)") }
        defer { fclose(f) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}

/// Reads fuzz bytes as a stream of small choices (thread count, mode …) followed by the rest.
public struct FuzzInput {
    public let bytes: UnsafeBufferPointer<UInt8>
    public private(set) var position = 0

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = UnsafeBufferPointer(start: data, count: data == nil ? 0 : size)
    }

    /// The next byte, or 0 when the input is used up.
    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// Everything not yet consumed.
    public var rest: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[min(position, bytes.count)...])
    }
}
