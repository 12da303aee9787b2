// Inner loops of the Quant algorithms (INT8 quantization, calibration, W8A8 / FP8 GEMV).
//
// Every function has a portable C variant and, on x86-64, an AVX2 variant compiled with a
// per-function target attribute (QK_SIMD_FN) and chosen at run time by the one dispatcher,
// qk_has_simd() in the CPUDispatch target. Both variants produce bit-identical results:
// integer arithmetic is exact, and the float loops use the same lane layout and reduction
// tree in both (see alg_gemv.c).
//
// Rounding: quantization rounds half to even explicitly (roundeven / _MM_FROUND_TO_NEAREST_INT),
// independent of the current floating-point environment.
//
// Callers (the Swift `Quant` module) validate every argument; these functions assume valid
// pointers and sizes.
#ifndef QUANTKERNELS_ALG_KERNELS_H
#define QUANTKERNELS_ALG_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// max over i of (bits(x[i]) & 0x7FFFFFFF): the bit pattern of max |x| when every x is finite;
/// a result >= 0x7F800000 means some element is NaN or ±Inf. 0 for n == 0.
uint32_t alg_absmax_bits_f32(const float *x, size_t n);

/// out[i] = RO24(x[i] · s): the exact Float64 product (24 × 24 significand bits) rounded to
/// odd at Float32 precision — the product itself when it is a Float32, else whichever of its
/// two Float32 neighbours has an odd last bit (beyond Float32's range: ±FLT_MAX). Rounding
/// RO24(p) to nearest (or in any direction) at a precision q ≤ 22 gives the rounding of p
/// itself (Boldo & Melquiond 2008), so the Float32 encode kernels then give correctly rounded
/// codes of x·s. Returns how many finite products have |p| > threshold (or == threshold when
/// `tie_overflows`): the overflow count of FP8 scaling. Needs round-to-nearest in MXCSR/FPCR.
size_t alg_scale_to_odd_f32(const float *x, size_t n, double s, double threshold, int tie_overflows, float *out);
/// The portable variant of `alg_scale_to_odd_f32` (for tests comparing the two).
size_t alg_scale_to_odd_f32_portable(const float *x, size_t n, double s, double threshold, int tie_overflows,
                                     float *out);
/// out[i] = RO24(d[i]): bulk Float64 input for the Float32 encode kernels (see above).
void alg_to_odd_f64(const double *d, size_t n, float *out);
/// out[i] = RO24(RN64(x[i] · m) / d) with the Float64 quotient rounded once (x·m exact when m
/// has at most 29 significant bits): NVFP4's element scaling, for the Float32 encode kernels.
void alg_mul_div_to_odd_f32(const float *x, size_t n, double m, double d, float *out);
/// Finite non-zero x[i] whose code has a zero magnitude (underflow to ±0).
size_t alg_count_underflows_u8(const float *x, const uint8_t *codes, size_t n, uint8_t magnitude_mask);

/// q[i] = clamp(roundeven(x[i] / scale), -qmax, qmax) for finite x (Float32 division, as in
/// SmoothQuant's fake_quant.py). `qmax` ≤ 127.
void alg_quantize_int8_f32(const float *x, size_t n, float scale, int32_t qmax, int8_t *q);

/// Per-row dynamic symmetric INT8: for each of `rows` rows of `cols` floats,
/// amax = max |x|, scale = max(amax, 1e-5f) / qmax, q = clamp(roundeven(x / scale), ±qmax).
/// Returns the first row holding a NaN/Inf (its q/scale left unwritten), or -1 if all finite.
int64_t alg_quantize_rows_int8_f32(const float *x, size_t rows, size_t cols, int32_t qmax,
                                   int8_t *q, float *scales);

/// Column-wise running max of |a| over a row-major [rows x cols] block:
/// running_bits[j] = max(running_bits[j], max_i bits(|a[i][j]|)) (bit patterns of non-negative
/// floats order like their values). Returns the first element index holding a NaN/Inf, or -1;
/// on a non-finite input `running_bits` may be partially updated (callers pass a scratch copy).
int64_t alg_column_absmax_update_f32(const float *a, size_t rows, size_t cols, uint32_t *running_bits);

/// W8A8 GEMM: y[b][o] = RN32(acc[b][o] · x_scales[b] · w_scales[o]), correctly rounded (one
/// rounding of the exact dequantized product; see `alg_w8a8_output`), with
/// acc[b][o] = Σ_j w[o][j] * xq[b][j] in int32. Requires |w|, |xq| ≤ 127 and cols ≤ 2^17, so
/// |acc| ≤ 2^17 · 127² = 2 114 060 288 < 2^31 − 1 (no overflow). `x_scales` has `batch` entries
/// (pass the same value repeated for a per-tensor activation scale).
void alg_gemm_w8a8(const int8_t *w, const float *w_scales, size_t rows, size_t cols,
                   const int8_t *xq, const float *x_scales, size_t batch, float *y);

/// The W8A8 output of one accumulator: RN32(acc · xs · ws), correctly rounded (ties to even),
/// for finite non-negative scales.
float alg_w8a8_output(int32_t acc, float xs, float ws);

/// Float32 GEMV baseline y = W x (row-major W [rows x cols]); AVX2+FMA variant with 4 rows at a
/// time. Summation order differs from a naive loop (the result is for timing comparisons).
void alg_gemv_f32(const float *w, size_t rows, size_t cols, const float *x, float *y);

/// FP8 E4M3FN GEMV with block scales: codes[o][j] decode exactly to Float32 (NaN codes must
/// have been rejected by the caller), and
///   y[o] = Σ_b (Σ_{j ∈ block b} decode(w[o][j]) · x[j]) · scale_inv[o][b]
/// with blocks of `block` columns (the last block of a row may be shorter); `scale_inv` has
/// ceil(cols / block) entries per row. Per-row scaling is block == cols. The inner sums use
/// 8 lanes (lane l takes j ≡ l mod 8 within each whole 8-group, product then add, no FMA),
/// reduced as ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)), then the tail elements in order.
void alg_gemv_e4m3(const uint8_t *codes, const float *scale_inv, size_t rows, size_t cols,
                   size_t block, const float *x, float *y);

/// Memory copy of n bytes (memcpy), for bandwidth reference measurements.
void alg_copy_bytes(void *dst, const void *src, size_t n);

#ifdef __cplusplus
}
#endif

#endif
