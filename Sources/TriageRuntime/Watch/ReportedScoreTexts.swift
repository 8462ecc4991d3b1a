import TriageData

/// The `anomaly_score` field of each row of a batch in `watch --scores`
/// (`OutputTable.format(detectors.reportedScore(score))`, a number: never quoted), formatted
/// where the batch is scored: on the scoring thread, the text costs that thread instead of the
/// one that parses and applies rows, which bounds the wall time of `watch --model` (the
/// formatting, ~60 ms of its ~0.9 s in a profile of 345 600 rows, is the part of a score line
/// that depends on nothing but the row's detector scores). The texts sit in one byte buffer, so
/// a batch costs two arrays, not one string per row.
struct ReportedScoreTexts: Sendable {
    private var bytes: [UInt8] = []
    /// Where row `i`'s text ends in `bytes` (it starts where row `i − 1`'s ends); a row that was
    /// not scored has an empty text.
    private var ends: [Int] = []

    init() {}

    /// The texts of `scores`, in order.
    init(_ scores: ArraySlice<BundleDetectors.RowScore?>, detectors: BundleDetectors) {
        bytes.reserveCapacity(scores.count * 20)
        ends.reserveCapacity(scores.count)
        for score in scores {
            if let score {
                var text = OutputTable.format(detectors.reportedScore(score))
                text.withUTF8 { bytes.append(contentsOf: $0) }
            }
            ends.append(bytes.count)
        }
    }

    var count: Int { ends.count }

    /// Appends the texts of the rows after these.
    mutating func append(_ other: ReportedScoreTexts) {
        let offset = bytes.count
        bytes.append(contentsOf: other.bytes)
        ends.reserveCapacity(ends.count + other.ends.count)
        for end in other.ends { ends.append(offset + end) }
    }

    /// Appends row `row`'s text to `line`.
    func appendText(row: Int, to line: inout [UInt8]) {
        let start = row == 0 ? 0 : ends[row - 1]
        line.append(contentsOf: bytes[start..<ends[row]])
    }
}
