import TriageCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private let comma: UInt8 = 0x2C
private let newline: UInt8 = 0x0A
private let carriageReturn: UInt8 = 0x0D
private let quote: UInt8 = 0x22
private let nul: UInt8 = 0x00

/// The mapped bytes of one CSV file and the scanning primitives over them.
/// Offsets are absolute byte positions in the file.
struct ByteSource: @unchecked Sendable {
    let base: UnsafePointer<UInt8>
    let count: Int
    let path: String
    let maxFieldBytes: Int
    /// Whether parseChunk may use the plain-record lane (PlainRecords.swift).
    var plainRecordLane = true

    @inline(__always) subscript(i: Int) -> UInt8 { base[i] }

    // MARK: Lines and text

    /// Number of `\n` bytes in `range` (memchr is vectorised in glibc).
    func newlineCount(in range: Range<Int>) -> Int {
        var n = 0
        var p = base + range.lowerBound
        let end = base + range.upperBound
        while p < end, let hit = memchr(p, Int32(newline), end - p) {
            n += 1
            p = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) + 1
        }
        return n
    }

    /// Physical 1-based line containing byte `offset`.
    func lineNumber(at offset: Int) -> Int { newlineCount(in: 0..<min(offset, count)) + 1 }

    /// The bytes of `range` as text for messages (invalid UTF-8 shown as U+FFFD).
    func lossyString(_ range: Range<Int>) -> String {
        let clipped = range.lowerBound..<min(range.upperBound, range.lowerBound + 200)
        return String(decoding: UnsafeBufferPointer(start: base + clipped.lowerBound, count: clipped.count), as: UTF8.self)
    }

    /// Strict UTF-8 decode; nil for invalid sequences.
    func string(_ range: Range<Int>) -> String? {
        String(validating: UnsafeBufferPointer(start: base + range.lowerBound, count: range.count), as: UTF8.self)
    }

    // MARK: Header

    /// Parses the header record starting at `start`; returns the names and where the body starts.
    func parseHeader(at start: Int, maxColumns: Int = .max) throws(DataError) -> ([String], Int) {
        var names = [String]()
        var position = start
        var field = 0
        while true {
            guard field < maxColumns else {
                throw DataError(.tooManyColumns(limit: maxColumns), file: path, line: lineNumber(at: start))
            }
            let parsed = scanField(at: position, field: field)
            switch parsed {
            case .failure(let failure):
                throw failure.error(source: self, header: names)
            case .success(let f):
                var bytes = f.unescaped ?? Array(UnsafeBufferPointer(start: base + f.content.lowerBound, count: f.content.count))
                if bytes.contains(nul) {
                    throw DataError(.nulByte, file: path, line: lineNumber(at: f.content.lowerBound), column: field + 1)
                }
                guard let name = String(validating: bytes, as: UTF8.self) else {
                    throw DataError(.invalidUTF8, file: path, line: lineNumber(at: f.content.lowerBound),
                                    column: field + 1, value: String(decoding: bytes, as: UTF8.self))
                }
                bytes.removeAll()
                names.append(name.trimmingBlanks())
                position = f.next
                if f.endsRecord { return (names, position) }
                field += 1
            }
        }
    }

    // MARK: Chunking

    /// Cuts [bodyStart, count) into about `chunks` pieces that each start at a record boundary.
    ///
    /// A line break ends a record only outside quotes; with RFC 4180 quoting (`""` escapes) the
    /// parity of the quotes seen so far is exactly "inside a quoted field", so one forward scan
    /// finds safe cut points. Files without quotes (the common case) skip that scan.
    func chunkBoundaries(from bodyStart: Int, chunks: Int, minimumChunk: Int) -> [Range<Int>] {
        let bodyLength = count - bodyStart
        guard bodyLength > 0 else { return [bodyStart..<count] }
        let pieces = max(1, min(chunks, bodyLength / max(1, minimumChunk)))
        if pieces == 1 { return [bodyStart..<count] }
        let hasQuotes = memchr(base + bodyStart, Int32(quote), bodyLength) != nil
        var cuts = [bodyStart]
        var scanned = bodyStart
        var insideQuotes = false
        for k in 1..<pieces {
            let nominal = bodyStart + bodyLength * k / pieces
            guard nominal > cuts.last! else { continue }
            var p = max(scanned, cuts.last!)
            if hasQuotes {
                while p < nominal {
                    if base[p] == quote { insideQuotes.toggle() }
                    p += 1
                }
                while p < count {
                    let b = base[p]
                    if b == quote { insideQuotes.toggle() } else if b == newline && !insideQuotes { break }
                    p += 1
                }
            } else {
                p = nominal
                if let hit = memchr(base + p, Int32(newline), count - p) {
                    p = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) - base
                } else {
                    p = count
                }
            }
            // p is a record-ending newline (or the end); the next chunk starts after it.
            let cut = min(p + 1, count)
            scanned = cut
            if cut >= count { break }
            if cut > cuts.last! { cuts.append(cut) }
        }
        cuts.append(count)
        return (0..<(cuts.count - 1)).map { cuts[$0]..<cuts[$0 + 1] }
    }

    // MARK: Pass 1: counting

    /// Counts records, physical line breaks, and whether rows and lines drift apart.
    func countRecords(_ range: Range<Int>) -> RecordCount {
        var result = RecordCount()
        var p = range.lowerBound
        let end = range.upperBound
        let hasQuotes = range.isEmpty ? false : memchr(base + p, Int32(quote), end - p) != nil
        if !hasQuotes {
            var lineStart = p
            while lineStart < end {
                let hit = memchr(base + lineStart, Int32(newline), end - lineStart)
                let lineEnd = hit.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base } ?? end
                if isBlankLine(lineStart..<lineEnd) { result.irregular = true } else { result.records += 1 }
                if hit != nil { result.newlines += 1 }
                lineStart = lineEnd + 1
            }
            return result
        }
        // A blank line is exactly what parseRecord skips: nothing, or a lone `\r`, before the
        // `\n` (or the end). Anything else is a record, so both passes agree on every file the
        // parser accepts; on other files the parser stops at the malformed record.
        var insideQuotes = false
        var recordStart = p
        while p < end {
            let b = base[p]
            if b == quote {
                insideQuotes.toggle()
            } else if b == newline {
                result.newlines += 1
                if insideQuotes {
                    result.irregular = true
                } else {
                    if isBlankLine(recordStart..<p) { result.irregular = true } else { result.records += 1 }
                    recordStart = p + 1
                }
            }
            p += 1
        }
        if recordStart < end && !isBlankLine(recordStart..<end) { result.records += 1 }
        return result
    }

    /// Whether the bytes of a line (without its `\n`) make a blank line, not a record.
    @inline(__always)
    private func isBlankLine(_ line: Range<Int>) -> Bool {
        line.isEmpty || (line.count == 1 && base[line.lowerBound] == carriageReturn)
    }

    // MARK: Pass 2: parsing

    /// Where the parse of one chunk stands: next byte, row and physical line, and what it found.
    ///
    /// `rowEnd` is the end of the rows pass 1 counted in this chunk: the matrix holds exactly
    /// those, so a record beyond them is a failure (`recordBoundary`) before anything is
    /// written. The passes agree on every well-formed file; a malformed one (a stray quote
    /// flips pass 1's quote parity) is reported at its first malformed record, which comes
    /// earlier in the file than any disagreement it causes.
    struct ChunkCursor {
        var p: Int
        let start: Int
        let end: Int
        var row: Int
        let rowEnd: Int
        var line: Int
        var result: ChunkResult
        /// Records in a row the plain lane gave back. A skipped column may hold text (a class
        /// label) in every record; past `plainGiveUp` misses the chunk stops trying the lane.
        var plainMisses = 0
        static let plainGiveUp = 32

        var triesPlain: Bool { plainMisses < Self.plainGiveUp }

        init(_ range: Range<Int>, textCount: Int, rows: Range<Int>, firstLine: Int) {
            p = range.lowerBound
            start = range.lowerBound
            end = range.upperBound
            row = rows.lowerBound
            rowEnd = rows.upperBound
            line = firstLine
            result = ChunkResult(texts: Array(repeating: [], count: textCount), lines: [], failure: nil)
        }

        /// Records left and no failure so far (a chunk stops at its first failure).
        var active: Bool { p < end && result.failure == nil }

        /// Room for one more record in the chunk's rows.
        var hasRowLeft: Bool { row < rowEnd }

        /// Called when the chunk is done: fewer records than counted is a failure too.
        mutating func finish() {
            if result.failure == nil && row != rowEnd {
                result.failure = ChunkFailure(reason: .recordBoundary, offset: max(start, end - 1), field: 0, valueRange: nil)
            }
        }
    }

    /// What every record of one parse needs, resolved once.
    struct RecordContext<S: BLASScalar> {
        let roles: UnsafeBufferPointer<ColumnRole>
        let slots: UnsafeBufferPointer<Int>
        let width: Int
        let columns: Int
        let output: SendablePointer<S>
        let recordLines: Bool
        /// All columns numeric or skipped: records may take the plain-record lane (PlainRecords.swift).
        let plain: Bool
        /// Bytes that must remain in the chunk for the lane to try a record.
        let plainReach: Int
        let powers: NumberParser.PlainPowers
    }

    func withRecordContext<S: BLASScalar, R>(layout: RecordLayout, output: SendablePointer<S>, recordLines: Bool,
                                             _ body: (RecordContext<S>) -> R) -> R {
        let columns = layout.roles.count
        let width = layout.numericCount
        // The lane's fields are at most plainFieldReach bytes, so a lower field limit (which
        // the lane does not check) keeps the general loop.
        let plain = plainRecordLane && width > 0 && layout.textCount == 0 && maxFieldBytes >= ByteSource.plainFieldReach
        return NumberParser.withPlainPowers { powers in
            layout.roles.withUnsafeBufferPointer { roles in
                layout.slot.withUnsafeBufferPointer { slots in
                    body(RecordContext(roles: roles, slots: slots, width: width, columns: columns, output: output,
                                       recordLines: recordLines, plain: plain,
                                       plainReach: ByteSource.plainFieldReach * columns, powers: powers))
                }
            }
        }
    }

    /// Parses every record of `range` into `output`, into `rows` (the rows pass 1 counted in it).
    func parseChunk<S: BLASScalar>(_ range: Range<Int>, layout: RecordLayout, output: SendablePointer<S>,
                                   rows: Range<Int>, firstLine: Int, recordLines: Bool) -> ChunkResult {
        var cursor = ChunkCursor(range, textCount: layout.textCount, rows: rows, firstLine: firstLine)
        withRecordContext(layout: layout, output: output, recordLines: recordLines) { context in
            while cursor.active { parseRecord(&cursor, context) }
        }
        cursor.finish()
        return cursor.result
    }

    /// Parses two chunks in one loop, a field of each in turn while both are in the plain lane.
    ///
    /// Within one chunk every field's start depends on the end of the field before it (load,
    /// find the digit run, add), a chain of about 30 cycles that the core cannot overlap. Two
    /// chunks give two independent chains, so out-of-order execution runs them side by side.
    /// Each chunk's records, rows, lines and failure are exactly those of `parseChunk`.
    func parseChunkPair<S: BLASScalar>(_ first: Range<Int>, _ second: Range<Int>, layout: RecordLayout,
                                       output: SendablePointer<S>, rows: (Range<Int>, Range<Int>), firstLines: (Int, Int),
                                       recordLines: Bool) -> (ChunkResult, ChunkResult) {
        var a = ChunkCursor(first, textCount: layout.textCount, rows: rows.0, firstLine: firstLines.0)
        var b = ChunkCursor(second, textCount: layout.textCount, rows: rows.1, firstLine: firstLines.1)
        withRecordContext(layout: layout, output: output, recordLines: recordLines) { context in
            while a.active && b.active {
                if context.plain && a.triesPlain && b.triesPlain && a.hasRowLeft && b.hasRowLeft
                    && a.p + context.plainReach <= a.end && b.p + context.plainReach <= b.end,
                   let (nextA, nextB) = parsePlainRecordPair(at: a.p, b.p, columns: context.columns,
                                                             rows: (context.output.base + a.row * context.width,
                                                                    context.output.base + b.row * context.width),
                                                             slots: context.slots.baseAddress!, powers: context.powers)
                {
                    finishPlainRecord(&a, next: nextA, context)
                    finishPlainRecord(&b, next: nextB, context)
                    continue
                }
                // One record of each on its own (a blank line, a general record, or the lane).
                parseRecord(&a, context)
                if b.active { parseRecord(&b, context) }
            }
            while a.active { parseRecord(&a, context) }
            while b.active { parseRecord(&b, context) }
        }
        a.finish()
        b.finish()
        return (a.result, b.result)
    }

    @inline(__always)
    private func finishPlainRecord<S>(_ c: inout ChunkCursor, next: Int, _ x: RecordContext<S>) {
        if x.recordLines { c.result.lines.append(Int32(truncatingIfNeeded: c.line)) }
        c.p = next
        c.line += 1
        c.row += 1
    }

    /// Parses one record (or skips one blank line) at the cursor; on bad content records the
    /// failure in the cursor's result.
    @inline(__always)
    func parseRecord<S: BLASScalar>(_ c: inout ChunkCursor, _ x: RecordContext<S>) {
        // Blank lines between records.
        if base[c.p] == newline { c.p += 1; c.line += 1; return }
        if base[c.p] == carriageReturn && (c.p + 1 == c.end || base[c.p + 1] == newline) {
            c.p += 2; c.line += 1; return
        }
        guard c.hasRowLeft else {
            c.result.failure = ChunkFailure(reason: .recordBoundary, offset: c.p, field: 0, valueRange: nil)
            return
        }
        if x.plain && c.triesPlain && c.p + x.plainReach <= c.end {
            if let next = parsePlainRecord(at: c.p, columns: x.columns, row: x.output.base + c.row * x.width,
                                           slots: x.slots.baseAddress!, powers: x.powers) {
                c.plainMisses = 0
                finishPlainRecord(&c, next: next, x)
                return
            }
            c.plainMisses += 1
        }
        parseGeneralRecord(&c, x)
    }

    /// Any record: quotes, text and skipped columns, missing values, every number format.
    private func parseGeneralRecord<S: BLASScalar>(_ c: inout ChunkCursor, _ x: RecordContext<S>) {
        let end = c.end
        let columns = x.columns
        let output = x.output
        if x.recordLines { c.result.lines.append(Int32(truncatingIfNeeded: c.line)) }
        let rowBase = c.row * x.width
        var p = c.p
        var field = 0
        while true {
            let role: ColumnRole = field < columns ? x.roles[field] : .skip
            var next: Int
            var endsRecord: Bool
            if role == .numeric && p < end && base[p] != quote,
               let parsed = NumberParser.parsePrefix(base + p, base + end),
               case let stop = parsed.next - base, stop - p <= maxFieldBytes,
               stop == end || isDelimiter(at: stop, end: end)
            {
                output[rowBase + x.slots[field]] = S(parsed.value)
                (next, endsRecord) = advance(pastDelimiterAt: stop, end: end)
            } else {
                switch scanField(at: p, field: field, limit: end) {
                case .failure(let failure):
                    c.result.failure = failure
                    return
                case .success(let f):
                    c.line += f.newlinesInside
                    if let failure = store(f, role: role, field: field, slot: field < columns ? x.slots[field] : -1,
                                           rowBase: rowBase, output: output, texts: &c.result.texts) {
                        c.result.failure = failure
                        return
                    }
                    next = f.next
                    endsRecord = f.endsRecord
                }
            }
            p = next
            if endsRecord {
                if field + 1 != columns {
                    c.result.failure = ChunkFailure(reason: .ragged(found: field + 1), offset: max(c.start, p - 1),
                                                    field: min(field, columns), valueRange: nil)
                    return
                }
                break
            }
            field += 1
        }
        c.p = p
        c.line += 1
        c.row += 1
    }

    /// Stores one slow-path field according to its role; returns a failure for bad content.
    private func store<S: BLASScalar>(_ f: ScannedField, role: ColumnRole, field: Int, slot: Int, rowBase: Int,
                                      output: SendablePointer<S>, texts: inout [[String]]) -> ChunkFailure? {
        let content = f.content
        if content.count > maxFieldBytes {
            return ChunkFailure(reason: .fieldTooLong, offset: content.lowerBound, field: field, valueRange: nil)
        }
        if let unescaped = f.unescaped {
            return unescaped.withUnsafeBufferPointer { bytes in
                store(bytes, content: content, role: role, field: field, slot: slot, rowBase: rowBase,
                      output: output, texts: &texts)
            }
        }
        return store(UnsafeBufferPointer(start: base + content.lowerBound, count: content.count), content: content,
                     role: role, field: field, slot: slot, rowBase: rowBase, output: output, texts: &texts)
    }

    private func store<S: BLASScalar>(_ bytes: UnsafeBufferPointer<UInt8>, content: Range<Int>, role: ColumnRole,
                                      field: Int, slot: Int, rowBase: Int, output: SendablePointer<S>,
                                      texts: inout [[String]]) -> ChunkFailure? {
        if let start = bytes.baseAddress, memchr(start, 0, bytes.count) != nil {
            return ChunkFailure(reason: .nulByte, offset: content.lowerBound, field: field, valueRange: nil)
        }
        switch role {
        case .numeric:
            if let value = NumberParser.parseField(bytes) {
                output[rowBase + slot] = S(value)
                return nil
            }
            let valid = String(validating: bytes, as: UTF8.self) != nil
            return ChunkFailure(reason: valid ? .notANumber : .invalidUTF8, offset: content.lowerBound, field: field,
                                valueRange: content)
        case .text:
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return ChunkFailure(reason: .invalidUTF8, offset: content.lowerBound, field: field, valueRange: content)
            }
            texts[slot].append(text)
            return nil
        case .skip:
            return nil
        }
    }

    @inline(__always)
    private func isDelimiter(at i: Int, end: Int) -> Bool {
        let b = base[i]
        return b == comma || b == newline || (b == carriageReturn && (i + 1 == end || base[i + 1] == newline))
    }

    /// Given the delimiter at `i` (or the end), returns where the next field starts and whether
    /// the record ended.
    @inline(__always)
    private func advance(pastDelimiterAt i: Int, end: Int) -> (Int, Bool) {
        if i >= end { return (end, true) }
        switch base[i] {
        case comma: return (i + 1, false)
        case carriageReturn: return (min(i + 2, end), true)
        default: return (i + 1, true)
        }
    }

    // MARK: Field scanning

    struct ScannedField {
        /// Raw content (without surrounding quotes or the trailing `\r`).
        var content: Range<Int>
        /// Content with `""` turned into `"`, when the field was quoted and had escapes.
        var unescaped: [UInt8]?
        var next: Int
        var endsRecord: Bool
        var newlinesInside: Int
    }

    enum FieldScan {
        case success(ScannedField)
        case failure(ChunkFailure)
    }

    /// Scans one field starting at `start` (quoted or not) up to its delimiter.
    func scanField(at start: Int, field: Int, limit: Int? = nil) -> FieldScan {
        let end = limit ?? count
        if start < end && base[start] == quote {
            var p = start + 1
            var unescaped: [UInt8]?
            var newlines = 0
            var segmentStart = p
            // Bounded by the chunk, not the file: a record never crosses a chunk boundary, so a
            // quote still open there is unterminated as far as this record can tell.
            while true {
                guard p < end else {
                    return .failure(ChunkFailure(reason: .unterminatedQuote, offset: start, field: field, valueRange: nil))
                }
                let b = base[p]
                if b == quote {
                    if p + 1 < end && base[p + 1] == quote {
                        if unescaped == nil { unescaped = [] }
                        unescaped!.append(contentsOf: UnsafeBufferPointer(start: base + segmentStart, count: p + 1 - segmentStart))
                        p += 2
                        segmentStart = p
                        continue
                    }
                    break
                }
                if b == newline { newlines += 1 }
                p += 1
                if p - start > maxFieldBytes + 2 {
                    return .failure(ChunkFailure(reason: .fieldTooLong, offset: start, field: field, valueRange: nil))
                }
            }
            let contentRange = (start + 1)..<p
            if unescaped != nil {
                unescaped!.append(contentsOf: UnsafeBufferPointer(start: base + segmentStart, count: p - segmentStart))
            }
            let after = p + 1
            if after >= end { return .success(ScannedField(content: contentRange, unescaped: unescaped, next: end, endsRecord: true, newlinesInside: newlines)) }
            switch base[after] {
            case comma:
                return .success(ScannedField(content: contentRange, unescaped: unescaped, next: after + 1, endsRecord: false, newlinesInside: newlines))
            case newline:
                return .success(ScannedField(content: contentRange, unescaped: unescaped, next: after + 1, endsRecord: true, newlinesInside: newlines))
            case carriageReturn where after + 1 >= end || base[after + 1] == newline:
                return .success(ScannedField(content: contentRange, unescaped: unescaped, next: min(after + 2, end), endsRecord: true, newlinesInside: newlines))
            default:
                var stop = after
                while stop < end && base[stop] != comma && base[stop] != newline { stop += 1 }
                return .failure(ChunkFailure(reason: .unexpectedAfterQuote, offset: after, field: field, valueRange: start..<stop))
            }
        }
        var p = start
        while p < end {
            let b = base[p]
            if b == comma || b == newline { break }
            if b == carriageReturn && p + 1 < end && base[p + 1] != newline {
                // RFC 4180 has CR only in CRLF or inside quotes. Python's csv ends a record at a
                // lone CR, Triage's passes would not: refuse it rather than guess (old Mac files).
                return .failure(ChunkFailure(reason: .loneCarriageReturn, offset: p, field: field, valueRange: nil))
            }
            if b == quote {
                // Pass 1 took this quote as opening a quoted run (quote parity), so past it the
                // passes could disagree on where records end: refuse it here, where it is.
                var stop = p
                while stop < end && base[stop] != comma && base[stop] != newline { stop += 1 }
                return .failure(ChunkFailure(reason: .strayQuote, offset: p, field: field, valueRange: start..<stop))
            }
            p += 1
            if p - start > maxFieldBytes {
                return .failure(ChunkFailure(reason: .fieldTooLong, offset: start, field: field, valueRange: nil))
            }
        }
        var contentEnd = p
        if p < end && base[p] == newline && contentEnd > start && base[contentEnd - 1] == carriageReturn { contentEnd -= 1 }
        if p >= end {
            if contentEnd > start && base[contentEnd - 1] == carriageReturn { contentEnd -= 1 }
            return .success(ScannedField(content: start..<contentEnd, unescaped: nil, next: end, endsRecord: true, newlinesInside: 0))
        }
        return .success(ScannedField(content: start..<contentEnd, unescaped: nil, next: p + 1,
                                     endsRecord: base[p] == newline, newlinesInside: 0))
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    func trimmingBlanks() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
