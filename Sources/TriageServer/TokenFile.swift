import Crypto
import Foundation
import TriageData
#if canImport(Glibc)
import Glibc
#endif

/// The bearer tokens of `triage serve`: one `TOKEN NAME` per line, `#` comments, blank lines
/// ignored (../shared/CLI.md "HTTP"). NAME is who acts with the token: the approver recorded in
/// the audit, checked against the approver allowlist.
///
/// Tokens are secrets, so the file must be readable by its owner only (refused when group- or
/// world-accessible, as ssh does with keys), and only their SHA-256 digests are kept in memory.
/// A presented token is compared with every entry in constant time, so neither the time nor the
/// entry that answers leaks how much of a token was right.
public struct TokenFile: Sendable {
    struct Entry: Sendable {
        var digest: [UInt8]
        var name: String
    }
    let entries: [Entry]
    public let path: String

    /// Shortest token accepted: 16 characters of a random token are ≥ 64 bits even in hex.
    public static let minimumTokenLength = 16

    public var names: [String] { entries.map(\.name) }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String, reason: String)
        case tooOpen(path: String, mode: String)
        case malformed(path: String, line: Int, reason: String)
        case empty(path: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): return "\(path): \(reason)"
            case .tooOpen(let path, let mode):
                return "\(path): the token file is accessible to group or others (mode \(mode)); "
                    + "make it private with: chmod 600 \(path)"
            case .malformed(let path, let line, let reason): return "\(path):\(line): \(reason)"
            case .empty(let path): return "\(path): no tokens (one 'TOKEN NAME' per line)"
            }
        }
    }

    public static func load(_ path: String) throws(Failure) -> TokenFile {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        guard info.st_mode & 0o077 == 0 else {
            throw .tooOpen(path: path, mode: String(info.st_mode & 0o777, radix: 8))
        }
        let text: String
        do {
            text = try MappedFile(path: path, limit: FileLimits.allowlistBytes, what: "token file")
                .withBytes { String(decoding: $0, as: UTF8.self) }
        } catch {
            throw .unreadable(path: path, reason: error.description)
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws(Failure) -> TokenFile {
        var entries: [Entry] = []
        var seen = Set<[UInt8]>()
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if words.isEmpty { continue }
            guard words.count == 2 else {
                throw .malformed(path: path, line: number + 1,
                                 reason: "expected 'TOKEN NAME' (two words), found \(words.count) word\(words.count == 1 ? "" : "s")")
            }
            guard words[0].count >= minimumTokenLength else {
                throw .malformed(path: path, line: number + 1, reason: "the token is shorter than \(minimumTokenLength) characters")
            }
            let digest = Array(SHA256.hash(data: Array(words[0].utf8)))
            guard seen.insert(digest).inserted else {
                throw .malformed(path: path, line: number + 1, reason: "the same token is given twice")
            }
            entries.append(Entry(digest: digest, name: String(words[1])))
        }
        guard !entries.isEmpty else { throw .empty(path: path) }
        return TokenFile(entries: entries, path: path)
    }

    /// The name of `token`, or nil. Every entry is compared, each in constant time.
    public func name(forToken token: some StringProtocol) -> String? {
        let digest = Array(SHA256.hash(data: Array(token.utf8)))
        var found: String?
        for entry in entries {
            var difference: UInt8 = 0
            for i in 0..<digest.count { difference |= digest[i] ^ entry.digest[i] }
            if difference == 0 { found = entry.name }
        }
        return found
    }
}
