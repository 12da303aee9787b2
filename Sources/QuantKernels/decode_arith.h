// The parameterised arithmetic decode of a narrow-float code to Float32 (private header of
// QuantKernels): the one decode used by the codec's decode loops (kernels.c) and by the FP8
// GEMV (alg_gemv.c).
//
// The decode table read per element is fine for 8-bit codes, but a 16-bit format's table is
// 256 KiB and random codes miss L1 on almost every load. The value is simple arithmetic on the
// code, exact with integer operations only (plus the exact int -> float conversion of a
// subnormal's mantissa, m < 2^15, and a multiplication by a power of two whose result is a
// normal Float32: exact in every rounding mode, untouched by FTZ/DAZ):
//
//     normal:    bits = (mag << (23 - p)) + ((127 - bias) << 23)
//     subnormal: value = mag * 2^(emin - p)   (when emin = -126 the normal formula already gives
//                                              the Float32 subnormal bits: bfloat16)
//     NaN codes (magnitude above max that is not the infinity, or the fnuz sign-only code):
//                ±0x7FC00000, infinity codes ±0x7F800000, then the sign bit ORed in.
//
// No step produces a Float32 subnormal (mag * 2^(emin - p) is a normal Float32 whenever
// emin - p >= -126, which qk_make_dec_plan requires): Float32 subnormal arithmetic costs a
// microcode assist per element on Intel cores (an earlier E4M3 decode of the FP8 GEMV that went
// through them ran 15x slower on weights with small entries).
//
// Formats outside this domain (no subnormals: E8M0FNU; exponents beyond Float32's) use the table.
// Tests compare every code of every format with the table, and every finite E4M3FN code through
// the GEMV's vector loop and tail.
#ifndef QUANTKERNELS_DECODE_ARITH_H
#define QUANTKERNELS_DECODE_ARITH_H

#include <stdint.h>
#include <string.h>

#include "CPUDispatch.h"
#include "QuantKernels.h"

#if QK_SIMD
#include <immintrin.h>
#endif

typedef struct {
    int mode_b;  // subnormals through int -> float conversion (else the normal formula covers them)
    int sll;     // 23 - p
    int ssh;     // shift of the code's sign bit to bit 31
    int32_t rb, pp, magm, maxm, infm, nzc, scale;
} qk_dec_plan;

/// The decode constants of a format; 0 when the format is outside the arithmetic decode's domain.
/// Inline, so that a plan of constant parameters (the FP8 GEMV's E4M3FN) folds into immediates.
static inline __attribute__((always_inline)) int qk_make_dec_plan(const qk_decode_params *dp, qk_dec_plan *D) {
    if (!dp || !dp->has_subnormals || dp->p < 1 || dp->p > 15) return 0;
    const int32_t p = dp->p, bias = dp->bias;
    const int32_t emin = 1 - bias, min_q = emin - p;
    const int32_t emax = (int32_t)(dp->max_mag >> p) - bias;
    if (emin < -126 || emax > 127 || dp->max_mag > 0x7FFF || bias > 127) return 0;
    if (dp->sign_bit != 0 && (dp->sign_bit & (dp->sign_bit - 1)) != 0) return 0;
    memset(D, 0, sizeof *D);
    D->mode_b = emin != -126;
    if (D->mode_b && min_q < -126) return 0;
    D->sll = 23 - p;
    D->ssh = dp->sign_bit ? 31 - __builtin_ctz(dp->sign_bit) : 0;
    D->rb = (127 - bias) << 23;
    D->pp = 1 << p;
    D->magm = dp->sign_bit ? (int32_t)dp->sign_bit - 1 : 0x7FFFFFFF;
    D->maxm = (int32_t)dp->max_mag;
    D->infm = dp->inf_mag <= 0xFFFF ? (int32_t)dp->inf_mag : -1;
    D->nzc = dp->nan_nz <= 0xFFFF ? (int32_t)dp->nan_nz : -1;
    D->scale = (min_q + 127) << 23;  // 2^min_q (mode B only, min_q >= -126)
    return 1;
}

// `mode` bits (compile-time in each instantiation): QK_D_SUB subnormals through int -> float,
// QK_D_INF the format has an infinity code, QK_D_NZ a sign-only NaN code (fnuz), QK_D_FINITE
// the caller guarantees no NaN code reaches the decode (their outputs are then unspecified).
// Dropping the tests a format cannot need saves up to 7 of ~20 operations per 8 codes (E4M3FN:
// no infinity, no fnuz NaN).
enum { QK_D_SUB = 1, QK_D_INF = 2, QK_D_NZ = 4, QK_D_FINITE = 8 };

