#include "CPUDispatch.h"

#if QK_SIMD
// Tests exactly the features of QK_SIMD_FEATURES.
int qk_probe_simd(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("bmi2");
}
#else
int qk_probe_simd(void) { return 0; }
#endif
