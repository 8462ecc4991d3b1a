/// A failed command with the message for stderr and its exit code.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    let exitCode: Int32

    /// Bad input or a failed operation (exit 1).
    static func failed(_ message: String) -> CLIFailure { CLIFailure(description: message, exitCode: 1) }
    /// Wrong usage (exit 64), for checks that need more than `validate()` can see.
    static func usage(_ message: String) -> CLIFailure { CLIFailure(description: message, exitCode: 64) }
}

/// A command that finished its output and exits with a code other than 0 without an error
/// message (`canary`: 2 for a marginal verdict, 3 for a failed one).
struct ExitStatus: Error {
    let code: Int32
}

/// `print(..., to: &standardError)`.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
