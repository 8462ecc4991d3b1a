import Foundation

/// Runs the built `triage` binary (.build/debug/triage under the package root).
enum Triage {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
        }
        fatalError("package root not found above \(#filePath)")
    }()

    static var binary: String { packageRoot + "/.build/debug/triage" }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Output goes to temporary files, not pipes: reading a pipe through FileHandle can trap on
    /// EINTR when the child exits mid-read.
    static func run(_ arguments: [String]) throws -> Result {
        let folder = temporaryFolder()
        let outPath = folder + "/stdout", errPath = folder + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        let result = Result(status: process.terminationStatus,
                            stdout: String(decoding: try Data(contentsOf: URL(fileURLWithPath: outPath)), as: UTF8.self),
                            stderr: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self))
        try? FileManager.default.removeItem(atPath: folder)
        return result
    }

    static func temporaryFolder() -> String {
        let path = NSTemporaryDirectory() + "triage-cli-tests-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func sameFiles(_ a: String, _ b: String) throws -> Bool {
        let names = try FileManager.default.contentsOfDirectory(atPath: a).sorted()
        guard names == (try FileManager.default.contentsOfDirectory(atPath: b).sorted()) else { return false }
        return names.allSatisfy { FileManager.default.contentsEqual(atPath: a + "/" + $0, andPath: b + "/" + $0) }
    }
}
