/// A dense matrix with contiguous row-major storage.
///
/// Element (i, j) lives at `storage[i * columns + j]`, so a row is a contiguous slice and the
/// storage can be handed to BLAS without copying. Transposes are expressed as flags on the
/// BLAS call (`Matrix.multiply(_:transposeA:_:transposeB:)`), never materialised unless asked
/// for with `transposed()`.
public struct Matrix<Scalar: BLASScalar>: Sendable, Equatable, Codable {
    public private(set) var rows: Int
    public private(set) var columns: Int
    /// Row-major elements. Invariant: `storage.count == rows * columns`; callers may mutate
    /// elements in place (BLAS outputs, optimiser steps) but must not change the count.
    public var storage: [Scalar]

    /// A `rows × columns` matrix with every element set to `value`.
    public init(rows: Int, columns: Int, repeating value: Scalar = 0) {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative")
        self.rows = rows
        self.columns = columns
        self.storage = Array(repeating: value, count: rows * columns)
    }

    /// Wraps existing row-major storage; `storage.count` must equal `rows * columns`.
    public init(rows: Int, columns: Int, storage: [Scalar]) {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative")
        precondition(storage.count == rows * columns,
                     "storage has \(storage.count) elements, expected \(rows) × \(columns)")
        self.rows = rows
        self.columns = columns
        self.storage = storage
    }

    /// Builds a matrix from nested rows, which must all have the same length.
    public init(_ nestedRows: [[Scalar]]) {
        let columns = nestedRows.first?.count ?? 0
        precondition(nestedRows.allSatisfy { $0.count == columns }, "rows have different lengths")
        self.init(rows: nestedRows.count, columns: columns, storage: nestedRows.flatMap { $0 })
    }

    /// Fills a new matrix by calling `body(row, column)` in row-major order.
    public init(rows: Int, columns: Int, generator body: (Int, Int) throws -> Scalar) rethrows {
        var storage = [Scalar]()
        storage.reserveCapacity(rows * columns)
        for i in 0..<rows {
            for j in 0..<columns { storage.append(try body(i, j)) }
        }
        self.init(rows: rows, columns: columns, storage: storage)
    }

