// Output heads fused with their losses: per-row loss, accuracy and dL/dz from
// the logits z in one pass (the head's activation is never materialised).
//
//   cross-entropy (softmax head, class labels):  ℓ = logsumexp(z) − z[y],
//        dz = softmax(z) − onehot(y); the max is subtracted first, so exp never overflows.
//   binary cross-entropy (sigmoid head, targets t ∈ [0,1], one or many labels):
//        ℓ = mean_j max(z,0) − z·t + log1p(exp(−|z|)),  dz = (σ(z) − t)/k
//   MSE ℓ = mean_j d², MAE ℓ = mean_j |d|, Huber(δ) and smooth-L1(β) as in
//        PyTorch's HuberLoss / SmoothL1Loss, with d = z − t.
//   hinge (binary, targets ±1, a target 0 counts as −1): ℓ = mean_j max(0, 1 − y·z)
//   multiclass hinge (class labels, PyTorch MultiMarginLoss, margin 1):
//        ℓ = Σ_{i≠y} max(0, 1 − z[y] + z[i]) / k
// The gradient written is scale · dℓ/dz, with scale = 1/B for the mean over
// the global batch B, so micro-batch gradients simply add up.
//
// Legend: m = rows of the micro-batch, k = outputs.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loss together with the output head it implies.
public enum Loss: Codable, Sendable, Equatable, Hashable {
    case crossEntropy
    case binaryCrossEntropy
    case meanSquaredError
    case meanAbsoluteError
    case huber(delta: Float)
    case smoothL1(beta: Float)
    case hinge
    case multiclassHinge

    /// Whether targets are class indices (else they are k values per row).
    public var usesClassLabels: Bool { self == .crossEntropy || self == .multiclassHinge }

    /// Whether the loss has an accuracy (classification); regression losses do not.
    public var hasAccuracy: Bool {
        switch self {
        case .crossEntropy, .binaryCrossEntropy, .hinge, .multiclassHinge: return true
        default: return false
        }
    }

    /// The user-facing name (`--loss`).
    public var name: String {
        switch self {
        case .crossEntropy: return "cross-entropy"
        case .binaryCrossEntropy: return "bce"
        case .meanSquaredError: return "mse"
        case .meanAbsoluteError: return "mae"
        case .huber(let delta): return delta == 1 ? "huber" : "huber(\(delta))"
        case .smoothL1(let beta): return beta == 1 ? "smooth-l1" : "smooth-l1(\(beta))"
        case .hinge: return "hinge"
        case .multiclassHinge: return "multiclass-hinge"
        }
    }
}

/// The targets of the rows of one micro-batch: class labels (m) or values (m, k).
public enum LossTargets {
    case labels(UnsafePointer<Int32>)
    case values(Matrix)
}

extension Loss {
    /// For each row i of z (m, k): rowLoss[i] = ℓ_i, rowCorrect[i] = fraction of
    /// the row's outputs predicted right (0 or 1 for class labels), and, when
    /// `gradient` is given, gradient (m, k) = scale · dℓ_i/dz.
    public func evaluate(
        logits z: Matrix, targets: LossTargets, scale: Float,
        gradient: Matrix?, rowLoss: UnsafeMutablePointer<Float>, rowCorrect: UnsafeMutablePointer<Float>,
        pool: ThreadPool
    ) {
        pool.parallelRanges(
            z.rows, grain: rowsPerTask(columns: z.columns),
            Rows(loss: self, z: z, targets: targets, scale: scale, gradient: gradient, rowLoss: rowLoss,
                 rowCorrect: rowCorrect))
    }

    /// Rows of `evaluate`.
    private struct Rows: RangeJob {
        let loss: Loss, z: Matrix, targets: LossTargets, scale: Float, gradient: Matrix?
        let rowLoss: UnsafeMutablePointer<Float>, rowCorrect: UnsafeMutablePointer<Float>

