import Testing
@testable import TriageCore

@Suite("Autoencoder")
struct AutoencoderTests {
    /// Rows on a 2-D plane in 6-D plus small noise; the first `outliers` rows leave the plane.
    static func planeData(rows: Int = 300, outliers: Int = 0, seed: UInt64 = 11) -> Matrix<Float> {
        var random = RandomSource(seed: seed)
        let basis = (0..<2).map { _ in (0..<6).map { _ in random.normal() } }
        var rowsOut = [[Float]]()
        for i in 0..<rows {
            let a = random.normal(), b = random.normal()
            var row = (0..<6).map { j in a * basis[0][j] + b * basis[1][j] + 0.05 * random.normal() }
            // Outliers: a random direction each (a shared one would form a learnable cluster).
            if i < outliers { for j in 0..<6 { row[j] += 2.5 * random.normal() } }
            rowsOut.append(row.map(Float.init))
        }
        return Matrix(rowsOut)
    }

    static func quick(_ configure: (inout Autoencoder.Parameters) -> Void = { _ in }) -> Autoencoder.Parameters {
        var p = Autoencoder.Parameters()
        p.hiddenLayers = [8, 2, 8]
        p.epochs = 30
        p.batchSize = 32
        p.learningRate = 0.01
        p.ensembleSize = 1
        configure(&p)
        return p
    }

    @Test("training loss falls on a low-rank problem and off-plane rows score highest")
    func learnsPlane() throws {
        let data = Self.planeData(outliers: 10)
        let (model, history) = try Autoencoder.fit(data, parameters: Self.quick { $0.epochs = 100; $0.validationFraction = 0 }, seed: 1)
        #expect(history.trainingLoss.count >= 2)
        #expect(history.trainingLoss.last! < 0.3 * history.trainingLoss.first!, "\(history.trainingLoss)")
        let scores = try model.scores(data, threads: 1)
        let labels = (0..<data.rows).map { $0 < 10 }
        #expect(try Metrics.rocAUC(scores: scores, labels: labels) > 0.97)
        #expect(scores.allSatisfy { $0.isFinite && $0 >= 0 })
    }

    @Test("the same seed gives an identical model and scores whatever the thread count")
    func deterministic() throws {
        let data = Self.planeData(rows: 200)
        let parameters = Self.quick { $0.ensembleSize = 3; $0.epochs = 5 }
        let a = try Autoencoder.fit(data, parameters: parameters, seed: 5, threads: 1)
        let b = try Autoencoder.fit(data, parameters: parameters, seed: 5, threads: 2)
        #expect(a.model == b.model)
        #expect(a.history == b.history)
        #expect(try a.model.scores(data, threads: 1) == b.model.scores(data, threads: 3))
        let c = try Autoencoder.fit(data, parameters: parameters, seed: 6, threads: 1)
        #expect(c.model != a.model)
    }

    /// Networks run their epochs without a barrier between epochs (a free worker takes the
    /// network furthest behind); what each network learns, the history and the reports must not
    /// depend on that schedule, also when networks stop early at different epochs.
    @Test("an ensemble whose networks stop at different epochs gives the same model, history and reports on any thread count")
    func ensembleScheduleDeterministic() throws {
        let data = Self.planeData(rows: 200)
        let parameters = Self.quick { $0.ensembleSize = 5; $0.epochs = 300; $0.patience = 2; $0.learningRate = 0.05 }
        var runs: [(Autoencoder, Autoencoder.TrainingHistory, [Autoencoder.EpochReport])] = []
        for threads in [1, 2, 3, 8] {
            var reports: [Autoencoder.EpochReport] = []
            let (model, history) = try Autoencoder.fit(data, parameters: parameters, seed: 11, threads: threads) { reports.append($0) }
            runs.append((model, history, reports))
        }
        let (model, history, reports) = runs[0]
        #expect(Set(history.bestEpochs).count > 1, "the networks should stop at different epochs: \(history.bestEpochs)")
        #expect(reports.map(\.epoch) == Array(1...history.trainingLoss.count))
        #expect(reports.map(\.trainingLoss) == history.trainingLoss)
        #expect(reports.map { $0.validationLoss! } == history.validationLoss)
        #expect(reports.first!.activeNetworks == 5 && reports.last!.activeNetworks < 5)
        for (otherModel, otherHistory, otherReports) in runs.dropFirst() {
            #expect(otherModel == model)
            #expect(otherHistory == history)
            #expect(otherReports == reports)
        }
    }

