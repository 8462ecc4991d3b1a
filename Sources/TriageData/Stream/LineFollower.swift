#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a growing text file line by line, like `tail -F`.
///
/// - Only complete lines (ending in `\n`) are returned while following; a partial last line is
///   kept until its newline arrives, so a writer caught mid-line is never parsed half. When not
///   following, the file is taken as complete and an unterminated last line is returned at EOF.
/// - `poll()` (called by the owner when `next()` reports `.waiting`) notices rotation (the path
///   now names another inode: the old file is drained first, then the new one is read from its
///   start), truncation (the size fell below what was read: read again from the start) and a
///   file that disappeared (reported, and waited for).
/// - A line longer than `maxLineBytes` is not buffered: it is reported as `.tooLong` as soon as
///   it passes the limit (not at its newline, which `/dev/zero` never sends), and its remaining
///   bytes are skipped up to the next newline, so memory stays bounded whatever the input.
/// - Pipes, FIFOs and character devices (`/dev/stdin`, `watch FIFO`) are opened non-blocking
///   and waited for with `poll(2)` in slices of `waitSlice`, asking `stopRequested` between
///   slices: a stop request ends `next()` with `.end` within one slice, where a blocking
///   `read(2)` would wait for data forever (signals only interrupt it to be retried). While
///   following, a slice without data is reported as `.waiting` (caught up, like the end of a
///   growing file).
///
/// The owner is told about every restart so it can expect a header again.
public struct LineFollower: ~Copyable {
    public enum Event: Equatable, Sendable {
        /// A complete line (without its `\n` or `\r\n`) at `range` of `buffer`; `line` is its
        /// physical 1-based line number in the current file.
        case line(range: Range<Int>, line: Int)
        /// A line longer than the limit was skipped.
        case tooLong(line: Int)
        /// No complete line available now (end of file so far).
        case waiting
        /// End of a file that is not followed.
        case end
    }

    public enum Change: Equatable, Sendable {
        case none
        /// The path now names a new file (rotation); reading restarts at its first line.
        case rotated
        /// The file shrank below the bytes already read; reading restarts at its first line.
        case truncated
        /// The path does not exist at the moment (reported once per disappearance).
        case disappeared
        /// The path exists again after disappearing; reading restarts at its first line.
        case reappeared
    }

    public let path: String
    public let follow: Bool
    public let maxLineBytes: Int
    /// Asked while waiting for data and between reads; true ends `next()` with `.end`.
    let stopRequested: () -> Bool
    /// Longest wait for a pipe or device before `stopRequested` is asked again (milliseconds).
    static let waitSlice: Int32 = 200
    /// Bytes read; valid ranges are those returned by the last `next()`.
    public private(set) var buffer: [UInt8] = []
    var start = 0
    var descriptor: Int32 = -1
    var device: UInt64 = 0
    var inode: UInt64 = 0
    /// Offset in the file of buffer[0].
    var bufferOffset: Int64 = 0
    var lineNumber = 0
    var discarding = false
    var discardingLine = 0
    var atEOF = false
    var missing = false
    /// The open file is a regular file (seekable, never blocks; can be truncated or rotated).
    var isRegular = true
    /// While following a pipe or device, the last wait ended with no data.
    var idle = false

