// Batch normalization's passes over a micro-batch (Layers/BatchNormalization.swift
// has the formulas), in the widest lanes the CPU has: eight Double columns
// per AVX-512 vector, four per AVX2 one, one at a time otherwise. Each column
// is its own computation — sums over the rows in index order, in Double, the
// constants rounded to Float once — so the lane width never changes a bit.
// A chunk of columns keeps its sums in registers through every pass over the
// rows, so the rows are read from L1 after the first pass.

#pragma STDC FP_CONTRACT OFF

#include "ckernels.h"
#include "lanes.h"

#include <immintrin.h>
#include <math.h>

static void forward_column(float *z, long zStride, float *y, long yStride, const float *gamma, float *inverse,
                           float *meanOut, float *varianceOut, long rows, double epsilon) {
    double sum = 0;
    for (long i = 0; i < rows; i++) sum += (double)z[i * zStride];
    const double mean = sum / (double)rows;
    double squares = 0;
    for (long i = 0; i < rows; i++) {
        const double deviation = (double)z[i * zStride] - mean;
        squares += deviation * deviation;
    }
    const float inv = (float)(1 / sqrt(squares / (double)rows + epsilon));
    *inverse = inv;
    if (meanOut) *meanOut = (float)mean;
    if (varianceOut) *varianceOut = (float)(squares / (double)(rows - 1));
    const float meanF = (float)mean;
    for (long i = 0; i < rows; i++) {
        const float normalized = (z[i * zStride] - meanF) * inv;
        z[i * zStride] = normalized;
        y[i * yStride] = *gamma * normalized;
    }
}

static void backward_column(float *g, long gStride, const float *x, long xStride, const float *gamma,
                            const float *inverse, float *shiftGradient, float *scaleGradient, long rows) {
    double shift = 0, scale = 0;
    for (long i = 0; i < rows; i++) {
        const double gi = (double)g[i * gStride];
        shift += gi;
        scale += gi * (double)x[i * xStride];
    }
    *shiftGradient = (float)shift;
    *scaleGradient = (float)scale;
    const float shiftF = (float)(shift / (double)rows), scaleF = (float)(scale / (double)rows);
    const float factor = *gamma * *inverse;
    for (long i = 0; i < rows; i++) {
        const float centered = g[i * gStride] - shiftF;
        g[i * gStride] = factor * (centered - x[i * xStride] * scaleF);
    }
}

