// Dropout's forward rows: the Philox4x32-10 draws of Layers/Dropout.swift
// and d = a ⊙ mask, eight Philox blocks at a time in AVX-512 lanes or four
// in AVX2 lanes where the CPU has them, else one block at a time. Integer arithmetic is exact and
// the float steps are the same IEEE operations in both, so the path never
// changes a bit.

#pragma STDC FP_CONTRACT OFF

#include "ckernels.h"
#include "lanes.h"

#include <immintrin.h>
#include <stdint.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static inline void philox_block(uint32_t c[4], uint32_t k0, uint32_t k1) {
    for (int round = 0; round < 10; round++) {
        const uint64_t p0 = (uint64_t)PHILOX_M0 * c[0];
        const uint64_t p1 = (uint64_t)PHILOX_M1 * c[2];
        const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0;
        const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1;
        c[0] = n0;
        c[1] = (uint32_t)p1;
        c[2] = n2;
        c[3] = (uint32_t)p0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
}

/// Neurons 4·block … of one row, one Philox block at a time, from block `first` on.
static void dropout_blocks(const float *a, float *mask, float *d, long n, long first, uint64_t base,
                           const dpt_dropout_draw *draw) {
    const long blocks = (n + 3) / 4;
    for (long block = first; block < blocks; block++) {
        const uint64_t index = base + (uint64_t)block;
        uint32_t c[4] = {draw->purpose, draw->stream, (uint32_t)index, (uint32_t)(index >> 32)};
        philox_block(c, draw->key0, draw->key1);
        for (long lane = 0; lane < 4 && 4 * block + lane < n; lane++) {
            const long j = 4 * block + lane;
            const float u = (float)(c[lane] >> 8) * 0x1p-24f;
            mask[j] = u >= draw->rate ? draw->kept : 0.0f;
            d[j] = a[j] * mask[j];
        }
    }
}

/// The Philox blocks of the 64-bit block indices in `index`, one a lane: the
/// four words c0…c3 in the low halves of the lanes (P: _mm512 or _mm256, SI:
/// si512 or si256). Only the low 32 bits of a lane are a word: the products
/// read no more, and the words are truncated afterwards.
#define PHILOX_BLOCKS(P, SI, SET1, index, c0, c1, c2, c3, draw)                                            \
    do {                                                                                                    \
        const __typeof__(c0) m0 = SET1(PHILOX_M0), m1 = SET1(PHILOX_M1);                                    \
        c0 = SET1((draw)->purpose);                                                                         \
        c1 = SET1((draw)->stream);                                                                          \
        c2 = index;                                                                                         \
        c3 = P##_srli_epi64(index, 32);                                                                     \
        uint32_t k0_ = (draw)->key0, k1_ = (draw)->key1;                                                    \
        for (int round = 0; round < 10; round++) {                                                          \
            const __typeof__(c0) p0_ = P##_mul_epu32(c0, m0);                                               \
            const __typeof__(c0) p1_ = P##_mul_epu32(c2, m1);                                               \
            c0 = P##_xor_##SI(P##_xor_##SI(P##_srli_epi64(p1_, 32), c1), SET1(k0_));                        \
            c2 = P##_xor_##SI(P##_xor_##SI(P##_srli_epi64(p0_, 32), c3), SET1(k1_));                        \
            c1 = p1_;                                                                                       \
            c3 = p0_;                                                                                       \
            k0_ += PHILOX_W0;                                                                               \
            k1_ += PHILOX_W1;                                                                               \
        }                                                                                                   \
    } while (0)

/// Neurons j … j + 7 from their eight words: mask = kept where (w >> 8)·2⁻²⁴ ≥ rate, else 0; d = a·mask.
__attribute__((target("avx2"))) static inline void dropout_eight(__m256i words, const float *a, float *mask, float *d,
                                                                 long j, const dpt_dropout_draw *draw) {
    const __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(words, 8)), _mm256_set1_ps(0x1p-24f));
    const __m256 m = _mm256_and_ps(_mm256_cmp_ps(u, _mm256_set1_ps(draw->rate), _CMP_GE_OQ), _mm256_set1_ps(draw->kept));
    _mm256_storeu_ps(mask + j, m);
    _mm256_storeu_ps(d + j, _mm256_mul_ps(_mm256_loadu_ps(a + j), m));
}

