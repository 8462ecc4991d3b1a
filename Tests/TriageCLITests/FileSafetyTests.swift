import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Outputs that name devices, FIFOs, `-` or an input; inputs that are devices, FIFOs, huge or
/// never end (issue 14, defects 4, 6, 7 and the same-path part of 8).
@Suite struct FileSafetyTests {
    /// `timestamp,value` rows of a noisy sine.
    static func metrics(_ rows: Int) -> String {
        var text = "timestamp,value\n"
        for i in 0..<rows { text += "\(1_700_000_000 + 60 * i),\(50 + 10 * sin(Double(i) / 10) + Double(i % 7) * 0.1)\n" }
        return text
    }

    static func isCharacterDevice(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR
    }

    /// A started `triage` with stdout and stderr in files of `folder`.
    static func launch(_ arguments: [String], in folder: String, input: FileHandle? = nil) throws -> Process {
        let process = Process()
        process.executableURL = CLIRunner.binary
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: folder + "/out.txt", contents: nil)
        _ = FileManager.default.createFile(atPath: folder + "/err.txt", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/out.txt"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: folder + "/err.txt"))
        process.standardInput = input ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits for `process` to exit; a generous guard (not a timing assertion) so that a hang
    /// fails the test instead of the suite: it is killed after `seconds`.
    static func finishes(_ process: Process, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return false
        }
        process.waitUntilExit()
        return true
    }

    // MARK: Defect 4: outputs on devices, FIFOs and standard output

    @Test func outputsToDevNullLeaveItACharacterDevice() throws {
        let folder = CLIRunner.folder()
        let data = CLIRunner.file(Self.metrics(300), name: "m.csv", in: folder)
        let watch = try CLIRunner.run(["watch", data, "--scores", "/dev/null", "--events", "/dev/null", "--quiet"])
        #expect(watch.status == 0, "\(watch.stderr)")
        #expect(Self.isCharacterDevice("/dev/null"))
        let fit = try CLIRunner.run(["fit", "iforest", data, "--output", folder + "/m.model", "--trees", "10", "--quiet"])
        #expect(fit.status == 0, "\(fit.stderr)")
        let score = try CLIRunner.run(["score", folder + "/m.model", data, "--output", "/dev/null"])
        #expect(score.status == 0, "\(score.stderr)")
        let model = try CLIRunner.run(["fit", "iforest", data, "--output", "/dev/null", "--trees", "10", "--quiet"])
        #expect(model.status == 0, "\(model.stderr)")
        #expect(Self.isCharacterDevice("/dev/null"))
    }

