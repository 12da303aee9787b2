// INT8 quantization and calibration loops (see include/alg_kernels.h for the contracts).
#include "alg_kernels.h"
#include "CPUDispatch.h"

// No a*b+c contraction into FMA: the portable and AVX2 variants must round identically.
#pragma STDC FP_CONTRACT OFF

#include <math.h>
#include <string.h>

#if QK_SIMD
#include <immintrin.h>
#endif

#define ABS_MASK 0x7FFFFFFFu
#define NONFINITE_BITS 0x7F800000u
// Floor of the INT8 scale numerator, as in SmoothQuant fake_quant.py: max(amax, 1e-5).
#define AMAX_FLOOR 1e-5f

static inline uint32_t bits_of(float v) {
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static inline float float_of(uint32_t b) {
    float v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static inline int8_t quantize_one(float x, float scale, float qmax) {
    float r = __builtin_roundevenf(x / scale);
    // fminf/fmaxf order matches the AVX2 path (min then max); inputs are finite.
    r = r > qmax ? qmax : r;
    r = r < -qmax ? -qmax : r;
    return (int8_t)(int32_t)r;
}

// MARK: - absmax

static uint32_t absmax_bits_portable(const float *x, size_t n) {
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b = bits_of(x[i]) & ABS_MASK;
        m = b > m ? b : m;
    }
    return m;
}

#if QK_SIMD
QK_SIMD_FN static uint32_t absmax_bits_avx2(const float *x, size_t n) {
    const __m256i mask = _mm256_set1_epi32((int)ABS_MASK);
    __m256i m0 = _mm256_setzero_si256(), m1 = m0, m2 = m0, m3 = m0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm256_max_epu32(m0, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i)), mask));
        m1 = _mm256_max_epu32(m1, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i + 8)), mask));
        m2 = _mm256_max_epu32(m2, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i + 16)), mask));
        m3 = _mm256_max_epu32(m3, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i + 24)), mask));
    }
    for (; i + 8 <= n; i += 8)
        m0 = _mm256_max_epu32(m0, _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + i)), mask));
    m0 = _mm256_max_epu32(_mm256_max_epu32(m0, m1), _mm256_max_epu32(m2, m3));
    uint32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, m0);
    uint32_t m = 0;
    for (int l = 0; l < 8; l++) m = lanes[l] > m ? lanes[l] : m;
    uint32_t t = absmax_bits_portable(x + i, n - i);
    return t > m ? t : m;
}
#endif

uint32_t alg_absmax_bits_f32(const float *x, size_t n) {
#if QK_SIMD
    if (qk_has_simd()) return absmax_bits_avx2(x, n);
#endif
    return absmax_bits_portable(x, n);
}

// MARK: - quantize with a given scale

static void quantize_portable(const float *x, size_t n, float scale, int32_t qmax, int8_t *q) {
    const float fq = (float)qmax;
    for (size_t i = 0; i < n; i++) q[i] = quantize_one(x[i], scale, fq);
}

#if QK_SIMD
QK_SIMD_FN static inline __m256i quantize8_avx2(__m256 v, __m256 vs, __m256 hi, __m256 lo) {
    __m256 r = _mm256_round_ps(_mm256_div_ps(v, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_max_ps(_mm256_min_ps(r, hi), lo);
    return _mm256_cvtps_epi32(r);  // exact: r is an integer in [-127, 127]
}

QK_SIMD_FN static void quantize_avx2(const float *x, size_t n, float scale, int32_t qmax, int8_t *q) {
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256 hi = _mm256_set1_ps((float)qmax), lo = _mm256_set1_ps(-(float)qmax);
    // packs_epi32/packs_epi16 interleave 128-bit lanes; this permutation restores order.
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i a = quantize8_avx2(_mm256_loadu_ps(x + i), vs, hi, lo);
        __m256i b = quantize8_avx2(_mm256_loadu_ps(x + i + 8), vs, hi, lo);
        __m256i c = quantize8_avx2(_mm256_loadu_ps(x + i + 16), vs, hi, lo);
        __m256i d = quantize8_avx2(_mm256_loadu_ps(x + i + 24), vs, hi, lo);
        __m256i ab = _mm256_packs_epi32(a, b);
        __m256i cd = _mm256_packs_epi32(c, d);
        __m256i abcd = _mm256_packs_epi16(ab, cd);
        _mm256_storeu_si256((__m256i *)(q + i), _mm256_permutevar8x32_epi32(abcd, order));
    }
    quantize_portable(x + i, n - i, scale, qmax, q + i);
}
#endif

void alg_quantize_int8_f32(const float *x, size_t n, float scale, int32_t qmax, int8_t *q) {
#if QK_SIMD
    if (qk_has_simd()) {
        quantize_avx2(x, n, scale, qmax, q);
        return;
    }
#endif
    quantize_portable(x, n, scale, qmax, q);
}

int64_t alg_quantize_rows_int8_f32(const float *x, size_t rows, size_t cols, int32_t qmax,
                                   int8_t *q, float *scales) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        uint32_t m = alg_absmax_bits_f32(row, cols);
        if (m >= NONFINITE_BITS) return (int64_t)r;
        float amax = float_of(m);
        float scale = (amax > AMAX_FLOOR ? amax : AMAX_FLOOR) / (float)qmax;
        scales[r] = scale;
        alg_quantize_int8_f32(row, cols, scale, qmax, q + r * cols);
    }
    return -1;
}

