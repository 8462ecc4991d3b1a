/// Fitting of `Autoencoder`: data checks, the held-out split, and the mini-batch Adam loop of
/// each network of the ensemble with early stopping.
extension Autoencoder {
    /// Fits on every row of `data` (rows × features, no NaN/inf).
    ///
    /// Random streams of `seed`: network k is initialised from stream 100 + k, shuffles its
    /// batches with stream 200 + k and holds out rows drawn from stream 300 + k, so the model is a function
    /// of (data, parameters, seed) alone. Networks train independently, spread over `threads`
    /// (one network per worker; OpenBLAS itself runs on one thread, see `BLASThreads`: at these
    /// widths a batch is tens of microseconds of GEMM, less than splitting it would cost), so
    /// results never depend on `threads`. `onEpoch` is called on the caller's thread after every epoch.
    ///
    /// - Throws: `invalidParameter`, `emptyData`, `tooFewRows` (fewer than 2), `nonFinite`,
    ///   and `diverged(epoch:)` when a loss becomes NaN or infinite.
    /// - Complexity: O(K · epochs · n · Σ n_l·n_{l+1}) for K networks.
    public static func fit(_ data: Matrix<Float>, parameters: Parameters = Parameters(), seed: UInt64 = 0,
                           threads: Int = 1,
                           onEpoch: (EpochReport) -> Void = { _ in }) throws(EstimatorError) -> (model: Autoencoder, history: TrainingHistory) {
        try parameters.validate()
        guard data.rows > 0, data.columns > 0 else { throw .emptyData }
        guard data.rows >= 2 else { throw .tooFewRows(needed: 2, got: data.rows) }
        if let bad = firstNonFinite(data) { throw .nonFinite(row: bad.row, column: bad.column) }

        return try train(data, parameters: parameters, seed: seed, threads: max(1, threads), onEpoch: onEpoch)
    }

