// W8A8 GEMM/GEMV, FP8 E4M3 GEMV and the Float32 GEMV baseline (contracts in
// include/alg_kernels.h).
#include "alg_kernels.h"
#include "CPUDispatch.h"
#include "decode_arith.h"

// No a*b+c contraction into FMA: the portable and AVX2 variants must round identically.
#pragma STDC FP_CONTRACT OFF

#include <float.h>
#include <math.h>
#include <string.h>

#if QK_SIMD
#include <immintrin.h>
#endif


// MARK: - W8A8 output scaling

/// RN32(acc · xs · ws), correctly rounded (one rounding of the exact dequantized product).
/// p = xs·ws is exact in binary64 (24 + 24 significand bits; no underflow for binary32
/// inputs), and h + e = acc·p exactly (TwoProduct: h = RN64(acc·p), e = fma(acc, p, −h)).
/// RN32(h) can differ from RN32(acc·p) only when h is exactly a binary32 midpoint and e ≠ 0:
/// midpoints are binary64 numbers, so RN64 never carries the product across one. Then the
/// sign of e picks the neighbour. The same holds at the overflow threshold 2^128 − 2^103
/// (the midpoint between FLT_MAX and 2^128).
static inline float w8a8_output(int32_t acc, float xs, float ws) {
    const double p = (double)xs * (double)ws;
    const double a = (double)acc;
    const double h = a * p;
    const double e = fma(a, p, -h);
    float f = (float)h;
    if (e != 0) {
        if (isinf(f)) {
            if (fabs(h) == 0x1.ffffffp127 && (e < 0) == (h > 0)) f = copysignf(FLT_MAX, (float)h);
        } else if ((double)f != h) {
            const float g = (double)f < h ? nextafterf(f, INFINITY) : nextafterf(f, -INFINITY);
            // Adjacent binary32 values: their sum is exact in binary64, halving too.
            if (((double)f + (double)g) * 0.5 == h && ((e > 0) == (g > f))) f = g;
        }
    }
    return f;
}

float alg_w8a8_output(int32_t acc, float xs, float ws) { return w8a8_output(acc, xs, ws); }

// MARK: - INT8 dot products

static int32_t dot_i8_portable(const int8_t *a, const int8_t *b, size_t n) {
    int32_t acc = 0;
    for (size_t j = 0; j < n; j++) acc += (int32_t)a[j] * (int32_t)b[j];
    return acc;
}

#if QK_SIMD
QK_SIMD_FN static inline int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// Products of 32 int8 pairs summed into 8 int32 lanes. maddubs needs an unsigned operand, so
// use |w| (≤ 127) and move w's sign onto x: |w|·(x·sgn w) = w·x. A pair sum is at most
// 2·127² = 32258 < 2^15, so maddubs never saturates given |w|, |x| ≤ 127.
QK_SIMD_FN static inline __m256i dot32_i8(__m256i w, __m256i x, __m256i ones16) {
    __m256i p16 = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(p16, ones16);
}

// Four weight rows against one activation row; the activation loads are shared.
QK_SIMD_FN static void dot4_i8_avx2(const int8_t *w0, const int8_t *w1, const int8_t *w2,
                                  const int8_t *w3, const int8_t *x, size_t n, int32_t out[4]) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        __m256i xv = _mm256_loadu_si256((const __m256i *)(x + j));
        a0 = _mm256_add_epi32(a0, dot32_i8(_mm256_loadu_si256((const __m256i *)(w0 + j)), xv, ones));
        a1 = _mm256_add_epi32(a1, dot32_i8(_mm256_loadu_si256((const __m256i *)(w1 + j)), xv, ones));
        a2 = _mm256_add_epi32(a2, dot32_i8(_mm256_loadu_si256((const __m256i *)(w2 + j)), xv, ones));
        a3 = _mm256_add_epi32(a3, dot32_i8(_mm256_loadu_si256((const __m256i *)(w3 + j)), xv, ones));
    }
    out[0] = hsum_epi32(a0) + dot_i8_portable(w0 + j, x + j, n - j);
    out[1] = hsum_epi32(a1) + dot_i8_portable(w1 + j, x + j, n - j);
    out[2] = hsum_epi32(a2) + dot_i8_portable(w2 + j, x + j, n - j);
    out[3] = hsum_epi32(a3) + dot_i8_portable(w3 + j, x + j, n - j);
}