    @Test("a diverging ensemble fails at the same epoch on any thread count")
    func ensembleDivergenceDeterministic() {
        let data = Self.planeData(rows: 100)
        let parameters = Self.quick { $0.ensembleSize = 5; $0.learningRate = 1e30; $0.epochs = 20 }
        var epochs: [Int] = []
        for threads in [1, 2, 5] {
            do {
                _ = try Autoencoder.fit(data, parameters: parameters, seed: 2, threads: threads)
                Issue.record("diverging fit returned a model")
            } catch {
                guard case .diverged(let epoch) = error else { Issue.record("unexpected \(error)"); return }
                epochs.append(epoch)
            }
        }
        #expect(epochs.count == 3 && Set(epochs).count == 1, "\(epochs)")
    }

    /// Two callers at once (as a server would have) get what each gets alone: nothing a fit or a
    /// scoring does is shared process state (the OpenBLAS thread count used to be saved, set and
    /// restored per call, a data race under ThreadSanitizer).
    @Test("concurrent fits and scorings equal the sequential ones")
    func concurrentCallersAgreeWithSequential() throws {
        let data = Self.planeData(rows: 200)
        let parameters = Self.quick { $0.ensembleSize = 2; $0.epochs = 4 }
        let sequential = try [7, 8].map { seed throws(EstimatorError) in
            let model = try Autoencoder.fit(data, parameters: parameters, seed: UInt64(seed), threads: 2).model
            return (model, try model.scores(data, threads: 2))
        }
        let concurrent = Parallel.map(2, threads: 2) { i -> (Autoencoder, [Double])? in
            guard let model = try? Autoencoder.fit(data, parameters: parameters, seed: UInt64(7 + i), threads: 2).model,
                  let scores = try? model.scores(data, threads: 2) else { return nil }
            return (model, scores)
        }
        for i in 0..<2 {
            let got = try #require(concurrent[i])
            #expect(got.0 == sequential[i].0)
            #expect(got.1 == sequential[i].1)
        }
        #expect(BLASThreads.current == 1)
    }

    @Test("row scores equal the batched scores within float rounding and never depend on the other rows")
    func rowScores() throws {
        let data = Self.planeData(rows: 300, outliers: 5)
        let (model, _) = try Autoencoder.fit(data, parameters: Self.quick { $0.epochs = 5; $0.ensembleSize = 3 }, seed: 4)
        let batched = try model.scores(data, threads: 1)
        let rows = try model.rowScores(data)
        #expect(zip(batched, rows).allSatisfy { abs($0 - $1) <= 1e-5 * max(1e-3, abs($0)) })
        // Bit for bit the same alone, in any batch, at any place in it.
        for i in [0, 1, 150, 299] {
            let alone = try model.rowScores(data.rows(i..<(i + 1)))[0]
            #expect(alone.bitPattern == rows[i].bitPattern)
            let shuffled = try model.rowScores(data.rows(at: [299 - i, i, 7, i]))
            #expect(shuffled[1].bitPattern == rows[i].bitPattern && shuffled[3].bitPattern == rows[i].bitPattern)
        }
        #expect(throws: EstimatorError.self) { try model.rowScores(Matrix<Float>(rows: 2, columns: 5)) }
    }

