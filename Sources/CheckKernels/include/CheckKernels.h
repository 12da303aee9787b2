// Checker loops of the exhaustive sweep: comparison of a block of codes under test with the
// expected code. They belong to the verification side, not to the production kernels
// (QuantKernels), and share its CPU dispatch (CPUDispatch).
#ifndef QUANTCHECK_CHECK_KERNELS_H
#define QUANTCHECK_CHECK_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Index of the first element of out[0..<n] different from `expected`, or n.
size_t qk_find_mismatch_u8(const uint8_t *out, size_t n, uint8_t expected);
size_t qk_find_mismatch_u16(const uint16_t *out, size_t n, uint16_t expected);

#ifdef __cplusplus
}
#endif

#endif
