import TriageCore

/// What the reader does with a column.
public enum ColumnRole: Sendable, Equatable {
    /// Parsed as a number into the numeric matrix; text there is an error.
    case numeric
    /// Kept as text (labels, identifiers, timestamps).
    case text
    /// Checked for structure only, not stored.
    case skip
}

/// How to read a CSV file.
public struct CSVOptions: Sendable {
    /// Role of each named column; columns not named here get `defaultRole`.
    public var roles: [String: ColumnRole]
    public var defaultRole: ColumnRole
    /// Worker threads for parsing (nil = all cores). The result does not depend on it.
    public var threads: Int?
    /// Longest field accepted, in bytes. A longer field is almost always a broken quote or a
    /// file that is not CSV; refusing it keeps memory bounded.
    public var maxFieldBytes: Int
    /// Most columns accepted in the header. The widest tabular sets in use have a few thousand
    /// features; a header of millions of fields is a broken file (or an attack), and every
    /// name costs a string, so the header stops there with an error instead of filling memory.
    public var maxColumns = 100_000
    /// When true (the default) a file with a header but no rows is an error.
    public var requireRows: Bool
    /// Smallest piece of the file given to one parsing task. Below ~1 MB the per-task overhead
    /// outweighs the parallel gain; tests lower it to exercise chunk boundaries on small files.
    public var minimumChunkBytes = 1 << 20
    /// Whether all-numeric files may take the plain-record lane; tests turn it off to compare
    /// the lane with the general loop.
    var plainRecordLane = true

    public init(roles: [String: ColumnRole] = [:], defaultRole: ColumnRole = .numeric,
                threads: Int? = nil, maxFieldBytes: Int = 65_536, requireRows: Bool = true) {
        self.roles = roles
        self.defaultRole = defaultRole
        self.threads = threads
        self.maxFieldBytes = maxFieldBytes
        self.requireRows = requireRows
    }
}

/// A parsed CSV file: numeric columns as one row-major matrix, text columns as strings.
public struct CSVTable<Scalar: BLASScalar>: Sendable {
    public let file: String
    /// Every column name, in file order.
    public let header: [String]
    /// Names of the numeric columns, in file order (the matrix's column order).
    public let numericNames: [String]
    /// Rows × numeric columns; missing values are NaN.
    public var numeric: Matrix<Scalar>
    /// Text columns by name.
    public let text: [String: [String]]
    /// Physical line of each row, stored only when rows and lines are not simply offset by
    /// the header (blank lines, quoted line breaks).
    let rowLines: [Int32]?
    let firstRowLine: Int

    public var rowCount: Int { numeric.rows }


    /// The physical line (header = 1) that holds row `row` (0-based).
    public func line(ofRow row: Int) -> Int {
        if let rowLines { return Int(rowLines[row]) }
        return firstRowLine + row
    }

    /// 1-based field number of column `name` in the file.
    public func fieldNumber(of name: String) -> Int? {
        header.firstIndex(of: name).map { $0 + 1 }
    }

    /// Index of `name` among the numeric columns.
    public func numericIndex(of name: String) -> Int? { numericNames.firstIndex(of: name) }

    /// A numeric column's values.
    public func numericColumn(_ name: String) -> [Scalar]? {
        numericIndex(of: name).map { numeric.column($0) }
    }

    /// The numeric matrix restricted to `names`, in that order; throws naming the first
    /// column that is absent (or not numeric).
    public func features(_ names: [String]) throws(DataError) -> Matrix<Scalar> {
        var indices = [Int]()
        for name in names {
            guard let index = numericIndex(of: name) else {
                throw DataError(.missingColumn, file: file, line: 1, columnName: name)
            }
            indices.append(index)
        }
        if indices == Array(0..<numeric.columns) { return numeric }
        return numeric.columns(at: indices)
    }

    /// Location of the first NaN of `matrix` (columns named by `names`), as an error, or nil.
    /// Inlinable so the scan is specialised for the caller's scalar type.
    @inlinable
    public func firstMissing(in matrix: Matrix<Scalar>, names: [String]) -> DataError? {
        let index: Int? = matrix.storage.withUnsafeBufferPointer { buffer in
            for i in buffer.indices where buffer[i].isNaN { return i }
            return nil
        }
        guard let index else { return nil }
        let (row, column) = (index / matrix.columns, index % matrix.columns)
        return DataError(.missingValue, file: file, line: line(ofRow: row),
                         column: fieldNumber(of: names[column]), columnName: names[column])
    }

    /// A column in which every value is missing, as an error naming it, or nil.
    public func firstAllMissingColumn(in matrix: Matrix<Scalar>, names: [String]) -> DataError? {
        let moments = matrix.columnMoments()
        for (j, m) in moments.enumerated() where m.count == 0 {
            return DataError(.allMissing, file: file, column: fieldNumber(of: names[j]), columnName: names[j])
        }
        return nil
    }
}

extension CSVTable {
    /// A table from another source than a CSV file (a JSON request body): row `i` is reported at
    /// "line" `firstRowLine + i` of `file`.
    public init(file: String, header: [String], numericNames: [String], numeric: Matrix<Scalar>,
                text: [String: [String]] = [:], firstRowLine: Int) {
        self.init(file: file, header: header, numericNames: numericNames, numeric: numeric, text: text,
                  rowLines: nil, firstRowLine: firstRowLine)
    }
}