// MARK: - column-wise running absmax (SmoothQuant calibration)

static void column_absmax_portable(const float *a, size_t rows, size_t cols, uint32_t *run) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = a + r * cols;
        for (size_t j = 0; j < cols; j++) {
            uint32_t b = bits_of(row[j]) & ABS_MASK;
            run[j] = b > run[j] ? b : run[j];
        }
    }
}

#if QK_SIMD
// Streams the rows in memory order (sequential reads, no page-strided walks); the running
// maxima (cols · 4 bytes) stay in L1/L2. Four rows per sweep cut the load/store of `run` 4×.
QK_SIMD_FN static void column_absmax_avx2(const float *a, size_t rows, size_t cols, uint32_t *run) {
    const __m256i mask = _mm256_set1_epi32((int)ABS_MASK);
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float *p0 = a + r * cols, *p1 = p0 + cols, *p2 = p1 + cols, *p3 = p2 + cols;
        size_t j = 0;
        for (; j + 8 <= cols; j += 8) {
            __m256i m0 = _mm256_max_epu32(_mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p0 + j)), mask),
                                  _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p1 + j)), mask));
            __m256i m1 = _mm256_max_epu32(_mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p2 + j)), mask),
                                  _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(p3 + j)), mask));
            __m256i m = _mm256_max_epu32(_mm256_max_epu32(m0, m1), _mm256_loadu_si256((const __m256i *)(run + j)));
            _mm256_storeu_si256((__m256i *)(run + j), m);
        }
        for (; j < cols; j++) {
            uint32_t b0 = bits_of(p0[j]) & ABS_MASK, b1 = bits_of(p1[j]) & ABS_MASK;
            uint32_t b2 = bits_of(p2[j]) & ABS_MASK, b3 = bits_of(p3[j]) & ABS_MASK;
            uint32_t m = b0 > b1 ? b0 : b1, n = b2 > b3 ? b2 : b3;
            m = m > n ? m : n;
            run[j] = m > run[j] ? m : run[j];
        }
    }
    column_absmax_portable(a + r * cols, rows - r, cols, run);
}
#endif

int64_t alg_column_absmax_update_f32(const float *a, size_t rows, size_t cols, uint32_t *running_bits) {
#if QK_SIMD
    if (qk_has_simd())
        column_absmax_avx2(a, rows, cols, running_bits);
    else
#endif
        column_absmax_portable(a, rows, cols, running_bits);
    // The running maxima were finite before the update, so a non-finite one now means the
    // batch holds a NaN/Inf: find the first for the error message.
    int bad = 0;
    for (size_t j = 0; j < cols; j++) bad |= running_bits[j] >= NONFINITE_BITS;
    if (!bad) return -1;
    size_t n = rows * cols;
    for (size_t i = 0; i < n; i++)
        if ((bits_of(a[i]) & ABS_MASK) >= NONFINITE_BITS) return (int64_t)i;
    return -1;  // unreachable for finite prior state
}

void alg_copy_bytes(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }

// MARK: - Scaled FP8 encode: x·s rounded to odd at Float32 precision

// RO24(d): d itself when it is a Float32, else whichever of its two Float32 neighbours has an
// odd last bit (see alg_kernels.h). Float(d) rounds to nearest even; when that is inexact with
// an even last bit, one ulp towards d is the odd neighbour (it also turns a finite d that
// overflowed to ±inf into ±FLT_MAX). NaN (d != d) and exact values are left alone.
static inline float ro24(double d) {
    float f = (float)d;
    uint32_t b = bits_of(f);
    double df = (double)f;
    if ((b & 1u) == 0 && df != d && d == d) b += fabs(d) > fabs(df) ? 1u : 0xFFFFFFFFu;
    return float_of(b);
}

