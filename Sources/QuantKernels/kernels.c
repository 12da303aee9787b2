#include "QuantKernels.h"
#include "CPUDispatch.h"
#include "decode_arith.h"
#include <string.h>
#if QK_SIMD
#include <immintrin.h>
#endif

// MARK: - The generic lane (portable reference of the kernels)

// The parameters as plain locals: selects between two scalars vectorise into blends, where
// indexing a parameter array by the sign would become a gather.
typedef struct {
    int32_t p, min_q, code_offset, max_mag;
    uint32_t sign_bit, has_zero, negative_is_nan, tie_on_k;
    uint32_t nan0, nan1, inf0, inf1, ovf0, ovf1, zero0, zero1;
} lane_params;

static inline __attribute__((always_inline)) lane_params unpack(const qk_encode_params *prm) {
    lane_params l = {prm->p, prm->min_q, prm->code_offset, prm->max_mag,
                     prm->sign_bit, prm->has_zero, prm->negative_is_nan, prm->tie_on_k,
                     prm->nan_code[0], prm->nan_code[1], prm->inf_code[0], prm->inf_code[1],
                     prm->ovf_code[0], prm->ovf_code[1], prm->zero_code[0], prm->zero_code[1]};
    return l;
}

// One lane of the generic Float32 -> code conversion (steps documented on NarrowFloatCodec).
// Branch-free so that both loop variants auto-vectorise (variable shifts become
// vpsrlvd/vpsllvd under AVX2). This is the portable kernel, the fallback of the AVX2 kernel for
// parameters outside its domain, and its scalar fix-up for the few lanes it does not cover.
static inline __attribute__((always_inline)) uint32_t
encode_lane(uint32_t u, const lane_params *prm, int32_t mode) {
    const uint32_t sgn = u >> 31;
    const uint32_t a = u & 0x7FFFFFFFu;
    const uint32_t ef = a >> 23;
    // x = M * 2^E exactly; e_x = floor(log2|x|) for normal inputs. For Float32 subnormal
    // inputs e_x <= -127 <= every format's min normal exponent, so -127 is as good as exact.
    const uint32_t m = ef ? ((a & 0x7FFFFFu) | 0x800000u) : a;
    const int32_t e = ef ? (int32_t)ef - 150 : -149;
    const int32_t ex = ef ? (int32_t)ef - 127 : -127;
    int32_t q = ex - prm->p;
    q = q > prm->min_q ? q : prm->min_q;
    int32_t s = q - e;             // >= 22 - p > 0 for every supported format (p <= 16)
    s = s < 25 ? s : 25;           // past 25, K = 0 and R < half for every M < 2^24
    const uint32_t k = m >> s;
    const uint32_t r = m & ((1u << s) - 1u);
    const uint32_t half = 1u << (s - 1);
    const int32_t floor_code = (int32_t)((uint32_t)(q + prm->code_offset) << prm->p) + (int32_t)k;
    uint32_t up;
    if (mode == 0) {
        const uint32_t odd = prm->tie_on_k ? (k & 1u) : ((uint32_t)floor_code & 1u);
        up = (r > half) | ((r == half) & odd);
    } else if (mode == 1) {
        up = 0;
    } else if (mode == 2) {
        up = (r != 0) & (sgn ^ 1u);
    } else {
        up = (r != 0) & sgn;
    }
    const int32_t code = floor_code + (int32_t)up;
    const int neg = sgn != 0;
    uint32_t res = (uint32_t)code | (neg ? prm->sign_bit : 0u);
    if (prm->has_zero) {
        res = code == 0 ? (neg ? prm->zero1 : prm->zero0) : res;
    } else {
        res = code < 0 ? 0u : res;
    }
    res = code > prm->max_mag ? (neg ? prm->ovf1 : prm->ovf0) : res;
    res = a == 0 ? (neg ? prm->zero1 : prm->zero0) : res;
    res = a == 0x7F800000u ? (neg ? prm->inf1 : prm->inf0) : res;
    res = a > 0x7F800000u ? (neg ? prm->nan1 : prm->nan0) : res;
    res = (neg & (prm->negative_is_nan != 0)) ? prm->nan1 : res;
    return res;
}

// The loop bodies, instantiated per (variant, output width, input source, mode) by macros so
// that `mode` is a compile-time constant inside each loop.
#define QK_LOOP(OUT_T, INPUT_EXPR)                                                     \
    const lane_params L = unpack(prm_in);                                               \
    const lane_params *prm = &L;                                                        \
    switch (prm_in->mode) {                                                             \
    case 0: for (size_t i = 0; i < n; i++) out[i] = (OUT_T)encode_lane(INPUT_EXPR, prm, 0); break; \
    case 1: for (size_t i = 0; i < n; i++) out[i] = (OUT_T)encode_lane(INPUT_EXPR, prm, 1); break; \
    case 2: for (size_t i = 0; i < n; i++) out[i] = (OUT_T)encode_lane(INPUT_EXPR, prm, 2); break; \
    default: for (size_t i = 0; i < n; i++) out[i] = (OUT_T)encode_lane(INPUT_EXPR, prm, 3); break; \
    }

static inline uint32_t load_bits(const float *p) { uint32_t u; memcpy(&u, p, 4); return u; }

#define QK_DEFINE_VARIANTS(SUFFIX, ATTR)                                                          \
    ATTR static void enc_f32_u8_##SUFFIX(const float *in, uint8_t *out, size_t n,                 \
                                         const qk_encode_params *prm_in) {                        \
        QK_LOOP(uint8_t, load_bits(in + i))                                                       \
    }                                                                                             \
    ATTR static void enc_f32_u16_##SUFFIX(const float *in, uint16_t *out, size_t n,               \
                                          const qk_encode_params *prm_in) {                       \
        QK_LOOP(uint16_t, load_bits(in + i))                                                      \
    }                                                                                             \
    ATTR static void range_u8_##SUFFIX(uint32_t start, uint8_t *out, size_t n,                    \
                                       const qk_encode_params *prm_in) {                          \
        QK_LOOP(uint8_t, start + (uint32_t)i)                                                     \
    }                                                                                             \
    ATTR static void range_u16_##SUFFIX(uint32_t start, uint16_t *out, size_t n,                  \
                                        const qk_encode_params *prm_in) {                         \
        QK_LOOP(uint16_t, start + (uint32_t)i)                                                    \
    }

