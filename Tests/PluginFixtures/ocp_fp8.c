/*
 * ocp_fp8.c — a plain OCP OFP8 (E4M3FN or E5M2) conversion kernel exporting the quantcheck
 * plugin ABI, used by the plugin tests. Compiled at test time:
 *
 *   cc -shared -fPIC -O2 -I Sources/QuantCheckPlugin/include -DSATURATE=1 -o libok.so ocp_fp8.c
 *
 * -DFORMAT_E5M2 selects E5M2 (default E4M3FN); -DSATURATE=0|1 the overflow mode. Each -DBUG_*
 * plants one bug (most seen in real encoders) that `quantcheck conform` must catch and pinpoint:
 *
 *   BUG_FLUSH_SUBNORMALS   subnormal results become ±0
 *   BUG_DROP_CARRY         mantissa …111 + 1 wraps to …000 without bumping the exponent
 *   BUG_NAN_ON_OVERFLOW    SAT mode, finite overflow gives NaN instead of ±max
 *   BUG_TIES_AWAY          ties round away from zero instead of to the even code
 *   BUG_NAN_ALL_ONES       a NaN input gives the all-ones NaN code S.1111111 (E5M2: 0x7F, as
 *                          onnxruntime does) instead of the canonical one: a different NaN
 *   BUG_NAN_SIGN_DROPPED   a NaN input gives the positive NaN code whatever its sign
 *   BUG_CRASH_AT=x         null-pointer write when the Float32 input equals x
 *   BUG_HANG_AT=x          infinite loop when the Float32 input equals x
 *   BUG_OOB_TAIL           Float32 entry writes outputs in groups of 8: past out[n-1] when n % 8 ≠ 0
 *   BUG_WRITE_BEFORE       Float32 entry writes out[-1]
 *   BUG_CTOR_CRASH         crashes in a library constructor (while being loaded)
 *
 * Hostile behaviour of a library that otherwise converts correctly (issue 15):
 *
 *   BUG_RAISE_AT=x         Float32 entry calls raise(BUG_RAISE_SIGNAL) when the input equals x
 *   BUG_RAISE_AT_CODE=c    decoder calls raise(BUG_RAISE_SIGNAL) on code c (default SIGSEGV)
 *   BUG_HIDE_OOB           Float32 entry writes out[n]; its own SIGSEGV handler makes the
 *                          faulting page writable so that the write "succeeds"
 *   BUG_SKIP_OOB           Float32 entry writes out[n]; its own SIGSEGV handler siglongjmps
 *                          past the write (nothing lands in the guard page)
 *   BUG_FORK_SLEEPER       decoder forks a child that sleeps 100 s (on its first call)
 *   BUG_SYSTEM_SLEEPER=t   decoder runs system("sleep t &") (on its first call)
 *   BUG_CRASH_AT_CODE=c    decoder writes through a null pointer on code c
 *   BUG_HANG_AT_CODE=c     decoder loops forever on code c
 *   BUG_PTRACE_ME          decoder calls ptrace(PTRACE_TRACEME) (on its first call)
 *   BUG_CLOSE_FDS_AT_CODE=c  decoder closes every descriptor above 2 on code c
 *   BUG_EXIT_AT_CODE=c     decoder calls exit(1) on code c
 *   BANNER                 decoder prints one banner line to stdout and one to stderr (first call)
 *   BUG_INFO_CONTROL       quantcheck_plugin_info() holds ESC and BEL (clear screen, window title)
 *   BUG_PRINT_CONTROL      decoder prints ESC and BEL to stdout and stderr (first call)
 */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <unistd.h>

#include "quantcheck_plugin.h"

#ifndef SATURATE
#define SATURATE 1
#endif

#if defined(FORMAT_E5M2)
#define P 2            /* mantissa bits */
#define BIAS 15
#define EMIN (-14)     /* exponent of the smallest normal */
#define EMAX 15        /* exponent of the largest finite binade */
#define MAX_MAG 0x7B   /* 0.11110.11 = 57344 */
#define INF_MAG 0x7C
#define NAN_MAG 0x7E   /* canonical NaN (quantcheck's ocp profile: 0x7E / 0xFE) */
#define IS_NAN(m) ((m) > 0x7C)
#define FORMAT "e5m2"
#define F32_ENTRY f32_to_e5m2
#define F64_ENTRY f64_to_e5m2
#define F16_ENTRY f16_to_e5m2
#define BF16_ENTRY bf16_to_e5m2
#define DECODE_ENTRY e5m2_to_f32
#else
#define P 3
#define BIAS 7
#define EMIN (-6)
#define EMAX 8
#define MAX_MAG 0x7E   /* 0.1111.110 = 448 */
#define NAN_MAG 0x7F   /* S.1111.111, the only NaN */
#define IS_NAN(m) ((m) == 0x7F)
#define FORMAT "e4m3fn"
#define F32_ENTRY f32_to_e4m3fn
#define F64_ENTRY f64_to_e4m3fn
#define F16_ENTRY f16_to_e4m3fn
#define BF16_ENTRY bf16_to_e4m3fn
#define DECODE_ENTRY e4m3fn_to_f32
#endif

