// Run-time CPU dispatch shared by the alg_*.c kernels (private header, not in include/).
#ifndef QUANTKERNELS_ALG_DISPATCH_H
#define QUANTKERNELS_ALG_DISPATCH_H

#if defined(__x86_64__)
// Per-function target: no global -mavx2 flag (SwiftPM forbids unsafeFlags in dependencies).
#define ALG_AVX2 __attribute__((target("avx2,fma")))

// 1 when the CPU has AVX2 and FMA. The cache is a benign race: every thread computes the same
// value, and relaxed atomics keep the access well defined.
static inline int alg_has_avx2(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

#endif
