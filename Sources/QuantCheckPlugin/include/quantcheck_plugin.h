/*
 * quantcheck_plugin.h — the C ABI of a conversion kernel checked by `quantcheck conform`.
 *
 * A plugin is a shared library (`cc -shared -fPIC -O2 -o libmine.so mine.c`) exporting one or
 * more of the entry points below for ONE target format and ONE conversion policy (overflow mode,
 * rounding). `quantcheck conform --library libmine.so --format e4m3fn --mode sat` then runs the
 * exhaustive conformance suites against it and compares every output with the MPFR oracle.
 * This header is self-contained: copy it next to your kernel (or include it from the package).
 *
 * Entry points (<format> is quantcheck's short name: e4m3fn, e5m2, e4m3fnuz, e5m2fnuz,
 * e4m3b11fnuz, e4m3, e3m4, e8m0fnu, e2m3fn, e3m2fn, e2m1fn, binary16, bfloat16):
 *
 *   default symbol      signature                                            suites
 *   f32_to_<format>     void (const float    *in, code_t *out, size_t n)    exhaustive-f32 (all 2^32
 *                                                                            inputs), roundtrip
 *   f64_to_<format>     void (const double   *in, code_t *out, size_t n)    float64, roundtrip
 *   f16_to_<format>     void (const uint16_t *in, code_t *out, size_t n)    exhaustive-f16 (binary16
 *                                                                            bit patterns, all 65,536)
 *   bf16_to_<format>    void (const uint16_t *in, code_t *out, size_t n)    exhaustive-f16 (bfloat16
 *                                                                            bit patterns, all 65,536)
 *   <format>_to_f32     void (const code_t   *in, float  *out, size_t n)    decode (every code)
 *   quantcheck_plugin_info   const char *(void)  optional: one line naming the kernel and version
 *
 * Only the entry points present are checked; `--symbol NAME` renames the Float32 encoder and
 * `--symbol f64=NAME` (also f16=, bf16=, decode=) renames the others.
 *
 * Code storage (code_t):
 *   - formats of at most 8 bits: uint8_t, one code per byte, in the low bits; the unused high
 *     bits must be zero (a 4-bit E2M1 code 0x9 is the byte 0x09);
 *   - binary16 and bfloat16 targets: uint16_t in native byte order (the IEEE/bfloat16 bit
 *     pattern, so a binary16 result is exactly what `_Float16` would store).
 *
 * Semantics every encoder must implement (checked exhaustively against the MPFR oracle):
 *   - round to the target precision first, then range-check (OCP OFP8 rev 1.0 §5.2.1);
 *     rounding as stated with `--rounding` (default rne: round to nearest, ties to the even code);
 *   - overflow as stated with `--mode`: sat → ±max finite (also for ±inf input); nonsat → ±inf
 *     where the format has infinities, else NaN (OCP OFP8 Table 3);
 *   - NaN input → the format's canonical NaN with the input's sign (e4m3fn 0x7F/0xFF,
 *     e5m2 0x7E/0xFE, fnuz formats 0x80, e8m0fnu 0xFF); formats without NaN: the zero of the
 *     NaN's sign (profile ocp) — `--profile ml_dtypes-0.6` / `ml_dtypes-0.7` check that release's exact codes instead.
 *   A decoder must return the exact value of every code (sign of zero included; any NaN for a
 *   NaN code; ±inf for infinity codes).
 *
 * Calling contract (what quantcheck guarantees, and what it checks):
 *   - n ≥ 1 and may be any size (calls come in chunks of up to 65,521 elements, plus smaller
 *     ones when a fault is being isolated); in and out are aligned to their element type only
 *     (do not assume 16- or 32-byte alignment) and do not overlap;
 *   - the function must write exactly out[0 .. n) and nothing else, must not read past in[n-1],
 *     and must give each element the same result whatever the chunk it arrives in;
 *   - calls come from one thread at a time; the kernel may use threads internally;
 *   - the library runs in a separate worker process: a crash (any signal, also one the library
 *     raises itself), a hang (longer than `--timeout`), a write outside out[] (guard page after
 *     it, canary bytes before it) or a read past the end of in[] (guard page) is reported as a
 *     failing case naming the input, and the worker is restarted to check the remaining inputs.
 *     Anything the library prints (stdout and stderr) goes to quantcheck's standard error, a
 *     line at a time with control characters escaped (nowhere if quantcheck has none); its
 *     quantcheck_plugin_info text is shown escaped too;
 *   - the library must leave the worker's SIGSEGV and SIGBUS handlers and descriptors 3 and 4
 *     alone: a call that replaces a handler fails (bytes its handler let into a guard page are
 *     reported as the out-of-bounds write they are), and closing the worker's socket fails the
 *     call ("the worker lost its connection");
 *   - processes the library starts (fork, system) belong to the worker's process group and
 *     are killed with the worker; ptrace(PTRACE_TRACEME) makes a crash stop the worker, which
 *     is reported as the crash.
 */
#ifndef QUANTCHECK_PLUGIN_H
#define QUANTCHECK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define QUANTCHECK_PLUGIN_ABI_VERSION 1

/* Marks an entry point as exported even under -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define QUANTCHECK_EXPORT __attribute__((visibility("default")))
#else
#define QUANTCHECK_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Encoders into formats of at most 8 bits. */
typedef void (*quantcheck_encode_f32_u8)(const float *in, uint8_t *out, size_t n);
typedef void (*quantcheck_encode_f64_u8)(const double *in, uint8_t *out, size_t n);
typedef void (*quantcheck_encode_half_u8)(const uint16_t *in, uint8_t *out, size_t n); /* f16 and bf16 */
typedef void (*quantcheck_decode_u8)(const uint8_t *in, float *out, size_t n);

/* Encoders into binary16 / bfloat16 (16-bit codes). */
typedef void (*quantcheck_encode_f32_u16)(const float *in, uint16_t *out, size_t n);
typedef void (*quantcheck_encode_f64_u16)(const double *in, uint16_t *out, size_t n);
typedef void (*quantcheck_encode_half_u16)(const uint16_t *in, uint16_t *out, size_t n);
typedef void (*quantcheck_decode_u16)(const uint16_t *in, float *out, size_t n);

/* Optional: a one-line description ("mykernel 1.2, AVX2"); static storage, NUL-terminated. */
typedef const char *(*quantcheck_plugin_info_fn)(void);
#define QUANTCHECK_PLUGIN_INFO_SYMBOL "quantcheck_plugin_info"

#ifdef __cplusplus
}
#endif

#endif /* QUANTCHECK_PLUGIN_H */