QK_SIMD_FN static int32_t dot_i8_avx2(const int8_t *w, const int8_t *x, size_t n) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i a = _mm256_setzero_si256();
    size_t j = 0;
    for (; j + 32 <= n; j += 32)
        a = _mm256_add_epi32(a, dot32_i8(_mm256_loadu_si256((const __m256i *)(w + j)),
                                         _mm256_loadu_si256((const __m256i *)(x + j)), ones));
    return hsum_epi32(a) + dot_i8_portable(w + j, x + j, n - j);
}

QK_SIMD_FN static void gemm_w8a8_avx2(const int8_t *w, const float *ws, size_t rows, size_t cols,
                                    const int8_t *xq, const float *xs, size_t batch, float *y) {
    for (size_t b = 0; b < batch; b++) {
        const int8_t *x = xq + b * cols;
        float *yb = y + b * rows;
        size_t o = 0;
        for (; o + 4 <= rows; o += 4) {
            int32_t acc[4];
            dot4_i8_avx2(w + o * cols, w + (o + 1) * cols, w + (o + 2) * cols, w + (o + 3) * cols,
                         x, cols, acc);
            for (int k = 0; k < 4; k++) yb[o + k] = w8a8_output(acc[k], xs[b], ws[o + k]);
        }
        for (; o < rows; o++) yb[o] = w8a8_output(dot_i8_avx2(w + o * cols, x, cols), xs[b], ws[o]);
    }
}
#endif

static void gemm_w8a8_portable(const int8_t *w, const float *ws, size_t rows, size_t cols,
                               const int8_t *xq, const float *xs, size_t batch, float *y) {
    for (size_t b = 0; b < batch; b++)
        for (size_t o = 0; o < rows; o++)
            y[b * rows + o] = w8a8_output(dot_i8_portable(w + o * cols, xq + b * cols, cols), xs[b], ws[o]);
}

void alg_gemm_w8a8(const int8_t *w, const float *w_scales, size_t rows, size_t cols,
                   const int8_t *xq, const float *x_scales, size_t batch, float *y) {
#if QK_SIMD
    if (qk_has_simd()) {
        gemm_w8a8_avx2(w, w_scales, rows, cols, xq, x_scales, batch, y);
        return;
    }
#endif
    gemm_w8a8_portable(w, w_scales, rows, cols, xq, x_scales, batch, y);
}

// MARK: - Float32 GEMV baseline

static void gemv_f32_portable(const float *w, size_t rows, size_t cols, const float *x, float *y) {
    for (size_t o = 0; o < rows; o++) {
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        const float *r = w + o * cols;
        size_t j = 0;
        for (; j + 8 <= cols; j += 8)
            for (int l = 0; l < 8; l++) acc[l] += r[j + l] * x[j + l];
        float s = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
        for (; j < cols; j++) s += r[j] * x[j];
        y[o] = s;
    }
}

#if QK_SIMD
QK_SIMD_FN static inline float hsum_ps(__m256 v) {
    // ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)): the tree documented in the header.
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));  // l0+l4, l1+l5, l2+l6, l3+l7
    __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));                                   // (l0+l4)+(l2+l6), (l1+l5)+(l3+l7)
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

QK_SIMD_FN static void gemv_f32_avx2(const float *w, size_t rows, size_t cols, const float *x, float *y) {
    size_t o = 0;
    for (; o + 4 <= rows; o += 4) {
        const float *r0 = w + o * cols, *r1 = r0 + cols, *r2 = r1 + cols, *r3 = r2 + cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        __m256 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        size_t j = 0;
        for (; j + 16 <= cols; j += 16) {
            __m256 xa = _mm256_loadu_ps(x + j), xb = _mm256_loadu_ps(x + j + 8);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + j), xa, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + j), xa, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + j), xa, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + j), xa, a3);
            b0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + j + 8), xb, b0);
            b1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + j + 8), xb, b1);
            b2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + j + 8), xb, b2);
            b3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + j + 8), xb, b3);
        }
        float s0 = hsum_ps(_mm256_add_ps(a0, b0)), s1 = hsum_ps(_mm256_add_ps(a1, b1));
        float s2 = hsum_ps(_mm256_add_ps(a2, b2)), s3 = hsum_ps(_mm256_add_ps(a3, b3));
        for (; j < cols; j++) {
            s0 += r0[j] * x[j];
            s1 += r1[j] * x[j];
            s2 += r2[j] * x[j];
            s3 += r3[j] * x[j];
        }
        y[o] = s0;
        y[o + 1] = s1;
        y[o + 2] = s2;
        y[o + 3] = s3;
    }
    if (o < rows) gemv_f32_portable(w + o * cols, rows - o, cols, x, y + o);
}
#endif

