import Testing
@testable import TriageCore

/// Naive triple loop in Double: the reference every BLAS call is checked against.
private func naiveProduct(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
    let m = a.count, k = b.count, n = b.first?.count ?? 0
    return (0..<m).map { i in (0..<n).map { j in (0..<k).reduce(0.0) { $0 + a[i][$1] * b[$1][j] } } }
}

private func nested<S: BLASScalar>(_ m: Matrix<S>) -> [[Double]] {
    (0..<m.rows).map { i in m.row(i).map(Double.init) }
}

private func randomMatrix<S: BLASScalar>(_ rows: Int, _ columns: Int, _ rng: inout RandomSource) -> Matrix<S> {
    Matrix(rows: rows, columns: columns) { _, _ in S(rng.uniform(-1, 1)) }
}

@Suite struct MatrixTests {
    @Test(arguments: [(1, 7, 5), (7, 1, 5), (5, 7, 1), (1, 1, 1), (3, 4, 5), (17, 9, 33), (64, 31, 2)])
    func gemmMatchesNaiveReferenceForEveryTransposeCombination(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = RandomSource(seed: UInt64(m * 10_000 + n * 100 + k))
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let a: Matrix<Double> = transposeA ? randomMatrix(k, m, &rng) : randomMatrix(m, k, &rng)
                let b: Matrix<Double> = transposeB ? randomMatrix(n, k, &rng) : randomMatrix(k, n, &rng)
                let expected = naiveProduct(nested(transposeA ? a.transposed() : a), nested(transposeB ? b.transposed() : b))
                let product = Matrix.multiply(a, transposeA: transposeA, b, transposeB: transposeB)
                #expect(product.rows == m && product.columns == n)
                for i in 0..<m { for j in 0..<n { #expect(abs(product[i, j] - expected[i][j]) < 1e-12) } }
            }
        }
    }

    @Test func floatGemmAccumulatesWithAlphaAndBeta() {
        var rng = RandomSource(seed: 3)
        let a: Matrix<Float> = randomMatrix(6, 4, &rng)
        let b: Matrix<Float> = randomMatrix(4, 5, &rng)
        var c: Matrix<Float> = randomMatrix(6, 5, &rng)
        let original = nested(c)
        let product = naiveProduct(nested(a), nested(b))
        Matrix.gemm(a, b, into: &c, alpha: 2, beta: 0.5)
        for i in 0..<6 { for j in 0..<5 { #expect(abs(Double(c[i, j]) - (2 * product[i][j] + 0.5 * original[i][j])) < 1e-5) } }
    }

    @Test func gemmWithEmptyInnerDimensionScalesOutput() {
        let a = Matrix<Double>(rows: 2, columns: 0)
        let b = Matrix<Double>(rows: 0, columns: 3)
        var c = Matrix<Double>(rows: 2, columns: 3, repeating: 4)
        Matrix.gemm(a, b, into: &c, beta: 0.5)
        #expect(c.storage == Array(repeating: 2, count: 6))
    }

    @Test func gemvAndLevelOneAgreeWithHandComputation() {
        let a = Matrix<Double>([[1, 2, 3], [4, 5, 6]])
        #expect(a.multiply(vector: [1, 0, -1]) == [-2, -2])
        #expect(a.multiply(vector: [1, 1], transposed: true) == [5, 7, 9])
        #expect(Vector.dot([1.0, 2, 3], [4, 5, 6]) == 32)
        var y: [Float] = [1, 1]
        Vector.axpy(2, [3, 4], &y)
        #expect(y == [7, 9])
        #expect(a.columnSums() == [5, 7, 9])
    }

    @Test func rowsColumnsAndTranspose() {
        let a = Matrix<Float>([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
        #expect(Array(a.row(1)) == [4, 5, 6])
        #expect(a.column(2) == [3, 6, 9])
        #expect(a.rows(1..<3) == Matrix([[4, 5, 6], [7, 8, 9]]))
        #expect(a.rows(at: [2, 0, 2]) == Matrix([[7, 8, 9], [1, 2, 3], [7, 8, 9]]))
        #expect(a.columns(at: [2, 0]) == Matrix([[3, 1], [6, 4], [9, 7]]))
        #expect(a.transposed() == Matrix([[1, 4, 7], [2, 5, 8], [3, 6, 9]]))
        var rng = RandomSource(seed: 9)
        let wide: Matrix<Float> = randomMatrix(37, 70, &rng)
        #expect(wide.transposed().transposed() == wide)
        a.withRow(2) { #expect(Array($0) == [7, 8, 9]) }
        var grown = Matrix<Float>(rows: 0, columns: 0)
        grown.appendRow([1, 2])
        grown.appendRow([3, 4])
        #expect(grown == Matrix([[1, 2], [3, 4]]))
    }

    @Test func argmaxPicksFirstMaximumAndIgnoresNaN() {
        let a = Matrix<Float>([[1, 3, 3], [.nan, -1, -2], [0, 0, 0]])
        #expect(a.argmaxPerRow() == [1, 1, 0])
        #expect(argmax([Float]()) == nil)
        #expect(argmax([Double.nan]) == nil)
    }

    @Test func columnStatisticsSkipNaNAndMatchNumpy() {
        let a = Matrix<Double>([[1, 10], [2, .nan], [3, 30], [6, 40]])
        #expect(a.columnMeans() == [3, 80.0 / 3])
        let sd = a.columnStandardDeviations()
        #expect(abs(sd[0] - 1.8708286933869707) < 1e-12) // numpy.std([1,2,3,6])
        #expect(abs(sd[1] - 12.472191289246473) < 1e-12) // numpy.std([10,30,40])
    }

    @Test func standardizerCentresScalesAndInverts() throws {
        let data = Matrix<Float>([[1, 5, 2], [3, 5, 4], [5, 5, 9]])
        let scaler = Standardizer(fitting: data)
        #expect(scaler.scales[1] == 1, "constant column keeps scale 1 (no division by zero)")
        let z = try scaler.transform(data)
        #expect(!z.containsNaN)
        #expect(z.column(1) == [0, 0, 0])
        #expect(abs(z.columnMeans()[0]) < 1e-6)
        #expect(abs(z.columnStandardDeviations()[2] - 1) < 1e-5)
        let back = try scaler.inverseTransform(z)
        for (x, y) in zip(back.storage, data.storage) { #expect(abs(x - y) < 1e-5) }
    }

    @Test func matrixRoundTripsThroughCodable() throws {
        let a = Matrix<Float>([[1.5, -2], [3, 4.25]])
        let data = try JSONEncoder().encode(a)
        #expect(try JSONDecoder().decode(Matrix<Float>.self, from: data) == a)
    }
}

import Foundation