QK_DEFINE_VARIANTS(portable, )

// Codes -> Float32 through the exact table, in blocks: a block's largest code is checked first
// (a vectorisable max), so that the table loads themselves carry no test and never read past
// the table. Returns the index of the first invalid code (>= count), or n; outputs from the
// failing block on are unspecified.
#define QK_DECODE_BODY(CODE_T)                                                          \
    size_t i = 0;                                                                       \
    while (i < n) {                                                                     \
        const size_t m = n - i < 256 ? n - i : 256;                                     \
        CODE_T hi = 0;                                                                  \
        for (size_t j = 0; j < m; j++) hi = in[i + j] > hi ? in[i + j] : hi;            \
        if (hi >= count) {                                                              \
            for (size_t j = 0; j < m; j++) if (in[i + j] >= count) return i + j;        \
        }                                                                               \
        for (size_t j = 0; j < m; j++) out[i + j] = table[in[i + j]];                   \
        i += m;                                                                         \
    }                                                                                   \
    return n;

static size_t dec_u8_portable(const uint8_t *in, float *out, size_t n, const float *table, uint32_t count) {
    QK_DECODE_BODY(uint8_t)
}
static size_t dec_u16_portable(const uint16_t *in, float *out, size_t n, const float *table, uint32_t count) {
    QK_DECODE_BODY(uint16_t)
}

#if QK_SIMD
QK_DEFINE_VARIANTS(avx2, QK_SIMD_FN)

// MARK: - The AVX2 kernel
//
// The same function as encode_lane, computed with far fewer operations (about 25 per 8 lanes
// against about 60) by treating the Float32 bit pattern as a fixed-point number.
//
// Rounding step. A finite Float32 |x| has bits a = (ef << 23) | f. In the target's normal range
// the code is ((ex + bias) << p) + (top p bits of f), so with v = a - ((127 - bias) << 23) the
// floor code is v >> (23 - p) and the remainder is the low 23 - p bits: the mantissa carry into
// the exponent, and the overflow past the largest binade, are ordinary integer carries. Below the
// target's min normal 2^emin, the quantum is fixed at 2^(emin - p), so v is the significand
// m = 2^23 | f (or a itself for a Float32 subnormal) and the shift grows by emin - ex. Both are
// one formula with t = clamp(ef, 1, E_b), E_b = emin + 127 (the biased min normal exponent):
//
//     s = (23 - p) + E_b - t                  (the number of bits rounded off)
//     v = a + 2^23 - (t << 23)                (= a - ((127 - bias) << 23) when t = E_b)
//     code = (v + (2^(s-1) - 1) + ((v >> s) & 1)) >> s      (round to nearest, ties to even)
//
// The tie test uses bit s of v, the floor code's parity: ties go to the even *code*, as the
// scalar steps say. AVX2's variable shifts give 0 for counts >= 32, and that is exactly right
// here: v < 2^24 whenever s > 23, so every such lane rounds to 0. Directed rounding adds
// 2^s - 1 (with s clamped to 31) when the sign points away from zero, 0 otherwise; toward zero
// adds nothing.
//
// Range and sign step. A code above max_mag is an overflow; when the overflow code is
// (max_mag or max_mag + 1) | sign for both signs, min(code, that) is the whole overflow rule,
// and ±Inf/NaN fold in too when their codes coincide with it (e.g. E4M3FN non-saturating:
// 0x7F/0xFF for all three). Everything else — NaN/Inf with their own codes, zeros of fnuz
// formats, negative inputs of unsigned formats, the region below 2^emin of formats without
// subnormals (E8M0FNU: Float32 subnormal inputs) — is flagged per lane; a block of 32 lanes
// without flags is stored as is, a flagged vector goes through the full special-value chain
// (vector blends, the same rules as encode_lane) and only lanes below `fix_lo` are recomputed
// with encode_lane itself.

// Compile-time shapes of the fast loop: each omits checks that are no-ops for its parameters.
enum {
    QK_F_FNUZ = 1,  // zero results drop the sign (formats without -0)
    QK_F_KEY = 2,   // magnitude range check from below (fix_lo) and unsigned-negative blend
    QK_F_CODE = 4,  // code range check (overflow codes that are not min(code, om) | sign)
    QK_F_DIR = 8,   // directed rounding
    QK_F_NOLO = 16, // Float32 subnormal inputs round to 0 even when taken as t = 0 (see qk_code)
};
enum { QK_V_PLAIN, QK_V_PLAIN_NOLO, QK_V_FNUZ, QK_V_FNUZ_NOLO, QK_V_KEY, QK_V_GENERIC, QK_V_DIRECTED };

typedef struct {
    int variant;
    int32_t mode;
    int32_t e_b, s0, voff, oddm, hc, max_mag, fix_lo;
    uint32_t hb, dx, om, sb, khi, kb, kmax, cb, cmax, ninm;
    lane_params L;
} qk_plan;

