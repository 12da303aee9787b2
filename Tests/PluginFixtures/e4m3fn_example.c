/* e4m3fn_example.c — Float32 → OCP FP8 E4M3FN, round to nearest even, saturating, and back.
 * The README's "Check your own kernel" example:
 *
 *   cc -shared -fPIC -O2 -I Sources/QuantCheckPlugin/include -o libe4m3fn.so e4m3fn_example.c
 *   quantcheck conform --library ./libe4m3fn.so --format e4m3fn --mode sat
 */
#include <stdint.h>
#include <string.h>

#include "quantcheck_plugin.h"

static inline uint8_t encode_one(float x) {
    uint32_t bits, a;
    memcpy(&bits, &x, 4);
    uint8_t sign = (uint8_t)((bits >> 24) & 0x80);
    a = bits & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return sign | 0x7F;  /* NaN → the NaN of the same sign */
    if (a > 0x43E80000u) return sign | 0x7E;  /* above 464 (the tie 448|480), and ±inf → ±448 */
    if (a >= 0x3C800000u) {                   /* normal, |x| ≥ 2^-6: keep 3 of 23 mantissa bits */
        a += 0x7FFFFu + ((a >> 20) & 1u);     /* round half to even; a carry bumps the exponent */
        return sign | (uint8_t)((a >> 20) - (120u << 3));  /* rebias: 127 − 7 = 120 */
    }
    /* subnormal: adding 2^14 (ulp 2^-9, the E4M3FN quantum) lets the FPU round to the grid */
    float ax, y;
    memcpy(&ax, &a, 4);
    y = ax + 16384.0f;
    memcpy(&bits, &y, 4);
    return sign | (uint8_t)(bits - 0x46800000u);  /* 0 … 8 quanta; 8 is the smallest normal */
}

QUANTCHECK_EXPORT void f32_to_e4m3fn(const float *in, uint8_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = encode_one(in[i]);
}

QUANTCHECK_EXPORT void e4m3fn_to_f32(const uint8_t *in, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t s = (uint32_t)(in[i] & 0x80) << 24, m = in[i] & 0x7Fu, bits;
        if (m == 0x7F) {
            bits = s | 0x7FC00000u;                     /* NaN */
        } else if (m >= 8) {
            bits = s | ((m + (120u << 3)) << 20);       /* normal: rebias the exponent */
        } else {
            float v = (float)m * 0x1p-9f;               /* subnormal: m · 2^-9, exact */
            memcpy(&bits, &v, 4);
            bits |= s;
        }
        memcpy(&out[i], &bits, 4);
    }
}

QUANTCHECK_EXPORT const char *quantcheck_plugin_info(void) { return "e4m3fn_example 1.0 (scalar C)"; }
