import Foundation

/// Runs the built `triage` binary and captures what a user's shell would see. The one runner
/// every CLI test uses.
enum CLIRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The folder holding Package.swift, found from this file's path.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
        }
        fatalError("package root not found above \(#filePath)")
    }()

    /// The `triage` executable beside the test bundle (.build/<triple>/<config>/), which
    /// `swift test` builds with the tests.
    static let binary: URL = {
        let products = Bundle.allBundles.map(\.bundleURL).first { $0.pathExtension == "xctest" }?.deletingLastPathComponent()
            ?? URL(fileURLWithPath: packageRoot + "/.build/debug")
        return products.appendingPathComponent("triage")
    }()

    /// Runs `triage arguments` (in `directory` if given). Output goes to temporary files, not
    /// pipes: reading a pipe through FileHandle can trap on EINTR when the child exits mid-read.
    static func run(_ arguments: [String], in directory: String? = nil, executable: URL? = nil) throws -> Result {
        let scratch = folder()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outPath = scratch + "/stdout", errPath = scratch + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = executable ?? binary
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: try Data(contentsOf: URL(fileURLWithPath: outPath)), as: UTF8.self),
                      stderr: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self))
    }

    static func run(_ arguments: String...) throws -> Result { try run(arguments) }

    /// Runs `triage arguments` as a user without privileges, for which file modes apply (root
    /// ignores them): as itself when not root, else as `nobody` through setpriv; nil when neither
    /// is possible.
    static func runUnprivileged(_ arguments: [String]) throws -> Result? {
        if getuid() != 0 { return try run(arguments) }
        let setpriv = "/usr/bin/setpriv"
        guard FileManager.default.isExecutableFile(atPath: setpriv) else { return nil }
        return try run(["--reuid=65534", "--regid=65534", "--clear-groups", binary.path] + arguments,
                       executable: URL(fileURLWithPath: setpriv))
    }

    /// A fresh temporary folder for a test's files.
    static func folder() -> String {
        let path = NSTemporaryDirectory() + "triage-cli-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `text` to `name` in `folder` (a fresh one by default) and returns the path.
    static func file(_ text: String, name: String = "data.csv", in folder: String? = nil) -> String {
        let path = (folder ?? CLIRunner.folder()) + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// True when two folders hold the same file names with the same bytes.
    static func sameFiles(_ a: String, _ b: String) throws -> Bool {
        let names = try FileManager.default.contentsOfDirectory(atPath: a).sorted()
        guard names == (try FileManager.default.contentsOfDirectory(atPath: b).sorted()) else { return false }
        return names.allSatisfy { FileManager.default.contentsEqual(atPath: a + "/" + $0, andPath: b + "/" + $0) }
    }
}