/// Derives the AVX2 kernel's constants from the descriptor parameters; 0 when the parameters are
/// outside the domain the fixed-point formula was derived for (then the generic loops run).
static int qk_make_plan(const qk_encode_params *prm, qk_plan *P) {
    const int32_t p = prm->p;
    if (p < 0 || p > 15 || prm->mode < 0 || prm->mode > 3) return 0;
    const int32_t sh = 23 - p;
    const int32_t emin = prm->min_q + p;
    const int32_t bias = prm->code_offset - p + 1;
    const int has_sub = prm->has_zero != 0;  // in this codec, "has a zero" = "has subnormals"
    const int nin = prm->negative_is_nan != 0;
    if (emin < -200 || emin > 127 || prm->max_mag < 1 || prm->max_mag > 0xFFFF) return 0;
    // Ties on the significand's bit differ from ties on the code only when p = 0; the formula
    // forces them up, which is right wherever K = 1 (the normal range).
    const int tie_force = prm->mode == 0 && prm->tie_on_k && p == 0;
    if (tie_force && has_sub) return 0;
    const int32_t e_b = emin + 127 >= 1 ? emin + 127 : 1;
    // With t = E_b the formula subtracts ((E_b - 1) << 23) where the code needs
    // ((127 - bias) << 23): the difference, in units of 2^23, must be 2^23 (formats with
    // subnormals, E8M0FNU) or 0 (formats without subnormals whose range starts at Float32
    // normals), in which case lanes below 2^emin are fixed up.
    const int32_t vfield = e_b - 127 + bias;
    if (vfield < 0 || vfield > 1 || (has_sub && vfield != 1)) return 0;
    int32_t fix_lo = 0;
    if (emin + 127 < 1) fix_lo = 1 << 23;  // Float32 subnormals: below the formula's t = 1
    else if (!has_sub) fix_lo = e_b << 23;
    if (emin + 127 < 1 && has_sub) return 0;

    memset(P, 0, sizeof *P);
    P->L = unpack(prm);
    P->mode = prm->mode;
    P->e_b = e_b;
    P->s0 = sh + e_b;
    P->voff = vfield << 23;
    P->max_mag = prm->max_mag;
    P->fix_lo = fix_lo;
    if (prm->mode == 0) {
        P->oddm = tie_force ? 0 : 1;
        P->hb = tie_force ? 0x80000000u : 0xFFFFFFFFu;  // 2^(s-1) or 2^(s-1) - 1
        P->hc = tie_force ? 32 : 33;
        P->dx = 0;
    } else {
        P->oddm = 0;
        P->hb = prm->mode == 1 ? 0u : 0xFFFFFFFFu;  // 2^s - 1 when rounding away from zero
        P->hc = 32;
        P->dx = prm->mode == 2 ? 0xFFFFFFFFu : 0u;  // up: positive lanes; down: negative lanes
    }
    const uint32_t sb = prm->sign_bit, mm = (uint32_t)prm->max_mag;
    P->sb = sb;
    P->ninm = nin ? 0xFFFFFFFFu : 0u;

    // Overflow as min(code, om) | sign?
    uint32_t om = 0xFFFFFFFFu;
    for (uint32_t c = mm; c <= mm + 1; c++) {
        if (prm->ovf_code[0] == c && (nin || prm->ovf_code[1] == (c | sb))) { om = c; break; }
    }
    const int ovf_fast = om != 0xFFFFFFFFu;
    P->om = om;
    // The formula's code for +Inf (exact, nothing to round): Inf and NaN lanes take the
    // overflow rule when that code is above max_mag and their codes are the overflow codes.
    const int64_t inf_formula = (int64_t)(255 + vfield - e_b) << p;
    const int inf_ok = ovf_fast && inf_formula > (int64_t)mm && prm->inf_code[0] == prm->ovf_code[0] &&
                       (nin || prm->inf_code[1] == prm->ovf_code[1]);
    const int nan_ok = inf_ok && prm->nan_code[0] == prm->ovf_code[0] &&
                       (nin || prm->nan_code[1] == prm->ovf_code[1]);
    const uint32_t khi = nan_ok ? 0x7FFFFFFFu : inf_ok ? 0x7F800000u : 0x7F7FFFFFu;
    P->khi = khi;
    P->kb = 0x80000000u - (uint32_t)fix_lo;
    P->kmax = (khi - (uint32_t)fix_lo) ^ 0x80000000u;
    // Zero results: code | sign is right when the zero codes are 0 and sign_bit.
    const int zero_plain = !has_sub || (prm->zero_code[0] == 0 && (nin || prm->zero_code[1] == sb));
    const int zero_fnuz = has_sub && !nin && sb != 0 && prm->zero_code[0] == 0 && prm->zero_code[1] == 0;
    const uint32_t clo = zero_plain ? 0u : 1u;
    const uint32_t chi = ovf_fast ? 0x7FFFFFFFu : mm;
    P->cb = 0x80000000u - clo;
    P->cmax = (chi - clo) ^ 0x80000000u;

    // Without the lower clamp t >= 1, a Float32 subnormal or zero input takes t = 0: s = S0 and
    // v = a + 2^23 < 2^24, which rounds to 0 (as it must: the true shift is S0 - 1 >= 24)
    // whenever S0 >= 25 under round-to-nearest. Saves one operation per 8 lanes.
    const int nolo = prm->mode == 0 && P->s0 >= 25 && has_sub;
    if (prm->mode != 0) P->variant = QK_V_DIRECTED;
    else if (ovf_fast && !nin && fix_lo == 0 && zero_plain) P->variant = nolo ? QK_V_PLAIN_NOLO : QK_V_PLAIN;
    else if (ovf_fast && !nin && fix_lo == 0 && zero_fnuz) P->variant = nolo ? QK_V_FNUZ_NOLO : QK_V_FNUZ;
    else if (ovf_fast && zero_plain) P->variant = QK_V_KEY;
    else P->variant = QK_V_GENERIC;
    return 1;
}

typedef struct {
    __m256i absm, one, eb, s0, voff, oddm, hb, hc, dx, c31, om, sb, khi, kb, kmax, cb, cmax, ninm, nan1;
    __m256i om8, sb8, nan8, om16, sb16, nan16, ninm16;  // the same in packed byte / halfword lanes
} qk_vp;