void alg_gemv_f32(const float *w, size_t rows, size_t cols, const float *x, float *y) {
#if QK_SIMD
    if (qk_has_simd()) {
        gemv_f32_avx2(w, rows, cols, x, y);
        return;
    }
#endif
    gemv_f32_portable(w, rows, cols, x, y);
}

// MARK: - FP8 E4M3FN GEMV

// The codes are decoded by the codec's parameterised arithmetic decode (decode_arith.h), with
// E4M3FN's constants (OCP OFP8 Table 1: 3 mantissa bits, bias 7, sign bit 0x80, largest finite
// magnitude code 0x7E = 448, no infinity, no fnuz NaN code; Docs/formats.md §1). The caller
// (FP8GEMVWeights) refuses the NaN codes 0x7F/0xFF, hence QK_D_FINITE. The plan is a constant
// and the decode is inlined, so its shifts and masks fold into immediates: the same instructions
// as a hand-written E4M3 decode, with no Float32 subnormal ever produced (see decode_arith.h).
static const qk_decode_params e4m3fn_decode = {3, 7, 0x80u, 0x7Eu, 0xFFFFFFFFu, 0xFFFFFFFFu, 1};
enum { E4M3_MODE = QK_D_SUB | QK_D_FINITE };

static inline __attribute__((always_inline)) qk_dec_plan e4m3_plan(void) {
    qk_dec_plan D;
    (void)qk_make_dec_plan(&e4m3fn_decode, &D);  // always in the domain (tests cover every code)
    return D;
}

static inline float e4m3_decode(uint8_t c, const qk_dec_plan *D) { return qk_dec1(c, D, 0x80u, E4M3_MODE); }

static inline float block_dot_e4m3_portable(const uint8_t *c, const float *x, size_t n, const qk_dec_plan *D) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; l++) acc[l] = acc[l] + e4m3_decode(c[j + l], D) * x[j + l];
    float s = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
    for (; j < n; j++) s = s + e4m3_decode(c[j], D) * x[j];
    return s;
}

static void gemv_e4m3_portable(const uint8_t *codes, const float *si, size_t rows, size_t cols,
                               size_t block, const float *x, float *y) {
    const qk_dec_plan D = e4m3_plan();
    size_t nb = (cols + block - 1) / block;
    for (size_t o = 0; o < rows; o++) {
        float s = 0;
        for (size_t b = 0; b < nb; b++) {
            size_t j0 = b * block, n = cols - j0 < block ? cols - j0 : block;
            s = s + block_dot_e4m3_portable(codes + o * cols + j0, x + j0, n, &D) * si[o * nb + b];
        }
        y[o] = s;
    }
}

#if QK_SIMD
QK_SIMD_INLINE float block_dot_e4m3_avx2(const uint8_t *c, const float *x, size_t n, const qk_dec_plan *D,
                                         const qk_dvp *W) {
    __m256 acc = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(c + j)));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(qk_dec8(v, W, E4M3_MODE), _mm256_loadu_ps(x + j)));
    }
    float s = hsum_ps(acc);
    for (; j < n; j++) s = s + e4m3_decode(c[j], D) * x[j];
    return s;
}

QK_SIMD_FN static void gemv_e4m3_avx2(const uint8_t *codes, const float *si, size_t rows, size_t cols,
                                    size_t block, const float *x, float *y) {
    const qk_dec_plan D = e4m3_plan();
    const qk_dvp W = qk_dvp_init(&D, 0x80u);
    size_t nb = (cols + block - 1) / block;
    for (size_t o = 0; o < rows; o++) {
        float s = 0;
        for (size_t b = 0; b < nb; b++) {
            size_t j0 = b * block, n = cols - j0 < block ? cols - j0 : block;
            s = s + block_dot_e4m3_avx2(codes + o * cols + j0, x + j0, n, &D, &W) * si[o * nb + b];
        }
        y[o] = s;
    }
}
#endif

void alg_gemv_e4m3(const uint8_t *codes, const float *scale_inv, size_t rows, size_t cols,
                   size_t block, const float *x, float *y) {
#if QK_SIMD
    if (qk_has_simd()) {
        gemv_e4m3_avx2(codes, scale_inv, rows, cols, block, x, y);
        return;
    }
#endif
    gemv_e4m3_portable(codes, scale_inv, rows, cols, block, x, y);
}
