// The one run-time CPU-feature dispatch of the C kernels (QuantKernels, CheckKernels).
//
// Every SIMD variant is compiled with the per-function attribute QK_SIMD_FN (no global -m flag:
// SwiftPM refuses unsafeFlags in dependencies), and is called only when qk_has_simd() is 1.
// QK_SIMD_FEATURES names the instruction-set extensions the variants may use, and qk_has_simd()
// tests exactly those, so a variant can never run on a CPU that lacks one of its features (an
// AVX2 CPU without BMI2 or FMA takes the portable loops).
//
// On other architectures (arm64) QK_SIMD is 0, qk_has_simd() returns 0 and only the portable
// loops exist; the compiler auto-vectorises them for the baseline ISA (NEON).
#ifndef QUANTCHECK_CPU_DISPATCH_H
#define QUANTCHECK_CPU_DISPATCH_H

#if defined(__x86_64__)
#define QK_SIMD 1
/// The features every SIMD variant is compiled for (and qk_has_simd tests).
#define QK_SIMD_FEATURES "avx2,fma,bmi2"
/// Attribute of a SIMD variant.
#define QK_SIMD_FN __attribute__((target(QK_SIMD_FEATURES)))
/// Attribute of a helper inlined into SIMD variants.
#define QK_SIMD_INLINE static inline __attribute__((always_inline, target(QK_SIMD_FEATURES)))
#else
#define QK_SIMD 0
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU has every feature in QK_SIMD_FEATURES, else 0; always 0 where QK_SIMD is 0.
/// Probes the CPU on every call: use qk_has_simd().
int qk_probe_simd(void);

/// qk_probe_simd(), cached per translation unit. It is inline with its cache in the caller's
/// file because small kernels (the MX block helpers run twice per 32-element block) dispatch
/// on every call: a call into another object file there cost several per cent. The cache is a
/// benign race: every thread computes the same value, and relaxed atomics keep it well defined.
static inline int qk_has_simd(void) {
#if QK_SIMD
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (__builtin_expect(v < 0, 0)) {
        v = qk_probe_simd();
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
#else
    return 0;
#endif
}

#ifdef __cplusplus
}
#endif

#endif