QK_SIMD_INLINE qk_vp qk_broadcast(const qk_plan *P) {
    qk_vp V;
    V.absm = _mm256_set1_epi32(0x7FFFFFFF);
    V.one = _mm256_set1_epi32(1);
    V.eb = _mm256_set1_epi32(P->e_b);
    V.s0 = _mm256_set1_epi32(P->s0);
    V.voff = _mm256_set1_epi32(P->voff);
    V.oddm = _mm256_set1_epi32(P->oddm);
    V.hb = _mm256_set1_epi32((int32_t)P->hb);
    V.hc = _mm256_set1_epi32(P->hc);
    V.dx = _mm256_set1_epi32((int32_t)P->dx);
    V.c31 = _mm256_set1_epi32(31);
    V.om = _mm256_set1_epi32((int32_t)P->om);
    V.sb = _mm256_set1_epi32((int32_t)P->sb);
    V.khi = _mm256_set1_epi32((int32_t)P->khi);
    V.kb = _mm256_set1_epi32((int32_t)P->kb);
    V.kmax = _mm256_set1_epi32((int32_t)P->kmax);
    V.cb = _mm256_set1_epi32((int32_t)P->cb);
    V.cmax = _mm256_set1_epi32((int32_t)P->cmax);
    V.ninm = _mm256_set1_epi32((int32_t)P->ninm);
    V.nan1 = _mm256_set1_epi32((int32_t)P->L.nan1);
    V.om8 = _mm256_set1_epi8((char)(P->om > 0xFF ? 0xFF : P->om));
    V.sb8 = _mm256_set1_epi8((char)P->sb);
    V.nan8 = _mm256_set1_epi8((char)P->L.nan1);
    V.om16 = _mm256_set1_epi16((short)(P->om > 0xFFFF ? 0xFFFF : P->om));
    V.sb16 = _mm256_set1_epi16((short)P->sb);
    V.nan16 = _mm256_set1_epi16((short)P->L.nan1);
    V.ninm16 = _mm256_set1_epi16((short)(P->ninm & 0xFFFF));
    return V;
}

/// The rounding step: the raw (magnitude) code of 8 lanes, a non-negative int32.
QK_SIMD_INLINE __m256i qk_code(__m256i u, const qk_vp *V, int flags, __m256i *a_out) {
    const __m256i a = _mm256_and_si256(u, V->absm);
    const __m256i ef = _mm256_srli_epi32(a, 23);
    const __m256i t = (flags & QK_F_NOLO) ? _mm256_min_epi32(ef, V->eb)
                                          : _mm256_min_epi32(_mm256_max_epi32(ef, V->one), V->eb);
    __m256i s = _mm256_sub_epi32(V->s0, t);
    if (flags & QK_F_DIR) s = _mm256_min_epu32(s, V->c31);
    const __m256i v = _mm256_sub_epi32(_mm256_add_epi32(a, V->voff), _mm256_slli_epi32(t, 23));
    __m256i add = _mm256_srlv_epi32(V->hb, _mm256_sub_epi32(V->hc, s));
    if (flags & QK_F_DIR) add = _mm256_and_si256(add, _mm256_xor_si256(_mm256_srai_epi32(u, 31), V->dx));
    else add = _mm256_add_epi32(add, _mm256_and_si256(_mm256_srlv_epi32(v, s), V->oddm));
    *a_out = a;
    return _mm256_srlv_epi32(_mm256_add_epi32(v, add), s);
}

/// Lanes the fast finish does not cover (all bits set), from the magnitude and the raw code.
QK_SIMD_INLINE __m256i qk_flags(__m256i a, __m256i code, const qk_vp *V, int flags) {
    __m256i e = (flags & QK_F_KEY) ? _mm256_cmpgt_epi32(_mm256_add_epi32(a, V->kb), V->kmax)
                                   : _mm256_cmpgt_epi32(a, V->khi);
    if (flags & QK_F_CODE) e = _mm256_or_si256(e, _mm256_cmpgt_epi32(_mm256_add_epi32(code, V->cb), V->cmax));
    return e;
}

/// Fast finish of 8 lanes in 32-bit lanes: min(code, om) with the sign.
QK_SIMD_INLINE __m256i qk_finish32(__m256i code, __m256i u, const qk_vp *V, int flags) {
    const __m256i neg = _mm256_srai_epi32(u, 31);
    __m256i r = _mm256_min_epu32(code, V->om);
    if (flags & QK_F_FNUZ) {
        r = _mm256_or_si256(r, _mm256_and_si256(_mm256_and_si256(neg, V->sb), _mm256_cmpgt_epi32(code, _mm256_setzero_si256())));
    } else {
        r = _mm256_blendv_epi8(r, _mm256_or_si256(r, V->sb), neg);
    }
    if (flags & QK_F_KEY) r = _mm256_blendv_epi8(r, V->nan1, _mm256_and_si256(neg, V->ninm));
    return r;
}

#define QK_SEL(X0, X1) _mm256_blendv_epi8(_mm256_set1_epi32((int32_t)(X0)), _mm256_set1_epi32((int32_t)(X1)), neg)

/// Full result of 8 lanes: the special-value chain of encode_lane as blends.
QK_SIMD_FN __attribute__((noinline)) static __m256i qk_slow(__m256i u, const qk_vp *V, const qk_plan *P) {
    __m256i a;
    const __m256i code = qk_code(u, V, P->mode ? QK_F_DIR : 0, &a);
    const __m256i neg = _mm256_srai_epi32(u, 31);
    const lane_params *L = &P->L;
    __m256i res = _mm256_or_si256(code, _mm256_and_si256(neg, V->sb));
    if (L->has_zero) res = _mm256_blendv_epi8(res, QK_SEL(L->zero0, L->zero1), _mm256_cmpeq_epi32(code, _mm256_setzero_si256()));
    res = _mm256_blendv_epi8(res, QK_SEL(L->ovf0, L->ovf1), _mm256_cmpgt_epi32(code, _mm256_set1_epi32(P->max_mag)));
    const __m256i inf = _mm256_set1_epi32(0x7F800000);
    res = _mm256_blendv_epi8(res, QK_SEL(L->inf0, L->inf1), _mm256_cmpeq_epi32(a, inf));
    res = _mm256_blendv_epi8(res, QK_SEL(L->nan0, L->nan1), _mm256_cmpgt_epi32(a, inf));
    res = _mm256_blendv_epi8(res, V->nan1, _mm256_and_si256(neg, V->ninm));
    // Lanes below fix_lo (not already NaN by the unsigned rule): the generic lane.
    const __m256i fix = _mm256_andnot_si256(_mm256_and_si256(neg, V->ninm),
                                            _mm256_cmpgt_epi32(_mm256_set1_epi32(P->fix_lo), a));
    int mask = _mm256_movemask_ps(_mm256_castsi256_ps(fix));
    if (mask) {
        uint32_t uu[8], rr[8];
        _mm256_storeu_si256((__m256i *)uu, u);
        _mm256_storeu_si256((__m256i *)rr, res);
        while (mask) {
            const int j = __builtin_ctz((unsigned)mask);
            rr[j] = encode_lane(uu[j], L, P->mode);
            mask &= mask - 1;
        }
        res = _mm256_loadu_si256((const __m256i *)rr);
    }
    return res;
}