/// The chunk functions of one width: K vectors of D (Double vector type) with
/// F (the Float vector of as many lanes); PD/PS the intrinsic prefixes,
/// LANES columns per vector, TO_DOUBLE/TO_FLOAT the conversions.
#define BATCHNORM_CHUNKS(SUFFIX, TARGET, D, F, PD, PS, LANES, K, TO_DOUBLE, TO_FLOAT)                            \
    TARGET static void forward_chunk_##SUFFIX(float *z, long zStride, float *y, long yStride, const float *gamma,  \
                                              float *inverse, float *meanOut, float *varianceOut, long rows,      \
                                              double epsilon) {                                                   \
        D sum[K], squares[K], mean[K];                                                                            \
        const D count = PD##_set1_pd((double)rows);                                                                \
        for (int k = 0; k < K; k++) sum[k] = PD##_setzero_pd();                                                   \
        for (long i = 0; i < rows; i++)                                                                           \
            for (int k = 0; k < K; k++)                                                                           \
                sum[k] = PD##_add_pd(sum[k], TO_DOUBLE(PS##_loadu_ps(z + i * zStride + k * LANES)));              \
        for (int k = 0; k < K; k++) {                                                                             \
            mean[k] = PD##_div_pd(sum[k], count);                                                                 \
            squares[k] = PD##_setzero_pd();                                                                       \
        }                                                                                                         \
        for (long i = 0; i < rows; i++)                                                                           \
            for (int k = 0; k < K; k++) {                                                                         \
                const D deviation = PD##_sub_pd(TO_DOUBLE(PS##_loadu_ps(z + i * zStride + k * LANES)), mean[k]);  \
                squares[k] = PD##_add_pd(squares[k], PD##_mul_pd(deviation, deviation));                          \
            }                                                                                                     \
        F inv[K], meanF[K], scale[K];                                                                             \
        for (int k = 0; k < K; k++) {                                                                             \
            const D variance = PD##_add_pd(PD##_div_pd(squares[k], count), PD##_set1_pd(epsilon));                \
            inv[k] = TO_FLOAT(PD##_div_pd(PD##_set1_pd(1.0), PD##_sqrt_pd(variance)));                            \
            meanF[k] = TO_FLOAT(mean[k]);                                                                         \
            scale[k] = PS##_loadu_ps(gamma + k * LANES);                                                          \
            PS##_storeu_ps(inverse + k * LANES, inv[k]);                                                          \
            if (meanOut) PS##_storeu_ps(meanOut + k * LANES, meanF[k]);                                           \
            if (varianceOut)                                                                                      \
                PS##_storeu_ps(varianceOut + k * LANES,                                                           \
                               TO_FLOAT(PD##_div_pd(squares[k], PD##_set1_pd((double)(rows - 1)))));              \
        }                                                                                                         \
        for (long i = 0; i < rows; i++)                                                                           \
            for (int k = 0; k < K; k++) {                                                                         \
                float *zi = z + i * zStride + k * LANES;                                                          \
                const F normalized = PS##_mul_ps(PS##_sub_ps(PS##_loadu_ps(zi), meanF[k]), inv[k]);               \
                PS##_storeu_ps(zi, normalized);                                                                   \
                PS##_storeu_ps(y + i * yStride + k * LANES, PS##_mul_ps(scale[k], normalized));                   \
            }                                                                                                     \
    }                                                                                                             \
    TARGET static void backward_chunk_##SUFFIX(float *g, long gStride, const float *x, long xStride,              \
                                               const float *gamma, const float *inverse, float *shiftGradient,    \
                                               float *scaleGradient, long rows) {                                 \
        D shift[K], scale[K];                                                                                     \
        const D count = PD##_set1_pd((double)rows);                                                                \
        for (int k = 0; k < K; k++) shift[k] = scale[k] = PD##_setzero_pd();                                      \
        for (long i = 0; i < rows; i++)                                                                           \
            for (int k = 0; k < K; k++) {                                                                         \
                const D gi = TO_DOUBLE(PS##_loadu_ps(g + i * gStride + k * LANES));                               \
                shift[k] = PD##_add_pd(shift[k], gi);                                                             \
                const D xi = TO_DOUBLE(PS##_loadu_ps(x + i * xStride + k * LANES));                               \
                scale[k] = PD##_add_pd(scale[k], PD##_mul_pd(gi, xi));                                            \
            }                                                                                                     \
        F shiftF[K], scaleF[K], factor[K];                                                                        \
        for (int k = 0; k < K; k++) {                                                                             \
            PS##_storeu_ps(shiftGradient + k * LANES, TO_FLOAT(shift[k]));                                        \
            PS##_storeu_ps(scaleGradient + k * LANES, TO_FLOAT(scale[k]));                                        \
            shiftF[k] = TO_FLOAT(PD##_div_pd(shift[k], count));                                                   \
            scaleF[k] = TO_FLOAT(PD##_div_pd(scale[k], count));                                                  \
            factor[k] = PS##_mul_ps(PS##_loadu_ps(gamma + k * LANES), PS##_loadu_ps(inverse + k * LANES));        \
        }                                                                                                         \
        for (long i = 0; i < rows; i++)                                                                           \
            for (int k = 0; k < K; k++) {                                                                         \
                float *gi = g + i * gStride + k * LANES;                                                          \
                const F centered = PS##_sub_ps(PS##_loadu_ps(gi), shiftF[k]);                                     \
                const F projected = PS##_mul_ps(PS##_loadu_ps(x + i * xStride + k * LANES), scaleF[k]);           \
                PS##_storeu_ps(gi, PS##_mul_ps(factor[k], PS##_sub_ps(centered, projected)));                     \
            }                                                                                                     \
    }

// Four vectors a chunk: 32 columns with AVX-512, 16 with AVX2; then one vector, then single columns.
BATCHNORM_CHUNKS(avx512x4, __attribute__((target("avx512f"))), __m512d, __m256, _mm512, _mm256, 8, 4,
                 _mm512_cvtps_pd, _mm512_cvtpd_ps)
BATCHNORM_CHUNKS(avx512x1, __attribute__((target("avx512f"))), __m512d, __m256, _mm512, _mm256, 8, 1,
                 _mm512_cvtps_pd, _mm512_cvtpd_ps)
BATCHNORM_CHUNKS(avx2x4, __attribute__((target("avx2"))), __m256d, __m128, _mm256, _mm, 4, 4, _mm256_cvtps_pd,
                 _mm256_cvtpd_ps)
BATCHNORM_CHUNKS(avx2x1, __attribute__((target("avx2"))), __m256d, __m128, _mm256, _mm, 4, 1, _mm256_cvtps_pd,
                 _mm256_cvtpd_ps)

/// Column j of every pointer that has one.
#define AT(pointer, j) ((pointer) ? (pointer) + (j) : 0)

typedef void (*forward_chunk)(float *, long, float *, long, const float *, float *, float *, float *, long, double);
typedef void (*backward_chunk)(float *, long, const float *, long, const float *, const float *, float *, float *,
                               long);

/// The chunk functions of the widest lanes the CPU has, four vectors and one
/// (none: columns one at a time).
typedef struct {
    forward_chunk forwardFour, forwardOne;
    backward_chunk backwardFour, backwardOne;
    long lanes;
} chunk_path;

static chunk_path widest_path(void) {
    switch (dpt_lanes()) {
    case 16:
        return (chunk_path){forward_chunk_avx512x4, forward_chunk_avx512x1, backward_chunk_avx512x4,
                            backward_chunk_avx512x1, 8};
    case 8:
        return (chunk_path){forward_chunk_avx2x4, forward_chunk_avx2x1, backward_chunk_avx2x4,
                            backward_chunk_avx2x1, 4};
    default:
        return (chunk_path){0, 0, 0, 0, 0};
    }
}

void dpt_batchnorm_forward(float *z, long zStride, float *y, long yStride, const float *gamma, float *inverse,
                           float *meanOut, float *varianceOut, long rows, long width, double epsilon) {
    const chunk_path path = widest_path();
    long j = 0;
    for (long vectors = 4; path.lanes && vectors >= 1; vectors -= 3) {
        const forward_chunk run = vectors == 4 ? path.forwardFour : path.forwardOne;
        for (; j + vectors * path.lanes <= width; j += vectors * path.lanes)
            run(z + j, zStride, y + j, yStride, gamma + j, inverse + j, AT(meanOut, j), AT(varianceOut, j), rows,
                epsilon);
    }
    for (; j < width; j++)
        forward_column(z + j, zStride, y + j, yStride, gamma + j, inverse + j, AT(meanOut, j), AT(varianceOut, j),
                       rows, epsilon);
}

void dpt_batchnorm_backward(float *g, long gStride, const float *x, long xStride, const float *gamma,
                            const float *inverse, float *shiftGradient, float *scaleGradient, long rows, long width) {
    const chunk_path path = widest_path();
    long j = 0;
    for (long vectors = 4; path.lanes && vectors >= 1; vectors -= 3) {
        const backward_chunk run = vectors == 4 ? path.backwardFour : path.backwardOne;
        for (; j + vectors * path.lanes <= width; j += vectors * path.lanes)
            run(g + j, gStride, x + j, xStride, gamma + j, inverse + j, shiftGradient + j, scaleGradient + j, rows);
    }
    for (; j < width; j++)
        backward_column(g + j, gStride, x + j, xStride, gamma + j, inverse + j, shiftGradient + j, scaleGradient + j,
                        rows);
}
