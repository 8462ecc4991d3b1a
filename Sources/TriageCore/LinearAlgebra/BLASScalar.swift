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
        BLASThreads.ensureConfigured()
        cblas_sgemm(CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda),
                    b, blasint(ldb), beta, c, blasint(ldc))
    }

    public static func blasGEMV(
        transpose: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, incX: Int, beta: Float, y: UnsafeMutablePointer<Float>, incY: Int
    ) {
        BLASThreads.ensureConfigured()
        cblas_sgemv(CblasRowMajor, cblasTranspose(transpose), blasint(m), blasint(n), alpha,
                    a, blasint(lda), x, blasint(incX), beta, y, blasint(incY))
    }

    public static func blasAXPY(count: Int, alpha: Float, x: UnsafePointer<Float>, incX: Int,
                                y: UnsafeMutablePointer<Float>, incY: Int) {
        BLASThreads.ensureConfigured()
        cblas_saxpy(blasint(count), alpha, x, blasint(incX), y, blasint(incY))
    }

    public static func blasDOT(count: Int, x: UnsafePointer<Float>, incX: Int,
                               y: UnsafePointer<Float>, incY: Int) -> Float {
        BLASThreads.ensureConfigured()
        return cblas_sdot(blasint(count), x, blasint(incX), y, blasint(incY))
    }

    public static func blasSCAL(count: Int, alpha: Float, x: UnsafeMutablePointer<Float>, incX: Int) {
        BLASThreads.ensureConfigured()
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
        BLASThreads.ensureConfigured()
        cblas_dgemm(CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda),
                    b, blasint(ldb), beta, c, blasint(ldc))
    }

    public static func blasGEMV(
        transpose: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
        x: UnsafePointer<Double>, incX: Int, beta: Double, y: UnsafeMutablePointer<Double>, incY: Int
    ) {
        BLASThreads.ensureConfigured()
        cblas_dgemv(CblasRowMajor, cblasTranspose(transpose), blasint(m), blasint(n), alpha,
                    a, blasint(lda), x, blasint(incX), beta, y, blasint(incY))
    }

    public static func blasAXPY(count: Int, alpha: Double, x: UnsafePointer<Double>, incX: Int,
                                y: UnsafeMutablePointer<Double>, incY: Int) {
        BLASThreads.ensureConfigured()
        cblas_daxpy(blasint(count), alpha, x, blasint(incX), y, blasint(incY))
    }

    public static func blasDOT(count: Int, x: UnsafePointer<Double>, incX: Int,
                               y: UnsafePointer<Double>, incY: Int) -> Double {
        BLASThreads.ensureConfigured()
        return cblas_ddot(blasint(count), x, blasint(incX), y, blasint(incY))
    }

    public static func blasSCAL(count: Int, alpha: Double, x: UnsafeMutablePointer<Double>, incX: Int) {
        BLASThreads.ensureConfigured()
        cblas_dscal(blasint(count), alpha, x, blasint(incX))
    }
}

/// The one owner of OpenBLAS's thread count, which is a single process-global setting.
///
/// Triage parallelises above BLAS (trees, row blocks, the networks of an ensemble) and its
/// GEMMs are narrow (autoencoder layers of 7–64 columns, where BLAS threading does not pay;
/// nested pools oversubscribed the cores by 10–15 %), so OpenBLAS runs on one thread. The
/// count is set once per process, before the first BLAS call made through `Matrix`, and
/// library code never changes it. Callers used to save, set and restore it around every
/// parallel loop and autoencoder call: a data race on OpenBLAS's global as soon as two callers
/// ran at once (ThreadSanitizer flags it, and a loop could run with another caller's count).
public enum BLASThreads {
    /// Swift runs a static initialiser exactly once, thread-safely, and every later reader
    /// sees its effect: the one write of the count in library code.
    private static let configured: Void = { openblas_set_num_threads(1) }()

    /// Makes sure the process-wide count is set; called by every BLAS entry point in `Matrix`.
    @inline(__always) public static func ensureConfigured() { _ = configured }

    /// Threads OpenBLAS uses per call (1 unless a program chose otherwise at start-up).
    public static var current: Int {
        ensureConfigured()
        return Int(openblas_get_num_threads())
    }

    /// For a program that measures BLAS itself (the GEMM benchmark): sets the count for the
    /// rest of the process. Call it at start-up, before any other thread uses BLAS; library code
    /// never calls it.
    public static func configureProcess(threads: Int) {
        ensureConfigured()
        openblas_set_num_threads(Int32(max(1, threads)))
    }

    /// The kernel family OpenBLAS chose for this CPU ("SkylakeX", "Haswell", "Zen", …, or the
    /// `OPENBLAS_CORETYPE` override). Float sums in its GEMMs round differently per family, so
    /// the autoencoder's weights are byte-identical only between machines with the same one.
    public static var kernelFamily: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }
}
