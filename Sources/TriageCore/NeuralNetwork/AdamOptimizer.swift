/// Adam (Kingma & Ba, "Adam: A method for stochastic optimization", ICLR 2015, Algorithm 1)
/// with bias-corrected moment estimates.
///
/// For step t = 1, 2, … and gradient g:
///
///     m ← β₁·m + (1 − β₁)·g          v ← β₂·v + (1 − β₂)·g²
///     θ ← θ − α·m̂ / (√v̂ + ε),   m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)
///
/// The bias corrections are folded into one step size α_t = α·√(1 − β₂ᵗ)/(1 − β₁ᵗ) and
/// ε̂ = ε·√(1 − β₂ᵗ), the efficient form given in section 2 of the paper. Defaults are the
/// paper's: β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
public struct AdamOptimizer<Scalar: BLASScalar>: Sendable {
    public let learningRate: Double
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    /// Steps taken so far (t).
    public private(set) var step = 0
    private var firstMoments: NetworkGradients<Scalar>
    private var secondMoments: NetworkGradients<Scalar>

    public init(for network: DenseNetwork<Scalar>, learningRate: Double,
                beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        firstMoments = NetworkGradients(like: network)
        secondMoments = NetworkGradients(like: network)
    }

    /// One Adam step on every parameter of `network` with `gradients`.
    @_specialize(exported: true, where Scalar == Float)
    @_specialize(exported: true, where Scalar == Double)
    public mutating func update(_ network: inout DenseNetwork<Scalar>, with gradients: NetworkGradients<Scalar>) {
        step += 1
        let t = Double(step)
        let correction1 = 1 - Foundation.pow(beta1, t)
        let correction2 = 1 - Foundation.pow(beta2, t)
        let stepSize = Scalar(learningRate * correction2.squareRoot() / correction1)
        let epsilonHat = Scalar(epsilon * correction2.squareRoot())
        let b1 = Scalar(beta1), b2 = Scalar(beta2)
        for l in 0..<network.layerCount {
            Self.apply(&network.weights[l].storage, gradients.weights[l].storage,
                       &firstMoments.weights[l].storage, &secondMoments.weights[l].storage,
                       stepSize: stepSize, epsilon: epsilonHat, beta1: b1, beta2: b2)
            Self.apply(&network.biases[l], gradients.biases[l],
                       &firstMoments.biases[l], &secondMoments.biases[l],
                       stepSize: stepSize, epsilon: epsilonHat, beta1: b1, beta2: b2)
        }
    }

    private static func apply(_ parameters: inout [Scalar], _ gradient: [Scalar],
                              _ m: inout [Scalar], _ v: inout [Scalar],
                              stepSize: Scalar, epsilon: Scalar, beta1: Scalar, beta2: Scalar) {
        let count = parameters.count
        gradient.withUnsafeBufferPointer { g in
            parameters.withUnsafeMutableBufferPointer { p in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        for i in 0..<count {
                            let gi = g[i]
                            let mi = beta1 * m[i] + (1 - beta1) * gi
                            let vi = beta2 * v[i] + (1 - beta2) * gi * gi
                            m[i] = mi
                            v[i] = vi
                            p[i] -= stepSize * mi / (vi.squareRoot() + epsilon)
                        }
                    }
                }
            }
        }
    }
}

import Foundation
