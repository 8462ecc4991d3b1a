import Foundation

/// A fresh temporary folder for a test's files.
func temporaryFolder() -> String {
    let path = NSTemporaryDirectory() + "triage-runtime-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The folder holding Package.swift, found from this file's path.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
    }
    fatalError("package root not found above \(#filePath)")
}()

/// The shipped bundle, models/simulated.
let shippedBundle = packageRoot + "/models/simulated"
