import Foundation
import Synchronization
import TriageData

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the operator's hand-off command once: `/bin/sh -c COMMAND` in a process group of its
/// own, the input on its standard input, its standard output and error drained together, killed
/// with its whole group at the timeout.
///
/// Why `/bin/sh -c`: the command is the operator's own configuration (like a git hook or a cron
/// line), so pipes and arguments work as typed (`kubectl … | jq …`). Recommendation data never
/// reaches the command line: it comes only on standard input (the outbox line) and in the
/// environment (`TRIAGE_IDEMPOTENCY_KEY`), so no service name or comment can inject shell code.
///
/// Why `posix_spawn` and not Foundation's `Process`: `Process` cannot put the child in a new
/// process group, and a timeout must kill what the command started too (`sh` → `kubectl` → …),
/// not only the shell. `POSIX_SPAWN_SETSIGDEF` and an empty signal mask give the child the default
/// dispositions: a server ignores SIGPIPE, and an ignored signal would otherwise be inherited.
///
/// Output is read from one pipe (stdout and stderr in the order written) as it comes, whatever
/// the child writes: the first `outputLimit` bytes are kept, the rest counted and dropped, so a
/// command printing 10 MB neither blocks on a full pipe nor grows our memory. The run ends when
/// the command has exited *and* its output is closed (a background process holding the output
/// open counts toward the timeout; detach it with `>/dev/null 2>&1 &`). The child is always
/// reaped: no zombie is left, timed out or not.
public enum HookProcess {
    /// What one run did.
    public struct Run: Sendable, Equatable {
        /// The exit status when the command exited normally.
        public var exitCode: Int32?
        /// The signal that ended it (SIGKILL after a timeout).
        public var signal: Int32?
        public var timedOut = false
        /// Stopped because the caller asked (`StopSignal`): the result is unknown.
        public var interrupted = false
        public var durationMilliseconds: Int64 = 0
        /// The first `outputLimit` bytes of standard output and error.
        public var output: [UInt8] = []
        /// All bytes written, kept or not.
        public var outputBytes = 0
        /// Why the command could not be started (then nothing ran).
        public var startError: String?
        /// The shell's process id (also its process group's), reaped before `run` returns.
        public var processID: Int32?

        public var succeeded: Bool { exitCode == 0 && !timedOut && !interrupted && startError == nil }
    }

    /// Runs `command` through `/bin/sh -c` with `input` on standard input and `environment`
    /// added to this process's environment. Blocks the calling thread until the command ends,
    /// `timeout` passes or `stop` is set (checked every 50 ms): call it off any event loop.
    public static func run(command: String, input: [UInt8], environment: [String: String], timeout: Duration,
                           outputLimit: Int = 1_024, stop: StopSignal? = nil) -> Run {
        let started = ContinuousClock.now
        var run = execute(command: command, input: input, environment: environment, deadline: started + timeout,
                          outputLimit: outputLimit, stop: stop)
        run.durationMilliseconds = milliseconds(ContinuousClock.now - started)
        return run
    }

    private static func execute(command: String, input: [UInt8], environment: [String: String], deadline: ContinuousClock.Instant,
                                outputLimit: Int, stop: StopSignal?) -> Run {
        var run = Run()

        // Standard input: an unlinked temporary file holding `input`, so writing it can never
        // block on a child that does not read (a pipe would, past its 64 KiB).
        let inputFD: Int32
        switch temporaryInput(input) {
        case .success(let fd): inputFD = fd
        case .failure(let reason):
            run.startError = "cannot prepare the command's input: \(reason)"
            return run
        }
        defer { close(inputFD) }
        var pipeFDs: [Int32] = [-1, -1]
        // The pipe is made close-on-exec and the child spawned under one lock: Swift's Glibc
        // module exports neither `pipe2` nor `posix_spawn_file_actions_addclosefrom_np`, so
        // without the lock a hand-off spawned by another thread between `pipe` and `fcntl` could
        // inherit this pipe's write end and hold its end-of-file back until it exits.
        let spawned: Result<pid_t, TextFailure> = spawnLock.withLock { _ in
            guard pipe(&pipeFDs) == 0 else {
                return .failure(TextFailure("cannot create a pipe: \(String(cString: strerror(errno)))"))
            }
            _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)
            return spawn(command: command, input: inputFD, output: pipeFDs[1], environment: environment)
        }
        var readFD = pipeFDs[0]
        defer { if readFD >= 0 { close(readFD) } }
        // Our copy of the write end goes now, so the pipe reaches end-of-file when the child's
        // copies are closed.
        if pipeFDs[1] >= 0 { close(pipeFDs[1]) }
        let pid: pid_t
        switch spawned {
        case .success(let child):
            pid = child
            run.processID = child
        case .failure(let failure):
            run.startError = failure.reason
            return run
        }