// Packing keeps lane order: packs/packus work within 128-bit halves, the permutes undo that.
QK_SIMD_INLINE __m256i qk_order_u8(__m256i b) {
    return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}
QK_SIMD_INLINE __m256i qk_order_u16(__m256i h) { return _mm256_permute4x64_epi64(h, 0xD8); }

/// 32 lanes -> out[0] (32 bytes) or out[0..1] (32 halfwords). Lanes without flags are finished
/// after packing, 32 (or 16) lanes per operation: the saturating packs clamp the raw codes to
/// the lane width (the overflow code `om` is below it), and packing the inputs with signed
/// saturation leaves each lane's sign in the top bit of its byte or halfword. A block with a
/// flagged lane is finished in 32-bit lanes, flagged vectors by the full special-value chain.
QK_SIMD_INLINE void qk_block(const __m256i u[4], __m256i out[2], const qk_vp *V, const qk_plan *P, int flags, int wide) {
    __m256i a0, a1, a2, a3;
    const __m256i c0 = qk_code(u[0], V, flags, &a0);
    const __m256i c1 = qk_code(u[1], V, flags, &a1);
    const __m256i c2 = qk_code(u[2], V, flags, &a2);
    const __m256i c3 = qk_code(u[3], V, flags, &a3);
    const __m256i e0 = qk_flags(a0, c0, V, flags), e1 = qk_flags(a1, c1, V, flags);
    const __m256i e2 = qk_flags(a2, c2, V, flags), e3 = qk_flags(a3, c3, V, flags);
    const __m256i any = _mm256_or_si256(_mm256_or_si256(e0, e1), _mm256_or_si256(e2, e3));
    if (__builtin_expect(_mm256_testz_si256(any, any), 1)) {
        if (!wide) {
            __m256i b = _mm256_packus_epi16(_mm256_packs_epi32(c0, c1), _mm256_packs_epi32(c2, c3));
            b = _mm256_min_epu8(b, V->om8);
            const __m256i sg = _mm256_packs_epi16(_mm256_packs_epi32(u[0], u[1]), _mm256_packs_epi32(u[2], u[3]));
            if (flags & QK_F_FNUZ) {
                const __m256i nz = _mm256_andnot_si256(_mm256_cmpeq_epi8(b, _mm256_setzero_si256()), sg);
                b = _mm256_blendv_epi8(b, _mm256_or_si256(b, V->sb8), nz);
            } else {
                b = _mm256_blendv_epi8(b, _mm256_or_si256(b, V->sb8), sg);
            }
            if (flags & QK_F_KEY) b = _mm256_blendv_epi8(b, V->nan8, _mm256_and_si256(sg, V->ninm));
            out[0] = qk_order_u8(b);
        } else {
            __m256i h0 = _mm256_min_epu16(_mm256_packus_epi32(c0, c1), V->om16);
            __m256i h1 = _mm256_min_epu16(_mm256_packus_epi32(c2, c3), V->om16);
            const __m256i s0 = _mm256_srai_epi16(_mm256_packs_epi32(u[0], u[1]), 15);
            const __m256i s1 = _mm256_srai_epi16(_mm256_packs_epi32(u[2], u[3]), 15);
            if (flags & QK_F_FNUZ) {
                const __m256i z = _mm256_setzero_si256();
                h0 = _mm256_or_si256(h0, _mm256_and_si256(_mm256_andnot_si256(_mm256_cmpeq_epi16(h0, z), s0), V->sb16));
                h1 = _mm256_or_si256(h1, _mm256_and_si256(_mm256_andnot_si256(_mm256_cmpeq_epi16(h1, z), s1), V->sb16));
            } else {
                h0 = _mm256_or_si256(h0, _mm256_and_si256(s0, V->sb16));
                h1 = _mm256_or_si256(h1, _mm256_and_si256(s1, V->sb16));
            }
            if (flags & QK_F_KEY) {
                h0 = _mm256_blendv_epi8(h0, V->nan16, _mm256_and_si256(s0, V->ninm16));
                h1 = _mm256_blendv_epi8(h1, V->nan16, _mm256_and_si256(s1, V->ninm16));
            }
            out[0] = qk_order_u16(h0);
            out[1] = qk_order_u16(h1);
        }
        return;
    }
    const __m256i r0 = _mm256_testz_si256(e0, e0) ? qk_finish32(c0, u[0], V, flags) : qk_slow(u[0], V, P);
    const __m256i r1 = _mm256_testz_si256(e1, e1) ? qk_finish32(c1, u[1], V, flags) : qk_slow(u[1], V, P);
    const __m256i r2 = _mm256_testz_si256(e2, e2) ? qk_finish32(c2, u[2], V, flags) : qk_slow(u[2], V, P);
    const __m256i r3 = _mm256_testz_si256(e3, e3) ? qk_finish32(c3, u[3], V, flags) : qk_slow(u[3], V, P);
    if (!wide) {
        out[0] = qk_order_u8(_mm256_packus_epi16(_mm256_packus_epi32(r0, r1), _mm256_packus_epi32(r2, r3)));
    } else {
        out[0] = qk_order_u16(_mm256_packus_epi32(r0, r1));
        out[1] = qk_order_u16(_mm256_packus_epi32(r2, r3));
    }
}

