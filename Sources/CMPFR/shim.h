#ifndef QUANTCHECK_CMPFR_SHIM_H
#define QUANTCHECK_CMPFR_SHIM_H
// GMP must come first: mpfr.h uses its types. Swift imports the functions only; the macros
// that MPFR defines as function-like macros (e.g. mpfr_sgn) are re-exported by the Oracle.
#include <stdio.h>
#include <gmp.h>
#include <mpfr.h>
#endif
