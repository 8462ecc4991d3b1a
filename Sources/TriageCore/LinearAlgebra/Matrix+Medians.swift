extension Matrix where Scalar == Float {
    /// Median of each column over its non-NaN values (0 for an all-missing column); for an even
    /// count the mean of the two middle values. Same values as TriageData's `columnMedians()`,
    /// but by selection instead of sorting and in parallel over columns: 16 columns × 1 M rows
    /// take ~0.1 s instead of ~2 s.
    ///
    /// - Complexity: O(rows · columns) expected time, O(rows) extra memory per worker.
    public func columnMedians(threads: Int) -> [Float] {
        let rows = self.rows, columns = self.columns
        return storage.withUnsafeBufferPointer { x in
            let source = SendablePointer(UnsafeMutablePointer(mutating: x.baseAddress ?? UnsafePointer(bitPattern: 8)!))
            return Parallel.map(columns, threads: threads) { j in
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, rows))
                defer { buffer.deallocate() }
                var n = 0
                for i in 0..<rows {
                    let v = source[i * columns + j]
                    if !v.isNaN { buffer[n] = v; n += 1 }
                }
                guard n > 0 else { return 0 }
                let values = UnsafeMutableBufferPointer(rebasing: buffer[0..<n])
                let upper = quickselect(values, n / 2)
                guard n % 2 == 0 else { return upper }
                // After selection every element left of n/2 is ≤ the upper middle: the lower
                // middle is their maximum.
                var lower = values[0]
                for i in 1..<(n / 2) { lower = max(lower, values[i]) }
                return (lower + upper) / 2
            }
        }
    }
}

/// The k-th smallest (0-based) element of `a`, reordering `a` so that every element before k is
/// ≤ it and every element after is ≥ it (Hoare's FIND with median-of-three pivots; no NaN).
func quickselect(_ a: UnsafeMutableBufferPointer<Float>, _ k: Int) -> Float {
    var lo = 0, hi = a.count - 1
    while hi > lo {
        let mid = lo + (hi - lo) / 2
        if a[mid] < a[lo] { a.swapAt(mid, lo) }
        if a[hi] < a[lo] { a.swapAt(hi, lo) }
        if a[hi] < a[mid] { a.swapAt(hi, mid) }
        let pivot = a[mid]
        var i = lo, j = hi
        while i <= j {
            while a[i] < pivot { i += 1 }
            while a[j] > pivot { j -= 1 }
            if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
        }
        if k <= j { hi = j } else if k >= i { lo = i } else { return a[k] }
    }
    return a[k]
}
