#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TriageData

/// Where reading may resume: just after the last record fully handled.
public struct ReadBoundary: Sendable, Equatable {
    public var offset: Int64
    public var line: Int

    public init(offset: Int64, line: Int) {
        self.offset = offset
        self.line = line
    }
}

/// What differs between the watch modes; the `FollowLoop` does the rest.
///
/// Called on the loop's thread, one call at a time. Generic use (`FollowLoop.run(_:)`), so each
/// mode's calls specialise and inline: no existential call per row.
public protocol FollowLoopHandler: AnyObject {
    /// Reads a header record: the file's first, or that of a file that replaced it (`previous`
    /// is then the parser in use). Returns the parser for the rows that follow. May reposition
    /// the loop (`FollowLoop.resume`) when it resumes from a checkpoint.
    func readHeader(_ bytes: UnsafeBufferPointer<UInt8>, line: Int, previous: MetricsRowParser?) throws -> MetricsRowParser
    /// One parsed row; `line` is the physical line where its record starts.
    func processRow(_ row: MetricsRowParser.Row, line: Int) throws
    /// A row that cannot be read: throw to stop, or count and return to skip it.
    func badRow(_ error: DataError) throws
    /// After a line that completed a record moved the loop's `boundary` past it.
    func recordCompleted() throws
    /// The reader caught up with a followed file, before it checks the path and sleeps.
    func caughtUp() throws
    /// The followed path now names a new file (rotation, truncation, reappearance); the next
    /// record is its header.
    func fileRestarted()
}

extension FollowLoopHandler {
    public func recordCompleted() throws {}
    public func caughtUp() throws {}
    public func fileRestarted() {}
}

/// The one follow loop of `watch` (and any other front door reading a metrics file as it
/// grows): owns the `LineFollower` and the `QuotedRecordJoiner`, skips blank lines, hands the
/// first record to the handler as the header and the others as parsed rows, reports over-long
/// lines and records and quotes never closed as bad rows, notices file restarts, sleeps one poll
/// interval while a followed file has nothing new, and keeps the committed boundary: the offset
/// and line just after the last record fully handled, which is all a checkpoint may cover.
///
/// Warnings (a file that disappeared or was replaced) go to `warn`; a stop request is asked of
/// `stopRequested` between records and while waiting (the current row is finished first).
public final class FollowLoop {
    public let path: String
    public let follow: Bool
    /// Seconds slept when a followed file has nothing new.
    public let pollInterval: Double
    public var maxLineBytes: Int { follower.maxLineBytes }
    let stopRequested: () -> Bool
    let warn: (String) -> Void
    var follower: LineFollower
    /// The record being joined when a quoted field holds a line break.
    var joiner: QuotedRecordJoiner
    /// The rows' parser, once a header was read.
    public private(set) var parser: MetricsRowParser?
    /// Offset and line just after the last record fully handled: what a checkpoint may cover.
    public private(set) var boundary = ReadBoundary(offset: 0, line: 0)
    var expectHeader = true

    /// Opens `path` (it must exist unless `follow` is set: then it is waited for).
    public init(path: String, follow: Bool, maxLineBytes: Int, pollInterval: Double,
                stopRequested: @escaping () -> Bool, warn: @escaping (String) -> Void) throws(DataError) {
        self.path = path
        self.follow = follow
        self.pollInterval = pollInterval
        self.stopRequested = stopRequested
        self.warn = warn
        follower = try LineFollower(path: path, follow: follow, maxLineBytes: maxLineBytes, stopRequested: stopRequested)
        joiner = QuotedRecordJoiner(maxBytes: maxLineBytes)
    }

    /// Device and inode of the file being read (nil while none is open).
    public var identity: (device: UInt64, inode: UInt64)? { follower.identity }

    /// Continues reading at `offset` (line `line`) when the open file is the one identified;
    /// false (reading goes on from where it is) otherwise. For `readHeader` resuming a checkpoint.
    public func resume(device: UInt64, inode: UInt64, offset: Int64, line: Int) -> Bool {
        follower.resume(device: device, inode: inode, offset: offset, line: line)
    }

    /// Reads to the end of the file (without `follow`) or until a stop request.
    public func run<Handler: FollowLoopHandler>(_ handler: Handler) throws {
        while !stopRequested() {
            switch try follower.next() {
            case .line(let range, let line):
                guard try handleLine(follower.buffer[range], line: line, handler) else { continue }
                markBoundary()
                try handler.recordCompleted()
            case .tooLong(let line):
                try overlongLine(line, handler)
                markBoundary()
            case .end:
                try abandonOpenRecord(handler)
                markBoundary()
                return
            case .waiting:
                try handler.caughtUp()
                if pollFollowedFile() {
                    try abandonOpenRecord(handler)
                    handler.fileRestarted()
                    expectHeader = true
                    markBoundary()
                }
            }
        }
    }

