// The smooth activations — sigmoid, tanh, SiLU, ELU, softplus, GELU — and their derivatives, in
// double lanes of AVX-512 (8) or AVX2 (4) or one element at a time, with the
// same IEEE double operations in every path, so the path never changes a bit.
// Each value is computed in double and rounded once to float: well within
// an ulp of the exact value (libm's float functions are no closer, and
// glibc's tanhf, one expm1f per element, cost ~15 ns).
//
// exp(y), |y| ≤ 700: n = round(y·log₂e) (by adding and subtracting 1.5·2⁵²,
// whose low mantissa bits then hold n), r = (y − n·ln2_hi) − n·ln2_lo
// (fdlibm's split: n·ln2_hi is exact), eʳ by Horner over 1/k!, k ≤ 10
// (error < 3·10⁻¹³ for |r| ≤ 0.35), times 2ⁿ built in the exponent bits.
//   sigmoid(x) = 1 / (1 + exp(−x))
//   tanh(x)    = sign(x)·(t < 2⁻⁷ ? t + t·t²·(−1/3 + t²·2/15) : 1 − 2 / (exp(2·min(t, 20)) + 1)), t = |x|
//   silu(x)    = x·sigmoid(x),  silu'(x) = s·(1 + x·(1 − s)), s = sigmoid(x)
//   elu(x)     = x > 0 ? x : α·expm1(x), expm1(x) = |x| < 2⁻⁷ ? x·(1 + x·(1/2 + x·(1/6 + x/24))) : exp(x) − 1
//   softplus(x) = max(x, 0) + log1p(y), y = exp(−|x|) ∈ (0, 1]: log1p(y) = 2·atanh(u), u = y/(2 + y) ≤ 1/3,
//                 by its odd series to u²³ (error < 2·10⁻¹³); softplus'(x) = sigmoid(x)
//   gelu(x)    = x·Φ(x), Φ(x) = erfc(−x/√2)/2, gelu'(x) = Φ(x) + x·exp(−x²/2)/√(2π), erfc by
//                W. J. Cody's rational approximations ("Rational Chebyshev approximations for the
//                error function", Math. Comp. 23, 1969: |v| ≤ 0.46875, ≤ 4, beyond)
// with x clamped to ±700 inside exp's argument and NaN passed through.
// Backward for sigmoid, tanh and ELU uses the output a as the Swift formulas
// did: g·(a·(1 − a)), g·(1 − a·a) and g·(z > 0 ? 1 : a + α) in float.

#pragma STDC FP_CONTRACT OFF

#include "ckernels.h"
#include "lanes.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define LOG2E 1.4426950408889634
#define SHIFT 0x1.8p52
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define LIMIT 700.0
#define SMALL 0x1p-7
#define TANH_CLAMP 20.0
#define ATANH_TERMS 12

static const double reciprocalFactorials[11] = {
    1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800};

/// 1/(2k + 1), the odd series of atanh.
static const double reciprocalOdds[ATANH_TERMS] = {1.0,      1.0 / 3,  1.0 / 5,  1.0 / 7,  1.0 / 9,  1.0 / 11,
                                                   1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21, 1.0 / 23};

// Cody's coefficients (Netlib specfun calerf).
static const double erfA[5] = {3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
                               3.20937758913846947e03, 1.85777706184603153e-1};
static const double erfB[4] = {2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
                               2.84423683343917062e03};
static const double erfC[9] = {5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
                               2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
                               2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8};
static const double erfD[8] = {1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
                               1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
                               3.43936767414372164e03, 1.23033935480374942e03};
static const double erfP[6] = {3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
                               1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2};
static const double erfQ[5] = {2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
                               6.05183413124413191e-2, 2.33520497626869185e-3};
#define ONE_OVER_SQRT_PI 5.6418958354775628695e-1
#define NEG_ONE_OVER_SQRT2 (-0.70710678118654752440)
#define ONE_OVER_SQRT_2PI 0.39894228040143267794
#define ERF_SMALL 0.46875
#define ERF_MIDDLE 4.0

// ---- one element ----

