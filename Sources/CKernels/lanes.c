// Which vector width the kernels use: the widest the CPU has, unless a test
// limits it. Every width performs the same IEEE operations, so the choice
// never changes a bit.

#include "lanes.h"

static int widest = 16;

void dpt_kernels_limit_lanes(int lanes) { __atomic_store_n(&widest, lanes, __ATOMIC_RELAXED); }

int dpt_lanes(void) {
    const int limit = __atomic_load_n(&widest, __ATOMIC_RELAXED);
    if (limit >= 16 && __builtin_cpu_supports("avx512f")) return 16;
    if (limit >= 8 && __builtin_cpu_supports("avx2")) return 8;
    return 1;
}

int dpt_kernel_lanes(void) { return dpt_lanes(); }