QK_SIMD_INLINE void qk_load(__m256i u[4], const float *in, uint32_t start, int range) {
    if (range) {
        const __m256i b = _mm256_set1_epi32((int32_t)start);
        u[0] = _mm256_add_epi32(b, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        u[1] = _mm256_add_epi32(b, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15));
        u[2] = _mm256_add_epi32(b, _mm256_setr_epi32(16, 17, 18, 19, 20, 21, 22, 23));
        u[3] = _mm256_add_epi32(b, _mm256_setr_epi32(24, 25, 26, 27, 28, 29, 30, 31));
    } else {
        u[0] = _mm256_loadu_si256((const __m256i *)in);
        u[1] = _mm256_loadu_si256((const __m256i *)(in + 8));
        u[2] = _mm256_loadu_si256((const __m256i *)(in + 16));
        u[3] = _mm256_loadu_si256((const __m256i *)(in + 24));
    }
}

QK_SIMD_INLINE void qk_store(void *out, const __m256i r[2], int wide, int nt) {
    if (nt) {
        _mm256_stream_si256((__m256i *)out, r[0]);
        if (wide) _mm256_stream_si256((__m256i *)out + 1, r[1]);
    } else {
        _mm256_storeu_si256((__m256i *)out, r[0]);
        if (wide) _mm256_storeu_si256((__m256i *)out + 1, r[1]);
    }
}

/// Fewer than 32 lanes through the same block code, via stack buffers.
QK_SIMD_INLINE void qk_partial(const float *in, uint32_t start, int range, void *out, int wide, size_t m,
                               const qk_vp *V, const qk_plan *P, int flags) {
    float buf[32];
    uint8_t ob[64];
    if (!range) {
        memset(buf, 0, sizeof buf);
        memcpy(buf, in, m * sizeof(float));
    }
    __m256i u[4], r[2];
    qk_load(u, buf, start, range);
    qk_block(u, r, V, P, flags, wide);
    qk_store(ob, r, wide, 0);
    memcpy(out, ob, m * (wide ? 2 : 1));
}

// Output streams at least this large bypass the caches (non-temporal stores): the caller will
// not read them back soon enough for them to still be cached, and streaming saves the
// read-for-ownership of every output line.
#ifndef QK_NT_BYTES
#define QK_NT_BYTES ((size_t)4 << 20)
#endif


// Software prefetch distance of the streaming loop's input (large calls only).
#ifndef QK_PREFETCH_BYTES
#define QK_PREFETCH_BYTES 2048
#endif

QK_SIMD_INLINE void qk_run(const float *in, uint32_t start, int range, void *out, int wide, size_t n,
                           const qk_plan *P, int flags) {
    const qk_vp V = qk_broadcast(P);
    const size_t osz = wide ? 2 : 1;
    uint8_t *o = (uint8_t *)out;
    size_t i = 0;
    int nt = !range && n * osz >= QK_NT_BYTES && ((uintptr_t)o % osz) == 0;
    if (nt) {
        // Align the output to 32 bytes for the streaming stores.
        size_t head = ((32 - ((uintptr_t)o & 31)) & 31) / osz;
        if (head > n) head = n;
        if (head) qk_partial(in, start, range, o, wide, head, &V, P, flags);
        i = head;
    }
    if (nt) {
        for (; i + 32 <= n; i += 32) {
            __m256i u[4], r[2];
            _mm_prefetch((const char *)(in + i) + QK_PREFETCH_BYTES, _MM_HINT_T0);
            _mm_prefetch((const char *)(in + i) + QK_PREFETCH_BYTES + 64, _MM_HINT_T0);
            qk_load(u, in + i, start + (uint32_t)i, range);
            qk_block(u, r, &V, P, flags, wide);
            qk_store(o + i * osz, r, wide, 1);
        }
        _mm_sfence();
    } else {
        for (; i + 32 <= n; i += 32) {
            __m256i u[4], r[2];
            qk_load(u, range ? 0 : in + i, start + (uint32_t)i, range);
            qk_block(u, r, &V, P, flags, wide);
            qk_store(o + i * osz, r, wide, 0);
        }
    }
    if (i < n) qk_partial(range ? 0 : in + i, start + (uint32_t)i, range, o + i * osz, wide, n - i, &V, P, flags);
}

#define QK_DEFINE_FAST(NAME, RANGE, WIDE)                                                           \
    QK_SIMD_FN static void NAME(const float *in, uint32_t start, void *out, size_t n, const qk_plan *P) { \
        switch (P->variant) {                                                                       \
        case QK_V_PLAIN: qk_run(in, start, RANGE, out, WIDE, n, P, 0); break;                       \
        case QK_V_PLAIN_NOLO: qk_run(in, start, RANGE, out, WIDE, n, P, QK_F_NOLO); break;          \
        case QK_V_FNUZ: qk_run(in, start, RANGE, out, WIDE, n, P, QK_F_FNUZ); break;                \
        case QK_V_FNUZ_NOLO: qk_run(in, start, RANGE, out, WIDE, n, P, QK_F_FNUZ | QK_F_NOLO); break; \
        case QK_V_KEY: qk_run(in, start, RANGE, out, WIDE, n, P, QK_F_KEY); break;                  \
        case QK_V_GENERIC: qk_run(in, start, RANGE, out, WIDE, n, P, QK_F_KEY | QK_F_CODE); break;  \
        default: qk_run(in, start, RANGE, out, WIDE, n, P, QK_F_KEY | QK_F_CODE | QK_F_DIR); break; \
        }                                                                                           \
    }
QK_DEFINE_FAST(fast_f32_u8, 0, 0)
QK_DEFINE_FAST(fast_f32_u16, 0, 1)
QK_DEFINE_FAST(fast_range_u8, 1, 0)
QK_DEFINE_FAST(fast_range_u16, 1, 1)