    @Test("score is the mean over features of the squared error, and the top feature is its argmax")
    func explanation() throws {
        let data = Self.planeData(rows: 200)
        let (model, _) = try Autoencoder.fit(data, parameters: Self.quick { $0.epochs = 10 }, seed: 2)
        var probe = data.rows(0..<3)
        probe[1, 4] += 40   // a far-off value in feature 4
        let errors = try model.featureErrors(probe, threads: 1)
        let scores = try model.scores(probe, threads: 1)
        for i in 0..<3 {
            let mean = (0..<6).reduce(0.0) { $0 + Double(errors[i, $1]) } / 6
            #expect(abs(mean - scores[i]) <= 1e-5 * max(1, scores[i]))
        }
        #expect(try model.topFeatures(probe, threads: 1)[1] == 4)
        #expect(scores[1] > 10 * scores[0])
    }

    @Test("threshold is the (1 − contamination) quantile of the training scores")
    func threshold() throws {
        let data = Self.planeData(rows: 400)
        let auto = try Autoencoder.fit(data, parameters: Self.quick { $0.epochs = 5 }, seed: 3).model
        let flaggedAuto = try auto.predict(data, threads: 1).filter { $0 }.count
        #expect(flaggedAuto >= 3 && flaggedAuto <= 5)   // 99th percentile of 400 rows
        let tenth = try Autoencoder.fit(data, parameters: Self.quick { $0.epochs = 5; $0.contamination = .fraction(0.1) }, seed: 3).model
        let flagged = try tenth.predict(data, threads: 1).filter { $0 }.count
        #expect(flagged >= 39 && flagged <= 41)
    }

    @Test("early stopping keeps the best epoch's weights and stops after `patience` epochs without progress")
    func earlyStopping() throws {
        let data = Self.planeData(rows: 200)
        let (model, history) = try Autoencoder.fit(
            data, parameters: Self.quick { $0.epochs = 400; $0.patience = 2; $0.learningRate = 0.05 }, seed: 4)
        #expect(history.stoppedEarly)
        #expect(history.trainingLoss.count < 400)
        let best = history.bestEpochs[0]
        #expect(history.trainingLoss.count == best + 2)
        #expect(history.validationLoss[best - 1] == history.validationLoss.min())
        #expect(history.validationRows == 20 && history.trainingRows == 180)
        #expect(model.networks.count == 1)
    }

    @Test("a constant column gives finite scores, no NaN")
    func constantColumn() throws {
        var data = Self.planeData(rows: 100)
        for i in 0..<data.rows { data[i, 2] = 7.5 }
        let (model, history) = try Autoencoder.fit(data, parameters: Self.quick { $0.epochs = 5 }, seed: 1)
        #expect(history.trainingLoss.allSatisfy { $0.isFinite })
        #expect(model.standardizer.scales[2] == 1)
        #expect(try model.scores(data, threads: 1).allSatisfy { $0.isFinite })
        #expect(model.threshold.isFinite)
    }

    @Test("all-constant data: scores 0, no training row flagged, any deviation flagged")
    func constantData() throws {
        let data = Matrix<Float>(rows: 30, columns: 3, repeating: 5)
        let (model, _) = try Autoencoder.fit(data, parameters: Self.quick { $0.epochs = 3 }, seed: 1)
        #expect(try model.scores(data, threads: 1).allSatisfy { $0 == 0 })
        #expect(try model.predict(data, threads: 1).allSatisfy { !$0 })
        #expect(try model.predict(Matrix([[5, 5, 6]]), threads: 1) == [true])
    }

    @Test("a batch larger than the data uses every training row, with a note")
    func batchLargerThanData() throws {
        let data = Self.planeData(rows: 40)
        let (_, history) = try Autoencoder.fit(data, parameters: Self.quick { $0.batchSize = 1000; $0.epochs = 3 }, seed: 1)
        #expect(history.batchSize == 36)
        #expect(history.notes.contains { $0.contains("batch size 1000") })
    }

