import TriageCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads numeric CSV files (../shared/CLI.md "Data files") fast and strictly.
///
/// The file is memory-mapped and cut into chunks at record boundaries (quote-aware, so quoted
/// line breaks never split a record). A first parallel pass counts records per chunk; the
/// matrix is then allocated once, and a second parallel pass parses every chunk straight into
/// its rows, two chunks per task side by side; all-numeric records take a SWAR fast lane
/// (PlainRecords.swift) that gives way to the general loop on anything unusual. Peak memory is the mapping plus the output, and the result is identical for any
/// number of threads. On a malformed file the error nearest the start of the file is reported
/// with its physical line, field number, column name and value.
public enum CSVReader {
    /// Reads `path` with numeric columns as Float.
    public static func read(_ path: String, options: CSVOptions = CSVOptions()) throws(DataError) -> CSVTable<Float> {
        try readTable(path, options: options)
    }

    /// Reads `path` with numeric columns as Double (timestamps, money, anything needing 53 bits).
    public static func readDouble(_ path: String, options: CSVOptions = CSVOptions()) throws(DataError) -> CSVTable<Double> {
        try readTable(path, options: options)
    }

    /// Reads CSV text held in memory (a request body); `name` stands for the file in errors.
    /// The bytes must stay valid for the call only: the table holds copies.
    public static func read(bytes: UnsafeRawBufferPointer, name: String, options: CSVOptions = CSVOptions()) throws(DataError) -> CSVTable<Float> {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw DataError(.emptyFile, file: name) }
        var source = ByteSource(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, path: name,
                                maxFieldBytes: options.maxFieldBytes)
        source.plainRecordLane = options.plainRecordLane
        return try parse(source, options: options)
    }

    static func readTable<S: BLASScalar>(_ path: String, options: CSVOptions) throws(DataError) -> CSVTable<S> {
        let file = try MappedFile(path: path)
        guard let base = file.bytes.baseAddress, file.bytes.count > 0 else { throw DataError(.emptyFile, file: path) }
        var source = ByteSource(base: base, count: file.bytes.count, path: path, maxFieldBytes: options.maxFieldBytes)
        source.plainRecordLane = options.plainRecordLane
        return try withExtendedLifetime(file) { () throws(DataError) -> CSVTable<S> in
            try parse(source, options: options)
        }
    }

    private static func parse<S: BLASScalar>(_ source: ByteSource, options: CSVOptions) throws(DataError) -> CSVTable<S> {
        var start = 0
        if source.count >= 3 && source[0] == 0xEF && source[1] == 0xBB && source[2] == 0xBF { start = 3 }
        // Leading blank lines before the header are tolerated.
        while start < source.count && (source[start] == 0x0A || source[start] == 0x0D) { start += 1 }
        guard start < source.count else { throw DataError(.emptyFile, file: source.path) }

        let (header, bodyStart) = try source.parseHeader(at: start, maxColumns: options.maxColumns)
        var seen = [String: Int]()
        for (i, name) in header.enumerated() {
            if let first = seen[name] {
                throw DataError(.duplicateColumn(firstField: first + 1), file: source.path, line: source.lineNumber(at: start),
                                column: i + 1, columnName: name, value: name)
            }
            seen[name] = i
        }
        let roles = header.map { options.roles[$0] ?? options.defaultRole }
        let layout = RecordLayout(roles: roles)

        let threads = Parallel.threadCount(options.threads)
        // An even number of chunks: each task parses two side by side (ByteSource.parseChunkPair).
        // Four tasks per thread, claimed dynamically, even out a core slowed by other work.
        let chunks = source.chunkBoundaries(from: bodyStart, chunks: threads == 1 ? 2 : threads * 8,
                                              minimumChunk: options.minimumChunkBytes)
        let counts = Parallel.map(chunks.count, threads: threads) { c in
            source.countRecords(chunks[c])
        }
        let totalRows = counts.reduce(0) { $0 + $1.records }
        if totalRows == 0 && options.requireRows { throw DataError(.noRows, file: source.path) }
        let irregular = counts.contains { $0.irregular }
        let headerLines = source.newlineCount(in: start..<bodyStart)
        let firstRowLine = source.lineNumber(at: start) + headerLines

        var rowsSoFar = 0, linesSoFar = firstRowLine
        let offsets = counts.map { count -> (row: Int, line: Int) in
            defer { rowsSoFar += count.records; linesSoFar += count.newlines }
            return (rowsSoFar, linesSoFar)
        }

        let width = layout.numericCount
        var results = [ChunkResult]()
        let storage = [S](unsafeUninitializedCapacity: totalRows * width) { buffer, initialized in
            let output = SendablePointer(buffer.baseAddress ?? UnsafeMutablePointer<S>.allocate(capacity: 1))
            // Each chunk may write exactly the rows its count found (rows[c]): the parse checks
            // every record against that range, so a disagreement between the passes is an error,
            // never a write outside the matrix.
            let rows = (0..<chunks.count).map { offsets[$0].row..<(offsets[$0].row + counts[$0].records) }
            let pairs = Parallel.map((chunks.count + 1) / 2, threads: threads) { k -> [ChunkResult] in
                let c = 2 * k
                guard c + 1 < chunks.count else {
                    return [source.parseChunk(chunks[c], layout: layout, output: output, rows: rows[c],
                                              firstLine: offsets[c].line, recordLines: irregular)]
                }
                let (first, second) = source.parseChunkPair(chunks[c], chunks[c + 1], layout: layout, output: output,
                                                            rows: (rows[c], rows[c + 1]),
                                                            firstLines: (offsets[c].line, offsets[c + 1].line),
                                                            recordLines: irregular)
                return [first, second]
            }
            results = pairs.flatMap { $0 }
            initialized = totalRows * width
            if buffer.baseAddress == nil { output.base.deallocate() }
        }
        if let failure = results.compactMap(\.failure).min(by: { $0.offset < $1.offset }) {
            throw failure.error(source: source, header: header)
        }

        var text = [String: [String]]()
        for (field, role) in roles.enumerated() where role == .text {
            let slot = layout.slot[field]
            var values = [String]()
            values.reserveCapacity(totalRows)
            for result in results { values.append(contentsOf: result.texts[slot]) }
            text[header[field]] = values
        }
        let rowLines: [Int32]? = irregular ? results.flatMap(\.lines) : nil
        let numericNames = zip(header, roles).filter { $0.1 == .numeric }.map(\.0)
        return CSVTable(file: source.path, header: header, numericNames: numericNames,
                        numeric: Matrix(rows: totalRows, columns: width, storage: storage),
                        text: text, rowLines: rowLines, firstRowLine: firstRowLine)
    }
}