/* NONSAT overflow: ±inf where the format has one, else NaN (OCP OFP8 Table 3). */
#ifdef INF_MAG
#define OVERFLOW_MAG INF_MAG
#else
#define OVERFLOW_MAG NAN_MAG
#endif

/* A null pointer the compiler cannot see through (a literal null store is UB it may delete). */
static int *volatile null_pointer = 0;

static uint8_t overflow(uint8_t sign, int finite) {
#if SATURATE
#ifdef BUG_NAN_ON_OVERFLOW
    if (finite) return sign | NAN_MAG;
#endif
    (void)finite;
    return sign | MAX_MAG;
#else
    (void)finite;
    return sign | OVERFLOW_MAG;
#endif
}

/* Round-to-nearest-even of any double: exact, so Float32, Float16 and BFloat16 inputs (widened
 * exactly) and Float64 inputs all round once. */
static uint8_t encode(double x) {
    uint8_t sign = signbit(x) ? 0x80 : 0;
#if defined(BUG_NAN_ALL_ONES)
    if (isnan(x)) return sign | 0x7F;
#elif defined(BUG_NAN_SIGN_DROPPED)
    if (isnan(x)) return NAN_MAG;
#else
    if (isnan(x)) return sign | NAN_MAG;
#endif
    double a = fabs(x);
    if (isinf(a)) return overflow(sign, 0);
    if (a == 0) return sign;
    int e;
    frexp(a, &e);
    e -= 1;  /* a in [2^e, 2^(e+1)) */
    if (e > EMAX) return overflow(sign, 1);
    int E = e < EMIN ? EMIN : e;
    /* K = a / 2^(E-P): the significand on the target's quantum grid (exact: a power-of-two scale). */
    double K = ldexp(a, P - E);
#ifdef BUG_TIES_AWAY
    double r = floor(K);
    if (K - r >= 0.5) r += 1;
#else
    double r = nearbyint(K);  /* default rounding mode: ties to even */
#endif
    /* code = ((E + BIAS − 1) << P) + r: r = 2^P … 2^(P+1) − 1 are normal significands, r < 2^P
     * subnormals (E = EMIN), and r = 2^(P+1) carries into the next binade. */
    unsigned code = ((unsigned)(E + BIAS - 1) << P) + (unsigned)r;
#ifdef BUG_DROP_CARRY
    if (e >= EMIN && r == (double)(1 << (P + 1))) code = (unsigned)(E + BIAS) << P;
#endif
    if (code > MAX_MAG) return overflow(sign, 1);
#ifdef BUG_FLUSH_SUBNORMALS
    if (code < (1u << P)) return sign;
#endif
    return sign | (uint8_t)code;
}

static float decode(uint8_t c) {
    float s = (c & 0x80) ? -1.0f : 1.0f;
    unsigned m = c & 0x7F;
    if (IS_NAN(m)) return copysignf(NAN, s);
#ifdef INF_MAG
    if (m == INF_MAG) return s * INFINITY;
#endif
    unsigned ef = m >> P, mf = m & ((1u << P) - 1);
    float v = ef == 0 ? ldexpf((float)mf, EMIN - P) : ldexpf((float)((1u << P) + mf), (int)ef - BIAS - P);
    return s * v;
}

static float half_to_float(uint16_t h) {
    float s = (h & 0x8000) ? -1.0f : 1.0f;
    unsigned e = (h >> 10) & 0x1F, m = h & 0x3FF;
    if (e == 31) return m ? copysignf(NAN, s) : s * INFINITY;
    if (e == 0) return s * ldexpf((float)m, -24);
    return s * ldexpf((float)(1024 + m), (int)e - 25);
}

#ifndef BUG_RAISE_SIGNAL
#define BUG_RAISE_SIGNAL SIGSEGV
#endif

#if defined(BUG_HIDE_OOB) || defined(BUG_SKIP_OOB)
static sigjmp_buf skip_point;
/* A plugin's own SIGSEGV handler, installed over quantcheck's: it either unprotects the page
 * that faulted (the store is then retried and lands) or jumps past the faulting store. */
