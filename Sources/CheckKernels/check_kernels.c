#include "CheckKernels.h"
#include "CPUDispatch.h"
#if QK_SIMD
#include <immintrin.h>
#endif

// Index of the first element of out[0..<n] different from `expected`, for each code width.
// Both widths scan 128-byte blocks (128 u8 or 64 u16 codes): blocks compared with an
// OR-reduction vectorise well, and the exact index is found only inside a failing block. The
// AVX2 variant XORs four 32-byte loads with the broadcast code and tests the OR for zero.
// One macro body per variant serves both widths, so they cannot drift apart.

#define QK_MISMATCH_PORTABLE(T)                                                               \
    static size_t mismatch_##T##_portable(const T *out, size_t n, T expected) {                 \
        const size_t block = 128 / sizeof(T);                                                   \
        size_t i = 0;                                                                           \
        for (; i + block <= n; i += block) {                                                    \
            T acc = 0;                                                                          \
            for (size_t j = 0; j < block; j++) acc |= (T)(out[i + j] ^ expected);               \
            if (acc) break;                                                                     \
        }                                                                                       \
        for (; i < n; i++) if (out[i] != expected) return i;                                    \
        return n;                                                                               \
    }

#define QK_MISMATCH_FAST(T, broadcast)                                                           \
    QK_SIMD_FN static size_t mismatch_##T##_fast(const T *out, size_t n, T expected) {          \
        const __m256i x = broadcast;                                                            \
        const size_t lane = 32 / sizeof(T);                                                     \
        size_t i = 0;                                                                           \
        for (; i + 4 * lane <= n; i += 4 * lane) {                                              \
            const __m256i d0 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(out + i)), x);            \
            const __m256i d1 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(out + i + lane)), x);     \
            const __m256i d2 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(out + i + 2 * lane)), x); \
            const __m256i d3 = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(out + i + 3 * lane)), x); \
            const __m256i d = _mm256_or_si256(_mm256_or_si256(d0, d1), _mm256_or_si256(d2, d3));              \
            if (!_mm256_testz_si256(d, d)) break;                                               \
        }                                                                                       \
        for (; i < n; i++) if (out[i] != expected) return i;                                    \
        return n;                                                                               \
    }

#if QK_SIMD
#define QK_MISMATCH_DISPATCH(T) if (qk_has_simd()) return mismatch_##T##_fast(out, n, expected);
#else
#define QK_MISMATCH_DISPATCH(T)
#endif

QK_MISMATCH_PORTABLE(uint8_t)
QK_MISMATCH_PORTABLE(uint16_t)
#if QK_SIMD
QK_MISMATCH_FAST(uint8_t, _mm256_set1_epi8((char)expected))
QK_MISMATCH_FAST(uint16_t, _mm256_set1_epi16((short)expected))
#endif

size_t qk_find_mismatch_u8(const uint8_t *out, size_t n, uint8_t expected) {
    QK_MISMATCH_DISPATCH(uint8_t)
    return mismatch_uint8_t_portable(out, n, expected);
}
size_t qk_find_mismatch_u16(const uint16_t *out, size_t n, uint16_t expected) {
    QK_MISMATCH_DISPATCH(uint16_t)
    return mismatch_uint16_t_portable(out, n, expected);
}
