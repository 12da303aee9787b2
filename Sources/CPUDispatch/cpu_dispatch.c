#include "CPUDispatch.h"

#if QK_SIMD
// Tests exactly the features of QK_SIMD_FEATURES. The cache is a benign race: every thread
// computes the same value, and relaxed atomics keep the access well defined.
int qk_has_simd(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
            __builtin_cpu_supports("bmi2");
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#else
int qk_has_simd(void) { return 0; }
#endif