    @Test func outputsToAFIFOAreWrittenIntoIt() throws {
        let folder = CLIRunner.folder()
        let data = CLIRunner.file(Self.metrics(300), name: "m.csv", in: folder)
        let fifo = folder + "/scores.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        // The read end is open first (non-blocking), so the writer's open does not wait.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        #expect(reader >= 0)
        defer { close(reader) }
        // Fewer rows than a pipe buffer holds: the writer never waits for the reader.
        let run = try CLIRunner.run(["watch", data, "--scores", fifo, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let n = buffer.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
        let text = String(decoding: buffer.prefix(max(0, n)), as: UTF8.self)
        #expect(text.hasPrefix("timestamp,anomaly_score\n1700000000,0"))
        #expect(text.split(separator: "\n").count == 301)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["m.csv", "scores.fifo"])
    }

    @Test func aDashIsStandardOutput() throws {
        let folder = CLIRunner.folder()
        let data = CLIRunner.file(Self.metrics(300), name: "m.csv", in: folder)
        #expect(try CLIRunner.run(["fit", "iforest", data, "--output", folder + "/m.model", "--trees", "10"]).status == 0)
        let score = try CLIRunner.run(["score", folder + "/m.model", data, "--output", "-"])
        #expect(score.status == 0, "\(score.stderr)")
        #expect(score.stdout.hasPrefix("score,anomaly"))
        let events = try CLIRunner.run(["watch", data, "--scores", folder + "/s.csv", "--events", "-", "--quiet"])
        #expect(events.status == 0, "\(events.stderr)")
        #expect(events.stdout.hasPrefix("{\"timestamp\""))
        #expect(!FileManager.default.fileExists(atPath: folder + "/-") && !FileManager.default.fileExists(atPath: "-"))
        let bundle = try CLIRunner.run(["simulate", "--output", "-", "--days", "1"])
        #expect(bundle.status == 64 && bundle.stderr.contains("cannot hold a folder"))
    }

    // MARK: Defect 8: the same file as input and output

    @Test func anOutputNamingAnInputOrAnotherOutputIsAUsageError() throws {
        let folder = CLIRunner.folder()
        let text = Self.metrics(300)
        let data = CLIRunner.file(text, name: "m.csv", in: folder)
        #expect(link(data, folder + "/hard.csv") == 0)
        #expect(try CLIRunner.run(["fit", "iforest", data, "--output", folder + "/m.model", "--trees", "10"]).status == 0)
        let model = try String(contentsOfFile: folder + "/m.model", encoding: .utf8)
        let cases: [([String], String)] = [
            (["watch", data, "--scores", data], "--scores '\(data)' and METRICS '\(data)' name the same file"),
            (["watch", data, "--scores", folder + "/./hard.csv"], "and METRICS '\(data)' name the same file"),
            (["watch", data, "--events", folder + "/x.jsonl", "--scores", folder + "/../" + (folder as NSString).lastPathComponent + "/x.jsonl"],
             "--scores"),
            (["watch", data, "--state", folder + "/s", "--scores", folder + "/s"], "another output"),
            (["watch", data, "--events", "-"], "--events '-' (standard output) and the scores (standard output without --scores)"),
            (["fit", "iforest", data, "--output", data], "--output '\(data)' and DATA '\(data)' name the same file"),
            (["fit", "forest", data, "--target", "value", "--output", data], "DATA"),
            (["score", folder + "/m.model", data, "--output", folder + "/m.model"], "MODEL"),
            (["fit", "iforest", data, "--warm-start", folder + "/m.model", "--output", folder + "/m.model"], "--warm-start"),
            (["report", "--events", data, "--output", data], "--events"),
            (["watch", data, "--model", CLIRunner.packageRoot + "/models/simulated", "--db",
              CLIRunner.packageRoot + "/models/simulated/triage.sqlite"], "inside --model"),
            (["approvals", "approve", "rec-000001", "--by", "x", "--db", folder + "/q.sqlite", "--outbox", folder + "/q.sqlite"], "--outbox"),
        ]
        for (arguments, message) in cases {
            let run = try CLIRunner.run(arguments)
            #expect(run.status == 64, "\(arguments): \(run.stderr)")
            #expect(run.stderr.hasPrefix("error: ") && run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
        // Nothing was read into, written or replaced.
        #expect(try String(contentsOfFile: data, encoding: .utf8) == text)
        #expect(try String(contentsOfFile: folder + "/m.model", encoding: .utf8) == model)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["hard.csv", "m.csv", "m.model"])
        #expect(!FileManager.default.fileExists(atPath: CLIRunner.packageRoot + "/models/simulated/triage.sqlite"))
    }

    // MARK: Defect 6: inputs that are devices, FIFOs or huge

    @Test func modelAndDataInputsMustBeRegularFiles() throws {
        let folder = CLIRunner.folder()
        let fifo = folder + "/model.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let data = CLIRunner.file(Self.metrics(300), name: "m.csv", in: folder)
        #expect(try CLIRunner.run(["fit", "iforest", data, "--output", folder + "/m.model", "--trees", "10"]).status == 0)
        let cases: [([String], String)] = [
            (["inspect", fifo], "\(fifo): model file is a FIFO (named pipe), not a regular file"),
            (["inspect", "/dev/zero"], "/dev/zero: model file is a character device, not a regular file"),
            (["score", "/dev/urandom", data], "/dev/urandom: model file is a character device"),
            (["score", folder + "/m.model", "/dev/zero"], "/dev/zero: input file is a character device, not a regular file"),
            (["score", folder + "/m.model", fifo], "\(fifo): input file is a FIFO (named pipe), not a regular file"),
        ]
        for (arguments, message) in cases {
            let process = try Self.launch(arguments, in: folder)
            #expect(Self.finishes(process, within: 20), "\(arguments) hung")
            let stderr = try String(contentsOfFile: folder + "/err.txt", encoding: .utf8)
            #expect(process.terminationStatus == 1, "\(arguments): \(stderr)")
            #expect(stderr.hasPrefix("error: " + message), "\(arguments): \(stderr)")
        }
    }

    @Test func aBundleWithASparseHugeOrDeviceFileIsRefused() throws {
        let folder = CLIRunner.folder()
        let metrics = folder + "/metrics.csv"
        #expect(try CLIRunner.run(["simulate", "--output", folder + "/sim", "--days", "1", "--services", "1"]).status == 0)
        try FileManager.default.copyItem(atPath: folder + "/sim/metrics.csv", toPath: metrics)
        for (name, replacement) in [("iforest.model", "sparse"), ("manifest.json", "sparse"), ("iforest.model", "/dev/zero"),
                                    ("manifest.json", "fifo")] {
            let bundle = folder + "/bundle-\(name)-\((replacement as NSString).lastPathComponent)"
            try FileManager.default.copyItem(atPath: CLIRunner.packageRoot + "/models/simulated", toPath: bundle)
            let file = bundle + "/" + name
            try FileManager.default.removeItem(atPath: file)
            switch replacement {
            case "sparse":
                let fd = open(file, O_WRONLY | O_CREAT, 0o644)
                #expect(fd >= 0 && ftruncate(fd, off_t(64) << 30) == 0)
                close(fd)
            case "fifo": #expect(mkfifo(file, 0o600) == 0)
            default: try FileManager.default.createSymbolicLink(atPath: file, withDestinationPath: replacement)
            }
            let process = try Self.launch(["watch", metrics, "--model", bundle, "--quiet"], in: folder)
            #expect(Self.finishes(process, within: 20), "\(name) as \(replacement) hung")
            let stderr = try String(contentsOfFile: folder + "/err.txt", encoding: .utf8)
            #expect(process.terminationStatus == 1, "\(name) as \(replacement): \(stderr)")
            #expect(stderr.hasPrefix("error: \(file): "), "\(name) as \(replacement): \(stderr)")
        }
    }

    // MARK: Defect 7: stop requests while reading a pipe, FIFO or device

    @Test func watchFollowingAFIFOStopsOnSIGTERM() throws {
        let folder = CLIRunner.folder()
        let fifo = folder + "/metrics.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let process = try Self.launch(["watch", fifo, "--follow", "--scores", folder + "/scores.csv", "--quiet"], in: folder)
        // Wait until watch has opened the FIFO (a writer's non-blocking open fails until then).
        var writer: Int32 = -1
        for _ in 0..<2_000 where process.isRunning {
            writer = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if writer >= 0 { break }
            usleep(10_000)
        }
        #expect(writer >= 0)
        defer { if writer >= 0 { close(writer) } }
        let rows = Array(Self.metrics(200).utf8)
        _ = rows.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
        // The writer stays open and silent: watch catches up, flushes its live output and
        // waits for more, until told to stop.
        func scoreLines() -> Int {
            ((try? String(contentsOfFile: folder + "/scores.csv", encoding: .utf8)) ?? "").split(separator: "\n").count
        }
        for _ in 0..<2_000 where scoreLines() < 201 && process.isRunning { usleep(10_000) }
        #expect(scoreLines() == 201)
        process.terminate()
        #expect(Self.finishes(process, within: 20), "watch ignored SIGTERM while waiting on a FIFO")
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        #expect(scoreLines() == 201)
    }

    @Test func watchOnASilentPipeStopsOnSIGTERM() throws {
        let folder = CLIRunner.folder()
        let pipe = Pipe()
        let process = try Self.launch(["watch", "/dev/stdin", "--scores", folder + "/scores.csv", "--quiet"], in: folder,
                                      input: pipe.fileHandleForReading)
        // Watch installs its stop handlers, then opens /dev/stdin again: once a second
        // descriptor of the pipe shows in /proc, it is waiting to read.
        let fds = "/proc/\(process.processIdentifier)/fd"
        func pipeDescriptors() -> Int {
            guard let stdin = try? FileManager.default.destinationOfSymbolicLink(atPath: fds + "/0"),
                  let names = try? FileManager.default.contentsOfDirectory(atPath: fds) else { return 0 }
            return names.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: fds + "/" + $0)) == stdin }.count
        }
        for _ in 0..<2_000 where pipeDescriptors() < 2 && process.isRunning { usleep(10_000) }
        #expect(pipeDescriptors() >= 2)
        process.terminate()
        #expect(Self.finishes(process, within: 20), "watch ignored SIGTERM while reading a pipe")
        #expect(process.terminationReason == .exit)
        try pipe.fileHandleForWriting.close()
    }

    @Test func watchOnAnEndlessLineIsAnErrorAtTheLimit() throws {
        let folder = CLIRunner.folder()
        let sparse = folder + "/one-line.csv"
        let fd = open(sparse, O_WRONLY | O_CREAT, 0o644)
        #expect(fd >= 0 && ftruncate(fd, 2_000_000_000) == 0)
        close(fd)
        for input in ["/dev/zero", sparse] {
            let process = try Self.launch(["watch", input, "--scores", folder + "/s.csv"], in: folder)
            #expect(Self.finishes(process, within: 20), "watch \(input) hung")
            let stderr = try String(contentsOfFile: folder + "/err.txt", encoding: .utf8)
            #expect(process.terminationStatus == 1)
            #expect(stderr == "error: \(input):1: line is longer than 1048576 bytes (--max-line-bytes)\n", "\(stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder + "/s.csv"))
        }
    }
}