    private static func train(_ data: Matrix<Float>, parameters: Parameters, seed: UInt64, threads: Int,
                              onEpoch: (EpochReport) -> Void) throws(EstimatorError) -> (model: Autoencoder, history: TrainingHistory) {
        let standardizer = Standardizer(fitting: data)
        // Fitted on `data` itself: the shape holds.
        let x = try standardizer.transform(data)
        let n = x.rows
        var history = TrainingHistory()

        // Held-out rows for early stopping: network k draws its own share from stream 300 + k,
        // so the ensemble also averages over splits (a single split moves ROC-AUC by several
        // points on small sets).
        var validationCount = Int((Double(n) * parameters.validationFraction).rounded(.down))
        if parameters.validationFraction > 0 && validationCount == 0 {
            history.notes.append("validation fraction \(parameters.validationFraction) of \(n) rows is no row: early stopping off")
        }
        validationCount = min(validationCount, n - 1)
        let trainingCount = n - validationCount
        history.trainingRows = trainingCount
        history.validationRows = validationCount

        let batchSize = min(parameters.batchSize, trainingCount)
        if batchSize < parameters.batchSize {
            history.notes.append("batch size \(parameters.batchSize) > \(trainingCount) training rows: used \(batchSize)")
        }
        history.batchSize = batchSize

        let trainers = (0..<parameters.ensembleSize).map { k in
            var splitRandom = RandomSource(seed: seed, stream: 300 + UInt64(k))
            let permutation = validationCount > 0 ? splitRandom.sampleWithoutReplacement(n, from: n) : Array(0..<n)
            return NetworkTrainer(layerSizes: [x.columns] + parameters.hiddenLayers + [x.columns], parameters: parameters,
                                  batchSize: batchSize, trainingRows: Array(permutation[validationCount...]).sorted(),
                                  validation: x.rows(at: permutation[..<validationCount].sorted()), seed: seed, index: k)
        }
        let schedule = EnsembleSchedule(trainers, epochs: parameters.epochs)
        // Threads of their own, not Dispatch's pool: this thread waits for them, and a caller
        // that is itself a pool worker (a fit inside a parallel loop) must not wait for work
        // queued behind it on a pool of one thread per core.
        for _ in 0..<min(threads, trainers.count) {
            schedule.workerStarted()
            Thread { schedule.work(on: x) }.start()
        }
        // The caller's thread reports each epoch once every network has run it (or stopped
        // before it), in epoch order; a diverged network ends the fit at the first epoch where
        // one diverged, whatever order the workers ran them in.
        var epoch = 1
        while let results = schedule.waitForEpoch(epoch) {
            let active = results.indices.filter { results[$0] != nil }
            if active.isEmpty { break }
            if active.contains(where: { results[$0]!.diverged }) { break }
            let trainingLoss = active.reduce(0.0) { $0 + results[$1]!.trainingLoss } / Double(active.count)
            history.trainingLoss.append(trainingLoss)
            var validationLoss: Double?
            if validationCount > 0 {
                let loss = active.reduce(0.0) { $0 + results[$1]!.validationLoss } / Double(active.count)
                validationLoss = loss
                history.validationLoss.append(loss)
            }
            onEpoch(EpochReport(epoch: epoch, epochs: parameters.epochs, trainingLoss: trainingLoss,
                                validationLoss: validationLoss, activeNetworks: active.count,
                                improvedNetworks: active.filter { results[$0]!.improved }.count))
            epoch += 1
        }
        schedule.waitForWorkers()
        // One diverged network fails the fit: a model averaging in NaN would score nothing.
        if let diverged = schedule.firstDivergedEpoch { throw .diverged(epoch: diverged) }
        history.bestEpochs = trainers.map(\.bestEpoch)
        if validationCount > 0 { history.bestValidationLosses = trainers.map(\.bestLoss) }
        history.stoppedEarly = history.trainingLoss.count < parameters.epochs

        // Threshold from the scores of every row given (training and held-out alike).
        let networks = trainers.map(\.best)
        let scores = rowErrors(networks, x, threads: threads)
        guard scores.allSatisfy(\.isFinite) else { throw .diverged(epoch: history.trainingLoss.count) }
        // Just above the quantile: rows flag at `score >= threshold`, and when many training
        // scores tie at the quantile (constant or duplicated data, all scores 0) they are the
        // normal case, not anomalies. Elsewhere the quantile falls between scores, so nothing moves.
        let threshold = Metrics.quantile(scores, parameters.contamination.quantile).nextUp
        return (Autoencoder(parameters: parameters, standardizer: standardizer, networks: networks, threshold: threshold), history)
    }
}

/// Runs the networks' epochs on a few workers with no barrier between epochs: epoch e of a
/// network needs only its own epoch e − 1, so a free worker takes the network furthest behind.
/// With a barrier per epoch, 5 networks on 2 cores left one core idle a third of every epoch
/// (3 networks on one, 2 on the other). A network's arithmetic does not depend on which thread
/// runs it, and the caller combines each epoch's figures in network order, so the model and
/// its history do not depend on the schedule or the thread count.
///
/// Every field is read and written under `condition`'s lock; a trainer is touched only by the
/// worker that claimed it, and the lock orders one worker's epoch before the next one's.
private final class EnsembleSchedule: @unchecked Sendable {
    struct EpochResult {
        let trainingLoss: Double
        let validationLoss: Double
        let improved: Bool
        let diverged: Bool
        let stopped: Bool
    }

    private let condition = NSCondition()
    private let trainers: [NetworkTrainer]
    private let epochs: Int
    /// Per network, the results of the epochs it ran, in order.
    private var results: [[EpochResult]]
    private var running: [Bool]
    private var finished = false
    private var liveWorkers = 0
    /// The smallest epoch at which a network diverged: epochs after it are not started.
    private var divergedAt: Int?

