import Dispatch
import Foundation
import TriageCore
import TriageData

/// Scores batches of metric rows with a bundle's detectors on a thread of its own, so a reader
/// can apply one batch to the engine while the next is scored: the second core's share of
/// `watch --model`. Detector scores depend on nothing but their rows, so where they are
/// computed changes nothing in the results.
///
/// A batch is scored in chunks of `chunkRows` that either thread may take: the scoring thread
/// takes them from the start, and the reader, once it has applied the batch before, takes the
/// ones still left (`Job.wait`) instead of idling. Scoring (forest walk, autoencoder, ~17 k
/// instructions a row) costs more than parsing and applying a row, so a scoring thread alone
/// bounded the wall time; shared, both cores stay busy. Which thread scores a chunk changes no
/// score: each row is scored alone (`BundleDetectors.scores`). With `formatsScores` a chunk's
/// `watch --scores` texts are formatted with its scores (`ReportedScoreTexts`), so they too
/// cost whichever thread scored it.
final class BackgroundScoring: Sendable {
    let detectors: BundleDetectors
    private let queue = DispatchQueue(label: "triage.watch.scoring")
    /// Rows per chunk: small enough that the reader's share balances within a 1 024-row batch,
    /// and a whole number of the forest walk's 12-row interleaved groups (64-row chunks padded
    /// every sixth group: +9 % instructions in the walk).
    static let chunkRows = 96

    init(detectors: BundleDetectors) {
        self.detectors = detectors
    }

    /// One batch being scored; `wait()` scores the chunks not yet taken and returns the scores
    /// and, with `formatsScores`, their texts (or the first chunk's error, in row order).
    final class Job: @unchecked Sendable {
        let rows: [(service: String, values: [Double])]
        let detectors: BundleDetectors
        let formatsScores: Bool
        let chunkCount: Int
        // Each chunk's result is written once, by the thread that claimed it under `lock`, and
        // read by the reader after `done` was signalled for the last chunk: the lock and the
        // semaphore order the writes before the read.
        private var results: [Result<([BundleDetectors.RowScore?], ReportedScoreTexts), EstimatorError>?]
        private let lock = NSLock()
        private var nextChunk = 0
        private var finishedChunks = 0
        private let done = DispatchSemaphore(value: 0)

        init(rows: [(service: String, values: [Double])], detectors: BundleDetectors, formatsScores: Bool) {
            self.rows = rows
            self.detectors = detectors
            self.formatsScores = formatsScores
            chunkCount = (rows.count + BackgroundScoring.chunkRows - 1) / BackgroundScoring.chunkRows
            results = Array(repeating: nil, count: chunkCount)
        }

        /// Scores chunks until none is left to take.
        func scoreChunks() {
            while true {
                lock.lock()
                let chunk = nextChunk
                if chunk < chunkCount { nextChunk += 1 }
                lock.unlock()
                guard chunk < chunkCount else { return }
                let start = chunk * BackgroundScoring.chunkRows
                let end = min(rows.count, start + BackgroundScoring.chunkRows)
                let detectors = detectors
                let formatsScores = formatsScores
                let result = Result { () throws(EstimatorError) in
                    let scores = try detectors.scores(Array(rows[start..<end]))
                    return (scores, formatsScores ? ReportedScoreTexts(scores[...], detectors: detectors) : ReportedScoreTexts())
                }
                lock.lock()
                results[chunk] = result
                finishedChunks += 1
                let last = finishedChunks == chunkCount
                lock.unlock()
                if last { done.signal() }
            }
        }

        func wait() throws(EstimatorError) -> (scores: [BundleDetectors.RowScore?], texts: ReportedScoreTexts) {
            scoreChunks()
            if chunkCount > 0 {
                done.wait()
                done.signal()  // A second wait returns at once.
            }
            lock.lock()
            defer { lock.unlock() }
            var scores: [BundleDetectors.RowScore?] = []
            scores.reserveCapacity(rows.count)
            var texts = ReportedScoreTexts()
            for result in results {
                let (chunkScores, chunkTexts) = try result!.get()
                scores.append(contentsOf: chunkScores)
                texts.append(chunkTexts)
            }
            return (scores, texts)
        }
    }

    func start(_ rows: [(service: String, values: [Double])], formatsScores: Bool) -> Job {
        let job = Job(rows: rows, detectors: detectors, formatsScores: formatsScores)
        queue.async { job.scoreChunks() }
        return job
    }
}
