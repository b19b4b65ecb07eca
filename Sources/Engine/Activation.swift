// Activation functions and their derivatives, as fused elementwise kernels
// (identity and ReLU in C, in the CPU's widest lanes: CKernels/activation.c;
// sigmoid, tanh, SiLU, ELU, softplus and GELU in double lanes, rounded
// once: CKernels/smooth.c; LeakyReLU and PReLU one element at a time here).
//
// Forward (per row i of a micro-batch, column j):  z[i,j] += b[j];  a[i,j] = f(z[i,j])
// Backward:                                        dz[i,j] = da[i,j] · f'(z[i,j])
// Derivatives at the kinks follow PyTorch (ReLU'(0) = 0, LeakyReLU'(0) = slope).
// GELU is the exact erf form; softplus is evaluated as max(x,0) + log1p(exp(-|x|)).
//
// Legend: m = rows of the micro-batch, n = width of the layer.

import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An elementwise nonlinearity of a hidden or output layer.
public enum Activation: Codable, Sendable, Equatable, Hashable {
    case identity
    case sigmoid
    case tanh
    case relu
    /// max(x, 0) + slope · min(x, 0).
    case leakyReLU(slope: Float)
    /// Like LeakyReLU with one learnable slope per neuron, starting at `initialSlope`.
    case prelu(initialSlope: Float)
    /// x for x > 0, alpha · (exp(x) − 1) otherwise.
    case elu(alpha: Float)
    case softplus
    case gelu
    case silu

    /// Whether the layer carries one learnable parameter per neuron (PReLU).
    public var hasPerNeuronParameter: Bool {
        if case .prelu = self { return true }
        return false
    }

    /// The value at one point (scalar reference; kernels below are the fast path).
    @inline(__always)
    public func value(_ x: Float, slope: Float = 0) -> Float {
        switch self {
        case .identity: return x
        case .sigmoid: return dpt_smooth_value(DPT_SMOOTH_SIGMOID, x, 0)
        case .tanh: return dpt_smooth_value(DPT_SMOOTH_TANH, x, 0)
        case .relu: return x > 0 ? x : 0
        case .leakyReLU(let s): return x > 0 ? x : s * x
        case .prelu: return x > 0 ? x : slope * x
        case .elu(let alpha): return dpt_smooth_value(DPT_SMOOTH_ELU, x, alpha)
        case .softplus: return dpt_smooth_value(DPT_SMOOTH_SOFTPLUS, x, 0)
        case .gelu: return dpt_smooth_value(DPT_SMOOTH_GELU, x, 0)
        case .silu: return dpt_smooth_value(DPT_SMOOTH_SILU, x, 0)
        }
    }

    /// The derivative f'(x), given x and a = f(x).
    @inline(__always)
    public func derivative(_ x: Float, output a: Float, slope: Float = 0) -> Float {
        switch self {
        case .identity: return 1
        case .sigmoid: return a * (1 - a)
        case .tanh: return 1 - a * a
        case .relu: return x > 0 ? 1 : 0
        case .leakyReLU(let s): return x > 0 ? 1 : s
        case .prelu: return x > 0 ? 1 : slope
        case .elu(let alpha): return x > 0 ? 1 : a + alpha
        case .softplus: return Activation.logistic(x)
        case .gelu: return dpt_gelu_derivative(x)
        case .silu: return dpt_silu_derivative(x)
        }
    }

    /// The logistic function 1 / (1 + exp(−x)), in double and rounded once
    /// (CKernels' smooth.c): the sigmoid layers' own bits.
    @inline(__always)
    public static func logistic(_ x: Float) -> Float { dpt_smooth_value(DPT_SMOOTH_SIGMOID, x, 0) }

    /// The C kernel's code and parameter for the activations it computes in
    /// lanes (sigmoid, tanh, SiLU, ELU, softplus, GELU).
    var smooth: (kind: Int32, parameter: Float)? {
        switch self {
        case .sigmoid: return (DPT_SMOOTH_SIGMOID, 0)
        case .tanh: return (DPT_SMOOTH_TANH, 0)
        case .silu: return (DPT_SMOOTH_SILU, 0)
        case .elu(let alpha): return (DPT_SMOOTH_ELU, alpha)
        case .softplus: return (DPT_SMOOTH_SOFTPLUS, 0)
        case .gelu: return (DPT_SMOOTH_GELU, 0)
        default: return nil
        }
    }
}

