// The passes around every product of a step — bias + ReLU forward, the ReLU
// derivative mask, column sums for the bias gradient — in the widest lanes
// the CPU has (the Swift build targets four SSE lanes). The same IEEE
// operations in every width, as the Swift formulas: z + b; (0 ≥ z) ? 0 : z
// (NaN passes, −0 becomes +0); g = (z ≤ 0) ? 0 : g; Σ over rows in order from 0.

#pragma STDC FP_CONTRACT OFF

#include "ckernels.h"
#include "lanes.h"

#include <immintrin.h>

static inline float relu_scalar(float z) { return 0.0f >= z ? 0.0f : z; }

static void bias_row_scalar(float *z, float *a, const float *bias, long n, int relu) {
    for (long j = 0; j < n; j++) {
        const float y = z[j] + bias[j];
        z[j] = y;
        a[j] = relu ? relu_scalar(y) : y;
    }
}

static void mask_row_scalar(float *g, const float *z, long n) {
    for (long j = 0; j < n; j++) {
        if (z[j] <= 0) g[j] = 0;
    }
}

static void column_sums_scalar(const float *x, long stride, long rows, float *out, long width) {
    for (long j = 0; j < width; j++) {
        float sum = 0;
        for (long i = 0; i < rows; i++) sum += x[i * stride + j];
        out[j] = sum;
    }
}

__attribute__((target("avx512f"))) static void bias_row_avx512(float *z, float *a, const float *bias, long n, int relu) {
    const __m512 zero = _mm512_setzero_ps();
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        const __m512 y = _mm512_add_ps(_mm512_loadu_ps(z + j), _mm512_loadu_ps(bias + j));
        _mm512_storeu_ps(z + j, y);
        _mm512_storeu_ps(a + j, relu ? _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(y, zero, _CMP_LE_OQ), zero) : y);
    }
    if (j < n) {
        const __mmask16 lanes = (__mmask16)((1u << (n - j)) - 1);
        const __m512 y = _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, z + j), _mm512_maskz_loadu_ps(lanes, bias + j));
        _mm512_mask_storeu_ps(z + j, lanes, y);
        _mm512_mask_storeu_ps(
            a + j, lanes, relu ? _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(y, zero, _CMP_LE_OQ), zero) : y);
    }
}

__attribute__((target("avx2"))) static void bias_row_avx2(float *z, float *a, const float *bias, long n, int relu) {
    const __m256 zero = _mm256_setzero_ps();
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 y = _mm256_add_ps(_mm256_loadu_ps(z + j), _mm256_loadu_ps(bias + j));
        _mm256_storeu_ps(z + j, y);
        _mm256_storeu_ps(a + j, relu ? _mm256_blendv_ps(y, zero, _mm256_cmp_ps(y, zero, _CMP_LE_OQ)) : y);
    }
    bias_row_scalar(z + j, a + j, bias + j, n - j, relu);
}

void dpt_bias_activation(float *z, long zStride, float *a, long aStride, const float *bias, long rows, long width,
                         int relu) {
    const int lanes = dpt_lanes();
    for (long row = 0; row < rows; row++) {
        float *zi = z + row * zStride, *ai = a + row * aStride;
        if (lanes == 16) {
            bias_row_avx512(zi, ai, bias, width, relu);
        } else if (lanes == 8) {
            bias_row_avx2(zi, ai, bias, width, relu);
        } else {
            bias_row_scalar(zi, ai, bias, width, relu);
        }
    }
}

__attribute__((target("avx512f"))) static void mask_row_avx512(float *g, const float *z, long n) {
    const __m512 zero = _mm512_setzero_ps();
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        const __mmask16 off = _mm512_cmp_ps_mask(_mm512_loadu_ps(z + j), zero, _CMP_LE_OQ);
        _mm512_mask_storeu_ps(g + j, off, zero);
    }
    if (j < n) {
        const __mmask16 lanes = (__mmask16)((1u << (n - j)) - 1);
        const __mmask16 off = _mm512_mask_cmp_ps_mask(lanes, _mm512_maskz_loadu_ps(lanes, z + j), zero, _CMP_LE_OQ);
        _mm512_mask_storeu_ps(g + j, off, zero);
    }
}

__attribute__((target("avx2"))) static void mask_row_avx2(float *g, const float *z, long n) {
    const __m256 zero = _mm256_setzero_ps();
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 off = _mm256_cmp_ps(_mm256_loadu_ps(z + j), zero, _CMP_LE_OQ);
        _mm256_storeu_ps(g + j, _mm256_blendv_ps(_mm256_loadu_ps(g + j), zero, off));
    }
    mask_row_scalar(g + j, z + j, n - j);
}

void dpt_relu_mask(float *g, long gStride, const float *z, long zStride, long rows, long width) {
    const int lanes = dpt_lanes();
    for (long row = 0; row < rows; row++) {
        float *gi = g + row * gStride;
        const float *zi = z + row * zStride;
        if (lanes == 16) {
            mask_row_avx512(gi, zi, width);
        } else if (lanes == 8) {
            mask_row_avx2(gi, zi, width);
        } else {
            mask_row_scalar(gi, zi, width);
        }
    }
}

__attribute__((target("avx512f"))) static void column_sums_avx512(const float *x, long stride, long rows, float *out,
                                                                   long width) {
    long j = 0;
    for (; j + 16 <= width; j += 16) {
        __m512 sum = _mm512_setzero_ps();
        for (long i = 0; i < rows; i++) sum = _mm512_add_ps(sum, _mm512_loadu_ps(x + i * stride + j));
        _mm512_storeu_ps(out + j, sum);
    }
    if (j < width) {
        const __mmask16 lanes = (__mmask16)((1u << (width - j)) - 1);
        __m512 sum = _mm512_setzero_ps();
        for (long i = 0; i < rows; i++) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(lanes, x + i * stride + j));
        _mm512_mask_storeu_ps(out + j, lanes, sum);
    }
}

__attribute__((target("avx2"))) static void column_sums_avx2(const float *x, long stride, long rows, float *out,
                                                             long width) {
    long j = 0;
    for (; j + 8 <= width; j += 8) {
        __m256 sum = _mm256_setzero_ps();
        for (long i = 0; i < rows; i++) sum = _mm256_add_ps(sum, _mm256_loadu_ps(x + i * stride + j));
        _mm256_storeu_ps(out + j, sum);
    }
    column_sums_scalar(x + j, stride, rows, out + j, width - j);
}

void dpt_column_sums(const float *x, long stride, long rows, float *out, long width) {
    const int lanes = dpt_lanes();
    if (lanes == 16) {
        column_sums_avx512(x, stride, rows, out, width);
    } else if (lanes == 8) {
        column_sums_avx2(x, stride, rows, out, width);
    } else {
        column_sums_scalar(x, stride, rows, out, width);
    }
}
