import Foundation
import TriageData
import TriageRuntime
#if canImport(Glibc)
import Glibc
#endif

extension OutputTable {
    /// Writes atomically to `path` (a device or FIFO: in place), or to stdout when nil.
    func write(to path: String?, threads: Int = 1) throws {
        let bytes = render(threads: threads)
        if let path {
            try AtomicFile.write(bytes, to: path)
        } else {
            try StandardOutput.write(bytes)
        }
    }
}

/// Result bytes to file descriptor 1, all of them (a short write is retried), or a failure
/// naming the reason.
enum StandardOutput {
    static func write(_ bytes: [UInt8]) throws {
        let failure = bytes.withUnsafeBytes { AtomicFile.writeAll(1, $0) }
        if failure != 0 {
            throw CLIFailure.failed("cannot write to standard output: \(String(cString: strerror(failure)))")
        }
    }

    static func write(_ text: String) throws { try write(Array(text.utf8)) }
}