/// Where each field goes: its role and its slot among numeric or text columns.
struct RecordLayout: Sendable {
    let roles: [ColumnRole]
    let slot: [Int]
    let numericCount: Int
    let textCount: Int

    init(roles: [ColumnRole]) {
        self.roles = roles
        var numeric = 0, text = 0
        slot = roles.map { role in
            switch role {
            case .numeric: defer { numeric += 1 }; return numeric
            case .text: defer { text += 1 }; return text
            case .skip: return -1
            }
        }
        numericCount = numeric
        textCount = text
    }
}

struct RecordCount: Sendable {
    var records = 0
    var newlines = 0
    /// Blank lines or line breaks inside quotes: rows are not at header + index.
    var irregular = false
}

/// A parse failure inside a chunk, located by byte offset (turned into a line number once,
/// on the error path only).
struct ChunkFailure: Sendable {
    enum Reason: Sendable, Equatable {
        case notANumber, unterminatedQuote, unexpectedAfterQuote, strayQuote, loneCarriageReturn, invalidUTF8, nulByte, fieldTooLong
        case ragged(found: Int)
        /// The chunk's records did not match its count from pass 1 (see ByteSource.ChunkCursor).
        case recordBoundary
    }
    let reason: Reason
    let offset: Int
    let field: Int
    let valueRange: Range<Int>?

    func error(source: ByteSource, header: [String]) -> DataError {
        let line = source.lineNumber(at: offset)
        let name = field < header.count ? header[field] : nil
        let value = valueRange.map { source.lossyString($0) }
        let path = source.path
        switch reason {
        case .notANumber:
            return DataError(.notANumber, file: path, line: line, column: field + 1, columnName: name, value: value)
        case .unterminatedQuote:
            return DataError(.unterminatedQuote, file: path, line: line, column: field + 1, columnName: name)
        case .unexpectedAfterQuote:
            return DataError(.unexpectedAfterQuote, file: path, line: line, column: field + 1, columnName: name, value: value)
        case .strayQuote:
            return DataError(.strayQuote, file: path, line: line, column: field + 1, columnName: name, value: value)
        case .recordBoundary:
            return DataError(.recordBoundary, file: path, line: line)
        case .loneCarriageReturn:
            return DataError(.loneCarriageReturn, file: path, line: line, column: field + 1, columnName: name)
        case .invalidUTF8:
            return DataError(.invalidUTF8, file: path, line: line, column: field + 1, columnName: name, value: value)
        case .nulByte:
            return DataError(.nulByte, file: path, line: line, column: field + 1, columnName: name)
        case .fieldTooLong:
            return DataError(.fieldTooLong(limit: source.maxFieldBytes), file: path, line: line, column: field + 1,
                             columnName: name)
        case .ragged(let found):
            return DataError(.raggedRow(expected: header.count, found: found), file: path, line: line,
                             column: found > header.count ? header.count + 1 : nil)
        }
    }
}

struct ChunkResult: @unchecked Sendable {
    var texts: [[String]]
    var lines: [Int32]
    var failure: ChunkFailure?
}
