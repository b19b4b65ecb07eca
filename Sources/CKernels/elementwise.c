// Elementwise sums and the non-finite scan, in the widest lanes the CPU has:
// the Swift build targets the baseline (four SSE lanes), and these loops run
// over every weight gradient of every step.

#pragma STDC FP_CONTRACT OFF

#include "ckernels.h"
#include "lanes.h"

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

__attribute__((target("avx512f"))) static void add_row_avx512(float *out, const float *a, const float *b, long n) {
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        _mm512_storeu_ps(out + j, _mm512_add_ps(_mm512_loadu_ps(a + j), _mm512_loadu_ps(b + j)));
    }
    if (j < n) {
        // The tail under a mask: masked-off lanes are neither read nor written.
        const __mmask16 lanes = (__mmask16)((1u << (n - j)) - 1);
        __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, a + j), _mm512_maskz_loadu_ps(lanes, b + j));
        _mm512_mask_storeu_ps(out + j, lanes, sum);
    }
}

__attribute__((target("avx2"))) static void add_row_avx2(float *out, const float *a, const float *b, long n) {
    long j = 0;
    for (; j + 8 <= n; j += 8) {
        _mm256_storeu_ps(out + j, _mm256_add_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j)));
    }
    for (; j < n; j++) out[j] = a[j] + b[j];
}

void dpt_add_matrices(float *out, long outStride, const float *a, long aStride, const float *b, long bStride, long rows,
                      long width) {
    const int lanes = dpt_lanes();
    for (long row = 0; row < rows; row++) {
        float *o = out + row * outStride;
        const float *x = a + row * aStride, *y = b + row * bStride;
        if (lanes == 16) {
            add_row_avx512(o, x, y, width);
        } else if (lanes == 8) {
            add_row_avx2(o, x, y, width);
        } else {
            for (long j = 0; j < width; j++) o[j] = x[j] + y[j];
        }
    }
}

// out = in[0] + (in[1] + (… + (in[n − 2] + in[n − 1]))), row by row: the
// additions of a cascade of pairwise sums in one pass, with their bits (each
// rounding as in the pairwise form), writing out once.
__attribute__((target("avx512f"))) static void chain_row_avx512(float *out, const float *const *in, int n, long width) {
    long j = 0;
    for (; j + 16 <= width; j += 16) {
        __m512 x = _mm512_add_ps(_mm512_loadu_ps(in[n - 2] + j), _mm512_loadu_ps(in[n - 1] + j));
        for (int k = n - 3; k >= 0; k--) x = _mm512_add_ps(_mm512_loadu_ps(in[k] + j), x);
        _mm512_storeu_ps(out + j, x);
    }
    if (j < width) {
        const __mmask16 lanes = (__mmask16)((1u << (width - j)) - 1);
        __m512 x = _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, in[n - 2] + j), _mm512_maskz_loadu_ps(lanes, in[n - 1] + j));
        for (int k = n - 3; k >= 0; k--) x = _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, in[k] + j), x);
        _mm512_mask_storeu_ps(out + j, lanes, x);
    }
}

static void chain_row_scalar(float *out, const float *const *in, int n, long from, long width) {
    for (long j = from; j < width; j++) {
        float x = in[n - 2][j] + in[n - 1][j];
        for (int k = n - 3; k >= 0; k--) x = in[k][j] + x;
        out[j] = x;
    }
}

__attribute__((target("avx2"))) static void chain_row_avx2(float *out, const float *const *in, int n, long width) {
    long j = 0;
    for (; j + 8 <= width; j += 8) {
        __m256 x = _mm256_add_ps(_mm256_loadu_ps(in[n - 2] + j), _mm256_loadu_ps(in[n - 1] + j));
        for (int k = n - 3; k >= 0; k--) x = _mm256_add_ps(_mm256_loadu_ps(in[k] + j), x);
        _mm256_storeu_ps(out + j, x);
    }
    chain_row_scalar(out, in, n, j, width);
}

void dpt_add_chain(float *out, long outStride, const float *const *in, const long *strides, int n, long rows,
                   long width) {
    if (n > DPT_CHAIN_MAX) n = DPT_CHAIN_MAX;
    const int lanes = dpt_lanes();
    const float *row[DPT_CHAIN_MAX];
    for (long r = 0; r < rows; r++) {
        float *o = out + r * outStride;
        for (int k = 0; k < n; k++) row[k] = in[k] + r * strides[k];
        if (lanes == 16) {
            chain_row_avx512(o, row, n, width);
        } else if (lanes == 8) {
            chain_row_avx2(o, row, n, width);
        } else {
            chain_row_scalar(o, row, n, 0, width);
        }
    }
}

// A float is NaN or ±Inf when its magnitude bits, read as an integer, are at
// least those of +Inf (0x7f800000): the largest magnitude over the buffer tells.
__attribute__((target("avx512f"))) static int nonfinite_avx512(const float *x, long n) {
    const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
    __m512i largest0 = _mm512_setzero_si512(), largest1 = _mm512_setzero_si512();
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        largest0 = _mm512_max_epi32(largest0, _mm512_and_si512(_mm512_loadu_si512(x + i), magnitude));
        largest1 = _mm512_max_epi32(largest1, _mm512_and_si512(_mm512_loadu_si512(x + i + 16), magnitude));
    }
    for (; i < n; i += 16) {
        const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        largest0 = _mm512_max_epi32(largest0, _mm512_and_si512(_mm512_maskz_loadu_epi32(lanes, x + i), magnitude));
    }
    return _mm512_reduce_max_epi32(_mm512_max_epi32(largest0, largest1)) >= 0x7f800000;
}

__attribute__((target("avx2"))) static int nonfinite_avx2(const float *x, long n) {
    const __m256i exponent = _mm256_set1_epi32(0x7f800000);
    __m256i bad = _mm256_setzero_si256();
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i bits = _mm256_loadu_si256((const __m256i *)(x + i));
        bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_and_si256(bits, exponent), exponent));
    }
    int any = !_mm256_testz_si256(bad, bad);
    for (; i < n; i++) any |= !isfinite(x[i]);
    return any;
}

int dpt_any_nonfinite(const float *x, long n) {
    const int lanes = dpt_lanes();
    if (lanes == 16) return nonfinite_avx512(x, n);
    if (lanes == 8) return nonfinite_avx2(x, n);
    int any = 0;
    for (long i = 0; i < n; i++) any |= !isfinite(x[i]);
    return any;
}