static void hide_fault(int sig, siginfo_t *info, void *context) {
    (void)sig;
    (void)context;
#ifdef BUG_HIDE_OOB
    long page = sysconf(_SC_PAGESIZE);
    mprotect((void *)((uintptr_t)info->si_addr & ~(uintptr_t)(page - 1)), (size_t)page, PROT_READ | PROT_WRITE);
#else
    (void)info;
    siglongjmp(skip_point, 1);
#endif
}
#endif

QUANTCHECK_EXPORT void F32_ENTRY(const float *in, uint8_t *out, size_t n) {
#if defined(BUG_HIDE_OOB) || defined(BUG_SKIP_OOB)
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = hide_fault;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    if (!sigsetjmp(skip_point, 1)) ((volatile uint8_t *)out)[n] = 0x5A;
#endif
#ifdef BUG_OOB_TAIL
    for (size_t i = 0; i < n; i += 8)
        for (size_t j = 0; j < 8; j++) out[i + j] = i + j < n ? encode(in[i + j]) : 0;
    return;
#endif
#ifdef BUG_WRITE_BEFORE
    out[-1] = 0;
#endif
    for (size_t i = 0; i < n; i++) {
#ifdef BUG_CRASH_AT
        if (in[i] == (float)(BUG_CRASH_AT)) *null_pointer = 1;
#endif
#ifdef BUG_RAISE_AT
        if (in[i] == (float)(BUG_RAISE_AT)) raise(BUG_RAISE_SIGNAL);
#endif
#ifdef BUG_HANG_AT
        if (in[i] == (float)(BUG_HANG_AT)) {
            volatile int spin = 1;
            while (spin) {}
        }
#endif
        out[i] = encode(in[i]);
    }
}

QUANTCHECK_EXPORT void F64_ENTRY(const double *in, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = encode(in[i]);
}

QUANTCHECK_EXPORT void F16_ENTRY(const uint16_t *in, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = encode(half_to_float(in[i]));
}

QUANTCHECK_EXPORT void BF16_ENTRY(const uint16_t *in, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)in[i] << 16;
        float x;
        memcpy(&x, &bits, 4);
        out[i] = encode(x);
    }
}

QUANTCHECK_EXPORT void DECODE_ENTRY(const uint8_t *in, float *out, size_t n) {
    static int first_call = 1;
    if (first_call) {
        first_call = 0;
#ifdef BUG_FORK_SLEEPER
        if (fork() == 0) {
            sleep(100);
            _exit(0);
        }
#endif
#ifdef BUG_SYSTEM_SLEEPER
#define STRING(x) #x
#define EXPANDED_STRING(x) STRING(x)
        if (system("sleep " EXPANDED_STRING(BUG_SYSTEM_SLEEPER) " &") != 0) abort();
#endif
#ifdef BUG_PTRACE_ME
        ptrace(PTRACE_TRACEME, 0, 0, 0);
#endif
#ifdef BANNER
        printf("ocp_fp8 fixture: decoder ready\n");
        fflush(stdout);
        fprintf(stderr, "ocp_fp8 fixture: a line on stderr\n");
#endif
#ifdef BUG_PRINT_CONTROL
        printf("\x1b[2J\x07" "cleared by stdout\n");
        fflush(stdout);
        fprintf(stderr, "\x1b]0;owned\x07" "titled by stderr\n");
#endif
    }
    for (size_t i = 0; i < n; i++) {
#ifdef BUG_RAISE_AT_CODE
        if (in[i] == (BUG_RAISE_AT_CODE)) raise(BUG_RAISE_SIGNAL);
#endif
#ifdef BUG_CRASH_AT_CODE
        if (in[i] == (BUG_CRASH_AT_CODE)) *null_pointer = 1;
#endif
#ifdef BUG_HANG_AT_CODE
        if (in[i] == (BUG_HANG_AT_CODE)) {
            volatile int spin = 1;
            while (spin) {}
        }
#endif
#ifdef BUG_CLOSE_FDS_AT_CODE
        if (in[i] == (BUG_CLOSE_FDS_AT_CODE))
            for (int fd = 3; fd < 1024; fd++) close(fd);
#endif
#ifdef BUG_EXIT_AT_CODE
        if (in[i] == (BUG_EXIT_AT_CODE)) exit(1);
#endif
        out[i] = decode(in[i]);
    }
}

#if SATURATE
#define MODE "sat"
#else
#define MODE "nonsat"
#endif
QUANTCHECK_EXPORT const char *quantcheck_plugin_info(void) {
#ifdef BUG_INFO_CONTROL
    return "\x1b[2J\x07" "ocp_fp8 \x1b]0;owned\x07" "fixture";  /* split: \x07f would be one escape */
#endif
    return "ocp_fp8 test fixture: " FORMAT ", " MODE;
}

#ifdef BUG_CTOR_CRASH
__attribute__((constructor)) static void crash_on_load(void) { *null_pointer = 1; }
#endif