    var firstDivergedEpoch: Int? {
        condition.lock()
        defer { condition.unlock() }
        return divergedAt
    }

    init(_ trainers: [NetworkTrainer], epochs: Int) {
        self.trainers = trainers
        self.epochs = epochs
        results = Array(repeating: [], count: trainers.count)
        running = Array(repeating: false, count: trainers.count)
    }

    /// A worker's loop: claim the runnable network furthest behind, run its next epoch, record it.
    func work(on x: Matrix<Float>) {
        condition.lock()
        while true {
            if let k = nextNetwork() {
                running[k] = true
                let epoch = results[k].count + 1
                condition.unlock()
                let trainer = trainers[k]
                trainer.runEpoch(epoch, on: x)
                let result = EpochResult(trainingLoss: trainer.trainingLoss, validationLoss: trainer.validationLoss,
                                         improved: trainer.improved, diverged: trainer.diverged, stopped: trainer.stopped)
                condition.lock()
                running[k] = false
                results[k].append(result)
                if result.diverged { divergedAt = min(divergedAt ?? epoch, epoch) }
                condition.broadcast()
            } else if running.contains(true) {
                // Nothing to take now; a network running elsewhere may become runnable.
                condition.wait()
            } else {
                finished = true
                liveWorkers -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
        }
    }

    func workerStarted() {
        condition.lock()
        liveWorkers += 1
        condition.unlock()
    }

    /// Returns once every worker has left `work` (none touches a trainer any more).
    func waitForWorkers() {
        condition.lock()
        while liveWorkers > 0 { condition.wait() }
        condition.unlock()
    }

    /// Under the lock: the network with the fewest epochs run that may run another (ties: the
    /// lowest index), or nil.
    private func nextNetwork() -> Int? {
        var best: Int?
        for k in trainers.indices where !running[k] {
            let done = results[k].count
            if done >= epochs || (results[k].last?.stopped ?? false) { continue }
            // Past a divergence only the epochs before it are still needed (to find the first).
            if let divergedAt, done + 1 >= divergedAt { continue }
            if best == nil || done < results[best!].count { best = k }
        }
        return best
    }

    /// Waits until every network has run `epoch` or stopped before it, and returns each
    /// network's result for it (nil for a network that had stopped); nil once no network will
    /// run it (all stopped, the epochs are done, or a network diverged earlier).
    func waitForEpoch(_ epoch: Int) -> [EpochResult?]? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let divergedAt, epoch > divergedAt { return nil }
            var ready = true, any = false
            var row = [EpochResult?](repeating: nil, count: trainers.count)
            for k in trainers.indices {
                if results[k].count >= epoch {
                    row[k] = results[k][epoch - 1]
                    any = true
                } else if !(results[k].last?.stopped ?? false), epoch <= epochs, divergedAt.map({ epoch < $0 }) ?? true {
                    ready = false  // this network will still run the epoch
                }
            }
            if ready || finished { return any ? row : nil }
            condition.wait()
        }
    }
}

/// One network of the ensemble with its optimiser state, batch buffers and early-stopping
/// bookkeeping.
private final class NetworkTrainer {
    let parameters: Autoencoder.Parameters
    var network: DenseNetwork<Float>
    var optimizer: AdamOptimizer<Float>
    var gradients: NetworkGradients<Float>
    /// Buffers for full batches and for the last, shorter batch of an epoch: allocated once,
    /// reused for every batch of every epoch.
    var fullWorkspace: NetworkWorkspace<Float>
    var tailWorkspace: NetworkWorkspace<Float>
    var shuffleRandom: RandomSource
    /// This network's training rows (indices into the data), reshuffled every epoch.
    var order: [Int]
    /// This network's held-out rows (copied: they are scored every epoch).
    let validationX: Matrix<Float>