    /// Opens `path` (it must exist, unless `follow` is set: then it is waited for).
    /// `stopRequested` is asked between reads and while waiting for a pipe or device.
    public init(path: String, follow: Bool, maxLineBytes: Int = 1 << 20,
                stopRequested: @escaping () -> Bool = { false }) throws(DataError) {
        self.path = path
        self.follow = follow
        self.maxLineBytes = maxLineBytes
        self.stopRequested = stopRequested
        if !openFile() {
            if !follow || errno != ENOENT {
                throw errno == ENOENT ? DataError(.notFound, file: path)
                    : DataError(.unreadable(String(cString: strerror(errno))), file: path)
            }
            missing = true
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Byte offset in the current file just after the last line returned.
    public var consumedOffset: Int64 { bufferOffset + Int64(start) }

    /// Physical line number of the last line returned.
    public var consumedLine: Int { lineNumber }

    /// Identity (device, inode) of the file being read, nil while it is missing.
    public var identity: (device: UInt64, inode: UInt64)? { descriptor >= 0 ? (device, inode) : nil }

    /// Continues at `offset` (from a checkpoint) when the open file is `identity` and at least that
    /// long; returns false (and stays at the start) otherwise.
    public mutating func resume(device: UInt64, inode: UInt64, offset: Int64, line: Int) -> Bool {
        guard descriptor >= 0, device == self.device, inode == self.inode else { return false }
        var info = stat()
        guard fstat(descriptor, &info) == 0, Int64(info.st_size) >= offset,
              lseek(descriptor, off_t(offset), SEEK_SET) == off_t(offset) else { return false }
        buffer.removeAll(keepingCapacity: true)
        start = 0
        bufferOffset = offset
        lineNumber = line
        atEOF = false
        return true
    }

    /// The next line, or why there is none. `.end` also when `stopRequested` said so.
    public mutating func next() throws(DataError) -> Event {
        while true {
            if descriptor < 0 { return follow ? .waiting : .end }
            // A complete line already buffered?
            if let newline = findNewline() {
                if discarding {
                    // The rest of a line already reported as too long.
                    discarding = false
                    start = newline + 1
                    continue
                }
                lineNumber += 1
                var end = newline
                if end > start && buffer[end - 1] == 0x0D { end -= 1 }
                let range = start..<end
                start = newline + 1
                if range.count > maxLineBytes { return .tooLong(line: lineNumber) }
                return .line(range: range, line: lineNumber)
            }
            if !discarding && buffer.count - start > maxLineBytes {
                // Reported now, not at a newline that may never come; the rest is skipped.
                discarding = true
                lineNumber += 1
                dropBuffered()
                return .tooLong(line: lineNumber)
            }
            if discarding { dropBuffered() }
            if atEOF {
                if follow { return .waiting }
                if start < buffer.count && !discarding {
                    // The file is complete: its unterminated last line is a line.
                    lineNumber += 1
                    var end = buffer.count
                    if buffer[end - 1] == 0x0D { end -= 1 }
                    let range = start..<end
                    start = buffer.count
                    return .line(range: range, line: lineNumber)
                }
                discarding = false
                return .end
            }
            if stopRequested() { return .end }
            try fill()
            if idle {
                idle = false
                return .waiting
            }
        }
    }

    /// Forgets the buffered bytes of an over-long line.
    mutating func dropBuffered() {
        bufferOffset += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
        start = 0
    }

    /// Checks the path for rotation, truncation or disappearance; call after `.waiting`.
    /// Clears the end-of-file mark so the next `next()` reads again.
    public mutating func poll() -> Change {
        atEOF = false
        var info = stat()
        guard stat(path, &info) == 0 else {
            if missing { return .none }
            missing = true
            return .disappeared
        }
        if missing || descriptor < 0 {
            missing = false
            if descriptor >= 0 { close(descriptor); descriptor = -1 }
            return openFile() ? .reappeared : .none
        }
        // A pipe or device has no size to shrink and cannot be re-read from its start.
        guard isRegular else { return .none }
        if UInt64(info.st_dev) != device || UInt64(info.st_ino) != inode {
            // Rotation: drain what the old file still holds before switching.
            var old = stat()
            if fstat(descriptor, &old) == 0 && Int64(old.st_size) > bufferOffset + Int64(buffer.count) { return .none }
            close(descriptor)
            descriptor = -1
            return openFile() ? .rotated : .none
        }
        if Int64(info.st_size) < bufferOffset + Int64(buffer.count) {
            _ = lseek(descriptor, 0, SEEK_SET)
            reset()
            return .truncated
        }
        return .none
    }

    /// The bytes of a line returned by `next()`.
    public func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) throws(DataError) -> R)
        throws(DataError) -> R
    {
        try buffer.withUnsafeBufferPointer { (all) throws(DataError) -> R in
            try body(UnsafeBufferPointer(rebasing: all[range]))
        }
    }

    // MARK: Internals

    mutating func openFile() -> Bool {
        // O_NONBLOCK: opening a FIFO must not wait for its writer (stop requests are honoured
        // while waiting in `fill`); it changes nothing for regular files.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return false }
        var info = stat()
        guard fstat(fd, &info) == 0 else { close(fd); return false }
        if (info.st_mode & S_IFMT) == S_IFDIR { close(fd); errno = EISDIR; return false }
        descriptor = fd
        isRegular = (info.st_mode & S_IFMT) == S_IFREG
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        reset()
        return true
    }

    mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        start = 0
        bufferOffset = 0
        lineNumber = 0
        discarding = false
        atEOF = false
    }

    func findNewline() -> Int? {
        guard start < buffer.count else { return nil }
        return buffer.withUnsafeBufferPointer { all -> Int? in
            let base = all.baseAddress!
            guard let hit = memchr(base + start, 0x0A, all.count - start) else { return nil }
            return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Reads more bytes, first moving the unread tail to the front of the buffer. For a pipe or
    /// device, first waits (in slices, asking `stopRequested`) until it is readable; returns
    /// without data when a stop was requested or the read was interrupted.
    mutating func fill() throws(DataError) {
        if start > 0 {
            bufferOffset += Int64(start)
            buffer.removeFirst(start)
            start = 0
        }
        if !isRegular {
            var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            while true {
                let n = Glibc.poll(&ready, 1, LineFollower.waitSlice)
                if n > 0 { break } // data, end of input or an error: read tells which
                if n < 0 && errno != EINTR {
                    throw DataError(.unreadable(String(cString: strerror(errno))), file: path)
                }
                if stopRequested() { return }
                if follow {
                    // Caught up with a silent writer: let the owner flush and poll, as at the
                    // end of a growing file.
                    idle = true
                    return
                }
            }
        }
        let chunk = 1 << 16
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        let n = buffer.withUnsafeMutableBufferPointer { read(descriptor, $0.baseAddress! + old, chunk) }
        if n < 0 {
            let failure = errno
            buffer.removeLast(chunk)
            // Interrupted, or no data after all (non-blocking): the caller asks again.
            if failure == EINTR || failure == EAGAIN || failure == EWOULDBLOCK { return }
            throw DataError(.unreadable(String(cString: strerror(failure))), file: path)
        }
        buffer.removeLast(chunk - n)
        if n == 0 { atEOF = true }
    }
}
