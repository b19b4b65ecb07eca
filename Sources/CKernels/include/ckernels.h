// Elementwise kernels written in C for instruction sets the Swift build does
// not target: each is compiled for AVX-512 and AVX2 as well as the baseline, chosen at run
// time, and performs the same IEEE operations element by element in both
// (no fused multiply-add), so the choice never changes a bit.

#ifndef DPT_CKERNELS_H
#define DPT_CKERNELS_H

/// One Adam(W) step over n elements (see Optimizers/Adam.swift for the formula
/// and the bias corrections folded into stepSize and epsilon):
///   p *= decay; m = b1·m + (1 − b1)·g; v = b2·v + (1 − b2)·(g·g);
///   p −= stepSize · (m / (√|v| + epsilon))
void dpt_adam_step(float *p, const float *g, float *m, float *v, long n, float decay, float stepSize, float beta1,
                   float beta2, float epsilon);

/// out = a + b, elementwise, over `rows` rows of `width` floats with the given
/// row strides (out may be a or b).
void dpt_add_matrices(float *out, long outStride, const float *a, long aStride, const float *b, long bStride, long rows,
                      long width);

/// z = z + bias (per column), then a = relu ? ((0 ≥ z) ? 0 : z) : z, over
/// `rows` rows of `width` floats at the given row strides (a may be z).
void dpt_bias_activation(float *z, long zStride, float *a, long aStride, const float *bias, long rows, long width,
                         int relu);

/// g = 0 where z ≤ 0 (NaN keeps g), over `rows` rows of `width` floats: the ReLU derivative.
void dpt_relu_mask(float *g, long gStride, const float *z, long zStride, long rows, long width);

/// out[j] = ((0 + x[0, j]) + x[1, j]) + … over `rows` rows, for `width` columns at row stride `stride`.
void dpt_column_sums(const float *x, long stride, long rows, float *out, long width);

/// Most inputs of `dpt_add_chain`.
#define DPT_CHAIN_MAX 8

/// out = in[0] + (in[1] + (… + (in[n − 2] + in[n − 1]))), elementwise, over
/// `rows` rows of `width` floats (input k at row stride strides[k]; out may be
/// any input): a cascade of pairwise sums in one pass, with their bits.
/// 2 ≤ n ≤ DPT_CHAIN_MAX.
void dpt_add_chain(float *out, long outStride, const float *const *in, const long *strides, int n, long rows,
                   long width);

/// z = z + bias (per column), then a = (z > 0) ? z : s·z with s = slopes[j]
/// (PReLU) or `slope` when slopes is NULL (LeakyReLU), over `rows` rows of
/// `width` floats at the given strides (a may be z).
void dpt_bias_leaky(float *z, long zStride, float *a, long aStride, const float *bias, const float *slopes, float slope,
                    long rows, long width);

/// g = g · ((z > 0) ? 1 : s), s as in dpt_bias_leaky: the LeakyReLU/PReLU derivative.
void dpt_leaky_mask(float *g, long gStride, const float *z, long zStride, const float *slopes, float slope, long rows,
                    long width);

/// out[j] = Σ over rows i in order, where z[i, j] ≤ 0, of z[i, j]·g[i, j] (a Float
/// sum from 0): PReLU's slope gradient, g the gradient of the layer's output.
void dpt_prelu_slope_sums(const float *g, long gStride, const float *z, long zStride, long rows, float *out,
                          long width);

/// The smooth activations of dpt_smooth_forward and dpt_smooth_backward
/// (ELU's α is their `parameter`; the others ignore it).
#define DPT_SMOOTH_SIGMOID 1
#define DPT_SMOOTH_TANH 2
#define DPT_SMOOTH_SILU 3
#define DPT_SMOOTH_ELU 4
#define DPT_SMOOTH_SOFTPLUS 5
#define DPT_SMOOTH_GELU 6