// Finite exact products beyond the overflow threshold (or on it when ties overflow).
static inline size_t overflows(double p, double threshold, int tie_overflows) {
    double a = fabs(p);
    return a < INFINITY && (a > threshold || (tie_overflows && a == threshold));
}

static size_t scale_to_odd_portable(const float *x, size_t n, double s, double threshold, int tie_overflows,
                                    float *out) {
    size_t over = 0;
    for (size_t i = 0; i < n; i++) {
        double p = (double)x[i] * s;  // exact: 24 × 24 significand bits
        out[i] = ro24(p);
        over += overflows(p, threshold, tie_overflows);
    }
    return over;
}

#if QK_SIMD
QK_SIMD_FN static size_t scale_to_odd_avx2(const float *x, size_t n, double s, double threshold, int tie_overflows,
                                         float *out) {
    const __m256d vs = _mm256_set1_pd(s), vthr = _mm256_set1_pd(threshold), vinf = _mm256_set1_pd(INFINITY);
    const __m256d absm = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7FFFFFFFFFFFFFFFll));
    const __m256d tie = _mm256_castsi256_pd(_mm256_set1_epi64x(tie_overflows ? -1 : 0));
    const __m256i even_lanes = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    const __m128i one = _mm_set1_epi32(1), two = _mm_set1_epi32(2);
    __m256i count = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const __m256d p = _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i)), vs);
        const __m128 f = _mm256_cvtpd_ps(p);  // round to nearest even (MXCSR default)
        const __m256d df = _mm256_cvtps_pd(f);
        const __m256d ap = _mm256_and_pd(p, absm);
        // 64-bit lane masks: inexact (ordered, so NaN is never adjusted) and |p| > |f|.
        const __m256d inexact = _mm256_cmp_pd(df, p, _CMP_NEQ_OQ);
        const __m256d up = _mm256_cmp_pd(ap, _mm256_and_pd(df, absm), _CMP_GT_OQ);
        const __m128i inexact32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_castpd_si256(inexact), even_lanes));
        const __m128i up32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_castpd_si256(up), even_lanes));
        const __m128i b = _mm_castps_si128(f);
        const __m128i even = _mm_cmpeq_epi32(_mm_and_si128(b, one), _mm_setzero_si128());
        const __m128i step = _mm_sub_epi32(_mm_and_si128(up32, two), one);  // +1 or -1
        const __m128i adjust = _mm_and_si128(_mm_and_si128(inexact32, even), step);
        _mm_storeu_ps(out + i, _mm_castsi128_ps(_mm_add_epi32(b, adjust)));
        const __m256d big = _mm256_or_pd(_mm256_cmp_pd(ap, vthr, _CMP_GT_OQ),
                                         _mm256_and_pd(tie, _mm256_cmp_pd(ap, vthr, _CMP_EQ_OQ)));
        const __m256d counted = _mm256_and_pd(big, _mm256_cmp_pd(ap, vinf, _CMP_LT_OQ));
        count = _mm256_sub_epi64(count, _mm256_castpd_si256(counted));
    }
    int64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, count);
    size_t over = (size_t)(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
    return over + scale_to_odd_portable(x + i, n - i, s, threshold, tie_overflows, out + i);
}
#endif

size_t alg_scale_to_odd_f32(const float *x, size_t n, double s, double threshold, int tie_overflows, float *out) {
#if QK_SIMD
    if (qk_has_simd()) return scale_to_odd_avx2(x, n, s, threshold, tie_overflows, out);
#endif
    return scale_to_odd_portable(x, n, s, threshold, tie_overflows, out);
}

size_t alg_scale_to_odd_f32_portable(const float *x, size_t n, double s, double threshold, int tie_overflows,
                                     float *out) {
    return scale_to_odd_portable(x, n, s, threshold, tie_overflows, out);
}

size_t alg_count_underflows_u8(const float *x, const uint8_t *codes, size_t n, uint8_t magnitude_mask) {
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b = bits_of(x[i]) & ABS_MASK;
        u += (b != 0 && b < NONFINITE_BITS && (codes[i] & magnitude_mask) == 0);
    }
    return u;
}

void alg_mul_div_to_odd_f32(const float *x, size_t n, double m, double d, float *out) {
    for (size_t i = 0; i < n; i++) out[i] = ro24((double)x[i] * m / d);
}

void alg_to_odd_f64(const double *d, size_t n, float *out) {
    for (size_t i = 0; i < n; i++) out[i] = ro24(d[i]);
}
