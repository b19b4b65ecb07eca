// LeakyReLU and PReLU around the products, in the widest lanes the CPU has,
// with the Swift formulas' IEEE operations: forward z + b, then
// a = (z > 0) ? z : s·z; backward g = g·((z > 0) ? 1 : s) — s one slope for
// LeakyReLU or column j's learnable slope for PReLU. NaN takes the s branch
// (s·NaN = NaN) and −0 gives s·(−0), as the scalar formulas do. PReLU's slope
// gradient sums z·g over the rows (in order) where z ≤ 0, which NaN is not.

#pragma STDC FP_CONTRACT OFF

#include "ckernels.h"
#include "lanes.h"

#include <immintrin.h>

static inline float slope_at(const float *slopes, float slope, long j) { return slopes ? slopes[j] : slope; }

static void leaky_row_scalar(float *z, float *a, const float *bias, const float *slopes, float slope, long from,
                             long n) {
    for (long j = from; j < n; j++) {
        const float y = z[j] + bias[j];
        z[j] = y;
        a[j] = y > 0 ? y : slope_at(slopes, slope, j) * y;
    }
}

static void leaky_mask_scalar(float *g, const float *z, const float *slopes, float slope, long from, long n) {
    for (long j = from; j < n; j++) g[j] = g[j] * (z[j] > 0 ? 1.0f : slope_at(slopes, slope, j));
}

static void slope_sums_scalar(const float *g, long gStride, const float *z, long zStride, long rows, float *out,
                              long from, long n) {
    for (long j = from; j < n; j++) {
        float sum = 0;
        for (long i = 0; i < rows; i++) {
            const float zi = z[i * zStride + j];
            if (zi <= 0) sum += zi * g[i * gStride + j];
        }
        out[j] = sum;
    }
}

/// The row functions and the slope sums of one lane width (V: vector type,
/// P: intrinsic prefix, IF_POSITIVE(x, then, else): then where x > 0, else
/// elsewhere; IF_NONPOSITIVE likewise where x ≤ 0, so NaN takes else in both).
#define LEAKY_ROWS(SUFFIX, TARGET, V, P, WIDTH, IF_POSITIVE, IF_NONPOSITIVE)                                        \
    TARGET static void leaky_row_##SUFFIX(float *z, float *a, const float *bias, const float *slopes, float slope,  \
                                          long n) {                                                                 \
        long j = 0;                                                                                                 \
        for (; j + WIDTH <= n; j += WIDTH) {                                                                        \
            const V y = P##_add_ps(P##_loadu_ps(z + j), P##_loadu_ps(bias + j));                                    \
            const V s = slopes ? P##_loadu_ps(slopes + j) : P##_set1_ps(slope);                                     \
            P##_storeu_ps(z + j, y);                                                                                \
            P##_storeu_ps(a + j, IF_POSITIVE(y, y, P##_mul_ps(s, y)));                                              \
        }                                                                                                           \
        leaky_row_scalar(z, a, bias, slopes, slope, j, n);                                                          \
    }                                                                                                               \
    TARGET static void leaky_mask_##SUFFIX(float *g, const float *z, const float *slopes, float slope, long n) {    \
        long j = 0;                                                                                                 \
        for (; j + WIDTH <= n; j += WIDTH) {                                                                        \
            const V s = slopes ? P##_loadu_ps(slopes + j) : P##_set1_ps(slope);                                     \
            const V d = IF_POSITIVE(P##_loadu_ps(z + j), P##_set1_ps(1.0f), s);                                     \
            P##_storeu_ps(g + j, P##_mul_ps(P##_loadu_ps(g + j), d));                                               \
        }                                                                                                           \
        leaky_mask_scalar(g, z, slopes, slope, j, n);                                                               \
    }                                                                                                               \
    TARGET static void slope_sums_##SUFFIX(const float *g, long gStride, const float *z, long zStride, long rows,   \
                                           float *out, long n) {                                                    \
        long j = 0;                                                                                                 \
        for (; j + WIDTH <= n; j += WIDTH) {                                                                        \
            V sum = P##_setzero_ps();                                                                               \
            for (long i = 0; i < rows; i++) {                                                                       \
                const V zi = P##_loadu_ps(z + i * zStride + j);                                                     \
                const V added = P##_add_ps(sum, P##_mul_ps(zi, P##_loadu_ps(g + i * gStride + j)));                 \
                sum = IF_NONPOSITIVE(zi, added, sum);                                                               \
            }                                                                                                       \
            P##_storeu_ps(out + j, sum);                                                                            \
        }                                                                                                           \
        slope_sums_scalar(g, gStride, z, zStride, rows, out, j, n);                                                 \
    }

#define IF_POSITIVE_512(x, then, otherwise) \
    _mm512_mask_mov_ps(otherwise, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), then)
#define IF_POSITIVE_256(x, then, otherwise) \
    _mm256_blendv_ps(otherwise, then, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ))
#define IF_NONPOSITIVE_512(x, then, otherwise) \
    _mm512_mask_mov_ps(otherwise, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LE_OQ), then)
#define IF_NONPOSITIVE_256(x, then, otherwise) \
    _mm256_blendv_ps(otherwise, then, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LE_OQ))

LEAKY_ROWS(avx512, __attribute__((target("avx512f"))), __m512, _mm512, 16, IF_POSITIVE_512, IF_NONPOSITIVE_512)
LEAKY_ROWS(avx2, __attribute__((target("avx2"))), __m256, _mm256, 8, IF_POSITIVE_256, IF_NONPOSITIVE_256)

void dpt_bias_leaky(float *z, long zStride, float *a, long aStride, const float *bias, const float *slopes, float slope,
                    long rows, long width) {
    const int lanes = dpt_lanes();
    for (long row = 0; row < rows; row++) {
        float *zi = z + row * zStride, *ai = a + row * aStride;
        if (lanes == 16) leaky_row_avx512(zi, ai, bias, slopes, slope, width);
        else if (lanes == 8) leaky_row_avx2(zi, ai, bias, slopes, slope, width);
        else leaky_row_scalar(zi, ai, bias, slopes, slope, 0, width);
    }
}

void dpt_leaky_mask(float *g, long gStride, const float *z, long zStride, const float *slopes, float slope, long rows,
                    long width) {
    const int lanes = dpt_lanes();
    for (long row = 0; row < rows; row++) {
        float *gi = g + row * gStride;
        const float *zi = z + row * zStride;
        if (lanes == 16) leaky_mask_avx512(gi, zi, slopes, slope, width);
        else if (lanes == 8) leaky_mask_avx2(gi, zi, slopes, slope, width);
        else leaky_mask_scalar(gi, zi, slopes, slope, 0, width);
    }
}

void dpt_prelu_slope_sums(const float *g, long gStride, const float *z, long zStride, long rows, float *out,
                          long width) {
    const int lanes = dpt_lanes();
    if (lanes == 16) slope_sums_avx512(g, gStride, z, zStride, rows, out, width);
    else if (lanes == 8) slope_sums_avx2(g, gStride, z, zStride, rows, out, width);
    else slope_sums_scalar(g, gStride, z, zStride, rows, out, 0, width);
}
