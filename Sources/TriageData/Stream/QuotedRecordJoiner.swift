/// Joins the physical lines of one CSV record whose quoted field holds a line break (RFC 4180
/// §2.6), for readers that receive a file line by line (`watch`, with `LineFollower`).
///
/// A reader parses each line on its own, which costs nothing extra on the usual one-line record.
/// Only when a line ends inside a quoted field (`MetricsRowParser.parse` then reports an
/// unterminated quote) does it `start` a record here and `append` the following lines until the
/// quotes close; it then parses the joined bytes once, as the record of the first line.
///
/// Each appended line is scanned once with the same quote rules as `MetricsRowParser.split`, so a
/// record of n bytes costs O(n) whatever its number of lines. Memory is bounded: past `maxBytes`
/// the bytes are no longer kept (the quotes are still followed, to find where the record ends)
/// and the record is reported as too long.
///
/// Line breaks are joined as `\n`: the reader has already removed a `\r` before each `\n`.
public struct QuotedRecordJoiner: Sendable {
    /// Where the scan stands in the record, as `MetricsRowParser.split` would see it.
    enum QuoteState: Sendable {
        case fieldStart, unquoted, quoted, quoteInQuoted
    }

    public let maxBytes: Int
    /// The record so far: its lines joined by `\n` (empty once it overflowed).
    public private(set) var bytes: [UInt8] = []
    /// Physical line number of the record's first line; nil when no record is open.
    public private(set) var firstLine: Int?
    /// The record grew beyond `maxBytes`; its bytes were dropped.
    public private(set) var overflowed = false
    /// Whether the record is complete (its quotes closed at the end of the last line appended).
    public private(set) var isComplete = false
    /// 0-based index of the field the scan is in: at the end of an incomplete record, the field
    /// whose quote is open.
    public private(set) var field = 0
    var state = QuoteState.fieldStart
    var count = 0

    public init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    /// A record is open: lines are being joined, or a complete one waits to be taken.
    public var isOpen: Bool { firstLine != nil }

    /// Opens a record with `line` (physical line `lineNumber`), which ends inside a quoted field.
    public mutating func start(_ line: ArraySlice<UInt8>, lineNumber: Int) {
        reset()
        firstLine = lineNumber
        keep(line)
        state = Self.scan(line, from: .fieldStart, field: &field)
        isComplete = state != .quoted
    }

    /// Adds the next physical line of the open record; returns true when the record is complete.
    public mutating func append(_ line: ArraySlice<UInt8>) -> Bool {
        precondition(isOpen && !isComplete, "append needs an open, incomplete record")
        // The line break belongs to the quoted field that was open at the end of the last line.
        keep(CollectionOfOne<UInt8>(0x0A))
        keep(line)
        state = Self.scan(line, from: state, field: &field)
        isComplete = state != .quoted
        return isComplete
    }

    /// Closes the record (after taking its bytes, or to drop it).
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: bytes.capacity <= 1 << 16)
        firstLine = nil
        overflowed = false
        isComplete = false
        state = .fieldStart
        field = 0
        count = 0
    }

    private mutating func keep(_ part: some Collection<UInt8>) {
        count += part.count
        guard !overflowed else { return }
        if count > maxBytes {
            overflowed = true
            bytes.removeAll()
            return
        }
        bytes.append(contentsOf: part)
    }

    /// The quote state after `line`, starting in `state`. Mirrors `MetricsRowParser.split`: a
    /// field is quoted only when its first byte is `"`; inside, `""` is a quote; a quote in an
    /// unquoted field is an ordinary byte. (Bytes after a closing quote other than a comma are
    /// an error that the parse of the joined record reports; here they count as unquoted.)
    static func scan(_ line: ArraySlice<UInt8>, from state: QuoteState, field: inout Int) -> QuoteState {
        var state = state
        for byte in line {
            switch state {
            case .fieldStart, .unquoted, .quoteInQuoted:
                if byte == 0x2C {
                    field += 1
                    state = .fieldStart
                } else if state == .quoteInQuoted {
                    state = byte == 0x22 ? .quoted : .unquoted
                } else if state == .fieldStart {
                    state = byte == 0x22 ? .quoted : .unquoted
                }
            case .quoted:
                if byte == 0x22 { state = .quoteInQuoted }
            }
        }
        return state
    }
}