/// The mode bits a plan needs when NaN codes may occur.
static inline int qk_dec_mode(const qk_dec_plan *D) {
    return (D->mode_b ? QK_D_SUB : 0) | (D->infm >= 0 ? QK_D_INF : 0) | (D->nzc >= 0 ? QK_D_NZ : 0);
}

/// One code, the same steps as qk_dec8 lane by lane (the portable loops and the vector tails).
static inline __attribute__((always_inline)) float qk_dec1(uint32_t c, const qk_dec_plan *D, uint32_t sign_bit,
                                                           int mode) {
    const uint32_t mag = c & (uint32_t)D->magm;
    uint32_t b = (mag << D->sll) + (uint32_t)D->rb;
    if ((mode & QK_D_SUB) && (int32_t)mag < D->pp) {
        float scale, sub;
        memcpy(&scale, &D->scale, sizeof scale);
        sub = (float)(int32_t)mag * scale;
        memcpy(&b, &sub, sizeof b);
    }
    if (!(mode & QK_D_FINITE)) {
        int isnan = (int32_t)mag > D->maxm;
        if ((mode & QK_D_INF) && (int32_t)mag == D->infm) {
            isnan = 0;
            b = 0x7F800000u;
        }
        if ((mode & QK_D_NZ) && (int32_t)c == D->nzc) isnan = 1;
        if (isnan) b = 0x7FC00000u;
    }
    b |= (c & sign_bit) << D->ssh;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

#if QK_SIMD
typedef struct { __m256i magm, rb, pp, maxm, infm, nzc, qnan, inf, sb; __m128i sll, ssh; __m256 scale; } qk_dvp;

/// The plan's constants broadcast to vectors.
QK_SIMD_INLINE qk_dvp qk_dvp_init(const qk_dec_plan *D, uint32_t sign_bit) {
    qk_dvp W;
    W.magm = _mm256_set1_epi32(D->magm);
    W.rb = _mm256_set1_epi32(D->rb);
    W.pp = _mm256_set1_epi32(D->pp);
    W.maxm = _mm256_set1_epi32(D->maxm);
    W.infm = _mm256_set1_epi32(D->infm);
    W.nzc = _mm256_set1_epi32(D->nzc);
    W.qnan = _mm256_set1_epi32(0x7FC00000);
    W.inf = _mm256_set1_epi32(0x7F800000);
    W.sb = _mm256_set1_epi32((int32_t)sign_bit);
    W.sll = _mm_cvtsi32_si128(D->sll);
    W.ssh = _mm_cvtsi32_si128(D->ssh);
    W.scale = _mm256_castsi256_ps(_mm256_set1_epi32(D->scale));
    return W;
}

/// Eight codes (one per 32-bit lane) -> Float32.
QK_SIMD_INLINE __m256 qk_dec8(__m256i c, const qk_dvp *W, int mode) {
    const __m256i mag = _mm256_and_si256(c, W->magm);
    __m256i b = _mm256_add_epi32(_mm256_sll_epi32(mag, W->sll), W->rb);
    if (mode & QK_D_SUB) {
        const __m256 sub = _mm256_mul_ps(_mm256_cvtepi32_ps(mag), W->scale);
        b = _mm256_blendv_epi8(b, _mm256_castps_si256(sub), _mm256_cmpgt_epi32(W->pp, mag));
    }
    if (!(mode & QK_D_FINITE)) {
        __m256i isnan = _mm256_cmpgt_epi32(mag, W->maxm);
        if (mode & QK_D_INF) {
            const __m256i isinf = _mm256_cmpeq_epi32(mag, W->infm);
            isnan = _mm256_andnot_si256(isinf, isnan);
            b = _mm256_blendv_epi8(b, W->inf, isinf);
        }
        if (mode & QK_D_NZ) isnan = _mm256_or_si256(isnan, _mm256_cmpeq_epi32(c, W->nzc));
        b = _mm256_blendv_epi8(b, W->qnan, isnan);
    }
    b = _mm256_or_si256(b, _mm256_sll_epi32(_mm256_and_si256(c, W->sb), W->ssh));
    return _mm256_castsi256_ps(b);
}
#endif

#endif
