import Foundation
import TriageData

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
    public static let maximumBytes = FileLimits.allowlistBytes

    /// Reads the allowlist at `path`; `EngineError.noAllowlist` when the file does not exist.
    /// It must be a regular file (a FIFO would block, a device never end) of at most 1 MiB.
    public static func load(_ path: String) throws(EngineError) -> Approvers {
        guard FileManager.default.fileExists(atPath: path) else { throw .noAllowlist(path: path) }
        // Bounded, regular files only: a FIFO or device here must not hang or fill memory.
        let text: String
        do {
            text = try MappedFile(path: path, limit: FileLimits.allowlistBytes, what: "approver allowlist")
                .withBytes { String(decoding: $0, as: UTF8.self) }
        } catch {
            throw .invalid(error.description)
        }
        return Approvers(path: path, names: parse(text))
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
