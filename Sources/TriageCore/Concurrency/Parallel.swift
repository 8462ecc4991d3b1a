import Dispatch

/// Deterministic data-parallel loops.
///
/// Work is split into a fixed set of tasks whose results never depend on which thread runs
/// them or how many threads there are; randomness inside a task must come from a stream keyed
/// by the task index (`RandomSource(seed:stream:)`).
public enum Parallel {
    /// Number of cores this process may use.
    public static var availableCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Resolves a user's `--threads` (nil or 0 = all cores).
    public static func threadCount(_ requested: Int?) -> Int {
        guard let requested, requested > 0 else { return availableCores }
        return requested
    }

    /// Runs `body(i)` for every i in 0..<count on up to `threads` workers.
    ///
    /// Tasks are claimed in order by `threads` workers (dynamic scheduling, so uneven tasks
    /// balance). OpenBLAS calls inside `body` run on one thread (see `BLASThreads`), so there
    /// are no nested pools; nothing process-global is changed here, so loops may run at once.
    public static func forEach(_ count: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
        guard count > 0 else { return }
        let workers = min(max(1, threads), count)
        if workers == 1 {
            for i in 0..<count { body(i) }
            return
        }
        let counter = TaskCounter()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = counter.claim()
                if i >= count { break }
                body(i)
            }
        }
    }

    /// Maps 0..<count to results in parallel, preserving index order.
    public static func map<T: Sendable>(_ count: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
        let results = UnsafeResults<T>(count: count)
        forEach(count, threads: threads) { i in results.store(body(i), at: i) }
        return results.collect()
    }

    /// Splits 0..<count into `chunks` contiguous ranges of near-equal size.
    public static func ranges(_ count: Int, chunks: Int) -> [Range<Int>] {
        guard count > 0 else { return [] }
        let n = min(max(1, chunks), count)
        return (0..<n).map { c in (count * c / n)..<(count * (c + 1) / n) }
    }
}

/// A lock-protected task counter (claims are rare relative to the work in a task).
private final class TaskCounter: @unchecked Sendable {
    private var next = 0
    private let lock = NSLock()

    func claim() -> Int {
        lock.lock()
        defer { lock.unlock() }
        let value = next
        next += 1
        return value
    }
}

/// Write-once result slots filled from parallel tasks: each index is written by exactly one
/// task, so no synchronisation is needed beyond the join in `Parallel.forEach`. The slots are
/// raw memory, not an Array: `withUnsafeMutableBufferPointer` on a shared Array is a mutating
/// access of the whole array, and concurrent ones raced (a result was lost now and then, and
/// `collect` found a nil slot: seen once in CI, in `triage evaluate`).
private final class UnsafeResults<T>: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<T?>
    private let count: Int

    init(count: Int) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    func store(_ value: T, at index: Int) { slots[index] = value }

    func collect() -> [T] { (0..<count).map { slots[$0]! } }
}

/// A pointer that may cross into `@Sendable` closures; the caller guarantees that concurrent
/// tasks touch disjoint elements and that the memory outlives the parallel loop.
public struct SendablePointer<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    @inline(__always) public subscript(i: Int) -> T {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}

import Foundation
