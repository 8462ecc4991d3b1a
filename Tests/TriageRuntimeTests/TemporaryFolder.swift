import Foundation

/// A fresh temporary folder for a test's files.
func temporaryFolder() -> String {
    let path = NSTemporaryDirectory() + "triage-runtime-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
