import Testing
@testable import TriageCore

@Suite struct MetricsTests {
    @Test func rocAUCMatchesScikitLearnIncludingTies() throws {
        // sklearn.metrics.roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) == 0.75
        #expect(try Metrics.rocAUC(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true]) == 0.75)
        // All tied: 0.5.
        #expect(try Metrics.rocAUC(scores: [1, 1, 1, 1], labels: [false, true, false, true]) == 0.5)
        #expect(try Metrics.rocAUC(scores: [1, 2], labels: [true, true]).isNaN)
    }

    @Test func averagePrecisionMatchesScikitLearn() throws {
        // sklearn.metrics.average_precision_score([0,0,1,1], [0.1,0.4,0.35,0.8]) == 0.8333…
        let ap = try Metrics.averagePrecision(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true])
        #expect(abs(ap - 0.8333333333333333) < 1e-12)
    }

    @Test func classificationMetrics() throws {
        let truth = [0, 0, 1, 1, 2, 2]
        let predicted = [0, 1, 1, 1, 2, 0]
        #expect(Metrics.confusionMatrix(predicted: predicted, truth: truth, classCount: 3) == [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
        #expect(abs(Metrics.accuracy(predicted: predicted, truth: truth) - 4.0 / 6) < 1e-12)
        #expect(abs(Metrics.balancedAccuracy(predicted: predicted, truth: truth, classCount: 3) - (0.5 + 1 + 0.5) / 3) < 1e-12)
        // sklearn f1_score(average='macro') == 0.6555…
        #expect(abs(Metrics.macroF1(predicted: predicted, truth: truth, classCount: 3) - 0.6555555555555556) < 1e-12)
        let prf = try Metrics.precisionRecallF1(predicted: [true, true, false, false], labels: [true, false, true, false])
        #expect(prf.precision == 0.5 && prf.recall == 0.5 && prf.f1 == 0.5)
    }

    @Test func quantileInterpolatesLinearly() {
        #expect(Metrics.quantile([1, 2, 3, 4], 0.5) == 2.5)
        #expect(Metrics.quantile([5], 0.99) == 5)
        #expect(Metrics.quantile([], 0.5).isNaN)
    }
}
