import Foundation
import Testing
@testable import TriageEngine
#if canImport(Glibc)
import Glibc
#endif

/// The hand-off command's process: input, environment, exit codes, and the faults issue 16 lists
/// (a command that does not exist, hangs, exits non-zero, writes 10 MB).
@Suite struct HookProcessTests {
    static func run(_ command: String, input: String = "", timeout: Duration = .seconds(20),
                    stop: StopSignal? = nil) -> HookProcess.Run {
        HookProcess.run(command: command, input: Array(input.utf8), environment: ["TRIAGE_IDEMPOTENCY_KEY": "key-1"],
                        timeout: timeout, stop: stop)
    }

    /// Whether `pid` is gone (or a zombie of a parent other than us, which no longer runs).
    static func isGone(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        // The state follows the parenthesised command name.
        guard let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state == "Z" || state == "X"
    }

    /// Whether `pid` exists at all (a zombie included): our reaped child does not.
    static func exists(_ pid: Int32) -> Bool {
        FileManager.default.fileExists(atPath: "/proc/\(pid)/stat")
    }

    @Test func inputOnStdinAndTheKeyInTheEnvironment() {
        let run = Self.run("cat; printf ' %s' \"$TRIAGE_IDEMPOTENCY_KEY\"", input: "{\"id\":\"rec-000001\"}\n")
        #expect(run.succeeded && run.exitCode == 0 && run.signal == nil && !run.timedOut)
        #expect(String(decoding: run.output, as: UTF8.self) == "{\"id\":\"rec-000001\"}\n key-1")
        #expect(run.outputBytes == run.output.count)
    }

    @Test func stdoutAndStderrAreBothKept() {
        let run = Self.run("echo out; echo err >&2")
        #expect(String(decoding: run.output, as: UTF8.self) == "out\nerr\n")
    }

    @Test func aNonZeroExitIsAFailureWithItsCode() {
        let run = Self.run("echo nope >&2; exit 3")
        #expect(!run.succeeded && run.exitCode == 3 && String(decoding: run.output, as: UTF8.self) == "nope\n")
    }

    @Test func aCommandThatDoesNotExistFailsWithTheShellsMessage() {
        let run = Self.run("/nonexistent/triage-hook --go")
        #expect(!run.succeeded && run.exitCode == 127, "\(run)")
        #expect(String(decoding: run.output, as: UTF8.self).contains("not found"))
    }

    /// A command that hangs, with a child of its own: both are killed at the timeout (the process
    /// group), and our child is reaped.
    @Test func aHangingCommandIsKilledWithItsGroupAtTheTimeout() throws {
        let folder = NSTemporaryDirectory() + "triage-hook-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let run = Self.run("sleep 60 & echo $! > '\(folder)/child'; wait", timeout: .milliseconds(300))
        #expect(run.timedOut && !run.succeeded && run.signal == SIGKILL, "\(run)")
        let shell = try #require(run.processID)
        // Reaped before `run` returned: no zombie left (a `waitpid` here could take another
        // test's child, should the pid be reused).
        #expect(!Self.exists(shell))
        let grandchild = try #require(Int32((try String(contentsOfFile: folder + "/child", encoding: .utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        // SIGKILL is delivered at once, but the kernel tears the process down asynchronously.
        var gone = false
        for _ in 0..<200 where !gone {
            gone = Self.isGone(grandchild)
            if !gone { usleep(10_000) }
        }
        #expect(gone, "the command's own child survived the timeout")
    }

    /// 10 MB of output: read as it comes (no blocked child), only the first KiB kept.
    @Test func tenMegabytesOfOutputKeepTheFirstKiB() {
        let run = Self.run("head -c 10000000 /dev/zero | tr '\\0' x; echo tail >&2")
        #expect(run.succeeded, "\(run)")
        #expect(run.outputBytes == 10_000_005 && run.output.count == 1_024)
        #expect(run.output.allSatisfy { $0 == UInt8(ascii: "x") })
    }

    /// Input larger than a pipe holds reaches a command that reads it late.
    @Test func largeInputDoesNotBlock() {
        let run = Self.run("sleep 0.1; wc -c", input: String(repeating: "y", count: 200_000))
        #expect(run.succeeded && String(decoding: run.output, as: UTF8.self).trimmingCharacters(in: .whitespaces) == "200000\n")
    }

    /// A stop (server shutdown) kills the command and reports no result.
    @Test func aStopInterruptsTheCommand() throws {
        let stop = StopSignal()
        stop.set()
        let run = Self.run("sleep 60", stop: stop)
        #expect(run.interrupted && !run.succeeded && !run.timedOut)
        #expect(!Self.exists(try #require(run.processID)))
    }

    /// A descriptor this process holds without close-on-exec does not reach the command (it
    /// would keep a pipe of our parent open after we die: seen as a test waiting for a killed
    /// `triage` until its hook's `sleep` ended).
    @Test func theCommandInheritsNoDescriptorOfOurs() throws {
        let path = NSTemporaryDirectory() + "triage-hook-fd-" + UUID().uuidString
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        #expect(fd >= 3)
        defer {
            close(fd)
            unlink(path)
        }
        let run = Self.run("if [ -e /proc/$$/fd/\(fd) ]; then echo inherited; else echo clean; fi")
        #expect(String(decoding: run.output, as: UTF8.self) == "clean\n")
    }

    /// Signals the server ignores (SIGPIPE) are back to their defaults in the command.
    @Test func theCommandHasDefaultSignalDispositions() {
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        // `yes` dies of SIGPIPE once `head` exits; with SIGPIPE ignored it would print an error.
        let run = Self.run("yes | head -n 1; grep SigIgn /proc/self/status")
        #expect(run.succeeded)
        let text = String(decoding: run.output, as: UTF8.self)
        #expect(!text.contains("Broken pipe") && !text.contains("write error"), "\(text)")
    }
}
