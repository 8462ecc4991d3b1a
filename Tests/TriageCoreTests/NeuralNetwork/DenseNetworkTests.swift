import Testing
@testable import TriageCore

@Suite("DenseNetwork and Adam")
struct DenseNetworkTests {
    /// ℓ(θ) + (λ/2)‖W‖² at the current parameters (what the gradients differentiate).
    private func objective(_ network: DenseNetwork<Double>, _ input: Matrix<Double>, _ target: Matrix<Double>,
                           weightDecay: Double) -> Double {
        var workspace = NetworkWorkspace<Double>(layerSizes: network.layerSizes, batchSize: input.rows)
        workspace.activations[0] = input
        var gradients = NetworkGradients(like: network)
        let loss = network.meanSquaredErrorGradients(target: target, weightDecay: weightDecay,
                                                     workspace: &workspace, gradients: &gradients)
        return loss + network.weightPenalty(weightDecay)
    }

    @Test("backpropagated gradients match central finite differences (Double, weight decay on)")
    func gradientCheck() {
        var random = RandomSource(seed: 7)
        let sizes = [4, 5, 3, 4]
        var network = DenseNetwork<Double>(layerSizes: sizes, random: &random)
        // Non-zero biases so the check covers them away from the zero initialisation.
        for l in 0..<network.layerCount {
            for j in 0..<network.biases[l].count { network.biases[l][j] = random.normal() * 0.3 }
        }
        let input = Matrix<Double>(rows: 6, columns: 4) { _, _ in random.normal() }
        let target = Matrix<Double>(rows: 6, columns: 4) { _, _ in random.normal() }
        let weightDecay = 0.05

        var workspace = NetworkWorkspace<Double>(layerSizes: sizes, batchSize: 6)
        workspace.activations[0] = input
        var gradients = NetworkGradients(like: network)
        network.meanSquaredErrorGradients(target: target, weightDecay: weightDecay, workspace: &workspace, gradients: &gradients)

        let h = 1e-6
        var worst = 0.0
        for l in 0..<network.layerCount {
            for k in 0..<network.weights[l].count {
                var plus = network, minus = network
                plus.weights[l].storage[k] += h
                minus.weights[l].storage[k] -= h
                let numeric = (objective(plus, input, target, weightDecay: weightDecay)
                               - objective(minus, input, target, weightDecay: weightDecay)) / (2 * h)
                let analytic = gradients.weights[l].storage[k]
                worst = max(worst, abs(numeric - analytic) / max(1e-4, abs(numeric) + abs(analytic)))
            }
            for k in 0..<network.biases[l].count {
                var plus = network, minus = network
                plus.biases[l][k] += h
                minus.biases[l][k] -= h
                let numeric = (objective(plus, input, target, weightDecay: weightDecay)
                               - objective(minus, input, target, weightDecay: weightDecay)) / (2 * h)
                let analytic = gradients.biases[l][k]
                worst = max(worst, abs(numeric - analytic) / max(1e-4, abs(numeric) + abs(analytic)))
            }
        }
        #expect(worst < 1e-6, "largest relative gradient error \(worst)")
    }

    @Test("forward pass equals a hand-computed 2-layer network")
    func forwardByHand() {
        let w0 = Matrix<Double>([[1, -1], [2, 0.5]])
        let w1 = Matrix<Double>([[1], [-2]])
        let network = DenseNetwork<Double>(weights: [w0, w1], biases: [[0.5, -3], [0.25]])
        var workspace = NetworkWorkspace<Double>(layerSizes: network.layerSizes, batchSize: 1)
        workspace.activations[0] = Matrix([[1.0, 2.0]])
        network.forward(&workspace)
        // z1 = [1+4+0.5, -1+1-3] = [5.5, -3] → relu [5.5, 0]; out = 5.5 − 0 + 0.25.
        #expect(workspace.activations[1].storage == [5.5, 0])
        #expect(workspace.activations[2].storage == [5.75])
    }

    @Test("He and Xavier initialisation have the intended scale and are seeded")
    func initialisation() {
        var a = RandomSource(seed: 3), b = RandomSource(seed: 3)
        let first = DenseNetwork<Double>(layerSizes: [200, 100, 200], random: &a)
        let second = DenseNetwork<Double>(layerSizes: [200, 100, 200], random: &b)
        #expect(first == second)
        func variance(_ m: Matrix<Double>) -> Double { m.storage.reduce(0) { $0 + $1 * $1 } / Double(m.count) }
        #expect(abs(variance(first.weights[0]) - 2.0 / 200) < 0.1 * 2.0 / 200)   // He: 2/n_in
        #expect(abs(variance(first.weights[1]) - 2.0 / 300) < 0.1 * 2.0 / 300)   // Xavier: 2/(n_in+n_out)
        #expect(first.biases.allSatisfy { $0.allSatisfy { $0 == 0 } })
    }

    @Test("Adam's first step moves each parameter by the learning rate against its gradient's sign")
    func adamFirstStep() {
        let network0 = DenseNetwork<Double>(weights: [Matrix([[1.0, -2.0]])], biases: [[0.5, 0.0]])
        var network = network0
        var optimizer = AdamOptimizer(for: network, learningRate: 0.1)
        var gradients = NetworkGradients(like: network)
        gradients.weights[0].storage = [3.0, -0.001]
        gradients.biases[0] = [0.25, 0]
        optimizer.update(&network, with: gradients)
        // With bias correction m̂ = g, v̂ = g², so the step is α·g/(|g| + ε) ≈ α·sign(g).
        #expect(abs(network.weights[0].storage[0] - (1.0 - 0.1)) < 1e-6)
        #expect(abs(network.weights[0].storage[1] - (-2.0 + 0.1)) < 1e-5)
        #expect(abs(network.biases[0][0] - (0.5 - 0.1)) < 1e-6)
        #expect(network.biases[0][1] == 0)
        #expect(optimizer.step == 1)
    }

    @Test("Adam's second step follows Algorithm 1 of Kingma & Ba")
    func adamSecondStep() {
        var network = DenseNetwork<Double>(weights: [Matrix([[0.0]])], biases: [[0.0]])
        var optimizer = AdamOptimizer(for: network, learningRate: 0.01)
        var gradients = NetworkGradients(like: network)
        var m = 0.0, v = 0.0, theta = 0.0
        for (t, g) in [(1.0, 2.0), (2.0, -1.0)] {
            gradients.weights[0].storage = [g]
            optimizer.update(&network, with: gradients)
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            let mHat = m / (1 - pow(0.9, t)), vHat = v / (1 - pow(0.999, t))
            theta -= 0.01 * mHat / (vHat.squareRoot() + 1e-8)
        }
        #expect(abs(network.weights[0].storage[0] - theta) < 1e-9)
    }
}

import Foundation
