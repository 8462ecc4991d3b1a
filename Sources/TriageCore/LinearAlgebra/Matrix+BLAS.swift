/// Level-1/2/3 BLAS over `Matrix` and flat arrays, with transposes as flags (no copies).
extension Matrix {
    /// C ← α·op(A)·op(B) + β·C (BLAS `gemm`), writing into `c`.
    ///
    /// - Complexity: O(m·n·k) flops in OpenBLAS.
    public static func gemm(
        _ a: Matrix, transposeA: Bool = false,
        _ b: Matrix, transposeB: Bool = false,
        into c: inout Matrix, alpha: Scalar = 1, beta: Scalar = 0
    ) {
        let (m, k) = transposeA ? (a.columns, a.rows) : (a.rows, a.columns)
        let (kb, n) = transposeB ? (b.columns, b.rows) : (b.rows, b.columns)
        precondition(k == kb, "gemm inner dimensions differ: \(k) vs \(kb)")
        precondition(c.rows == m && c.columns == n, "gemm output is \(c.rows)×\(c.columns), expected \(m)×\(n)")
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // BLAS leaves C untouched when k == 0 only if β == 1; make the maths explicit.
            if beta == 0 { c.storage.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
            else if beta != 1 { c.scale(by: beta) }
            return
        }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    Scalar.blasGEMM(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                        alpha: alpha, a: pa.baseAddress!, lda: max(1, a.columns),
                        b: pb.baseAddress!, ldb: max(1, b.columns),
                        beta: beta, c: pc.baseAddress!, ldc: max(1, n))
                }
            }
        }
    }

    /// op(A)·op(B) as a new matrix.
    public static func multiply(_ a: Matrix, transposeA: Bool = false,
                                _ b: Matrix, transposeB: Bool = false) -> Matrix {
        let m = transposeA ? a.columns : a.rows
        let n = transposeB ? b.rows : b.columns
        var c = Matrix(rows: m, columns: n)
        gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
        return c
    }

    public static func * (lhs: Matrix, rhs: Matrix) -> Matrix { multiply(lhs, rhs) }

    /// op(A)·x (BLAS `gemv`).
    public func multiply(vector x: [Scalar], transposed: Bool = false) -> [Scalar] {
        let (inputLength, outputLength) = transposed ? (rows, columns) : (columns, rows)
        precondition(x.count == inputLength, "gemv vector has \(x.count) elements, expected \(inputLength)")
        var y = [Scalar](repeating: 0, count: outputLength)
        guard rows > 0, columns > 0 else { return y }
        storage.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    Scalar.blasGEMV(transpose: transposed, m: rows, n: columns, alpha: 1,
                                    a: pa.baseAddress!, lda: columns, x: px.baseAddress!, incX: 1,
                                    beta: 0, y: py.baseAddress!, incY: 1)
                }
            }
        }
        return y
    }

    /// self ← α·self.
    public mutating func scale(by alpha: Scalar) {
        let n = storage.count
        guard n > 0 else { return }
        storage.withUnsafeMutableBufferPointer { Scalar.blasSCAL(count: n, alpha: alpha, x: $0.baseAddress!, incX: 1) }
    }

    /// self ← self + α·other (BLAS `axpy`).
    public mutating func add(_ other: Matrix, scaledBy alpha: Scalar = 1) {
        precondition(rows == other.rows && columns == other.columns, "shapes differ")
        Vector.axpy(alpha, other.storage, &storage)
    }

    /// Adds `vector` to every row (bias broadcast).
    public mutating func addToEachRow(_ vector: [Scalar]) {
        precondition(vector.count == columns, "vector has \(vector.count) elements, expected \(columns)")
        let columns = self.columns
        storage.withUnsafeMutableBufferPointer { buffer in
            vector.withUnsafeBufferPointer { v in
                for i in 0..<rows {
                    let base = i * columns
                    for j in 0..<columns { buffer[base + j] += v[j] }
                }
            }
        }
    }

    /// Σ over rows: the column sums (via gemv with a ones vector).
    public func columnSums() -> [Scalar] {
        multiply(vector: [Scalar](repeating: 1, count: rows), transposed: true)
    }
}

/// BLAS level-1 on flat arrays.
public enum Vector {
    /// y ← α·x + y.
    public static func axpy<S: BLASScalar>(_ alpha: S, _ x: [S], _ y: inout [S]) {
        precondition(x.count == y.count, "axpy lengths differ: \(x.count) vs \(y.count)")
        let n = x.count
        guard n > 0 else { return }
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                S.blasAXPY(count: n, alpha: alpha, x: px.baseAddress!, incX: 1, y: py.baseAddress!, incY: 1)
            }
        }
    }

    /// Σ xᵢ·yᵢ.
    public static func dot<S: BLASScalar>(_ x: [S], _ y: [S]) -> S {
        precondition(x.count == y.count, "dot lengths differ: \(x.count) vs \(y.count)")
        guard !x.isEmpty else { return 0 }
        return x.withUnsafeBufferPointer { px in
            y.withUnsafeBufferPointer { py in
                S.blasDOT(count: x.count, x: px.baseAddress!, incX: 1, y: py.baseAddress!, incY: 1)
            }
        }
    }
}
