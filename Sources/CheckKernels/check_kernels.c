#include "CheckKernels.h"
#include "CPUDispatch.h"
#if QK_SIMD
#include <immintrin.h>
#endif

// Index of the first element different from `expected`: blocks compared with an OR-reduction
// vectorise well; the exact index is found only inside a failing block.
static size_t mismatch_u8_portable(const uint8_t *out, size_t n, uint8_t expected) {
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        uint8_t acc = 0;
        for (size_t j = 0; j < 128; j++) acc |= (uint8_t)(out[i + j] ^ expected);
        if (acc) break;
    }
    for (; i < n; i++) if (out[i] != expected) return i;
    return n;
}
static size_t mismatch_u16_portable(const uint16_t *out, size_t n, uint16_t expected) {
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        uint16_t acc = 0;
        for (size_t j = 0; j < 64; j++) acc |= (uint16_t)(out[i + j] ^ expected);
        if (acc) break;
    }
    for (; i < n; i++) if (out[i] != expected) return i;
    return n;
}

#if QK_SIMD
QK_SIMD_FN static size_t mismatch_u8_fast(const uint8_t *out, size_t n, uint8_t expected) {
    const __m256i x = _mm256_set1_epi8((char)expected);
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        const __m256i d0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(out + i)), x);
        const __m256i d1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(out + i + 32)), x);
        const __m256i d2 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(out + i + 64)), x);
        const __m256i d3 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(out + i + 96)), x);
        const __m256i d = _mm256_or_si256(_mm256_or_si256(d0, d1), _mm256_or_si256(d2, d3));
        if (!_mm256_testz_si256(d, d)) break;
    }
    for (; i < n; i++) if (out[i] != expected) return i;
    return n;
}
QK_SIMD_FN static size_t mismatch_u16_fast(const uint16_t *out, size_t n, uint16_t expected) {
    const __m256i x = _mm256_set1_epi16((short)expected);
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m256i d0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(out + i)), x);
        const __m256i d1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(out + i + 16)), x);
        const __m256i d2 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(out + i + 32)), x);
        const __m256i d3 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(out + i + 48)), x);
        const __m256i d = _mm256_or_si256(_mm256_or_si256(d0, d1), _mm256_or_si256(d2, d3));
        if (!_mm256_testz_si256(d, d)) break;
    }
    for (; i < n; i++) if (out[i] != expected) return i;
    return n;
}
#endif

size_t qk_find_mismatch_u8(const uint8_t *out, size_t n, uint8_t expected) {
#if QK_SIMD
    if (qk_has_simd()) return mismatch_u8_fast(out, n, expected);
#endif
    return mismatch_u8_portable(out, n, expected);
}
size_t qk_find_mismatch_u16(const uint16_t *out, size_t n, uint16_t expected) {
#if QK_SIMD
    if (qk_has_simd()) return mismatch_u16_fast(out, n, expected);
#endif
    return mismatch_u16_portable(out, n, expected);
}