// MARK: - Arithmetic decode (the decode itself is in decode_arith.h, shared with the FP8 GEMV)

/// 32 8-bit codes -> out[0..31] (streaming stores when `nt`); returns the lanes above `lim`
/// (invalid codes) as non-zero bytes.
QK_SIMD_INLINE __m256i qk_dec32_u8(const uint8_t *c, float *out, __m256i lim, const qk_dvp *W, int mode, int nt) {
    const __m256i raw = _mm256_loadu_si256((const __m256i *)c);
    const __m128i lo = _mm256_castsi256_si128(raw), hi = _mm256_extracti128_si256(raw, 1);
    const __m256 r[4] = {qk_dec8(_mm256_cvtepu8_epi32(lo), W, mode),
                         qk_dec8(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)), W, mode),
                         qk_dec8(_mm256_cvtepu8_epi32(hi), W, mode),
                         qk_dec8(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)), W, mode)};
    for (int k = 0; k < 4; k++) {
        if (nt) _mm256_stream_ps(out + 8 * k, r[k]);
        else _mm256_storeu_ps(out + 8 * k, r[k]);
    }
    return _mm256_xor_si256(_mm256_max_epu8(raw, lim), lim);
}

QK_SIMD_INLINE size_t qk_dec_arith(const void *in, int wide, float *out, size_t n, const float *table,
                                   uint32_t count, const qk_dec_plan *D, uint32_t sign_bit, int mode) {
    const qk_dvp W = qk_dvp_init(D, sign_bit);
    __m256i bad = _mm256_setzero_si256();
    size_t i = 0;
    if (!wide) {
        const uint8_t *c8 = (const uint8_t *)in;
        const __m256i lim = _mm256_set1_epi8((char)(count >= 256 ? 255 : count - 1));
        // Large outputs (4 bytes per code) are streamed past the caches, as in the encode
        // loop: that saves the read-for-ownership of every output line, and the input is
        // prefetched ahead (the hardware prefetchers alone left a single core at about half
        // of memcpy bandwidth here).
        if (n * sizeof(float) >= QK_NT_BYTES && ((uintptr_t)out % sizeof(float)) == 0) {
            size_t head = ((32 - ((uintptr_t)out & 31)) & 31) / sizeof(float);
            if (head > n) head = n;
            const size_t r0 = dec_u8_portable(c8, out, head, table, count);
            if (r0 < head) return r0;  // the first invalid code
            for (i = head; i + 32 <= n; i += 32) {
                _mm_prefetch((const char *)(c8 + i) + QK_PREFETCH_BYTES, _MM_HINT_T0);
                bad = _mm256_or_si256(bad, qk_dec32_u8(c8 + i, out + i, lim, &W, mode, 1));
            }
            _mm_sfence();
        }
        for (; i + 32 <= n; i += 32) bad = _mm256_or_si256(bad, qk_dec32_u8(c8 + i, out + i, lim, &W, mode, 0));
    } else {
        const uint16_t *c16 = (const uint16_t *)in;
        const __m256i lim = _mm256_set1_epi16((short)(count >= 65536 ? 65535 : count - 1));
        for (; i + 16 <= n; i += 16) {
            const __m256i raw = _mm256_loadu_si256((const __m256i *)(c16 + i));
            bad = _mm256_or_si256(bad, _mm256_xor_si256(_mm256_max_epu16(raw, lim), lim));
            _mm256_storeu_ps(out + i, qk_dec8(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(raw)), &W, mode));
            _mm256_storeu_ps(out + i + 8, qk_dec8(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(raw, 1)), &W, mode));
        }
    }
    // The tail through the table, then the first invalid code if any.
    const size_t done = i;
    size_t r = wide ? dec_u16_portable((const uint16_t *)in + i, out + i, n - i, table, count) + i
                    : dec_u8_portable((const uint8_t *)in + i, out + i, n - i, table, count) + i;
    if (_mm256_testz_si256(bad, bad)) return r;
    for (size_t j = 0; j < done; j++) {
        const uint32_t c = wide ? ((const uint16_t *)in)[j] : ((const uint8_t *)in)[j];
        if (c >= count) return j;
    }
    return r;
}

#define QK_DEC_MODES(WIDE, IN)                                                                        \
    switch (qk_dec_mode(D)) {                                                                             \
    case 0: return qk_dec_arith(IN, WIDE, out, n, table, count, D, sb, 0);                                \
    case 1: return qk_dec_arith(IN, WIDE, out, n, table, count, D, sb, 1);                                \
    case 2: return qk_dec_arith(IN, WIDE, out, n, table, count, D, sb, 2);                                \
    case 3: return qk_dec_arith(IN, WIDE, out, n, table, count, D, sb, 3);                                \
    case 4: return qk_dec_arith(IN, WIDE, out, n, table, count, D, sb, 4);                                \
    case 5: return qk_dec_arith(IN, WIDE, out, n, table, count, D, sb, 5);                                \
    case 6: return qk_dec_arith(IN, WIDE, out, n, table, count, D, sb, 6);                                \
    default: return qk_dec_arith(IN, WIDE, out, n, table, count, D, sb, 7);                               \
    }
QK_SIMD_FN static size_t dec_arith_u8(const uint8_t *in, float *out, size_t n, const float *table, uint32_t count,
                                      const qk_dec_plan *D, uint32_t sb) {
    QK_DEC_MODES(0, in)
}
QK_SIMD_FN static size_t dec_arith_u16(const uint16_t *in, float *out, size_t n, const float *table, uint32_t count,
                                       const qk_dec_plan *D, uint32_t sb) {
    QK_DEC_MODES(1, in)
}
#endif

// MARK: - Entry points

int qk_uses_avx2(void) { return qk_has_simd(); }

int qk_impl_available(int impl) {
    switch (impl) {
    case QK_IMPL_AUTO: case QK_IMPL_PORTABLE: return 1;
    case QK_IMPL_AVX2_GENERIC: case QK_IMPL_AVX2: return qk_has_simd();
    default: return 0;
    }
}

