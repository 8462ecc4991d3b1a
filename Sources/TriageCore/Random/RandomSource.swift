/// SplitMix64 (Steele, Lea & Flood, OOPSLA 2014): a 64-bit mixer used to expand one seed into
/// generator state. Every output is a bijection of the counter, so distinct inputs never collide.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// The SplitMix64 finaliser (variant 13 of Stafford's mixers).
    @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS
/// 2021): the seeded generator behind every random choice in Triage.
///
/// Reproducibility across thread counts comes from *streams*: `RandomSource(seed:stream:)`
/// derives an independent generator for tree `t` or row block `b` from the user's seed alone,
/// so work can be split over any number of workers and still draw identical numbers.
public struct RandomSource: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    /// A generator for `seed`; `stream` selects one of 2⁶⁴ independent sequences.
    ///
    /// The four state words are SplitMix64 outputs of a counter started at a hash of
    /// (seed, stream), the seeding recommended by the xoshiro authors; hashing the pair through
    /// two rounds of the mixer keeps neighbouring seeds and streams uncorrelated.
    public init(seed: UInt64, stream: UInt64 = 0) {
        let key = SplitMix64.mix(SplitMix64.mix(seed &+ 0x6A09_E667_F3BC_C909) ^ (stream &* 0xD1B5_4A32_D192_ED03))
        var mixer = SplitMix64(seed: key)
        s0 = mixer.next(); s1 = mixer.next(); s2 = mixer.next(); s3 = mixer.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 } // the all-zero state is a fixed point
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotateLeft(s3, 45)
        return result
    }

    /// A child stream for sub-task `index` (e.g. tree t of a forest), independent of this
    /// generator's position: derived from a fresh draw so children of different parents differ.
    public mutating func split(_ index: UInt64 = 0) -> RandomSource {
        RandomSource(seed: next(), stream: index)
    }

    @inline(__always)
    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    // MARK: Draws

    /// Uniform Double in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform Double in [low, high).
    @inline(__always)
    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * uniform() }

    /// Uniform Float in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func uniformFloat() -> Float { Float(next() >> 40) * 0x1.0p-24 }

    /// Uniform integer in 0..<bound without modulo bias (Lemire, ACM TOMACS 2019).
    @inline(__always)
    public mutating func integer(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// Standard normal draw (Marsaglia polar method; the spare is discarded so each call costs
    /// the same number of draws regardless of history, which keeps streams easy to reason about).
    public mutating func normal() -> Double {
        while true {
            let u = 2 * uniform() - 1
            let v = 2 * uniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                return u * (-2 * log(s) / s).squareRoot()
            }
        }
    }

    /// Normal draw with the given mean and standard deviation.
    public mutating func normal(mean: Double, standardDeviation: Double) -> Double {
        mean + standardDeviation * normal()
    }

    /// Exponential draw with the given rate λ (mean 1/λ).
    public mutating func exponential(rate: Double) -> Double {
        -log1p(-uniform()) / rate
    }

    /// True with probability `p`.
    @inline(__always)
    public mutating func bernoulli(_ p: Double) -> Bool { uniform() < p }

    /// `k` distinct indices from 0..<n in random order (partial Fisher–Yates; Floyd's
    /// algorithm when k ≪ n so memory stays O(k)).
    public mutating func sampleWithoutReplacement(_ k: Int, from n: Int) -> [Int] {
        precondition(k >= 0 && k <= n, "cannot sample \(k) of \(n) without replacement")
        if k * 4 >= n {
            var pool = Array(0..<n)
            for i in 0..<k {
                let j = i + integer(below: n - i)
                pool.swapAt(i, j)
            }
            return Array(pool.prefix(k))
        }
        var chosen = Set<Int>(minimumCapacity: k)
        var result = [Int]()
        result.reserveCapacity(k)
        for j in (n - k)..<n {
            let t = integer(below: j + 1)
            if chosen.insert(t).inserted { result.append(t) } else { chosen.insert(j); result.append(j) }
        }
        // Floyd's algorithm yields a uniformly random *set*; shuffle for a uniform order.
        shuffle(&result)
        return result
    }

    /// `k` indices from 0..<n drawn with replacement (bootstrap).
    public mutating func sampleWithReplacement(_ k: Int, from n: Int) -> [Int] {
        precondition(n > 0 || k == 0, "cannot sample from an empty range")
        return (0..<k).map { _ in integer(below: n) }
    }

    /// In-place Fisher–Yates shuffle.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, integer(below: i + 1))
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
