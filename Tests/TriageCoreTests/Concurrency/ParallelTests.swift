import Testing
@testable import TriageCore

@Suite struct ParallelTests {
    @Test func mapPreservesOrderAndIsIndependentOfThreadCount() {
        let work: @Sendable (Int) -> UInt64 = { i in
            var rng = RandomSource(seed: 99, stream: UInt64(i))
            return (0..<100).reduce(0) { acc, _ in acc &+ rng.next() }
        }
        let one = Parallel.map(500, threads: 1, work)
        let two = Parallel.map(500, threads: 2, work)
        let many = Parallel.map(500, threads: 7, work)
        #expect(one == two)
        #expect(one == many)
    }

    /// Many tiny tasks, so stores into the result slots from both threads overlap: results
    /// once lived in a shared Array written through `withUnsafeMutableBufferPointer`, and
    /// concurrent writes sometimes lost one (a nil slot, a crash in `collect`).
    @Test func mapKeepsEveryResultWhenTasksAreTiny() {
        for round in 0..<50 {
            let squares = Parallel.map(4_000, threads: 2) { i in i &* i &+ round }
            #expect(squares == (0..<4_000).map { $0 &* $0 &+ round })
        }
    }

    @Test func forEachVisitsEveryIndexOnce() {
        var marks = [Int](repeating: 0, count: 1000)
        marks.withUnsafeMutableBufferPointer { buffer in
            let pointer = SendablePointer(buffer.baseAddress!)
            Parallel.forEach(1000, threads: 4) { pointer[$0] += 1 }
        }
        #expect(marks.allSatisfy { $0 == 1 })
        Parallel.forEach(0, threads: 4) { _ in Issue.record("no work expected") }
    }

    @Test func rangesCoverTheWholeCountContiguously() {
        for (count, chunks) in [(10, 3), (3, 10), (1, 1), (1000, 7)] {
            let ranges = Parallel.ranges(count, chunks: chunks)
            #expect(ranges.first?.lowerBound == 0)
            #expect(ranges.last?.upperBound == count)
            for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
        }
        #expect(Parallel.ranges(0, chunks: 4).isEmpty)
    }

    /// OpenBLAS's thread count is process-global: it is set once (to 1) and parallel loops
    /// leave it alone, so concurrent callers never race on it (they used to save, set and
    /// restore it around every loop).
    @Test func blasThreadCountIsSetOnceAndLoopsLeaveItAlone() {
        #expect(BLASThreads.current == 1)
        Parallel.forEach(10, threads: 2) { _ in #expect(BLASThreads.current == 1) }
        #expect(BLASThreads.current == 1)
    }
}