    private(set) var best: DenseNetwork<Float>
    private(set) var bestLoss = Double.infinity
    private(set) var bestEpoch = 0
    private(set) var epochsSinceBest = 0
    private(set) var stopped = false
    private(set) var diverged = false
    private(set) var improved = false
    private(set) var trainingLoss = Double.nan
    private(set) var validationLoss = Double.nan

    init(layerSizes: [Int], parameters: Autoencoder.Parameters, batchSize: Int, trainingRows: [Int],
         validation: Matrix<Float>, seed: UInt64, index: Int) {
        self.parameters = parameters
        var initRandom = RandomSource(seed: seed, stream: 100 + UInt64(index))
        network = DenseNetwork(layerSizes: layerSizes, random: &initRandom)
        optimizer = AdamOptimizer(for: network, learningRate: parameters.learningRate,
                                  beta1: parameters.beta1, beta2: parameters.beta2, epsilon: parameters.epsilon)
        gradients = NetworkGradients(like: network)
        fullWorkspace = NetworkWorkspace(layerSizes: layerSizes, batchSize: batchSize)
        tailWorkspace = NetworkWorkspace(layerSizes: layerSizes, batchSize: trainingRows.count % batchSize)
        shuffleRandom = RandomSource(seed: seed, stream: 200 + UInt64(index))
        order = trainingRows
        validationX = validation
        best = network
    }

    /// One pass over the training rows in shuffled mini-batches, then the held-out loss and
    /// the early-stopping decision.
    func runEpoch(_ epoch: Int, on trainingX: Matrix<Float>) {
        shuffleRandom.shuffle(&order)
        let count = order.count, batchSize = fullWorkspace.batchSize
        let weightDecay = Float(parameters.weightDecay)
        var lossSum = 0.0
        var start = 0
        while start < count {
            let rows = min(batchSize, count - start)
            let loss: Double
            if rows == batchSize {
                gather(trainingX, order[start..<(start + rows)], into: &fullWorkspace.activations[0])
                loss = network.meanSquaredErrorGradients(target: fullWorkspace.activations[0], weightDecay: weightDecay,
                                                         workspace: &fullWorkspace, gradients: &gradients)
            } else {
                gather(trainingX, order[start..<(start + rows)], into: &tailWorkspace.activations[0])
                loss = network.meanSquaredErrorGradients(target: tailWorkspace.activations[0], weightDecay: weightDecay,
                                                         workspace: &tailWorkspace, gradients: &gradients)
            }
            guard loss.isFinite else { diverged = true; stopped = true; return }
            optimizer.update(&network, with: gradients)
            lossSum += loss * Double(rows)
            start += rows
        }
        trainingLoss = lossSum / Double(count)
        improved = false
        guard validationX.rows > 0 else {
            best = network
            bestEpoch = epoch
            improved = true
            return
        }
        let errors = Autoencoder.rowErrors([network], validationX, threads: 1)
        validationLoss = errors.reduce(0, +) / Double(errors.count)
        guard validationLoss.isFinite else { diverged = true; stopped = true; return }
        if validationLoss < bestLoss {
            bestLoss = validationLoss
            best = network
            bestEpoch = epoch
            epochsSinceBest = 0
            improved = true
        } else {
            epochsSinceBest += 1
            if epochsSinceBest >= parameters.patience { stopped = true }
        }
    }

    /// Copies rows `indices` of `source` into `batch` (a preallocated workspace buffer).
    private func gather(_ source: Matrix<Float>, _ indices: ArraySlice<Int>, into batch: inout Matrix<Float>) {
        let columns = source.columns
        source.storage.withUnsafeBufferPointer { src in
            batch.storage.withUnsafeMutableBufferPointer { dst in
                // An inline loop rather than memcpy per row: rows are a few dozen bytes, where the
                // call costs more than the copy; the random reads dominate either way.
                var to = 0
                for i in indices {
                    let from = i * columns
                    for j in 0..<columns { dst[to + j] = src[from + j] }
                    to += columns
                }
            }
        }
    }
}

import Foundation
