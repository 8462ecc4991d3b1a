@testable import TriageCore

/// Small seeded data sets for the tree tests.
enum TreeTestData {
    /// Two informative features (class = x0 > 0 xor x1 > 0) and `noise` uniform noise columns.
    static func xor(rows: Int, noise: Int = 2, seed: UInt64 = 1) -> (Matrix<Float>, [Int]) {
        var random = RandomSource(seed: seed)
        var data = Matrix<Float>(rows: rows, columns: 2 + noise)
        var labels = [Int]()
        for i in 0..<rows {
            for j in 0..<(2 + noise) { data[i, j] = Float(random.uniform(-1, 1)) }
            labels.append((data[i, 0] > 0) != (data[i, 1] > 0) ? 1 : 0)
        }
        return (data, labels)
    }

    /// Three Gaussian blobs in 4 dimensions (feature 3 is noise), class c centred at 2c.
    static func blobs(rows: Int, seed: UInt64 = 2) -> (Matrix<Float>, [Int]) {
        var random = RandomSource(seed: seed)
        var data = Matrix<Float>(rows: rows, columns: 4)
        var labels = [Int]()
        for i in 0..<rows {
            let c = i % 3
            for j in 0..<3 { data[i, j] = Float(random.normal(mean: 2 * Double(c), standardDeviation: 1)) }
            data[i, 3] = Float(random.normal())
            labels.append(c)
        }
        return (data, labels)
    }
}
