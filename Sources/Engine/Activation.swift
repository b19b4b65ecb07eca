// Activation functions and their derivatives, as fused elementwise kernels
// (identity and ReLU in C, in the CPU's widest lanes: CKernels/activation.c;
// sigmoid, tanh, SiLU, ELU, softplus and GELU in double lanes, rounded
// once: CKernels/smooth.c; LeakyReLU and PReLU: CKernels/leaky.c).
//
// Forward (per row i of a micro-batch, column j):  z[i,j] += b[j];  a[i,j] = f(z[i,j])
// Backward:                                        dz[i,j] = da[i,j] · f'(z[i,j])
// Derivatives at the kinks follow PyTorch (ReLU'(0) = 0, LeakyReLU'(0) = slope).
// GELU is the exact erf form; softplus is evaluated as max(x,0) + log1p(exp(-|x|)).
//
// Legend: m = rows of the micro-batch, n = width of the layer.

import CKernels

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

    /// The C kernel that computes this activation's rows.
    var rowKernel: RowKernel {
        switch self {
        case .identity: return .bias(relu: false)
        case .relu: return .bias(relu: true)
        case .leakyReLU(let slope): return .leaky(slope: slope)
        case .prelu: return .leaky(slope: 0)  // the slopes come per column
        case .sigmoid: return .smooth(kind: DPT_SMOOTH_SIGMOID, parameter: 0)
        case .tanh: return .smooth(kind: DPT_SMOOTH_TANH, parameter: 0)
        case .silu: return .smooth(kind: DPT_SMOOTH_SILU, parameter: 0)
        case .elu(let alpha): return .smooth(kind: DPT_SMOOTH_ELU, parameter: alpha)
        case .softplus: return .smooth(kind: DPT_SMOOTH_SOFTPLUS, parameter: 0)
        case .gelu: return .smooth(kind: DPT_SMOOTH_GELU, parameter: 0)
        }
    }
}

/// The C kernels of the activations' rows (CKernels).
enum RowKernel {
    /// z + b, then ReLU or nothing: `dpt_bias_activation`, `dpt_relu_mask`.
    case bias(relu: Bool)
    /// LeakyReLU's slope, or PReLU's per-column slopes: `dpt_bias_leaky`, `dpt_leaky_mask`.
    case leaky(slope: Float)
    /// sigmoid, tanh, SiLU, ELU (its α), softplus, GELU: `dpt_smooth_forward`, `dpt_smooth_backward`.
    case smooth(kind: Int32, parameter: Float)
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
        let zRows = z.pointer + rows.lowerBound * z.rowStride, aRows = a.pointer + rows.lowerBound * a.rowStride
        switch activation.rowKernel {
        case .bias(let relu):
            // z += b and max(z, 0) in one pass, in the CPU's widest lanes.
            dpt_bias_activation(zRows, z.rowStride, aRows, a.rowStride, bias, rows.count, n, relu ? 1 : 0)
        case .leaky(let slope):
            dpt_bias_leaky(zRows, z.rowStride, aRows, a.rowStride, bias, slopes, slope, rows.count, n)
        case .smooth(let kind, let parameter):
            dpt_smooth_forward(kind, parameter, zRows, z.rowStride, aRows, a.rowStride, bias, rows.count, n)
        }
    }
}

/// Rows of `Activation.backward`.
private struct BackwardRows: RangeJob {
    let gradient: Matrix, z: Matrix, a: Matrix, slopes: UnsafePointer<Float>?
    let activation: Activation, n: Int

    func run(_ rows: Range<Int>) {
        let gRows = gradient.pointer + rows.lowerBound * gradient.rowStride
        let zRows = z.pointer + rows.lowerBound * z.rowStride, aRows = a.pointer + rows.lowerBound * a.rowStride
        switch activation.rowKernel {
        case .bias(let relu):
            // A mask in the CPU's widest lanes (a branch per element would mispredict on random signs).
            if relu { dpt_relu_mask(gRows, gradient.rowStride, zRows, z.rowStride, rows.count, n) }
        case .leaky(let slope):
            dpt_leaky_mask(gRows, gradient.rowStride, zRows, z.rowStride, slopes, slope, rows.count, n)
        case .smooth(let kind, let parameter):
            dpt_smooth_backward(
                kind, parameter, gRows, gradient.rowStride, zRows, z.rowStride, aRows, a.rowStride, rows.count, n)
        }
    }
}
