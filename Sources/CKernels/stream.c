// Copies that bypass the caches (non-temporal stores), for data another core
// reads next: on the hosts measured, a core reading lines another core has
// just written (cache to cache) ran ~4× slower than reading them from memory
// after they were streamed there. A store fence ends each copy, so a release
// store that follows publishes the data.

#include "ckernels.h"
#include "lanes.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

__attribute__((target("avx512f"))) static long stream_avx512(float *dst, const float *src, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) _mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
    return i;
}

__attribute__((target("avx2"))) static long stream_avx2(float *dst, const float *src, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_stream_ps(dst + i, _mm256_loadu_ps(src + i));
    return i;
}

void dpt_stream_copy(float *dst, const float *src, long n) {
    const int lanes = dpt_lanes();
    if (lanes == 1 || n < 64) {
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    }
    // Plain stores up to dst's first 64-byte boundary, streams after it.
    long head = (long)((64 - ((uintptr_t)dst & 63)) & 63) / (long)sizeof(float);
    if (((uintptr_t)dst & 3) != 0) head = n;
    memcpy(dst, src, (size_t)head * sizeof(float));
    long done = head;
    if (done < n) done += lanes == 16 ? stream_avx512(dst + done, src + done, n - done)
                                      : stream_avx2(dst + done, src + done, n - done);
    memcpy(dst + done, src + done, (size_t)(n - done) * sizeof(float));
    _mm_sfence();
}
