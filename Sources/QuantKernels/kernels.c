#include "QuantKernels.h"
#include <string.h>

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
// vpsrlvd/vpsllvd under AVX2).
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
    }                                                                                             \
    ATTR static size_t dec_u8_##SUFFIX(const uint8_t *in, float *out, size_t n,                   \
                                       const float *table, uint32_t count) {                      \
        uint32_t worst = 0;                                                                       \
        for (size_t i = 0; i < n; i++) {                                                          \
            uint8_t c = in[i]; worst |= c >= count; out[i] = table[c < count ? c : 0];            \
        }                                                                                         \
        if (!worst) return n;                                                                     \
        for (size_t i = 0; i < n; i++) if (in[i] >= count) return i;                              \
        return n;                                                                                 \
    }                                                                                             \
    ATTR static size_t dec_u16_##SUFFIX(const uint16_t *in, float *out, size_t n,                 \
                                        const float *table, uint32_t count) {                     \
        uint32_t worst = 0;                                                                       \
        for (size_t i = 0; i < n; i++) {                                                          \
            uint16_t c = in[i]; worst |= c >= count; out[i] = table[c < count ? c : 0];           \
        }                                                                                         \
        if (!worst) return n;                                                                     \
        for (size_t i = 0; i < n; i++) if (in[i] >= count) return i;                              \
        return n;                                                                                 \
    }

QK_DEFINE_VARIANTS(portable, )
#if defined(__x86_64__)
QK_DEFINE_VARIANTS(avx2, __attribute__((target("avx2,fma,bmi2"))))
static int qk_avx2_state = -1;
static int have_avx2(void) {
    if (qk_avx2_state < 0) {
        __builtin_cpu_init();
        qk_avx2_state = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return qk_avx2_state;
}
#define DISPATCH(NAME, ...) do { if (have_avx2()) return NAME##_avx2(__VA_ARGS__); return NAME##_portable(__VA_ARGS__); } while (0)
#else
static int have_avx2(void) { return 0; }
#define DISPATCH(NAME, ...) return NAME##_portable(__VA_ARGS__)
#endif

int qk_uses_avx2(void) { return have_avx2(); }

void qk_encode_f32_u8(const float *in, uint8_t *out, size_t n, const qk_encode_params *prm) {
    DISPATCH(enc_f32_u8, in, out, n, prm);
}
void qk_encode_f32_u16(const float *in, uint16_t *out, size_t n, const qk_encode_params *prm) {
    DISPATCH(enc_f32_u16, in, out, n, prm);
}
void qk_encode_f32_range_u8(uint32_t start, uint8_t *out, size_t n, const qk_encode_params *prm) {
    DISPATCH(range_u8, start, out, n, prm);
}
void qk_encode_f32_range_u16(uint32_t start, uint16_t *out, size_t n, const qk_encode_params *prm) {
    DISPATCH(range_u16, start, out, n, prm);
}
size_t qk_decode_u8_f32(const uint8_t *in, float *out, size_t n, const float *table, uint32_t count) {
    DISPATCH(dec_u8, in, out, n, table, count);
}
size_t qk_decode_u16_f32(const uint16_t *in, float *out, size_t n, const float *table, uint32_t count) {
    DISPATCH(dec_u16, in, out, n, table, count);
}

size_t qk_find_mismatch_u8(const uint8_t *out, size_t n, uint8_t expected) {
    // Blocks of 64 compared with an OR-reduction vectorise well; the exact index is found
    // only inside a failing block.
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        uint8_t acc = 0;
        for (size_t j = 0; j < 64; j++) acc |= (uint8_t)(out[i + j] ^ expected);
        if (acc) break;
    }
    for (; i < n; i++) if (out[i] != expected) return i;
    return n;
}
size_t qk_find_mismatch_u16(const uint16_t *out, size_t n, uint16_t expected) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint16_t acc = 0;
        for (size_t j = 0; j < 32; j++) acc |= (uint16_t)(out[i + j] ^ expected);
        if (acc) break;
    }
    for (; i < n; i++) if (out[i] != expected) return i;
    return n;
}