static inline double exp_scalar(double y) {
    const double k = y * LOG2E + SHIFT;
    const double n = k - SHIFT;
    const double r = (y - n * LN2_HI) - n * LN2_LO;
    double p = reciprocalFactorials[10];
    for (int i = 9; i >= 0; i--) p = p * r + reciprocalFactorials[i];
    int64_t kBits, shiftBits;
    const double shift = SHIFT;
    memcpy(&kBits, &k, 8);
    memcpy(&shiftBits, &shift, 8);
    const int64_t scaleBits = (int64_t)((uint64_t)(kBits - shiftBits + 1023) << 52);
    double scale;
    memcpy(&scale, &scaleBits, 8);
    return p * scale;
}

static inline double clamp_scalar(double x) { return x < -LIMIT ? -LIMIT : (x > LIMIT ? LIMIT : x); }

static inline double sigmoid_scalar(double x) { return 1.0 / (1.0 + exp_scalar(0.0 - clamp_scalar(x))); }

static inline double tanh_scalar(double x) {
    const double t = x < 0 ? -x : x;
    const double t2 = t * t;
    const double series = t + t * (t2 * (-1.0 / 3 + t2 * (2.0 / 15)));
    const double e = exp_scalar(2.0 * (t < TANH_CLAMP ? t : TANH_CLAMP));
    const double r = t < SMALL ? series : 1.0 - 2.0 / (e + 1.0);
    return x < 0 ? -r : (x > 0 ? r : x);
}

static inline double elu_scalar(double x, double alpha) {
    const double t = x < 0 ? -x : x;
    const double series = x * (1.0 + x * (0.5 + x * (1.0 / 6 + x * (1.0 / 24))));
    const double em1 = t < SMALL ? series : exp_scalar(clamp_scalar(x)) - 1.0;
    return x > 0 ? x : alpha * em1;
}

static inline double softplus_scalar(double x) {
    const double t = x < 0 ? -x : x;
    const double y = exp_scalar(0.0 - (t < LIMIT ? t : LIMIT));
    const double u = y / (2.0 + y), u2 = u * u;
    double series = reciprocalOdds[ATANH_TERMS - 1];
    for (int k = ATANH_TERMS - 2; k >= 0; k--) series = series * u2 + reciprocalOdds[k];
    return (x > 0 ? x : 0.0) + 2.0 * (u * series);
}

/// erfc(v): one of Cody's three regions of |v|, reflected for v < 0 beyond the first.
static inline double erfc_scalar(double v) {
    const double y = v < 0 ? -v : v;
    if (y <= ERF_SMALL) {
        const double t = y * y;
        double num = erfA[4] * t, den = t;
        for (int i = 0; i < 3; i++) {
            num = (num + erfA[i]) * t;
            den = (den + erfB[i]) * t;
        }
        return 1.0 - v * (num + erfA[3]) / (den + erfB[3]);
    }
    const double e = exp_scalar(-(y * y) > -LIMIT ? -(y * y) : -LIMIT);
    double tail;
    if (y <= ERF_MIDDLE) {
        double num = erfC[8] * y, den = y;
        for (int i = 0; i < 7; i++) {
            num = (num + erfC[i]) * y;
            den = (den + erfD[i]) * y;
        }
        tail = e * ((num + erfC[7]) / (den + erfD[7]));
    } else {
        const double z = 1.0 / (y * y);
        double num = erfP[5] * z, den = z;
        for (int i = 0; i < 4; i++) {
            num = (num + erfP[i]) * z;
            den = (den + erfQ[i]) * z;
        }
        tail = e * ((ONE_OVER_SQRT_PI - z * (num + erfP[4]) / (den + erfQ[4])) / y);
    }
    return v < 0 ? 2.0 - tail : tail;
}

static inline double gelu_cdf_scalar(double x) { return 0.5 * erfc_scalar(x * NEG_ONE_OVER_SQRT2); }

float dpt_gelu_derivative(float x) {
    if (x != x) return x;
    const double d = x;
    const double half = -0.5 * (d * d);
    return (float)(gelu_cdf_scalar(d) + d * (exp_scalar(half > -LIMIT ? half : -LIMIT) * ONE_OVER_SQRT_2PI));
}

float dpt_smooth_value(int kind, float x, float parameter) {
    if (x != x) return x;
    const double d = x;
    switch (kind) {
    case DPT_SMOOTH_SIGMOID: return (float)sigmoid_scalar(d);
    case DPT_SMOOTH_TANH: return (float)tanh_scalar(d);
    case DPT_SMOOTH_SILU: return (float)(d * sigmoid_scalar(d));
    case DPT_SMOOTH_ELU: return (float)elu_scalar(d, parameter);
    case DPT_SMOOTH_SOFTPLUS: return (float)softplus_scalar(d);
    default: return (float)(d * gelu_cdf_scalar(d));
    }
}