/// Rows per elementwise task: about 16 Ki elements, at least one row.
@inline(__always)
func rowsPerTask(columns: Int) -> Int { max(1, 16_384 / max(columns, 1)) }

extension Activation {
    /// z += bias (per column), then a = f(z). z and a are (m, n); bias and slopes are (n).
    public func forward(
        preActivation z: Matrix, bias: UnsafePointer<Float>, output a: Matrix,
        slopes: UnsafePointer<Float>?, pool: ThreadPool
    ) {
        pool.parallelRanges(
            z.rows, grain: rowsPerTask(columns: z.columns),
            ForwardRows(z: z, a: a, bias: bias, slopes: slopes, activation: self, n: z.columns))
    }

    /// Evaluation-only forward: z += bias, then z = f(z) in place.
    public func forwardInPlace(_ z: Matrix, bias: UnsafePointer<Float>, slopes: UnsafePointer<Float>?, pool: ThreadPool) {
        forward(preActivation: z, bias: bias, output: z, slopes: slopes, pool: pool)
    }

    /// dz = da · f'(z), in place over `gradient` (m, n), given z and a = f(z).
    public func backward(
        gradient: Matrix, preActivation z: Matrix, output a: Matrix,
        slopes: UnsafePointer<Float>?, pool: ThreadPool
    ) {
        if self == .identity { return }
        pool.parallelRanges(
            z.rows, grain: rowsPerTask(columns: z.columns),
            BackwardRows(gradient: gradient, z: z, a: a, slopes: slopes, activation: self, n: z.columns))
    }
}

/// Rows of `Activation.forward`.
private struct ForwardRows: RangeJob {
    let z: Matrix, a: Matrix, bias: UnsafePointer<Float>, slopes: UnsafePointer<Float>?
    let activation: Activation, n: Int

    func run(_ rows: Range<Int>) {
        if activation == .identity || activation == .relu {
            // z += b and max(z, 0) in one pass, in the CPU's widest lanes.
            dpt_bias_activation(
                z.pointer + rows.lowerBound * z.rowStride, z.rowStride, a.pointer + rows.lowerBound * a.rowStride,
                a.rowStride, bias, rows.count, n, activation == .relu ? 1 : 0)
            return
        }
        if let (kind, parameter) = activation.smooth {
            dpt_smooth_forward(
                kind, parameter, z.pointer + rows.lowerBound * z.rowStride, z.rowStride, a.pointer + rows.lowerBound * a.rowStride,
                a.rowStride, bias, rows.count, n)
            return
        }
        for i in rows {
            let zi = z.pointer + i * z.rowStride
            let ai = a.pointer + i * a.rowStride
            for j in 0..<n { zi[j] += bias[j] }
            if let slopes {
                for j in 0..<n { ai[j] = activation.value(zi[j], slope: slopes[j]) }
            } else {
                for j in 0..<n { ai[j] = activation.value(zi[j]) }
            }
        }
    }
}

/// Rows of `Activation.backward`.
private struct BackwardRows: RangeJob {
    let gradient: Matrix, z: Matrix, a: Matrix, slopes: UnsafePointer<Float>?
    let activation: Activation, n: Int

    func run(_ rows: Range<Int>) {
        if activation == .relu {
            // A mask in the CPU's widest lanes (a branch per element would mispredict on random signs).
            dpt_relu_mask(
                gradient.pointer + rows.lowerBound * gradient.rowStride, gradient.rowStride,
                z.pointer + rows.lowerBound * z.rowStride, z.rowStride, rows.count, n)
            return
        }
        if let (kind, parameter) = activation.smooth {
            dpt_smooth_backward(
                kind, parameter, gradient.pointer + rows.lowerBound * gradient.rowStride, gradient.rowStride,
                z.pointer + rows.lowerBound * z.rowStride, z.rowStride, a.pointer + rows.lowerBound * a.rowStride,
                a.rowStride, rows.count, n)
            return
        }
        for i in rows {
            let gi = gradient.pointer + i * gradient.rowStride
            let zi = z.pointer + i * z.rowStride
            let ai = a.pointer + i * a.rowStride
            if let slopes {
                for j in 0..<n { gi[j] *= activation.derivative(zi[j], output: ai[j], slope: slopes[j]) }
            } else {
                for j in 0..<n { gi[j] *= activation.derivative(zi[j], output: ai[j]) }
            }
        }
    }
}
