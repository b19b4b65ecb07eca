// Adam(W) as sixteen lanes of AVX-512 or eight of AVX2 where the CPU has
// them, else one element at a time: the same IEEE operations in the same
// order every way. The step is bound by its division and square root per
// element when the state is in cache, so wider lanes pay.

#pragma STDC FP_CONTRACT OFF

#include "ckernels.h"
#include "lanes.h"

#include <immintrin.h>
#include <math.h>

static inline void adam_element(float *p, const float *g, float *m, float *v, long i, float decay, float stepSize,
                                float b1, float b2, float eps, float oneMinusB1, float oneMinusB2) {
    p[i] = p[i] * decay;
    float first = b1 * m[i];
    float firstNew = oneMinusB1 * g[i];
    m[i] = first + firstNew;
    float second = b2 * v[i];
    float squared = g[i] * g[i];
    float secondNew = oneMinusB2 * squared;
    v[i] = second + secondNew;
    float root = sqrtf(fabsf(v[i]));
    float denominator = root + eps;
    float ratio = m[i] / denominator;
    p[i] = p[i] - stepSize * ratio;
}

__attribute__((target("avx2"))) static void adam_avx2(float *p, const float *g, float *m, float *v, long n,
                                                       float decay, float stepSize, float b1, float b2, float eps,
                                                       float oneMinusB1, float oneMinusB2) {
    const __m256 vDecay = _mm256_set1_ps(decay), vStep = _mm256_set1_ps(stepSize);
    const __m256 vEps = _mm256_set1_ps(eps);
    const __m256 vB1 = _mm256_set1_ps(b1), vB2 = _mm256_set1_ps(b2);
    const __m256 vOneMinusB1 = _mm256_set1_ps(oneMinusB1), vOneMinusB2 = _mm256_set1_ps(oneMinusB2);
    const __m256 signMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 pi = _mm256_mul_ps(_mm256_loadu_ps(p + i), vDecay);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(vB1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(vOneMinusB1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(vB2, _mm256_loadu_ps(v + i)),
                                  _mm256_mul_ps(vOneMinusB2, _mm256_mul_ps(gi, gi)));
        __m256 root = _mm256_sqrt_ps(_mm256_and_ps(vi, signMask));
        __m256 denominator = _mm256_add_ps(root, vEps);
        __m256 ratio = _mm256_div_ps(mi, denominator);
        pi = _mm256_sub_ps(pi, _mm256_mul_ps(vStep, ratio));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, pi);
    }
    for (; i < n; i++) {
        adam_element(p, g, m, v, i, decay, stepSize, b1, b2, eps, oneMinusB1, oneMinusB2);
    }
}

__attribute__((target("avx512f"))) static void adam_avx512(float *p, const float *g, float *m, float *v, long n,
                                                            float decay, float stepSize, float b1, float b2,
                                                            float eps, float oneMinusB1, float oneMinusB2) {
    const __m512 vDecay = _mm512_set1_ps(decay), vStep = _mm512_set1_ps(stepSize);
    const __m512 vEps = _mm512_set1_ps(eps);
    const __m512 vB1 = _mm512_set1_ps(b1), vB2 = _mm512_set1_ps(b2);
    const __m512 vOneMinusB1 = _mm512_set1_ps(oneMinusB1), vOneMinusB2 = _mm512_set1_ps(oneMinusB2);
    const __m512i signMask = _mm512_set1_epi32(0x7fffffff);
    // The tail (under 16 elements) runs on copies, so every pass is whole vectors.
    float pt[16] = {0}, gt[16] = {0}, mt[16] = {0}, vt[16] = {0};
    const long whole = n - n % 16;
    for (long i = 0; i < n; i += 16) {
        float *pp = p + i, *mp = m + i, *vp = v + i;
        const float *gp = g + i;
        if (i == whole) {
            for (long j = 0; j < n - i; j++) { pt[j] = p[i + j]; gt[j] = g[i + j]; mt[j] = m[i + j]; vt[j] = v[i + j]; }
            pp = pt; gp = gt; mp = mt; vp = vt;
        }
        __m512 gi = _mm512_loadu_ps(gp);
        __m512 pi = _mm512_mul_ps(_mm512_loadu_ps(pp), vDecay);
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(vB1, _mm512_loadu_ps(mp)), _mm512_mul_ps(vOneMinusB1, gi));
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(vB2, _mm512_loadu_ps(vp)),
                                  _mm512_mul_ps(vOneMinusB2, _mm512_mul_ps(gi, gi)));
        __m512 root = _mm512_sqrt_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(vi), signMask)));
        __m512 denominator = _mm512_add_ps(root, vEps);
        __m512 ratio = _mm512_div_ps(mi, denominator);
        pi = _mm512_sub_ps(pi, _mm512_mul_ps(vStep, ratio));
        _mm512_storeu_ps(mp, mi);
        _mm512_storeu_ps(vp, vi);
        _mm512_storeu_ps(pp, pi);
        if (i == whole) {
            for (long j = 0; j < n - i; j++) { p[i + j] = pt[j]; m[i + j] = mt[j]; v[i + j] = vt[j]; }
        }
    }
}

void dpt_adam_step(float *p, const float *g, float *m, float *v, long n, float decay, float stepSize, float beta1,
                   float beta2, float epsilon) {
    const float oneMinusB1 = 1.0f - beta1, oneMinusB2 = 1.0f - beta2;
    const int lanes = dpt_lanes();
    if (lanes == 16) {
        adam_avx512(p, g, m, v, n, decay, stepSize, beta1, beta2, epsilon, oneMinusB1, oneMinusB2);
        return;
    }
    if (lanes == 8) {
        adam_avx2(p, g, m, v, n, decay, stepSize, beta1, beta2, epsilon, oneMinusB1, oneMinusB2);
        return;
    }
    for (long i = 0; i < n; i++) {
        adam_element(p, g, m, v, i, decay, stepSize, beta1, beta2, epsilon, oneMinusB1, oneMinusB2);
    }
}