float dpt_silu_derivative(float x) {
    if (x != x) return x;
    const double d = x, s = sigmoid_scalar(d);
    return (float)(s * (1.0 + d * (1.0 - s)));
}

static inline float derivative_scalar(int kind, float z, float a, float parameter) {
    switch (kind) {
    case DPT_SMOOTH_SIGMOID: return a * (1 - a);
    case DPT_SMOOTH_TANH: return 1 - a * a;
    case DPT_SMOOTH_SILU: return dpt_silu_derivative(z);
    case DPT_SMOOTH_ELU: return z > 0 ? 1.0f : a + parameter;
    case DPT_SMOOTH_SOFTPLUS: return dpt_smooth_value(DPT_SMOOTH_SIGMOID, z, 0);
    default: return dpt_gelu_derivative(z);
    }
}

static void forward_row_scalar(int kind, float parameter, float *z, float *a, const float *bias, long from, long n) {
    for (long j = from; j < n; j++) {
        z[j] = z[j] + bias[j];
        a[j] = dpt_smooth_value(kind, z[j], parameter);
    }
}

static void backward_row_scalar(int kind, float parameter, float *g, const float *z, const float *a, long from,
                                long n) {
    for (long j = from; j < n; j++) g[j] = g[j] * derivative_scalar(kind, z[j], a[j], parameter);
}

// ---- the vector paths: smooth_lanes.h over AVX-512, then AVX2 ----

#define WIDE_NAME(name, suffix) name##_##suffix
#define WIDE_EXPAND(name, suffix) WIDE_NAME(name, suffix)
#define WIDE(name) WIDE_EXPAND(name, LANES_SUFFIX)

// AVX-512: eight doubles a vector, sixteen floats a pass.
#define LANES_SUFFIX avx512
#define TARGET __attribute__((target("avx512f")))
#define VD __m512d
#define VF __m512
#define FLOATS 16
#define D_SET(c) _mm512_set1_pd(c)
#define D_ZERO _mm512_setzero_pd()
#define D_ADD _mm512_add_pd
#define D_SUB _mm512_sub_pd
#define D_MUL _mm512_mul_pd
#define D_DIV _mm512_div_pd
#define D_MIN _mm512_min_pd
#define D_MAX _mm512_max_pd
#define D_SIGN _mm512_set1_epi64((long long)0x8000000000000000ull)
#define D_ABS(x) _mm512_castsi512_pd(_mm512_andnot_si512(D_SIGN, _mm512_castpd_si512(x)))
#define D_WITH_SIGN_OF(r, x) \
    _mm512_castsi512_pd(_mm512_or_si512(_mm512_castpd_si512(r), _mm512_and_si512(D_SIGN, _mm512_castpd_si512(x))))
#define D_IF(a, op, b, then, otherwise) _mm512_mask_mov_pd(otherwise, _mm512_cmp_pd_mask(a, b, op), then)
#define D_EXP2_BITS(k, shift)                                                                                    \
    _mm512_castsi512_pd(_mm512_slli_epi64(                                                                       \
        _mm512_add_epi64(_mm512_sub_epi64(_mm512_castpd_si512(k), _mm512_castpd_si512(shift)), _mm512_set1_epi64(1023)), \
        52))
#define F_LOAD _mm512_loadu_ps
#define F_STORE _mm512_storeu_ps
#define F_SET _mm512_set1_ps
#define F_ZERO _mm512_setzero_ps()
#define F_ADD _mm512_add_ps
#define F_SUB _mm512_sub_ps
#define F_MUL _mm512_mul_ps
#define F_IF(a, op, b, then, otherwise) _mm512_mask_mov_ps(otherwise, _mm512_cmp_ps_mask(a, b, op), then)
#define IN_DOUBLE(x, function)                                                                                   \
    ({                                                                                                           \
        const __m512d lo_ = _mm512_cvtps_pd(_mm512_castps512_ps256(x));                                         \
        const __m512d hi_ = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));  \
        const __m256 flo_ = _mm512_cvtpd_ps(function(lo_)), fhi_ = _mm512_cvtpd_ps(function(hi_));              \
        const __m512 f_ = _mm512_castpd_ps(                                                                     \
            _mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(flo_)), _mm256_castps_pd(fhi_), 1));     \
        _mm512_mask_mov_ps(f_, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);                                      \
    })
