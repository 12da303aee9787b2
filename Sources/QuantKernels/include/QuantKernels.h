#ifndef QUANTKERNELS_H
#define QUANTKERNELS_H
#include "alg_kernels.h"
// Bulk loops of the generic narrow-float codec. Each loop exists twice: a portable variant and,
// on x86-64, an AVX2 variant compiled with a per-function target attribute (QK_SIMD_FN), chosen
// at run time by qk_has_simd() (CPUDispatch). No global compiler flags are needed, so the
// package builds on any x86-64 and on arm64. The parameters are derived in Swift from the
// format descriptor (Quant/Bulk.swift); the steps are those documented on NarrowFloatCodec.
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t p;               // mantissa bits
    int32_t min_q;           // minNormalExponent - p: the quantum floor (subnormal quantum)
    int32_t code_offset;     // p + bias - 1: code of K*2^q is ((q + code_offset) << p) + K
    int32_t max_mag;         // largest finite magnitude code
    uint32_t sign_bit;       // sign mask of the code (0 for unsigned formats)
    uint32_t has_zero;       // 0 only for E8M0FNU: values below 2^-127 give code 0
    uint32_t negative_is_nan;// unsigned formats: every negative input (and -0) gives nan_code[1]
    uint32_t tie_on_k;       // ml_dtypes profile for formats without mantissa: ties on K's bit
    int32_t mode;            // 0 nearest-even, 1 toward zero, 2 up, 3 down
    uint32_t nan_code[2];    // [sign] output for NaN input
    uint32_t inf_code[2];    // [sign] output for infinite input
    uint32_t ovf_code[2];    // [sign] output when the rounded magnitude exceeds max
    uint32_t zero_code[2];   // [sign] output for zero input / results rounding to zero
} qk_encode_params;

/// Float32 -> codes (one byte each, for formats of at most 8 bits).
void qk_encode_f32_u8(const float *in, uint8_t *out, size_t n, const qk_encode_params *prm);
/// Float32 -> codes (two bytes each).
void qk_encode_f32_u16(const float *in, uint16_t *out, size_t n, const qk_encode_params *prm);
/// Consecutive Float32 bit patterns start, start+1, ... (n of them) -> codes: the exhaustive
/// sweep's input generator fused with the same encode loop body.
void qk_encode_f32_range_u8(uint32_t start, uint8_t *out, size_t n, const qk_encode_params *prm);
void qk_encode_f32_range_u16(uint32_t start, uint16_t *out, size_t n, const qk_encode_params *prm);

/// codes -> Float32 through the format's exact decode table (256 or 65536 entries). Returns the
/// index of the first code that is >= code_count (invalid), or n when every code is valid;
/// outputs for invalid codes are unspecified.
size_t qk_decode_u8_f32(const uint8_t *in, float *out, size_t n, const float *table, uint32_t code_count);
size_t qk_decode_u16_f32(const uint16_t *in, float *out, size_t n, const float *table, uint32_t code_count);

/// The format constants of the arithmetic decode (derived in Swift from the descriptor).
typedef struct {
    int32_t p;               // mantissa bits
    int32_t bias;
    uint32_t sign_bit;       // sign mask of the code (0 for unsigned formats)
    uint32_t max_mag;        // largest finite magnitude code
    uint32_t inf_mag;        // magnitude of the infinity codes, or 0xFFFFFFFF without infinities
    uint32_t nan_nz;         // the fnuz NaN code (sign bit, zero magnitude), or 0xFFFFFFFF
    uint32_t has_subnormals; // 0 for E8M0FNU (its exponent field 0 is a normal binade)
} qk_decode_params;

/// As qk_decode_u8_f32 / qk_decode_u16_f32, computing the values from the format constants where
/// they allow it (every built-in format but E8M0FNU; same results as the table, which serves the
/// rest and the tails).
size_t qk_decode_u8_f32_format(const uint8_t *in, float *out, size_t n, const float *table, uint32_t count,
                               const qk_decode_params *dp);
size_t qk_decode_u16_f32_format(const uint16_t *in, float *out, size_t n, const float *table, uint32_t count,
                                const qk_decode_params *dp);
/// Whether the arithmetic decode runs for these constants on this machine (AVX2 needed).
int qk_decode_fast_path_covers(const qk_decode_params *dp);

/// 1 when the AVX2 variants are in use (qk_has_simd(): AVX2, FMA and BMI2 present).
int qk_uses_avx2(void);

/// The implementations of the encode loops, selectable for tests and benchmarks (the plain entry
/// points above use QK_IMPL_AUTO): all must give identical codes.
enum {
    QK_IMPL_AUTO = 0,         // the fastest available
    QK_IMPL_PORTABLE = 1,     // the generic lane, compiled for the baseline ISA
    QK_IMPL_AVX2_GENERIC = 2, // the generic lane, auto-vectorised for AVX2
    QK_IMPL_AVX2 = 3,         // the fixed-point AVX2 kernel (falls back to QK_IMPL_AVX2_GENERIC
                              // for parameters outside its domain; see qk_fast_path_covers)
};
/// 1 when `impl` can run on this machine.
int qk_impl_available(int impl);
/// Whether the fixed-point AVX2 kernel handles these parameters itself (all built-in formats and
/// deterministic rules do); 0 on machines without it.
int qk_fast_path_covers(const qk_encode_params *prm);
/// The encode loops with an explicit implementation. Return the implementation that ran, or -1
/// (and write nothing) when `impl` is not available here.
int qk_encode_f32_u8_impl(int impl, const float *in, uint8_t *out, size_t n, const qk_encode_params *prm);
int qk_encode_f32_u16_impl(int impl, const float *in, uint16_t *out, size_t n, const qk_encode_params *prm);
int qk_encode_f32_range_u8_impl(int impl, uint32_t start, uint8_t *out, size_t n, const qk_encode_params *prm);
int qk_encode_f32_range_u16_impl(int impl, uint32_t start, uint16_t *out, size_t n, const qk_encode_params *prm);

#endif