        var status: Int32?
        // The wait between looks once the output is closed but the exit not yet seen: short
        // at first (end-of-file usually comes a moment before the exit can be reaped; a fixed
        // 10 ms made a `true` hand-off take 10–20 ms), doubling to 20 ms for a command that
        // closes its output and keeps running.
        var quietWait: UInt32 = 500
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        run.output.reserveCapacity(outputLimit)
        while true {
            if status == nil { status = reapIfExited(pid) }
            if status != nil && readFD < 0 { break }
            if stop?.isSet == true {
                run.interrupted = true
                break
            }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero {
                run.timedOut = true
                break
            }
            let waitMilliseconds = Int32(max(1, min(50, milliseconds(remaining))))
            guard readFD >= 0 else {
                // Output closed, the command still running: look again shortly.
                usleep(min(quietWait, UInt32(waitMilliseconds) * 1_000))
                quietWait = min(quietWait * 2, 20_000)
                continue
            }
            var poller = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, waitMilliseconds)
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if count > 0 {
                run.outputBytes += count
                let room = outputLimit - run.output.count
                if room > 0 { run.output.append(contentsOf: buffer.prefix(min(room, count))) }
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                close(readFD)
                readFD = -1
            }
        }
        if status == nil {
            // Timed out or stopped: the whole group goes (the shell and what it started), then
            // the child is reaped; SIGKILL cannot be caught, so the wait is short.
            kill(-pid, SIGKILL)
            status = waitForExit(pid)
        } else if run.timedOut || run.interrupted {
            // The command exited but something it started still holds the output open.
            kill(-pid, SIGKILL)
        }
        if let status {
            if status & 0x7f == 0 {
                run.exitCode = (status >> 8) & 0xff
            } else {
                run.signal = status & 0x7f
            }
        }
        return run
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }

    /// The child's wait status once it has exited, without waiting; nil while it runs.
    /// (`ECHILD`: another part of the process reaped it first; its status is unknown, reported
    /// as a signal 0 exit so it never counts as a success.)
    private static func reapIfExited(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return status }
            if result == 0 { return nil }
            if errno == EINTR { continue }
            return 0x7f
        }
    }

    private static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 0x7f }
        }
        return status
    }

    private static func temporaryInput(_ input: [UInt8]) -> Result<Int32, TextFailure> {
        let path = NSTemporaryDirectory() + "/triage-handoff-" + UUID().uuidString
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return .failure(TextFailure("\(path): \(String(cString: strerror(errno)))")) }
        unlink(path)
        let failure = input.withUnsafeBytes { AtomicFile.writeAll(fd, $0) }
        guard failure == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            let reason = String(cString: strerror(failure != 0 ? failure : errno))
            close(fd)
            return .failure(TextFailure(reason))
        }
        return .success(fd)
    }

    struct TextFailure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later; the child closes every
    /// descriptor from N up in one `close_range`), looked up at run time: Swift's Glibc module
    /// does not export it.
    private static func closeFromAction() -> CloseFrom? {
        guard let handle = dlopen(nil, RTLD_NOW),
              let symbol = dlsym(handle, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }

    /// This process's open descriptors (`/proc/self/fd`), for a C library without closefrom.
    /// One closed meanwhile is harmless: glibc ignores a close action on a descriptor not open.
    private static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }
    }

    /// Held while a pipe is made close-on-exec and a child spawned (see `run`).
    private static let spawnLock = Mutex(())

    /// Signals whose disposition the child gets back to the default.
    private static let resetSignals: [Int32] = [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2]

    private static func spawn(command: String, input: Int32, output: Int32,
                              environment: [String: String]) -> Result<pid_t, TextFailure> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        // Nothing else of ours reaches the command: a descriptor this process inherited without
        // close-on-exec (a test runner's, a supervisor's) would otherwise live on in the command
        // and in what it leaves behind, holding a pipe of our parent open after we die.
        if let closeFrom = closeFromAction() {
            _ = closeFrom(&actions, 3)
        } else {
            for descriptor in openDescriptors() where descriptor >= 3 {
                posix_spawn_file_actions_addclose(&actions, descriptor)
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Process group = the child's pid, so `kill(-pid, …)` reaches everything it starts.
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in resetSignals { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var merged = ProcessInfo.processInfo.environment
        for (name, value) in environment { merged[name] = value }
        let arguments: [String] = ["/bin/sh", "-c", command]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = merged.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        guard result == 0 else {
            return .failure(TextFailure("cannot start /bin/sh: \(String(cString: strerror(result)))"))
        }
        return .success(pid)
    }
}

extension HookProcess.TextFailure: CustomStringConvertible {
    var description: String { reason }
}

/// A flag set once (a server stopping), read from any thread.
public final class StopSignal: Sendable {
    private let value = Mutex(false)
    public init() {}
    public var isSet: Bool { value.withLock { $0 } }
    public func set() { value.withLock { $0 = true } }
}