    /// The n × n identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    public var shape: (rows: Int, columns: Int) { (rows, columns) }
    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }

    @inlinable
    public subscript(row: Int, column: Int) -> Scalar {
        get {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns, "index out of range")
            return storage[row &* columns &+ column]
        }
        set {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns, "index out of range")
            storage[row &* columns &+ column] = newValue
        }
    }

    // MARK: Rows and columns

    /// A view of row `i` (no copy until mutated).
    public func row(_ i: Int) -> ArraySlice<Scalar> {
        precondition(i >= 0 && i < rows, "row \(i) out of range 0..<\(rows)")
        return storage[(i * columns)..<((i + 1) * columns)]
    }

    /// Calls `body` with a pointer to row `i`'s `columns` contiguous elements.
    @inlinable
    public func withRow<R>(_ i: Int, _ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        precondition(i >= 0 && i < rows, "row index out of range")
        return try storage.withUnsafeBufferPointer { buffer in
            try body(UnsafeBufferPointer(rebasing: buffer[(i * columns)..<((i + 1) * columns)]))
        }
    }

    /// A copy of column `j`.
    public func column(_ j: Int) -> [Scalar] {
        precondition(j >= 0 && j < columns, "column \(j) out of range 0..<\(columns)")
        return (0..<rows).map { storage[$0 * columns + j] }
    }

    /// The contiguous block of rows `range` (copied).
    public func rows(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "row range out of bounds")
        return Matrix(rows: range.count, columns: columns,
                      storage: Array(storage[(range.lowerBound * columns)..<(range.upperBound * columns)]))
    }

    /// The rows at `indices`, in that order (copied); indices may repeat (bootstrap samples).
    public func rows<C: Collection>(at indices: C) -> Matrix where C.Element == Int {
        var result = [Scalar]()
        result.reserveCapacity(indices.count * columns)
        storage.withUnsafeBufferPointer { source in
            for i in indices {
                precondition(i >= 0 && i < rows, "row index \(i) out of range 0..<\(rows)")
                result.append(contentsOf: UnsafeBufferPointer(rebasing: source[(i * columns)..<((i + 1) * columns)]))
            }
        }
        return Matrix(rows: indices.count, columns: columns, storage: result)
    }

    /// The columns at `indices`, in that order (copied).
    public func columns<C: Collection>(at indices: C) -> Matrix where C.Element == Int {
        let picked = Array(indices)
        precondition(picked.allSatisfy { $0 >= 0 && $0 < columns }, "column index out of range")
        var result = [Scalar]()
        result.reserveCapacity(rows * picked.count)
        for i in 0..<rows {
            let base = i * columns
            for j in picked { result.append(storage[base + j]) }
        }
        return Matrix(rows: rows, columns: picked.count, storage: result)
    }

    /// Appends one row; `values.count` must equal `columns` (or set it when the matrix is empty
    /// with zero columns).
    public mutating func appendRow<C: Collection>(_ values: C) where C.Element == Scalar {
        if rows == 0 && columns == 0 { columns = values.count }
        precondition(values.count == columns, "row has \(values.count) values, expected \(columns)")
        rows += 1
        storage.append(contentsOf: values)
    }

    /// The transpose, materialised (BLAS calls take a flag instead; use this only when a
    /// transposed layout is needed for repeated access).
    public func transposed() -> Matrix {
        var result = [Scalar](repeating: 0, count: storage.count)
        let blockSize = 32
        storage.withUnsafeBufferPointer { src in
            result.withUnsafeMutableBufferPointer { dst in
                for ib in stride(from: 0, to: rows, by: blockSize) {
                    for jb in stride(from: 0, to: columns, by: blockSize) {
                        for i in ib..<min(ib + blockSize, rows) {
                            for j in jb..<min(jb + blockSize, columns) {
                                dst[j * rows + i] = src[i * columns + j]
                            }
                        }
                    }
                }
            }
        }
        return Matrix(rows: columns, columns: rows, storage: result)
    }

    /// Element-wise conversion to another scalar type.
    public func converted<Other: BLASScalar>(to _: Other.Type = Other.self) -> Matrix<Other> {
        Matrix<Other>(rows: rows, columns: columns, storage: storage.map { Other($0) })
    }

    /// Index of the largest element in each row (first one on ties; NaN never wins).
    public func argmaxPerRow() -> [Int] {
        (0..<rows).map { i in withRow(i) { argmax($0) ?? 0 } }
    }

    /// Applies `transform` to every element.
    public func map(_ transform: (Scalar) throws -> Scalar) rethrows -> Matrix {
        Matrix(rows: rows, columns: columns, storage: try storage.map(transform))
    }

    /// True when any element is NaN.
    public var containsNaN: Bool { storage.contains { $0.isNaN } }
}

/// Index of the largest element (first on ties, NaN ignored); nil when empty or all NaN.
public func argmax<C: Collection>(_ values: C) -> Int? where C.Element: BinaryFloatingPoint, C.Index == Int {
    var best: Int?
    var bestValue = C.Element.zero
    for i in values.indices where !values[i].isNaN {
        if best == nil || values[i] > bestValue {
            best = i - values.startIndex
            bestValue = values[i]
        }
    }
    return best
}

extension Matrix: CustomStringConvertible {
    public var description: String {
        let shown = (0..<min(rows, 8)).map { i in
            "[" + row(i).prefix(8).map { "\($0)" }.joined(separator: ", ") + (columns > 8 ? ", …" : "") + "]"
        }
        return "Matrix<\(Scalar.self)>(\(rows)×\(columns))[" + shown.joined(separator: ", ")
            + (rows > 8 ? ", …" : "") + "]"
    }
}

extension Matrix {
    enum CodingKeys: String, CodingKey { case rows, columns, storage }

    /// Decodes and checks the invariant `storage.count == rows * columns`: model files come from
    /// outside, and a matrix that broke it would trap (or worse) at its first use, not here.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let rows = try c.decode(Int.self, forKey: .rows), columns = try c.decode(Int.self, forKey: .columns)
        let storage = try c.decode([Scalar].self, forKey: .storage)
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 0, columns >= 0, !overflow, storage.count == count else {
            throw DecodingError.dataCorruptedError(forKey: .storage, in: c,
                debugDescription: "matrix of \(rows) × \(columns) has \(storage.count) elements")
        }
        self.init(rows: rows, columns: columns, storage: storage)
    }
}
