import CBLAS

/// A floating-point type that OpenBLAS implements natively (`Float` → `s*`, `Double` → `d*`).
///
/// `Matrix` is generic over this protocol so that every algorithm is written once and
/// dispatches to the single- or double-precision BLAS kernel at the call site.
public protocol BLASScalar: BinaryFloatingPoint, Codable, Sendable
where RawSignificand: FixedWidthInteger {
    /// C ← α·op(A)·op(B) + β·C, all row-major with leading dimensions given.
    static func blasGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// y ← α·op(A)·x + β·y, A row-major m × n.
    static func blasGEMV(
        transpose: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
        x: UnsafePointer<Self>, incX: Int, beta: Self, y: UnsafeMutablePointer<Self>, incY: Int)
    /// y ← α·x + y.
    static func blasAXPY(count: Int, alpha: Self, x: UnsafePointer<Self>, incX: Int,
                         y: UnsafeMutablePointer<Self>, incY: Int)
    /// Σ xᵢ·yᵢ.
    static func blasDOT(count: Int, x: UnsafePointer<Self>, incX: Int,
                        y: UnsafePointer<Self>, incY: Int) -> Self
    /// x ← α·x.
    static func blasSCAL(count: Int, alpha: Self, x: UnsafeMutablePointer<Self>, incX: Int)
}

@inline(__always)
private func cblasTranspose(_ transpose: Bool) -> CBLAS_TRANSPOSE {
    transpose ? CblasTrans : CblasNoTrans
}

extension Float: BLASScalar {
    public static func blasGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda),
                    b, blasint(ldb), beta, c, blasint(ldc))
    }

    public static func blasGEMV(
        transpose: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, incX: Int, beta: Float, y: UnsafeMutablePointer<Float>, incY: Int
    ) {
        cblas_sgemv(CblasRowMajor, cblasTranspose(transpose), blasint(m), blasint(n), alpha,
                    a, blasint(lda), x, blasint(incX), beta, y, blasint(incY))
    }

    public static func blasAXPY(count: Int, alpha: Float, x: UnsafePointer<Float>, incX: Int,
                                y: UnsafeMutablePointer<Float>, incY: Int) {
        cblas_saxpy(blasint(count), alpha, x, blasint(incX), y, blasint(incY))
    }

    public static func blasDOT(count: Int, x: UnsafePointer<Float>, incX: Int,
                               y: UnsafePointer<Float>, incY: Int) -> Float {
        cblas_sdot(blasint(count), x, blasint(incX), y, blasint(incY))
    }

    public static func blasSCAL(count: Int, alpha: Float, x: UnsafeMutablePointer<Float>, incX: Int) {
        cblas_sscal(blasint(count), alpha, x, blasint(incX))
    }
}

extension Double: BLASScalar {
    public static func blasGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda),
                    b, blasint(ldb), beta, c, blasint(ldc))
    }

    public static func blasGEMV(
        transpose: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
        x: UnsafePointer<Double>, incX: Int, beta: Double, y: UnsafeMutablePointer<Double>, incY: Int
    ) {
        cblas_dgemv(CblasRowMajor, cblasTranspose(transpose), blasint(m), blasint(n), alpha,
                    a, blasint(lda), x, blasint(incX), beta, y, blasint(incY))
    }

    public static func blasAXPY(count: Int, alpha: Double, x: UnsafePointer<Double>, incX: Int,
                                y: UnsafeMutablePointer<Double>, incY: Int) {
        cblas_daxpy(blasint(count), alpha, x, blasint(incX), y, blasint(incY))
    }

    public static func blasDOT(count: Int, x: UnsafePointer<Double>, incX: Int,
                               y: UnsafePointer<Double>, incY: Int) -> Double {
        cblas_ddot(blasint(count), x, blasint(incX), y, blasint(incY))
    }

    public static func blasSCAL(count: Int, alpha: Double, x: UnsafeMutablePointer<Double>, incX: Int) {
        cblas_dscal(blasint(count), alpha, x, blasint(incX))
    }
}

/// Process-wide control of OpenBLAS's own thread pool.
public enum BLASThreads {
    /// Sets how many threads OpenBLAS uses for one call. Our own parallel loops set it to 1
    /// while they run: nested pools oversubscribe the cores and cost 10–15 %.
    public static func set(_ count: Int) { openblas_set_num_threads(Int32(max(1, count))) }
    public static var current: Int { Int(openblas_get_num_threads()) }
}
