/// Online detector for a stream of rows with one or more metric columns: one
/// `SeriesAnomalyDetector` per column, and the row's score is the largest column score.
///
/// Taking the maximum of calibrated scores keeps the 0..1 scale of a single series (each
/// column's score is already "how unusual is this column now against its own history") and
/// names the column that drove the alarm. Columns are independent, so the engine can equally
/// run one `SeriesAnomalyDetector` per (service, metric).
public struct MetricStreamDetector: StreamingDetector, Codable, Sendable, Equatable {
    public let configuration: OnlineDetectorConfiguration
    public private(set) var columns: [SeriesAnomalyDetector]
    /// Rows processed so far.
    public private(set) var rows = 0

    /// What the detector said about one row.
    public struct RowScore: Sendable, Equatable {
        /// Calibrated score in 0..1, the maximum over columns (0 in warm-up).
        public var score: Double
        /// Index of the column with the highest score (the first on ties; the first column when
        /// every score is 0).
        public var drivingColumn: Int
        public var perColumn: [SeriesScore]
    }

    /// - Parameter seed: column c uses the stream `seed ⊕ c` so columns are independent and a
    ///   column's scores do not depend on which other columns the file has.
    public init(columns count: Int, configuration: OnlineDetectorConfiguration = OnlineDetectorConfiguration(),
                seed: UInt64 = 0) throws(EstimatorError) {
        guard count >= 1 else { throw .invalidParameter(name: "columns", value: "\(count)", expected: "≥ 1") }
        self.configuration = configuration
        var detectors = [SeriesAnomalyDetector]()
        for c in 0..<count {
            detectors.append(try SeriesAnomalyDetector(configuration: configuration,
                                                       seed: seed &+ UInt64(c) &* 0x9E37_79B9_7F4A_7C15))
        }
        columns = detectors
    }

    /// Scores a row from the past, then learns it. `values.count` must equal the column count.
    /// Missing (non-finite) values are gaps: that column is skipped for this row.
    /// `time` (seconds since the epoch) feeds the calendar features when they are enabled.
    ///
    /// - Throws: `shapeMismatch` unless there is one value per column.
    public mutating func process(_ values: [Double], time: Double? = nil) throws(EstimatorError) -> RowScore {
        if values.count != columns.count { throw .shapeMismatch(expectedColumns: columns.count, gotColumns: values.count) }
        var best = 0.0, driver = 0
        var per = [SeriesScore]()
        per.reserveCapacity(values.count)
        for c in 0..<values.count {
            let s = columns[c].process(values[c], time: time)
            per.append(s)
            if s.score > best { best = s.score; driver = c }
        }
        rows += 1
        return RowScore(score: best, drivingColumn: driver, perColumn: per)
    }

    /// True once every column has left warm-up.
    public var isReady: Bool { columns.allSatisfy(\.isReady) }

    // MARK: StreamingDetector

    /// The score `x` would get, without learning it (a copy of the state does the work).
    public mutating func scoreOne(_ x: [Double]) throws(EstimatorError) -> Double {
        var copy = self
        return try copy.process(x).score
    }

    public mutating func learnOne(_ x: [Double]) throws(EstimatorError) { _ = try process(x) }
}