#include "smooth_lanes.h"
#undef LANES_SUFFIX
#undef TARGET
#undef VD
#undef VF
#undef FLOATS
#undef D_SET
#undef D_ZERO
#undef D_ADD
#undef D_SUB
#undef D_MUL
#undef D_DIV
#undef D_MIN
#undef D_MAX
#undef D_SIGN
#undef D_ABS
#undef D_WITH_SIGN_OF
#undef D_IF
#undef D_EXP2_BITS
#undef F_LOAD
#undef F_STORE
#undef F_SET
#undef F_ZERO
#undef F_ADD
#undef F_SUB
#undef F_MUL
#undef F_IF
#undef IN_DOUBLE

// AVX2: four doubles a vector, eight floats a pass.
#define LANES_SUFFIX avx2
#define TARGET __attribute__((target("avx2")))
#define VD __m256d
#define VF __m256
#define FLOATS 8
#define D_SET(c) _mm256_set1_pd(c)
#define D_ZERO _mm256_setzero_pd()
#define D_ADD _mm256_add_pd
#define D_SUB _mm256_sub_pd
#define D_MUL _mm256_mul_pd
#define D_DIV _mm256_div_pd
#define D_MIN _mm256_min_pd
#define D_MAX _mm256_max_pd
#define D_SIGN _mm256_castsi256_pd(_mm256_set1_epi64x((long long)0x8000000000000000ull))
#define D_ABS(x) _mm256_andnot_pd(D_SIGN, x)
#define D_WITH_SIGN_OF(r, x) _mm256_or_pd(r, _mm256_and_pd(D_SIGN, x))
#define D_IF(a, op, b, then, otherwise) _mm256_blendv_pd(otherwise, then, _mm256_cmp_pd(a, b, op))
#define D_EXP2_BITS(k, shift)                                                                                    \
    _mm256_castsi256_pd(_mm256_slli_epi64(                                                                       \
        _mm256_add_epi64(_mm256_sub_epi64(_mm256_castpd_si256(k), _mm256_castpd_si256(shift)), _mm256_set1_epi64x(1023)), \
        52))
#define F_LOAD _mm256_loadu_ps
#define F_STORE _mm256_storeu_ps
#define F_SET _mm256_set1_ps
#define F_ZERO _mm256_setzero_ps()
#define F_ADD _mm256_add_ps
#define F_SUB _mm256_sub_ps
#define F_MUL _mm256_mul_ps
#define F_IF(a, op, b, then, otherwise) _mm256_blendv_ps(otherwise, then, _mm256_cmp_ps(a, b, op))
#define IN_DOUBLE(x, function)                                                                                   \
    ({                                                                                                           \
        const __m256d lo_ = _mm256_cvtps_pd(_mm256_castps256_ps128(x));                                         \
        const __m256d hi_ = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));                                       \
        const __m256 f_ = _mm256_set_m128(_mm256_cvtpd_ps(function(hi_)), _mm256_cvtpd_ps(function(lo_)));     \
        _mm256_blendv_ps(f_, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));                                             \
    })
#include "smooth_lanes.h"

// ---- rows ----

void dpt_smooth_forward(int kind, float parameter, float *z, long zStride, float *a, long aStride, const float *bias,
                        long rows, long n) {
    const int lanes = dpt_lanes();
    for (long i = 0; i < rows; i++) {
        float *zi = z + i * zStride, *ai = a + i * aStride;
        if (lanes == 16) forward_row_avx512(kind, parameter, zi, ai, bias, n);
        else if (lanes == 8) forward_row_avx2(kind, parameter, zi, ai, bias, n);
        else forward_row_scalar(kind, parameter, zi, ai, bias, 0, n);
    }
}

void dpt_smooth_backward(int kind, float parameter, float *g, long gStride, const float *z, long zStride,
                         const float *a, long aStride, long rows, long n) {
    const int lanes = dpt_lanes();
    for (long i = 0; i < rows; i++) {
        float *gi = g + i * gStride;
        const float *zi = z + i * zStride, *ai = a + i * aStride;
        if (lanes == 16) backward_row_avx512(kind, parameter, gi, zi, ai, n);
        else if (lanes == 8) backward_row_avx2(kind, parameter, gi, zi, ai, n);
        else backward_row_scalar(kind, parameter, gi, zi, ai, 0, n);
    }
}