/// f(x) for one of the smooth activations (computed in double, rounded
/// once; NaN passes): what the row kernels compute for every element.
float dpt_smooth_value(int kind, float x, float parameter);

/// SiLU's derivative s·(1 + x·(1 − s)), s = sigmoid(x), as the row kernels compute it.
float dpt_silu_derivative(float x);

/// GELU's derivative Φ(x) + x·φ(x), as the row kernels compute it.
float dpt_gelu_derivative(float x);

/// z = z + bias (per column), then a = f(z), over `rows` rows of n floats at the given strides.
void dpt_smooth_forward(int kind, float parameter, float *z, long zStride, float *a, long aStride, const float *bias,
                        long rows, long n);

/// g = g · f'(z): a·(1 − a) for sigmoid, 1 − a·a for tanh and (z > 0 ? 1 :
/// a + α) for ELU (from the output a, in float), dpt_silu_derivative(z) for
/// SiLU, the sigmoid of z for softplus, dpt_gelu_derivative(z) for GELU.
void dpt_smooth_backward(int kind, float parameter, float *g, long gStride, const float *z, long zStride,
                         const float *a, long aStride, long rows, long n);

/// Batch normalization's training forward over columns 0..<width of `rows`
/// rows: per column the mean and biased variance of z (Double sums over the
/// rows in order), inverse = 1/√(σ² + ε) rounded to Float, z becomes
/// x̂ = (z − Float(μ))·inverse and y = γ·x̂; meanOut and varianceOut (the
/// unbiased variance), when not NULL, get Float(μ) and Float(Σ(z − μ)²/(rows − 1)).
void dpt_batchnorm_forward(float *z, long zStride, float *y, long yStride, const float *gamma, float *inverse,
                           float *meanOut, float *varianceOut, long rows, long width, double epsilon);

/// Batch normalization's backward over columns 0..<width: dβ = Σ dy, dγ = Σ dy·x̂
/// (Double sums in row order, rounded once), then g (holding dy) becomes
/// (γ·inverse)·((dy − Float(dβ/rows)) − x̂·Float(dγ/rows)).
void dpt_batchnorm_backward(float *g, long gStride, const float *x, long xStride, const float *gamma,
                            const float *inverse, float *shiftGradient, float *scaleGradient, long rows, long width);

/// What one dropout layer draws from: Philox4x32-10 counter (purpose,
/// stream, index low, index high) under key (key0, key1); a neuron is kept
/// (mask = kept) when its word w gives (w >> 8)·2⁻²⁴ ≥ rate, else mask = 0.
typedef struct {
    unsigned int purpose, stream, key0, key1;
    float rate, kept;
} dpt_dropout_draw;

/// Inverted dropout's forward over `rows` rows of n neurons: row i (global
/// position firstPosition + i) takes neurons 4b … 4b + 3 from the four words
/// of block index (firstPosition + i)·⌈n/4⌉ + b; mask = kept or 0, d = a·mask.
void dpt_dropout_rows(const float *a, long aStride, float *mask, long maskStride, float *d, long dStride, long rows,
                      long n, unsigned long long firstPosition, const dpt_dropout_draw *draw);

/// dst = src (n floats) with non-temporal stores, then a store fence: for
/// data another core reads next (a release store after it publishes it).
void dpt_stream_copy(float *dst, const float *src, long n);

/// Whether any of the n floats at x is NaN or ±Inf.
int dpt_any_nonfinite(const float *x, long n);

/// A spin-wait hint to the CPU (x86 PAUSE): a waiting thread takes fewer
/// resources and notices a change as soon as it happens.
static inline void dpt_cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/// Uses at most `lanes` lanes (16, 8 or 1) from now on, so tests can hold every path against the formula.
void dpt_kernels_limit_lanes(int lanes);

/// The lanes the kernels use now: 16 (AVX-512), 8 (AVX2) or 1.
int dpt_kernel_lanes(void);

#endif
