import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who may approve: one name per line, `#` starts a comment, blank lines ignored.
///
/// The workflow fails closed: without an allowlist file nobody can approve, so a queue copied to a
/// new machine cannot be drained by whoever runs the command.
public struct Approvers: Sendable, Equatable {
    public let path: String
    public let names: Set<String>

    public init(path: String, names: Set<String>) {
        self.path = path
        self.names = names
    }

    /// `approvers.txt` beside the database.
    public static func defaultPath(forDatabase database: String) -> String {
        guard let slash = database.lastIndex(of: "/") else { return "approvers.txt" }
        return String(database[...slash]) + "approvers.txt"
    }

    /// Largest allowlist read: 1 MiB is tens of thousands of names; the bound keeps a path to
    /// `/dev/zero` or a huge file from exhausting memory.
    public static let maximumBytes = 1 << 20

    /// Reads the allowlist at `path`; `EngineError.noAllowlist` when the file does not exist.
    /// It must be a regular file (a FIFO would block, a device never end) of at most 1 MiB.
    public static func load(_ path: String) throws(EngineError) -> Approvers {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw .noAllowlist(path: path) }
            throw .invalid("\(path): cannot read the approver allowlist: \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw .invalid("\(path): the approver allowlist must be a regular file")
        }
        guard info.st_size <= maximumBytes, let handle = FileHandle(forReadingAtPath: path) else {
            throw .invalid("\(path): " + (info.st_size > maximumBytes ? "the approver allowlist is larger than 1 MiB"
                                                                       : "cannot read the approver allowlist"))
        }
        defer { try? handle.close() }
        // At most one byte past the limit: a file that grew since the check is still refused.
        guard let data = try? handle.read(upToCount: maximumBytes + 1), data.count <= maximumBytes else {
            throw .invalid("\(path): cannot read the approver allowlist (or it is larger than 1 MiB)")
        }
        return Approvers(path: path, names: parse(String(decoding: data, as: UTF8.self)))
    }

    static func parse(_ text: String) -> Set<String> {
        var names = Set<String>()
        for line in text.split(whereSeparator: \.isNewline) {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let name = content.trimmingCharacters(in: " \t\r")
            if !name.isEmpty { names.insert(name) }
        }
        return names
    }

    public func check(_ name: String) throws(EngineError) {
        guard names.contains(name) else { throw .notAnApprover(name: name, allowlist: path) }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var view = self[...]
        while let first = view.first, set.contains(first) { view = view.dropFirst() }
        while let last = view.last, set.contains(last) { view = view.dropLast() }
        return String(view)
    }
}