// The encode entry points share one shape: input pointer or first pattern, output, count.
enum { QK_SRC_F32, QK_SRC_RANGE };

static int qk_encode_any(int impl, int src, const float *in, uint32_t start, void *out, int wide, size_t n,
                         const qk_encode_params *prm) {
    if (impl == QK_IMPL_AUTO) impl = qk_has_simd() ? QK_IMPL_AVX2 : QK_IMPL_PORTABLE;
    if (!qk_impl_available(impl)) return -1;
#if QK_SIMD
    if (impl == QK_IMPL_AVX2) {
        qk_plan P;
        if (qk_make_plan(prm, &P)) {
            if (src == QK_SRC_RANGE) {
                if (wide) fast_range_u16(0, start, out, n, &P);
                else fast_range_u8(0, start, out, n, &P);
            } else {
                if (wide) fast_f32_u16(in, 0, out, n, &P);
                else fast_f32_u8(in, 0, out, n, &P);
            }
            return QK_IMPL_AVX2;
        }
        impl = QK_IMPL_AVX2_GENERIC;
    }
    if (impl == QK_IMPL_AVX2_GENERIC) {
        if (src == QK_SRC_RANGE) {
            if (wide) range_u16_avx2(start, (uint16_t *)out, n, prm);
            else range_u8_avx2(start, (uint8_t *)out, n, prm);
        } else {
            if (wide) enc_f32_u16_avx2(in, (uint16_t *)out, n, prm);
            else enc_f32_u8_avx2(in, (uint8_t *)out, n, prm);
        }
        return QK_IMPL_AVX2_GENERIC;
    }
#endif
    if (src == QK_SRC_RANGE) {
        if (wide) range_u16_portable(start, (uint16_t *)out, n, prm);
        else range_u8_portable(start, (uint8_t *)out, n, prm);
    } else {
        if (wide) enc_f32_u16_portable(in, (uint16_t *)out, n, prm);
        else enc_f32_u8_portable(in, (uint8_t *)out, n, prm);
    }
    return QK_IMPL_PORTABLE;
}

void qk_encode_f32_u8(const float *in, uint8_t *out, size_t n, const qk_encode_params *prm) {
    qk_encode_any(QK_IMPL_AUTO, QK_SRC_F32, in, 0, out, 0, n, prm);
}
void qk_encode_f32_u16(const float *in, uint16_t *out, size_t n, const qk_encode_params *prm) {
    qk_encode_any(QK_IMPL_AUTO, QK_SRC_F32, in, 0, out, 1, n, prm);
}
void qk_encode_f32_range_u8(uint32_t start, uint8_t *out, size_t n, const qk_encode_params *prm) {
    qk_encode_any(QK_IMPL_AUTO, QK_SRC_RANGE, 0, start, out, 0, n, prm);
}
void qk_encode_f32_range_u16(uint32_t start, uint16_t *out, size_t n, const qk_encode_params *prm) {
    qk_encode_any(QK_IMPL_AUTO, QK_SRC_RANGE, 0, start, out, 1, n, prm);
}

int qk_encode_f32_u8_impl(int impl, const float *in, uint8_t *out, size_t n, const qk_encode_params *prm) {
    return qk_encode_any(impl, QK_SRC_F32, in, 0, out, 0, n, prm);
}
int qk_encode_f32_u16_impl(int impl, const float *in, uint16_t *out, size_t n, const qk_encode_params *prm) {
    return qk_encode_any(impl, QK_SRC_F32, in, 0, out, 1, n, prm);
}
int qk_encode_f32_range_u8_impl(int impl, uint32_t start, uint8_t *out, size_t n, const qk_encode_params *prm) {
    return qk_encode_any(impl, QK_SRC_RANGE, 0, start, out, 0, n, prm);
}
int qk_encode_f32_range_u16_impl(int impl, uint32_t start, uint16_t *out, size_t n, const qk_encode_params *prm) {
    return qk_encode_any(impl, QK_SRC_RANGE, 0, start, out, 1, n, prm);
}

int qk_fast_path_covers(const qk_encode_params *prm) {
#if QK_SIMD
    qk_plan P;
    return qk_make_plan(prm, &P);
#else
    (void)prm;
    return 0;
#endif
}

// Decode is one table load per element. Measured here, the plain loop beats AVX2 gathers, and
// streaming stores slowed it down: one loop for every machine.
size_t qk_decode_u8_f32(const uint8_t *in, float *out, size_t n, const float *table, uint32_t count) {
    return dec_u8_portable(in, out, n, table, count);
}
size_t qk_decode_u16_f32(const uint16_t *in, float *out, size_t n, const float *table, uint32_t count) {
    return dec_u16_portable(in, out, n, table, count);
}

int qk_decode_fast_path_covers(const qk_decode_params *dp) {
#if QK_SIMD
    qk_dec_plan D;
    return qk_has_simd() && qk_make_dec_plan(dp, &D);
#else
    (void)dp;
    return 0;
#endif
}

size_t qk_decode_u8_f32_format(const uint8_t *in, float *out, size_t n, const float *table, uint32_t count,
                               const qk_decode_params *dp) {
#if QK_SIMD
    qk_dec_plan D;
    if (qk_has_simd() && qk_make_dec_plan(dp, &D)) return dec_arith_u8(in, out, n, table, count, &D, dp->sign_bit);
#else
    (void)dp;
#endif
    return dec_u8_portable(in, out, n, table, count);
}
size_t qk_decode_u16_f32_format(const uint16_t *in, float *out, size_t n, const float *table, uint32_t count,
                                const qk_decode_params *dp) {
#if QK_SIMD
    qk_dec_plan D;
    if (qk_has_simd() && qk_make_dec_plan(dp, &D)) return dec_arith_u16(in, out, n, table, count, &D, dp->sign_bit);
#else
    (void)dp;
#endif
    return dec_u16_portable(in, out, n, table, count);
}
