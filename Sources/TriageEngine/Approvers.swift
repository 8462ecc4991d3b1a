import Foundation
import TriageData

/// Who may approve, and from which OS accounts on the command line.
///
/// One entry per line; `#` starts a comment, blank lines are ignored:
/// - `NAME` makes NAME an approver; on the command line only the OS account NAME may act as NAME.
/// - `NAME: ACCOUNT ACCOUNT …` (accounts separated by whitespace or commas) makes NAME an
///   approver and lets those OS accounts act as NAME on the command line (a team name such as
///   `oncall: alice bob`, or a person whose login differs from their approver name).
///
/// An OS account whose name is itself an approver name may always act as that name: the account
/// is the approver. Over HTTP the approver is the token's name and only needs to be listed.
///
/// The workflow fails closed: without an allowlist file nobody can approve, so a queue copied to a
/// new machine cannot be drained by whoever runs the command.
public struct Approvers: Sendable, Equatable {
    public let path: String
    public let names: Set<String>
    /// For each approver name given as `NAME: ACCOUNT …`, the OS accounts that may act as it.
    public let accounts: [String: Set<String>]

    public init(path: String, names: Set<String>, accounts: [String: Set<String>] = [:]) {
        self.path = path
        self.names = names.union(accounts.keys)
        self.accounts = accounts
    }

    /// `approvers.txt` beside the database.
    public static func defaultPath(forDatabase database: String) -> String {
        // A PostgreSQL database has no folder to be beside: the working folder's file.
        guard !DatabaseAddress.isPostgres(database), let slash = database.lastIndex(of: "/") else { return "approvers.txt" }
        return String(database[...slash]) + "approvers.txt"
    }

    /// Largest allowlist read: 1 MiB is tens of thousands of names; the bound keeps a path to
    /// `/dev/zero` or a huge file from exhausting memory.
    public static let maximumBytes = FileLimits.allowlistBytes

    /// Reads the allowlist at `path`; `EngineError.noAllowlist` when the file does not exist,
    /// `EngineError.invalidAllowlist` (with the line) for a malformed mapping line.
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
        return try parse(text, path: path)
    }

    /// Parses allowlist text; `path` only names the file in errors.
    public static func parse(_ text: String, path: String) throws(EngineError) -> Approvers {
        var names = Set<String>()
        var accounts = [String: Set<String>]()
        // An editor's BOM would otherwise become part of the first name, which then never matches.
        let text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        // Blank lines kept, so `index + 1` is the physical line ("\r\n" is one Character).
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            guard let colon = content.firstIndex(of: ":") else {
                let name = content.trimmingCharacters(in: " \t\r")
                if !name.isEmpty { names.insert(name) }
                continue
            }
            // Column of the colon, 1-based in characters, for the error's location.
            let column = content.distance(from: content.startIndex, to: colon) + 1
            let name = content[..<colon].trimmingCharacters(in: " \t\r")
            guard !name.isEmpty else {
                throw .invalidAllowlist(path: path, line: index + 1, column: column,
                                        reason: "no approver name before ':' (expected NAME: ACCOUNT …)")
            }
            let listed = content[content.index(after: colon)...]
                .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "," })
                .map(String.init)
            guard !listed.isEmpty else {
                throw .invalidAllowlist(path: path, line: index + 1, column: column,
                                        reason: "no OS account after '\(name):' (expected NAME: ACCOUNT …)")
            }
            accounts[name, default: []].formUnion(listed)
        }
        return Approvers(path: path, names: names, accounts: accounts)
    }

    /// Throws `notAnApprover` unless `name` is in the allowlist.
    public func check(_ name: String) throws(EngineError) {
        guard names.contains(name) else { throw .notAnApprover(name: name, allowlist: path) }
    }

    /// Throws unless `decider` may decide: over HTTP its name must be listed; on the command line
    /// its OS account must also be allowed to act as that name (`names(forAccount:)`).
    public func check(_ decider: Decider) throws(EngineError) {
        try check(decider.name)
        guard decider.channel == .cli else { return }
        let allowed = names(forAccount: decider.account)
        guard allowed.contains(decider.name) else {
            throw .notAllowedAs(name: decider.name, account: decider.account, allowed: allowed, allowlist: path)
        }
    }

    /// The approver names the OS account `account` may act as on the command line, sorted: its
    /// own name when listed, and every name mapped to it.
    public func names(forAccount account: String) -> [String] {
        var allowed = Set(accounts.filter { $0.value.contains(account) }.keys)
        if names.contains(account) { allowed.insert(account) }
        return allowed.sorted()
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
