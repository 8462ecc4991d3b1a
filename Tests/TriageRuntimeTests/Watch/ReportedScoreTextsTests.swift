import Testing
@testable import TriageData
@testable import TriageRuntime

@Suite struct ReportedScoreTextsTests {
    private func text(_ texts: ReportedScoreTexts, row: Int) -> String {
        var line: [UInt8] = []
        texts.appendText(row: row, to: &line)
        return String(decoding: line, as: UTF8.self)
    }

    @Test func eachRowsTextIsTheFormattedReportedScoreAndAnUnscoredRowsIsEmpty() throws {
        let detectors = try #require(try BundleDetectors(ModelBundle.open(shippedBundle)))
        let threshold = try #require(detectors.autoencoder?.threshold)
        let scores: [BundleDetectors.RowScore?] = [
            BundleDetectors.RowScore(features: [], isolationForest: (0.123456789012345678, true)),
            nil,
            BundleDetectors.RowScore(features: [], autoencoder: (threshold * 3, true)),
            BundleDetectors.RowScore(features: [], isolationForest: (.nan, false)),
            BundleDetectors.RowScore(features: []),
        ]
        let texts = ReportedScoreTexts(scores[...], detectors: detectors)
        #expect(texts.count == 5)
        for (row, score) in scores.enumerated() {
            let expected = score.map { OutputTable.format(detectors.reportedScore($0)) } ?? ""
            #expect(text(texts, row: row) == expected)
        }
        #expect(text(texts, row: 2) == "0.75")
        #expect(text(texts, row: 3) == "nan")
    }

    @Test func appendedChunksKeepEachRowsTextInOrder() throws {
        let detectors = try #require(try BundleDetectors(ModelBundle.open(shippedBundle)))
        let scores: [BundleDetectors.RowScore?] = (0..<7).map { i in
            i == 3 ? nil : BundleDetectors.RowScore(features: [], isolationForest: (Double(i) / 7, false))
        }
        var joined = ReportedScoreTexts()
        joined.append(ReportedScoreTexts(scores[0..<2], detectors: detectors))
        joined.append(ReportedScoreTexts(scores[2..<2], detectors: detectors))
        joined.append(ReportedScoreTexts(scores[2..<7], detectors: detectors))
        let whole = ReportedScoreTexts(scores[...], detectors: detectors)
        #expect(joined.count == 7)
        for row in 0..<7 {
            #expect(text(joined, row: row) == text(whole, row: row))
            #expect(text(joined, row: row) == (row == 3 ? "" : OutputTable.format(Double(row) / 7)))
        }
    }
}
