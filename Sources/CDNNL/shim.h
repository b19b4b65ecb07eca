// oneDNN's GEMM for Swift. libdnnl-dev ships no pkg-config file, so the module
// map links "dnnl" by name. oneDNN is built on OpenMP (libgomp) and threads
// inside every call by default; dptrain owns its threads and needs every call
// single-threaded (DESIGN.md 3, 7). Neither omp.h nor a libgomp link name is
// on the toolchain's paths, so omp_set_num_threads is found at run time.
#ifndef DPTRAIN_CDNNL_SHIM_H
#define DPTRAIN_CDNNL_SHIM_H
#include <dnnl.h>
#include <dlfcn.h>

/// Limits OpenMP in the calling thread to one thread. Returns 1 when the
/// OpenMP runtime was found (it always is once libdnnl is loaded). The
/// setting is the thread's own and nothing else changes it, so a thread looks
/// the function up and calls it once; later calls (one per product) cost a
/// thread-local load, not a dlsym.
static inline int dpt_omp_set_one_thread(void) {
    static _Thread_local int limited = 0;
    if (limited) return 1;
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (!set) return 0;
    set(1);
    limited = 1;
    return 1;
}

/// OpenMP's thread limit for the calling thread's next parallel region, or
/// -1 when the OpenMP runtime was not found.
static inline int dpt_omp_max_threads(void) {
    int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_max_threads");
    return get ? get() : -1;
}
#endif