    @Test("NaN or infinity in the data is refused with its position")
    func nonFiniteData() {
        var data = Self.planeData(rows: 20)
        data[3, 1] = .nan
        #expect(throws: EstimatorError.nonFinite(row: 3, column: 1)) { try Autoencoder.fit(data, parameters: Self.quick()) }
        data[3, 1] = 0
        data[5, 4] = .infinity
        #expect(throws: EstimatorError.nonFinite(row: 5, column: 4)) { try Autoencoder.fit(data, parameters: Self.quick()) }
    }

    @Test("empty data and a single row are refused")
    func tooLittleData() {
        #expect(throws: EstimatorError.emptyData) { try Autoencoder.fit(Matrix<Float>(rows: 0, columns: 3)) }
        #expect(throws: EstimatorError.tooFewRows(needed: 2, got: 1)) { try Autoencoder.fit(Matrix<Float>([[1, 2, 3]])) }
    }

    @Test("invalid hyperparameters are refused by name", arguments: [
        "hidden", "hidden layer size", "learning rate", "learning rate ≤ 0", "learning rate NaN", "epochs",
        "batch size", "validation fraction", "patience", "contamination", "ensemble size", "weight decay",
    ])
    func invalidParameters(case name: String) {
        var parameters = Self.quick()
        switch name {
        case "hidden": parameters.hiddenLayers = []
        case "hidden layer size": parameters.hiddenLayers = [4, 0, 4]
        case "learning rate": parameters.learningRate = 0
        case "learning rate ≤ 0": parameters.learningRate = -0.1
        case "learning rate NaN": parameters.learningRate = .nan
        case "epochs": parameters.epochs = 0
        case "batch size": parameters.batchSize = 0
        case "validation fraction": parameters.validationFraction = 1
        case "patience": parameters.patience = 0
        case "contamination": parameters.contamination = .fraction(0.7)
        case "ensemble size": parameters.ensembleSize = 0
        default: parameters.weightDecay = -1
        }
        let expectedName = name.hasPrefix("learning rate") ? "learning rate" : name
        let data = Self.planeData(rows: 20)
        do {
            _ = try Autoencoder.fit(data, parameters: parameters)
            Issue.record("fit accepted an invalid \(name)")
        } catch {
            guard case .invalidParameter(let got, _, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(got == expectedName)
        }
    }

    @Test("a diverging fit (absurd learning rate) throws instead of returning a model")
    func divergence() {
        let data = Self.planeData(rows: 100)
        do {
            _ = try Autoencoder.fit(data, parameters: Self.quick { $0.learningRate = 1e30; $0.epochs = 20 })
            Issue.record("diverging fit returned a model")
        } catch {
            guard case .diverged(let epoch) = error else { Issue.record("unexpected \(error)"); return }
            #expect(epoch >= 1 && epoch <= 20)
        }
    }

    @Test("an ensemble averages its networks' errors")
    func ensembleAverages() throws {
        let data = Self.planeData(rows: 120)
        let (model, history) = try Autoencoder.fit(data, parameters: Self.quick { $0.ensembleSize = 3; $0.epochs = 4 }, seed: 9)
        #expect(model.networks.count == 3 && history.bestEpochs.count == 3)
        let x = try model.standardizer.transform(data)
        let single = model.networks.map { Autoencoder.rowErrors([$0], x, threads: 1) }
        let combined = try model.scores(data, threads: 2)
        for i in 0..<data.rows {
            let mean = (single[0][i] + single[1][i] + single[2][i]) / 3
            #expect(abs(mean - combined[i]) <= 1e-5 * max(1, mean))
        }
    }

    @Test("a model survives JSON encoding with identical scores")
    func codableRoundTrip() throws {
        let data = Self.planeData(rows: 60)
        let (model, _) = try Autoencoder.fit(data, parameters: Self.quick { $0.epochs = 3 }, seed: 1)
        let decoded = try JSONDecoder().decode(Autoencoder.self, from: JSONEncoder().encode(model))
        #expect(decoded == model)
        #expect(try decoded.scores(data, threads: 1) == model.scores(data, threads: 1))
    }
}

import Foundation