    func markBoundary() {
        boundary = ReadBoundary(offset: follower.consumedOffset, line: follower.consumedLine)
    }

    /// Handles one physical line. Lines of blanks only (spaces, tabs, a stray `\r`) are skipped;
    /// the first other record is the header, the rest are rows. Returns false while the line
    /// belongs to a record still open (a quoted line break): the boundary must then stay before
    /// that record's first line, so a checkpoint never passes a row not yet processed.
    @inline(__always)
    func handleLine<Handler: FollowLoopHandler>(_ bytes: ArraySlice<UInt8>, line: Int, _ handler: Handler) throws -> Bool {
        if joiner.isOpen {
            guard joiner.append(bytes) else { return false }
            let first = joiner.firstLine!
            if joiner.overflowed {
                joiner.reset()
                try handler.badRow(recordTooLong(first))
                return true
            }
            let record = joiner.bytes
            joiner.reset()
            try handleRecord(record[...], line: first, handler)
            return !joiner.isOpen
        }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return true }
        try handleRecord(bytes, line: line, handler)
        return !joiner.isOpen
    }

    @inline(__always)
    private func handleRecord<Handler: FollowLoopHandler>(_ bytes: ArraySlice<UInt8>, line: Int, _ handler: Handler) throws {
        // A row: `parser` is set whenever `expectHeader` is false.
        if !expectHeader, let parser {
            guard let row = try parseRow(parser, bytes, line: line, handler) else { return }
            try handler.processRow(row, line: line)
            return
        }
        // Copied out: reading the header may reposition the follower (resume).
        let header = Array(bytes)
        do {
            let parsed = try header.withUnsafeBufferPointer { bytes in
                try handler.readHeader(bytes, line: line, previous: parser)
            }
            parser = parsed
        } catch let error as DataError where error.kind == .unterminatedQuote {
            joiner.start(header[...], lineNumber: line)
            return
        }
        expectHeader = false
    }

    /// Parses a row: nil when it was skipped as bad, or when its line ends inside a quoted field
    /// (the record goes on on the next line: the lines are joined first). The one-line record,
    /// the usual case, costs no more than the parse.
    @inline(__always)
    private func parseRow<Handler: FollowLoopHandler>(_ parser: MetricsRowParser, _ bytes: ArraySlice<UInt8>, line: Int,
                                                      _ handler: Handler) throws -> MetricsRowParser.Row? {
        do {
            return try bytes.withUnsafeBufferPointer { buffer throws(DataError) in try parser.parse(buffer, lineNumber: line) }
        } catch {
            if error.kind == .unterminatedQuote {
                // Parsed whole once its quotes close; reported where the file ends if they never do.
                joiner.start(bytes, lineNumber: line)
                return nil
            }
            try handler.badRow(error)
            return nil
        }
    }

    /// A record still open where its file ends (or is replaced): its quote never closed.
    func abandonOpenRecord<Handler: FollowLoopHandler>(_ handler: Handler) throws {
        guard let first = joiner.firstLine else { return }
        let overflowed = joiner.overflowed, field = joiner.field
        joiner.reset()
        if overflowed { return try handler.badRow(recordTooLong(first)) }
        let header = parser?.header
        try handler.badRow(DataError(.unterminatedQuote, file: path, line: first, column: field + 1,
                                     columnName: header.flatMap { field < $0.count ? $0[field] : nil }))
    }

    /// A line over the limit (dropped unread by the follower): reported as itself, or as the
    /// record it was part of.
    func overlongLine<Handler: FollowLoopHandler>(_ line: Int, _ handler: Handler) throws {
        guard let first = joiner.firstLine else {
            return try handler.badRow(DataError(.other("line is longer than \(maxLineBytes) bytes (\(WatchConfiguration.maxLineBytesSetting))"),
                                                file: path, line: line))
        }
        joiner.reset()
        try handler.badRow(recordTooLong(first))
    }

    func recordTooLong(_ line: Int) -> DataError {
        DataError(.other("record (a quoted field spanning lines) is longer than \(maxLineBytes) bytes "
                         + "(\(WatchConfiguration.maxLineBytesSetting))"), file: path, line: line)
    }

    /// While waiting for data: checks the followed path, sleeping one poll interval when nothing
    /// changed. Returns true when reading restarts from the start of a new file (expect a header).
    func pollFollowedFile() -> Bool {
        switch follower.poll() {
        case .none:
            usleep(UInt32(pollInterval * 1_000_000))
            return false
        case .disappeared:
            warn("\(path): file disappeared; waiting for it to come back")
            return false
        case .rotated, .truncated, .reappeared:
            warn("\(path): file was replaced or truncated; reading it from the start")
            return true
        }
    }
}
