import Foundation
import TriageData
#if canImport(Glibc)
import Glibc
#endif

/// The files a command reads and writes, checked together before anything is read or written:
/// an output must not name one of the inputs (`--scores IN.csv` would destroy the data it is
/// computed from), another output (`--events X --scores X` would lose one of them), or a file
/// inside an input folder (a bundle). Paths are compared by what they name, not by spelling:
/// device and inode for existing files, the real path of the folder plus the name for files
/// still to be created, so `./a.csv`, `a.csv`, a hard link and a path through a symbolic link
/// all count as the same file. Devices and FIFOs may be shared (`--scores /dev/null --events
/// /dev/null` discards both), and `-` (standard output) may be named once.
struct FileRoles {
    struct Entry {
        var label: String
        var path: String
    }

    private(set) var inputs: [Entry] = []
    private(set) var inputFolders: [Entry] = []
    private(set) var outputs: [Entry] = []

    /// A file the command reads (`label`: the option or argument, e.g. `--events`, `DATA`).
    mutating func input(_ label: String, _ path: String?) {
        if let path { inputs.append(Entry(label: label, path: path)) }
    }

    /// A folder the command reads from (a bundle): nothing may be written inside it.
    mutating func inputFolder(_ label: String, _ path: String?) {
        if let path { inputFolders.append(Entry(label: label, path: path)) }
    }

    /// A file the command writes (also those it reads and writes, like `--db` and `--state`).
    mutating func output(_ label: String, _ path: String?) {
        if let path { outputs.append(Entry(label: label, path: path)) }
    }

    /// Throws a usage error (exit 64) naming both sides of the first conflict.
    func check() throws {
        var seen: [(entry: Entry, identity: Identity, isOutput: Bool)] = []
        for entry in inputs + inputFolders { if let id = Self.identity(entry.path, output: false) { seen.append((entry, id, false)) } }
        for output in outputs {
            guard let id = Self.identity(output.path, output: true) else { continue }
            if let clash = seen.first(where: { $0.identity == id }) {
                let what = clash.isOutput ? "another output" : "an input"
                throw CLIFailure.usage("\(output.label) \(Self.show(output.path)) and \(clash.entry.label) \(Self.show(clash.entry.path)) "
                                       + "name the same file; an output must not overwrite \(what)")
            }
            if let folder = Self.folderIdentity(of: output.path),
               let bundle = inputFolders.first(where: { Self.identity($0.path, output: false) == folder }) {
                throw CLIFailure.usage("\(output.label) \(Self.show(output.path)) is inside \(bundle.label) \(Self.show(bundle.path)); "
                                       + "an output must not be written into an input folder")
            }
            seen.append((output, id, true))
        }
    }

    enum Identity: Equatable {
        case node(device: UInt64, inode: UInt64)
        /// A file that does not exist yet: the real path of its folder, then its name.
        case path(String)
        case standardOutput
    }

    /// What `path` names; nil for what may be shared (devices, FIFOs, sockets).
    static func identity(_ path: String, output: Bool) -> Identity? {
        if output && path == "-" { return .standardOutput }
        switch FileNode.of(path) {
        case .regular(_, let device, let inode)?, .directory(let device, let inode)?:
            return .node(device: device, inode: inode)
        case .special?:
            return nil
        case .missing?, nil:
            return .path(resolved(path))
        }
    }

    /// Identity of the folder that holds `path`.
    static func folderIdentity(of path: String) -> Identity? {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard trimmed != "-" else { return nil }
        let folder = trimmed.lastIndex(of: "/").map { trimmed[..<$0].isEmpty ? "/" : String(trimmed[..<$0]) } ?? "."
        return identity(folder, output: false)
    }

    /// Absolute form of a path that does not exist: its folder resolved with `realpath` when
    /// the folder exists, lexically standardised otherwise.
    static func resolved(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        guard let real = realpath(folder, nil) else { return url.standardizedFileURL.path }
        defer { free(real) }
        let base = String(cString: real)
        return (base == "/" ? "" : base) + "/" + url.lastPathComponent
    }

    static func show(_ path: String) -> String { path == "-" ? "'-' (standard output)" : "'\(path)'" }
}

/// `-` as an output path: standard output, where CLI.md allows it.
enum OutputPath {
    /// nil (standard output) for `-`, else the path.
    static func file(_ path: String?) -> String? { path == "-" ? nil : path }

    /// `AtomicFile.validateDestination`, accepting `-`.
    static func validate(_ path: String?) throws {
        if let path = file(path) { try AtomicFile.validateDestination(path) }
    }

    /// Folder outputs (bundles, simulations) cannot go to standard output.
    static func refuseStandardOutput(_ path: String, option: String) throws {
        if path == "-" {
            throw CLIFailure.usage("\(option) - (standard output) cannot hold a folder; give a folder path")
        }
    }
}

extension OutputPath {
    /// `ModelFile.write`, or the model file's bytes on standard output for `-`.
    static func writeModel<M: Encodable>(_ model: M, kind: String, to path: String) throws {
        guard path == "-" else { return try ModelFile.write(model, kind: kind, to: path) }
        let bytes: [UInt8]
        do { bytes = try ModelFile.encode(model, kind: kind) } catch {
            throw DataError(.invalidModel("cannot encode model: \(error)"), file: "-")
        }
        try StandardOutput.write(bytes)
    }
}
