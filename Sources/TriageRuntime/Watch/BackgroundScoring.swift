import Dispatch
import TriageCore
import TriageData

/// Scores batches of metric rows with a bundle's detectors on a thread of its own, so a reader
/// can apply one batch to the engine while the next is scored: the second core's share of
/// `watch --model`. Detector scores depend on nothing but their rows, so where they are
/// computed changes nothing in the results.
final class BackgroundScoring: Sendable {
    let detectors: BundleDetectors
    private let queue = DispatchQueue(label: "triage.watch.scoring")

    init(detectors: BundleDetectors) {
        self.detectors = detectors
    }

    /// One batch being scored; `wait()` returns its scores (or the scoring error).
    final class Job: @unchecked Sendable {
        // Written once by the scoring thread before `done` is signalled, read after the wait:
        // the semaphore orders the two.
        fileprivate var result: Result<[BundleDetectors.RowScore?], EstimatorError>?
        fileprivate let done = DispatchSemaphore(value: 0)

        func wait() throws(EstimatorError) -> [BundleDetectors.RowScore?] {
            done.wait()
            done.signal()  // A second wait returns at once.
            return try result!.get()
        }
    }

    func start(_ rows: [(service: String, values: [Double])]) -> Job {
        let job = Job()
        let detectors = detectors
        queue.async {
            job.result = Result { () throws(EstimatorError) in try detectors.scores(rows) }
            job.done.signal()
        }
        return job
    }
}