/// Eight blocks (32 neurons) per pass: block b's words in the low halves of
/// 64-bit lanes, so _mm512_mul_epu32 forms the 32 × 32 → 64-bit products.
__attribute__((target("avx512f,avx2"))) static long dropout_avx512(const float *a, float *mask, float *d, long n,
                                                                   uint64_t base, const dpt_dropout_draw *draw) {
    const long whole = n / 32;  // passes of eight whole blocks
    const __m512i lanes = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    for (long pass = 0; pass < whole; pass++) {
        const __m512i index = _mm512_add_epi64(_mm512_set1_epi64((long long)(base + (uint64_t)(8 * pass))), lanes);
        __m512i c0, c1, c2, c3;
        PHILOX_BLOCKS(_mm512, si512, _mm512_set1_epi64, index, c0, c1, c2, c3, draw);
        // Words w of blocks 0…7, then neuron 4b + w: a 4 × 8 transpose.
        const __m256i w0 = _mm512_cvtepi64_epi32(c0), w1 = _mm512_cvtepi64_epi32(c1);
        const __m256i w2 = _mm512_cvtepi64_epi32(c2), w3 = _mm512_cvtepi64_epi32(c3);
        const __m256i t0 = _mm256_unpacklo_epi32(w0, w1), t1 = _mm256_unpackhi_epi32(w0, w1);
        const __m256i t2 = _mm256_unpacklo_epi32(w2, w3), t3 = _mm256_unpackhi_epi32(w2, w3);
        const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
        const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
        const __m256i words[4] = {
            _mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u2, u3, 0x20),
            _mm256_permute2x128_si256(u0, u1, 0x31), _mm256_permute2x128_si256(u2, u3, 0x31)};
        for (int part = 0; part < 4; part++) dropout_eight(words[part], a, mask, d, 32 * pass + 8 * part, draw);
    }
    return 8 * whole;
}

/// Four blocks (16 neurons) per pass, as dropout_avx512 with 64-bit lanes of AVX2.
__attribute__((target("avx2"))) static long dropout_avx2(const float *a, float *mask, float *d, long n, uint64_t base,
                                                          const dpt_dropout_draw *draw) {
    const long whole = n / 16;  // passes of four whole blocks
    const __m256i lanes = _mm256_set_epi64x(3, 2, 1, 0);
    const __m256i low = _mm256_set_epi32(0, 0, 0, 0, 6, 4, 2, 0);
    for (long pass = 0; pass < whole; pass++) {
        const __m256i index = _mm256_add_epi64(_mm256_set1_epi64x((long long)(base + (uint64_t)(4 * pass))), lanes);
        __m256i c0, c1, c2, c3;
        PHILOX_BLOCKS(_mm256, si256, _mm256_set1_epi64x, index, c0, c1, c2, c3, draw);
        // Words w of blocks 0…3 (low halves of the lanes), then neuron 4b + w: a 4 × 4 transpose.
        const __m128i w0 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(c0, low));
        const __m128i w1 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(c1, low));
        const __m128i w2 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(c2, low));
        const __m128i w3 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(c3, low));
        const __m128i t0 = _mm_unpacklo_epi32(w0, w1), t1 = _mm_unpackhi_epi32(w0, w1);
        const __m128i t2 = _mm_unpacklo_epi32(w2, w3), t3 = _mm_unpackhi_epi32(w2, w3);
        const __m256i words[2] = {
            _mm256_set_m128i(_mm_unpackhi_epi64(t0, t2), _mm_unpacklo_epi64(t0, t2)),
            _mm256_set_m128i(_mm_unpackhi_epi64(t1, t3), _mm_unpacklo_epi64(t1, t3))};
        for (int part = 0; part < 2; part++) dropout_eight(words[part], a, mask, d, 16 * pass + 8 * part, draw);
    }
    return 4 * whole;
}

void dpt_dropout_rows(const float *a, long aStride, float *mask, long maskStride, float *d, long dStride, long rows,
                      long n, unsigned long long firstPosition, const dpt_dropout_draw *draw) {
    const uint64_t blocks = (uint64_t)((n + 3) / 4);
    const int lanes = dpt_lanes();
    for (long i = 0; i < rows; i++) {
        const float *ai = a + i * aStride;
        float *mi = mask + i * maskStride, *di = d + i * dStride;
        const uint64_t base = (firstPosition + (uint64_t)i) * blocks;
        const long done = lanes == 16 ? dropout_avx512(ai, mi, di, n, base, draw)
                          : lanes == 8 ? dropout_avx2(ai, mi, di, n, base, draw)
                                       : 0;
        dropout_blocks(ai, mi, di, n, done, base, draw);
    }
}