        func run(_ rows: Range<Int>) {
            let k = z.columns
            for i in rows {
                let zi = z.pointer + i * z.rowStride
                let gi = gradient.map { $0.pointer + i * $0.rowStride }
                switch targets {
                case .labels(let labels):
                    let y = Int(labels[i])
                    // An unchecked label would read and write past the row.
                    precondition(y >= 0 && y < k, "class label \(y) of row \(i) is outside 0..<\(k)")
                    loss.classRow(zi, k: k, label: y, scale: scale, gradient: gi, loss: rowLoss + i, correct: rowCorrect + i)
                case .values(let t):
                    loss.valueRow(zi, k: k, targets: t.pointer + i * t.rowStride, scale: scale,
                                  gradient: gi, loss: rowLoss + i, correct: rowCorrect + i)
                }
            }
        }
    }

    @inline(__always)
    private func classRow(
        _ z: UnsafeMutablePointer<Float>, k: Int, label y: Int, scale: Float,
        gradient g: UnsafeMutablePointer<Float>?, loss: UnsafeMutablePointer<Float>, correct: UnsafeMutablePointer<Float>
    ) {
        var best = 0
        var maximum = z[0]
        for j in 1..<k where z[j] > maximum {
            maximum = z[j]
            best = j
        }
        correct.pointee = best == y ? 1 : 0
        switch self {
        case .multiclassHinge:
            var total: Float = 0
            let zy = z[y]
            if let g { for j in 0..<k { g[j] = 0 } }
            for j in 0..<k where j != y {
                let margin = 1 - zy + z[j]
                if margin > 0 {
                    total += margin
                    if let g {
                        g[j] += scale / Float(k)
                        g[y] -= scale / Float(k)
                    }
                }
            }
            loss.pointee = total / Float(k)
        default:  // cross-entropy
            let zy = z[y]
            var sum: Float = 0
            if let g {
                // Each exponential once, kept in the gradient's row until it is scaled.
                for j in 0..<k {
                    g[j] = expf(z[j] - maximum)
                    sum += g[j]
                }
            } else {
                for j in 0..<k { sum += expf(z[j] - maximum) }
            }
            let logSum = logf(sum)
            loss.pointee = logSum + maximum - zy
            if let g {
                let inverse = 1 / sum
                for j in 0..<k { g[j] = scale * (g[j] * inverse) }
                g[y] -= scale
            }
        }
    }

    @inline(__always)
    private func valueRow(
        _ z: UnsafeMutablePointer<Float>, k: Int, targets t: UnsafeMutablePointer<Float>, scale: Float,
        gradient g: UnsafeMutablePointer<Float>?, loss: UnsafeMutablePointer<Float>, correct: UnsafeMutablePointer<Float>
    ) {
        let perElement = scale / Float(k)
        var total: Float = 0
        var right: Float = 0
        for j in 0..<k {
            let x = z[j]
            let target = t[j]
            var value: Float
            var slope: Float
            switch self {
            case .binaryCrossEntropy:
                value = max(x, 0) - x * target + log1pf(expf(-abs(x)))
                slope = Activation.logistic(x) - target
                if (x > 0) == (target > 0.5) { right += 1 }
            case .meanSquaredError:
                let d = x - target
                value = d * d
                slope = 2 * d
            case .meanAbsoluteError:
                let d = x - target
                value = abs(d)
                slope = d > 0 ? 1 : (d < 0 ? -1 : 0)
            case .huber(let delta):
                let d = x - target
                if abs(d) < delta {
                    value = 0.5 * d * d
                    slope = d
                } else {
                    value = delta * (abs(d) - 0.5 * delta)
                    slope = d > 0 ? delta : -delta
                }
            case .smoothL1(let beta):
                let d = x - target
                if abs(d) < beta {
                    value = 0.5 * d * d / beta
                    slope = d / beta
                } else {
                    value = abs(d) - 0.5 * beta
                    slope = d > 0 ? 1 : -1
                }
            case .hinge:
                let y: Float = target > 0 ? 1 : -1
                let margin = 1 - y * x
                value = max(margin, 0)
                slope = margin > 0 ? -y : 0
                if (x > 0) == (y > 0) { right += 1 }
            case .crossEntropy, .multiclassHinge:
                preconditionFailure("\(self.name) takes class labels, not values")
            }
            total += value
            if let g { g[j] = perElement * slope }
        }
        loss.pointee = total / Float(k)
        correct.pointee = right / Float(k)
    }
}
