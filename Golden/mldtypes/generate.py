#!/usr/bin/env python3
"""Generator of the ml_dtypes golden tables in Golden/mldtypes/<release>/ (provenance only).

NOT used by the build or by the tests: the Swift package never runs Python. This script records
how the checked-in text files were produced, so that anyone can regenerate and diff them. One
virtual environment per release (numpy pinned to the version the tables were made with):

    python3 -m venv .build/venv-mldtypes-0.6
    .build/venv-mldtypes-0.6/bin/pip install ml-dtypes==0.6.0 numpy==2.4.6
    python3 -m venv .build/venv-mldtypes-0.7
    .build/venv-mldtypes-0.7/bin/pip install ml-dtypes==0.7.0 numpy==2.4.6

    .build/venv-mldtypes-0.7/bin/python Golden/mldtypes/generate.py 0.7          # writes 0.7/
    .build/venv-mldtypes-0.7/bin/python Golden/mldtypes/generate.py 0.7 --check  # diffs 0.7/
    .build/venv-mldtypes-0.7/bin/python Golden/mldtypes/generate.py 0.7 --verify # more inputs
    .build/venv-mldtypes-0.6/bin/python Golden/mldtypes/generate.py 0.6 \
        --diff-release .build/venv-mldtypes-0.7/bin/python     # 0.6 vs 0.7, release against release

The release argument must match the installed ml_dtypes (checked). What it does, for every
target format T and input type I (float32, float64, float16, and bfloat16 where it differs from
float32):
  1. builds the input list (bfloat16-representable float32 sweep, every adjacent-code midpoint
     with neighbours, specials, seeded random doubles — see README.md "Golden data"); the list
     does not depend on the release, so the tables of two releases hold the same inputs;
  2. converts it with numpy `astype(T)` (the installed ml_dtypes) and records the output codes;
  3. recomputes every code with an independent exact model of that release's rules written in
     README.md ("ml_dtypes profile rules", integer arithmetic only, no ml_dtypes/numpy
     rounding) and fails if a single code differs — so the README rules are checked against
     every golden line;
  4. recomputes every code with the exact OCP reference (RNE, round first then range-check,
     ties to even code, Float64 rounded directly) and tallies where and why ml_dtypes differs.
"""

import argparse
import math
import os
import random
import struct
import subprocess
import sys
from collections import Counter, namedtuple

import numpy as np
import ml_dtypes

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20260901  # fixed: the tables must be bit-identical on every run

# What distinguishes the releases' `astype` (README "What changed in 0.7.0"), as data; the same
# two facts are `MLDtypesRelease` in Sources/Formats/ProfileRules.swift.
#   f64_via_f32: ml_dtypes' own casts round a float64 to float32 first (rule 1).
#   e8m0_subnormal_up: float32 subnormals into float8_e8m0fnu take ConvertImpl's target-subnormal
#     path: x <= 2^-127 -> 0x00, x > 2^-127 -> 0x01 (rule 5); otherwise they round on the grid
#     {2^-127, 2^-126} like any other binade (ties up, as everywhere in e8m0fnu).
Release = namedtuple("Release", "version numpy f64_via_f32 e8m0_subnormal_up")
RELEASES = {
    "0.6": Release("0.6.0", "2.4.6", f64_via_f32=True, e8m0_subnormal_up=True),
    "0.7": Release("0.7.0", "2.4.6", f64_via_f32=False, e8m0_subnormal_up=False),
}


# ---------------------------------------------------------------------------------------------
# Format descriptors (mirror of Sources/Formats/Registry.swift)
# ---------------------------------------------------------------------------------------------

class Fmt:
    def __init__(self, name, dtype, E, M, bias, signed=True, inf="none", nan="none", sub=True):
        self.name, self.dtype, self.E, self.M, self.bias = name, dtype, E, M, bias
        self.signed, self.inf, self.nan, self.sub = signed, inf, nan, sub
        self.bits = (1 if signed else 0) + E + M
        self.sign_mask = (1 << (E + M)) if signed else 0
        self.mag_mask = (1 << (E + M)) - 1
        self.max_e = (1 << E) - 1
        self.hex_digits = 2 if self.bits <= 8 else 4
        # largest finite magnitude code
        if self.inf == "ieee" or self.nan == "ieee":
            self.max_code = ((self.max_e - 1) << M) | ((1 << M) - 1)
        elif self.nan == "allOnes":
            self.max_code = self.mag_mask - 1
        else:
            self.max_code = self.mag_mask
        assert self.classify(self.max_code) not in ("nan", "inf")

    def classify(self, code):
        mag = code & self.mag_mask
        e, m = mag >> self.M, mag & ((1 << self.M) - 1)
        if self.nan == "ieee" and e == self.max_e and m != 0:
            return "nan"
        if self.nan == "allOnes" and mag == self.mag_mask:
            return "nan"
        if self.nan == "negativeZero" and code == self.sign_mask:
            return "nan"
        if self.inf == "ieee" and e == self.max_e and m == 0:
            return "inf"
        if not self.sub:
            return "normal"
        if e == 0:
            return "zero" if m == 0 else "subnormal"
        return "normal"

    def value(self, code):
        """Exact finite value as (negative, significand, exponent): (-1)^s * sig * 2^exp."""
        k = self.classify(code)
        assert k not in ("nan", "inf")
        neg = bool(code & self.sign_mask)
        mag = code & self.mag_mask
        e, m = mag >> self.M, mag & ((1 << self.M) - 1)
        if k in ("zero", "subnormal"):
            return neg, m, 1 - self.bias - self.M
        return neg, (1 << self.M) | m, e - self.bias - self.M

    def canonical_nan(self, neg):
        s = self.sign_mask if (neg and self.signed) else 0
        if self.nan == "none":
            return None
        if self.nan == "negativeZero":
            return self.sign_mask
        if self.nan == "allOnes":
            return s | self.mag_mask
        return s | (self.max_e << self.M) | (1 << (self.M - 1))

    def inf_code(self, neg):
        if self.inf != "ieee":
            return None
        return (self.sign_mask if neg else 0) | (self.max_e << self.M)

    def zero_code(self, neg):
        if not self.sub:
            return None
        has_neg_zero = self.signed and self.nan != "negativeZero"
        return self.sign_mask if (neg and has_neg_zero) else 0

    def max_finite(self, neg):
        return (self.sign_mask if (neg and self.signed) else 0) | self.max_code


FORMATS = [
    Fmt("e4m3fn", ml_dtypes.float8_e4m3fn, 4, 3, 7, inf="none", nan="allOnes"),
    Fmt("e5m2", ml_dtypes.float8_e5m2, 5, 2, 15, inf="ieee", nan="ieee"),
    Fmt("e4m3fnuz", ml_dtypes.float8_e4m3fnuz, 4, 3, 8, nan="negativeZero"),
    Fmt("e5m2fnuz", ml_dtypes.float8_e5m2fnuz, 5, 2, 16, nan="negativeZero"),
    Fmt("e4m3b11fnuz", ml_dtypes.float8_e4m3b11fnuz, 4, 3, 11, nan="negativeZero"),
    Fmt("e4m3", ml_dtypes.float8_e4m3, 4, 3, 7, inf="ieee", nan="ieee"),
    Fmt("e3m4", ml_dtypes.float8_e3m4, 3, 4, 3, inf="ieee", nan="ieee"),
    Fmt("e8m0fnu", ml_dtypes.float8_e8m0fnu, 8, 0, 127, signed=False, nan="allOnes", sub=False),
    Fmt("e2m3fn", ml_dtypes.float6_e2m3fn, 2, 3, 1),
    Fmt("e3m2fn", ml_dtypes.float6_e3m2fn, 3, 2, 3),
    Fmt("e2m1fn", ml_dtypes.float4_e2m1fn, 2, 1, 1),
    Fmt("binary16", np.float16, 5, 10, 15, inf="ieee", nan="ieee"),
    Fmt("bfloat16", ml_dtypes.bfloat16, 8, 7, 127, inf="ieee", nan="ieee"),
]
BINARY32 = Fmt("binary32", np.float32, 8, 23, 127, inf="ieee", nan="ieee")
BINARY64 = Fmt("binary64", np.float64, 11, 52, 1023, inf="ieee", nan="ieee")
BINARY16_IN = FORMATS[11]


# ---------------------------------------------------------------------------------------------
# Exact rounding (integers only)
# ---------------------------------------------------------------------------------------------

def unpack(fmt, bits):
    """Input bits of an IEEE format -> ('nan', neg, payload) | ('inf', neg) | ('zero', neg)
    | ('finite', neg, sig, exp)."""
    neg = bool(bits >> (fmt.E + fmt.M))
    e = (bits >> fmt.M) & fmt.max_e
    m = bits & ((1 << fmt.M) - 1)
    if e == fmt.max_e:
        return ("nan", neg, m) if m else ("inf", neg)
    if e == 0:
        return ("finite", neg, m, 1 - fmt.bias - fmt.M) if m else ("zero", neg)
    return ("finite", neg, (1 << fmt.M) | m, e - fmt.bias - fmt.M)


def rne_shift(sig, shift):
    """round(sig / 2^shift) to nearest, ties to even (shift may be <= 0)."""
    if shift <= 0:
        return sig << -shift
    q, r = sig >> shift, sig & ((1 << shift) - 1)
    half = 1 << (shift - 1)
    if r > half or (r == half and (q & 1)):
        q += 1
    return q


def round_magnitude(fmt, sig, exp):
    """RNE of sig*2^exp (> 0) onto the grid of `fmt` with an unbounded exponent (subnormal
    quantum fixed below the normal range). Returns ('zero',) | ('overflow',) | ('code', mag)."""
    top = exp + sig.bit_length() - 1  # floor(log2 x)
    qe = max(top - fmt.M, 1 - fmt.bias - fmt.M)
    n = rne_shift(sig, qe - exp)
    if n == 0:
        return ("zero",)
    if n == 1 << (fmt.M + 1):  # carry into the next binade
        n, qe = n >> 1, qe + 1
    if n < (1 << fmt.M):
        mag = n  # subnormal
    else:
        biased = qe + fmt.M + fmt.bias
        if biased > fmt.max_e:
            return ("overflow",)
        mag = (biased << fmt.M) | (n - (1 << fmt.M))
    if mag > fmt.max_code:
        return ("overflow",)
    return ("code", mag)


def e8m0_ocp_magnitude(sig, exp):
    """OCP RNE onto {2^k : -127 <= k <= 127}, ties to the even biased exponent; values below
    2^-127 give 2^-127 (the format has no zero). Returns code or None for overflow."""
    top = exp + sig.bit_length() - 1
    if top < -127:
        return 0x00
    # x in [2^top, 2^(top+1)): compare with the midpoint 1.5 * 2^top, i.e. the bit below the MSB
    lower = top + 127
    frac_bits = sig.bit_length() - 1
    rest = sig - (1 << frac_bits)  # x = 2^top * (1 + rest/2^frac_bits)
    half = 1 << (frac_bits - 1) if frac_bits > 0 else None
    if half is None or rest < half:
        k = lower
    elif rest > half:
        k = lower + 1
    else:
        k = lower if lower % 2 == 0 else lower + 1
    return k if k <= 254 else None


# ---------------------------------------------------------------------------------------------
# The models: OCP reference and the ml_dtypes profiles per release (README rules)
# ---------------------------------------------------------------------------------------------

def ocp_special(fmt, kind, neg):
    """NaN, infinity and zero inputs under OCP RNE/NONSAT (Sources/Formats/SpecialValues.swift)."""
    if kind == "nan":
        n = fmt.canonical_nan(neg)
        return n if n is not None else fmt.zero_code(neg)  # OCP: NaN -> zero of the NaN's sign
    if kind == "inf":
        if neg and not fmt.signed:
            return fmt.canonical_nan(True)
        if fmt.inf == "none" and fmt.nan == "none":
            return fmt.max_finite(neg)
        i = fmt.inf_code(neg)
        return i if i is not None else fmt.canonical_nan(neg)
    z = fmt.zero_code(neg)
    return z if z is not None else fmt.canonical_nan(neg)


def ocp_encode(fmt, u):
    """Exact OCP conversion of an unpacked input (any precision, no intermediate rounding)."""
    kind = u[0]
    if kind != "finite":
        return ocp_special(fmt, kind, u[1])
    _, neg, sig, exp = u
    if not fmt.signed:  # E8M0FNU
        if neg:
            return fmt.canonical_nan(True)
        c = e8m0_ocp_magnitude(sig, exp)
        return c if c is not None else fmt.canonical_nan(False)
    r = round_magnitude(fmt, sig, exp)
    if r[0] == "zero":
        return fmt.zero_code(neg)
    if r[0] == "overflow":
        if fmt.inf == "none" and fmt.nan == "none":
            return fmt.max_finite(neg)
        i = fmt.inf_code(neg)
        return i if i is not None else fmt.canonical_nan(neg)
    return (fmt.sign_mask if neg else 0) | r[1]


def to_binary32_bits(u):
    """Rule 1: IEEE RNE of an unpacked binary64 value to binary32 bits (NaN: sign kept, quiet,
    top 23 payload bits kept — only the sign matters to the narrow targets)."""
    kind = u[0]
    if kind == "nan":
        _, neg, payload = u
        return (0x80000000 if neg else 0) | 0x7FC00000 | (payload >> 29)
    return ocp_encode(BINARY32, u)


def e8m0_ties_up_magnitude(sig, exp):
    """ml_dtypes' e8m0fnu rounding of a positive finite sig*2^exp: nearest power of two, exact
    ties 1.5*2^k up (RoundBitsToNearestEven's tie bit is the implicit 1: rule 5); below 2^-127
    the only candidate 2^-127 (0x00); 0xFF (NaN) beyond 2^127."""
    top = exp + sig.bit_length() - 1
    if top < -127:
        return 0x00
    frac_bits = sig.bit_length() - 1
    rest = sig - (1 << frac_bits)
    k = top + 127 + (1 if frac_bits > 0 and rest >= 1 << (frac_bits - 1) else 0)
    return k if k <= 0xFE else 0xFF


def ml_e8m0_from_f32(bits, rel):
    """Rule 5: ml_dtypes float32 -> float8_e8m0fnu."""
    if bits & 0x80000000:
        return 0xFF  # negatives, -0, -Inf, -NaN
    e, f = bits >> 23, bits & 0x7FFFFF
    if e == 0xFF or bits == 0:
        return 0xFF  # +Inf, NaN, +0
    if e == 0 and rel.e8m0_subnormal_up:  # 0.6: x <= 2^-127 -> 2^-127, otherwise 2^-126
        return 0x00 if f <= 0x400000 else 0x01
    return e8m0_ties_up_magnitude(*unpack(BINARY32, bits)[2:])


def ml_encode(fmt, u):
    """An ml_dtypes cast (`ConvertImpl`) of an unpacked value straight into `fmt`, every target
    but binary16 and e8m0fnu-from-float32-subnormals (rules 3-5): the OCP rule, except NaN into
    FP6/FP4 (zero of the opposite sign) and e8m0fnu's ties."""
    if fmt.name == "e8m0fnu":
        return 0xFF if u[0] != "finite" or u[1] else e8m0_ties_up_magnitude(u[2], u[3])
    if u[0] == "nan":
        return fmt.zero_code(not u[1]) if fmt.nan == "none" else fmt.canonical_nan(u[1])
    return ocp_encode(fmt, u)


def ml_from_f32(fmt, bits, rel):
    """ml_dtypes / numpy astype from float32 (rules 2-6)."""
    if fmt.name == "e8m0fnu":
        return ml_e8m0_from_f32(bits, rel)
    u = unpack(BINARY32, bits)
    if u[0] == "nan" and fmt.name == "binary16":  # rule 6: numpy keeps the payload's top bits
        p = u[2] >> 13
        return (0x8000 if u[1] else 0) | 0x7C00 | (p if p else 1)
    return ml_encode(fmt, u)


def ml_from_f64(fmt, bits, rel):
    u = unpack(BINARY64, bits)
    if fmt.name == "binary16":  # rule 6: numpy's own float64 -> float16, direct
        if u[0] == "nan":
            p = u[2] >> 42
            return (0x8000 if u[1] else 0) | 0x7C00 | (p if p else 1)
        return ocp_encode(fmt, u)
    if rel.f64_via_f32:  # rule 1 (0.6): through float32
        return ml_from_f32(fmt, to_binary32_bits(u), rel)
    return ml_encode(fmt, u)  # 0.7: rounded once, from the exact double


def ml_from_f16(fmt, bits, rel):
    if fmt.name == "binary16":
        return bits  # same dtype: astype copies
    u = unpack(BINARY16_IN, bits)
    if u[0] == "nan":  # exact widening keeps the payload (shifted up 13 bits)
        return ml_from_f32(fmt, (0x80000000 if u[1] else 0) | 0x7F800000 | (u[2] << 13), rel)
    return ml_from_f32(fmt, f32_bits_of_unpacked(u), rel)


def ml_from_bf16(fmt, bits, rel):
    if fmt.name == "bfloat16":
        return bits
    if fmt.name == "binary16":  # rule 6: ml_dtypes' own cast, Eigen canonical NaN 0x7E00
        u = unpack(FORMATS[12], bits)
        if u[0] == "nan":
            return (0x8000 if u[1] else 0) | 0x7E00
    return ml_from_f32(fmt, bits << 16, rel)


def f32_bits_of_unpacked(u):
    return to_binary32_bits(u)  # exact for float16 inputs


def ocp_from(fmt, in_fmt, bits):
    return ocp_encode(fmt, unpack(in_fmt, bits))


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------

def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def f64_from_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def exact_double(neg, sig, exp):
    x = math.ldexp(sig, exp)
    assert int(x) == sig * 2 ** exp if exp >= 0 else x * 2.0 ** -exp == sig or exp < -1000
    return -x if neg else x


def finite_codes_sorted(fmt):
    """Positive finite codes in increasing value, then each adjacent pair (lo, hi)."""
    codes = [c for c in range(fmt.mag_mask + 1) if fmt.classify(c) not in ("nan", "inf")]
    codes.sort(key=lambda c: exact_double(*fmt.value(c)))
    return codes


def selected_pairs(fmt, codes, sparse=False):
    """All adjacent pairs for the narrow formats; a structured sample for binary16/bfloat16:
    the first/last 16 subnormal pairs, the pairs starting at mantissa 0, 1, max-1, max of every
    binade, and a deterministic 1-in-61 sample (`sparse`: first/last 8 subnormal pairs,
    mantissa 0 and max, 1-in-61)."""
    pairs = list(zip(codes, codes[1:]))
    if fmt.bits <= 8:
        return pairs
    mmax = (1 << fmt.M) - 1
    edge, ends = (8, (0, mmax)) if sparse else (16, (0, 1, mmax - 1, mmax))
    keep = []
    for lo, hi in pairs:
        e, m = lo >> fmt.M, lo & mmax
        if (e == 0 and (m < edge or m > mmax - edge)) or m in ends or \
                (lo * 2654435761) % 61 == 0:
            keep.append((lo, hi))
    return keep


def midpoint(fmt, lo, hi):
    _, s1, e1 = fmt.value(lo)
    _, s2, e2 = fmt.value(hi)
    e = min(e1, e2)
    return (s1 << (e1 - e)) + (s2 << (e2 - e)), e - 1  # (lo + hi) / 2 = sig * 2^(e - 1)


def top_boundary(fmt):
    """The first value beyond max finite on the unbounded grid, as (sig, exp) of the midpoint
    between max and that value (the overflow rounding boundary)."""
    _, s, e = fmt.value(fmt.max_code)
    if fmt.M == 0:
        return 3, e - 1  # 1.5 * 2^127
    return 2 * s + 1, e - 1


def f32_probes(fmt):
    """Probes: each midpoint (exact in float32), +-1, +-2 float32 steps, both signs."""
    out = set()
    codes = finite_codes_sorted(fmt)
    mids = [midpoint(fmt, lo, hi) for lo, hi in selected_pairs(fmt, codes)]
    mids.append(top_boundary(fmt))
    if fmt.name == "e8m0fnu":
        mids += [(1, -128), (3, -129), (1, -127), (3, -128)]  # below the smallest code
    for sig, e in mids:
        b = f32_bits(exact_double(False, sig, e))
        assert exact_double(False, sig, e) == struct.unpack("<f", struct.pack("<I", b))[0]
        for d in range(-2, 3):
            p = b + d
            if 0 <= p < 0x7F800000:
                out.add(p)
                if fmt.signed or fmt.name == "e8m0fnu":
                    out.add(p | 0x80000000)
    specials = [0, 0x80000000, 1, 0x80000001, 0x007FFFFF, 0x00800000, 0x80800000, 0x3F800000,
                0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000,
                0x7F800001, 0xFF800001, 0x7FA00000, 0x7FFFFFFF, 0xFFFFFFFF, 0x7F802000,
                0x7F801000, 0x7F800FFF, 0x7FBFFFFF, 0x00400000, 0x00400001, 0x00600000,
                0x00200000, 0x003FFFFF]
    out.update(specials)
    return sorted(out)


def f64_probes(fmt, rng):
    out = set()
    codes = finite_codes_sorted(fmt)
    wide = fmt.bits > 8
    mids = [midpoint(fmt, lo, hi) for lo, hi in selected_pairs(fmt, codes, sparse=wide)]
    mids.append(top_boundary(fmt))
    if fmt.name == "e8m0fnu":
        mids += [(1, -128), (3, -129), (1, -127), (3, -128)]
    for sig, e in mids:
        m = exact_double(False, sig, e)
        b = f64_bits(m)
        m32 = f32_bits(m)
        ulp32 = struct.unpack("<f", struct.pack("<I", m32 + 1))[0] - m
        h = f64_bits(m + ulp32 / 2)
        lo_h = f64_bits(m - (struct.unpack("<f", struct.pack("<I", m32))[0]
                             - struct.unpack("<f", struct.pack("<I", m32 - 1))[0]) / 2)
        if wide:
            cands = [b - 1, b, b + 1, h, lo_h]
        else:
            cands = [b + d for d in range(-2, 3)] + [h - 1, h, h + 1, lo_h - 1, lo_h, lo_h + 1]
        for p in cands:
            if 0 < p < 0x7FF0000000000000:
                out.add(p)
                out.add(p | 0x8000000000000000)
    # Specials and the float32 range edges (the float64 -> float32 step of rule 1).
    flt_max = 0x47EFFFFFE0000000
    specials = [0, 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000,
                0xFFF8000000000000, 0x7FF0000000000001, 0xFFF0000000000001, 0x7FF4000000000000,
                0x7FFFFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF, 1, (1 << 63) | 1,
                0x0010000000000000, flt_max, flt_max + 1, 0x47EFFFFFF0000000 - 1,
                0x47EFFFFFF0000000, 0x47EFFFFFF0000000 + 1, 0x47F0000000000000,
                f64_bits(2.0 ** -149), f64_bits(2.0 ** -150), f64_bits(2.0 ** -150) + 1,
                f64_bits(3 * 2.0 ** -151), f64_bits(1e-50), f64_bits(-1e-50), f64_bits(1e39),
                f64_bits(-431.99999999999994), f64_bits(431.99999999999994),
                f64_bits(1 + 2.0 ** -8 + 2.0 ** -40), f64_bits(1 + 2.0 ** -11 + 2.0 ** -40),
                f64_bits(1.0)]
    out.update(specials)
    # Seeded random doubles: 1000 over the whole exponent range, 1000 around the format's range.
    lo_exp = 1 - fmt.bias - fmt.M - 4
    hi_exp = lo_exp + 4 + (fmt.max_e + 1) + fmt.M + 6
    for _ in range(1000):
        out.add(rng.getrandbits(64) & ~(0x7FF << 52) | (rng.randrange(0, 2047) << 52))
    for _ in range(1000):
        e = rng.randint(lo_exp, hi_exp)
        out.add((rng.getrandbits(1) << 63) | ((e + 1023) << 52) | rng.getrandbits(52))
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# ml_dtypes calls and table writing
# ---------------------------------------------------------------------------------------------

def run_ml(fmt, in_dtype, bits_list, uint_in):
    a = np.array(bits_list, dtype=uint_in).view(in_dtype)
    with np.errstate(all="ignore"):
        r = a.astype(fmt.dtype)
    out_u = np.uint8 if r.dtype.itemsize == 1 else np.uint16
    return [int(v) for v in r.view(out_u)]


def runs(inputs, codes, step):
    """Greedy run-length/interval encoding: (lo, hi, step, code, delta)."""
    out, i, n = [], 0, len(inputs)
    while i < n:
        j = i + 1
        delta = 0
        if j < n and inputs[j] == inputs[i] + step and codes[j] >= codes[i]:
            delta = codes[j] - codes[i]
        while j < n and inputs[j] == inputs[i] + (j - i) * step and \
                codes[j] == codes[i] + (j - i) * delta:
            j += 1
        out.append((inputs[i], inputs[j - 1], step, codes[i], delta))
        i = j
    return out


def header(fmt, input_name, what):
    return [
        f"# ml_dtypes {ml_dtypes.__version__} / numpy {np.__version__}: "
        f"numpy.ndarray.astype({input_name} -> {fmt.dtype.__name__})",
        f"# target {fmt.name}  input {input_name}  ({what})",
        "# R <lo> <hi> <step> <code> <delta>: inputs lo, lo+step, ..., hi (bit patterns, hex);",
        "#   the i-th input (from 0) gives code + i*delta",
        "# P <input> <code>: one probe",
        "# Generated by Golden/mldtypes/generate.py (provenance only; not used by build/tests).",
    ]


def fmt_hex(v, digits):
    return format(v, "0%dX" % digits)


def write_table(path, lines, check):
    text = "\n".join(lines) + "\n"
    if check:
        with open(path) as f:
            if f.read() != text:
                raise SystemExit(f"MISMATCH: {path} differs from a fresh generation")
        return len(text)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return len(text)


def verify(kind, fmt, inputs, got, model):
    bad = [(x, g, model(fmt, x)) for x, g in zip(inputs, got) if model(fmt, x) != g]
    if bad:
        for x, g, m in bad[:20]:
            print(f"  RULE MISMATCH {fmt.name} {kind} input {x:X}: ml_dtypes {g:X} model {m:X}")
        raise SystemExit(f"README rules do not reproduce ml_dtypes for {fmt.name} {kind}")


def explain_value(fmt, u, rel, f32=None):
    """The documented difference class of a value (unpacked; `f32`: its float32 bits when the
    input was a float32) on which ml_dtypes and OCP differ."""
    if u[0] == "nan":
        if fmt.nan == "none":
            return "nan-to-opposite-zero"
        if fmt.name == "binary16":
            return "f16-nan-payload"
    if fmt.name == "e8m0fnu" and u[0] == "finite" and not u[1]:
        if f32 is not None and rel.e8m0_subnormal_up and f32 >> 23 == 0 and \
                0x400000 < (f32 & 0x7FFFFF) <= 0x600000:
            return "e8m0-subnormal-up"  # (2^-127, 1.5*2^-127]
        sig, exp = u[2], u[3]
        while sig % 2 == 0:
            sig, exp = sig >> 1, exp + 1
        lower = exp + 1 + 127  # x = 3 * 2^exp = 1.5 * 2^(exp+1)
        if sig == 3 and 0 <= lower <= 0xFE and lower % 2 == 0:  # OCP keeps the even code
            return "e8m0-tie-up"
    return "UNEXPLAINED"


def explain(fmt, in_fmt, bits, rel):
    """Precedence: a float64 input whose OCP result changes when it is first rounded to
    float32 is a rule-1 difference (0.6 only); every other difference is judged on the float32
    value the input becomes (0.6) or on the input itself (0.7)."""
    if in_fmt is BINARY64 and fmt.name != "binary16":
        u = unpack(BINARY64, bits)
        if not rel.f64_via_f32:
            return explain_value(fmt, u, rel)
        f32 = to_binary32_bits(u)
        if ocp_encode(fmt, u) != ocp_encode(fmt, unpack(BINARY32, f32)):
            return "f64-via-f32"
        return explain_value(fmt, unpack(BINARY32, f32), rel, f32)
    if in_fmt is BINARY64:  # binary16 target: numpy converts directly
        u = unpack(BINARY64, bits)
        return "f16-nan-payload" if u[0] == "nan" else "UNEXPLAINED"
    if in_fmt is BINARY16_IN:
        u = unpack(BINARY16_IN, bits)
        if u[0] == "nan" and fmt.name == "binary16":
            return "f16-nan-payload"  # same-dtype astype copies the payload
        f32 = to_binary32_bits(u)
        return explain_value(fmt, unpack(BINARY32, f32), rel, f32)
    return explain_value(fmt, unpack(BINARY32, bits), rel, bits)


# ---------------------------------------------------------------------------------------------
# --verify: the same rules, vectorised, against ml_dtypes on far more inputs than are stored
# ---------------------------------------------------------------------------------------------

def vec_ml_from_f32(fmt, bits, rel):
    """Vectorised ml_from_f32 (rules 2-6) over a uint32 array; int64 codes."""
    b = bits.astype(np.int64)
    neg = (b >> 31) & 1
    e = (b >> 23) & 0xFF
    f = b & 0x7FFFFF
    if fmt.name == "e8m0fnu":
        code = np.where(f < 0x400000, e, e + 1)
        code = np.where(code > 0xFE, 0xFF, code)
        # float32 subnormals: 0.6 -> 0x01 above 2^-127; 0.7 -> the grid {2^-127, 2^-126},
        # the tie 1.5*2^-127 up
        edge = 0x400000 if rel.e8m0_subnormal_up else 0x5FFFFF
        code = np.where(e == 0, np.where(f <= edge, 0x00, 0x01), code)
        bad = (neg == 1) | (e == 0xFF) | (b == 0)
        return np.where(bad, 0xFF, code)
    M, bias = fmt.M, fmt.bias
    sig = np.where(e == 0, f, f | 0x800000)
    exp = np.where(e == 0, -149, e - 150)
    bl = np.floor(np.log2(np.maximum(sig, 1).astype(np.float64))).astype(np.int64) + 1
    top = exp + bl - 1
    qe = np.maximum(top - M, 1 - bias - M)
    shift = np.minimum(qe - exp, 40)
    assert (shift >= 0).all()
    q = sig >> shift
    r = sig & ((np.int64(1) << shift) - 1)
    half = (np.int64(1) << shift) >> 1
    up = (shift > 0) & ((r > half) | ((r == half) & ((q & 1) == 1)))
    n = q + up
    carry = n == (1 << (M + 1))
    n = np.where(carry, n >> 1, n)
    qe = qe + carry
    sub = n < (1 << M)
    biased = qe + M + bias
    mag = np.where(sub, n, (biased << M) | (n - (1 << M)))
    overflow = ~sub & ((biased > fmt.max_e) | (mag > fmt.max_code))
    s = neg * fmt.sign_mask

    def per_sign(fn):
        return np.where(neg == 1, fn(True), fn(False))

    if fmt.inf == "ieee":
        ovf = per_sign(fmt.inf_code)
    elif fmt.nan == "none":
        ovf = per_sign(fmt.max_finite)
    else:
        ovf = per_sign(fmt.canonical_nan)
    zero = per_sign(fmt.zero_code)
    if fmt.nan == "none":
        nan = np.where(neg == 1, fmt.zero_code(False), fmt.zero_code(True))
    elif fmt.name == "binary16":
        p = f >> 13
        nan = neg * 0x8000 | 0x7C00 | np.where(p == 0, 1, p)
    else:
        nan = per_sign(fmt.canonical_nan)
    code = np.where(overflow, ovf, np.where(n == 0, zero, s | mag))
    code = np.where(e == 0xFF, np.where(f == 0, ovf, nan), code)  # +-Inf behaves as overflow
    return np.where(b & 0x7FFFFFFF == 0, zero, code)


def f32_chunks(fmt, exhaustive, n_random, rng):
    """The float32 inputs of --verify and --diff-release, as uint32 arrays of up to 2^24.
    Exhaustive: chunk c = the 2^24 patterns whose top byte (sign + 7 exponent bits) is c;
    e8m0fnu: all 2^32; others: every chunk from two binades below the smallest subnormal to
    two above max finite, plus the zero/subnormal and Inf/NaN chunks — outside that window the
    code is constant (±0 or overflow), which the random inputs cover. Otherwise random."""
    if fmt.name in exhaustive:
        lo_e = max(0, 127 + (1 - fmt.bias - fmt.M) - 2)
        hi_e = min(255, 127 + (fmt.max_e - fmt.bias) + 2)
        window = [c for c in range(256) if fmt.name == "e8m0fnu" or (c & 0x7F) in (0, 0x7F)
                  or lo_e >> 1 <= (c & 0x7F) <= hi_e >> 1]
        for c in window:
            yield np.arange(c << 24, (c + 1) << 24, dtype=np.uint64).astype(np.uint32)
        return
    lo_e = max(1, 1 - fmt.bias - fmt.M - 3 + 127)
    hi_e = min(254, fmt.max_e - fmt.bias + 3 + 127)
    for _ in range(n_random // (1 << 22)):
        yield rng.integers(0, 1 << 32, 1 << 22, dtype=np.uint64).astype(np.uint32)
        x = rng.integers(0, 1 << 23, 1 << 22, dtype=np.uint64)
        x |= rng.integers(lo_e, hi_e + 1, 1 << 22, dtype=np.uint64) << 23
        x |= rng.integers(0, 2, 1 << 22, dtype=np.uint64) << 31
        yield x.astype(np.uint32)


def f64_sample(fmt, n, rng):
    """Random float64 inputs around the format's range (±30 binades), both signs."""
    d = rng.integers(0, 1 << 52, n, dtype=np.uint64)
    lo_e = 1 - fmt.bias - fmt.M - 30
    hi_e = fmt.max_e - fmt.bias + 30
    d |= (rng.integers(lo_e, hi_e + 1, len(d)) + 1023).astype(np.uint64) << np.uint64(52)
    d |= rng.integers(0, 2, len(d), dtype=np.uint64) << np.uint64(63)
    return d


def astype_codes(fmt, x, in_dtype):
    with np.errstate(all="ignore"):
        r = x.view(in_dtype).astype(fmt.dtype)
    return r.view(np.uint8 if r.dtype.itemsize == 1 else np.uint16).astype(np.int64)


def verify_more(rel, exhaustive, n_random):
    rng = np.random.default_rng(SEED)
    for fmt in FORMATS:
        # the vectorised model must agree with the scalar one first
        probe = np.array([b << 16 for b in range(0x10000)] + f32_probes(fmt), dtype=np.uint32)
        scal = np.array([ml_from_f32(fmt, int(x), rel) for x in probe])
        assert (vec_ml_from_f32(fmt, probe, rel) == scal).all(), fmt.name
        checked = 0
        for x in f32_chunks(fmt, exhaustive, n_random, rng):
            got = astype_codes(fmt, x, np.float32)
            want = vec_ml_from_f32(fmt, x, rel)
            if not (got == want).all():
                i = int(np.argmax(got != want))
                raise SystemExit(f"{fmt.name}: float32 {int(x[i]):08X} ml_dtypes "
                                 f"{int(got[i]):X} rules {int(want[i]):X}")
            checked += len(x)
        # float64: through float32 (0.6, vectorised) or direct (0.7 and binary16: the exact
        # scalar model on a 1-in-64 subsample)
        d = f64_sample(fmt, n_random // 4, rng)
        got = astype_codes(fmt, d, np.float64)
        if fmt.name == "binary16" or not rel.f64_via_f32:
            sample = range(0, len(d), 64)
            bad = [i for i in sample if ml_from_f64(fmt, int(d[i]), rel) != got[i]]
            assert not bad, (fmt.name, [hex(int(d[i])) for i in bad[:5]])
            n64 = len(sample)
        else:
            with np.errstate(all="ignore"):
                f32 = d.view(np.float64).astype(np.float32).view(np.uint32)
            want = vec_ml_from_f32(fmt, f32, rel)
            if not (got == want).all():
                i = int(np.argmax(got != want))
                raise SystemExit(f"{fmt.name}: float64 {int(d[i]):016X} mismatch")
            n64 = len(d)
        kind = (" (all 2^32)" if checked == 1 << 32 else " (every input of the window)") \
            if fmt.name in exhaustive else " (random)"
        print(f"{fmt.name:12s} float32 inputs checked: {checked}{kind}; float64: {n64}",
              flush=True)


# ---------------------------------------------------------------------------------------------
# --diff-release: this release against another, each converting in its own interpreter
# ---------------------------------------------------------------------------------------------

DTYPES = {"f32": (np.float32, np.uint32), "f64": (np.float64, np.uint64),
          "f16": (np.float16, np.uint16), "bf16": (ml_dtypes.bfloat16, np.uint16)}


def serve():
    """--serve: read `<format> <input> <count>\n` + count raw input patterns from stdin, write
    the count output codes (uint16 little-endian) to stdout, until EOF."""
    by_name = {f.name: f for f in FORMATS}
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        line = inp.readline()
        if not line:
            return
        name, kind, count = line.split()
        in_dtype, uint = DTYPES[kind.decode()]
        x = np.frombuffer(read_exactly(inp, int(count) * np.dtype(uint).itemsize), dtype=uint)
        out.write(astype_codes(by_name[name.decode()], x, in_dtype).astype("<u2").tobytes())
        out.flush()


def read_exactly(stream, n):
    data = stream.read(n)
    if len(data) != n:
        raise SystemExit(f"short read: {len(data)} of {n} bytes")
    return data


def diff_release(rel, other_python, exhaustive, n_random):
    """Every input of the golden tables plus the --verify inputs (float32 exhaustively over
    `exhaustive`, random float64 around every format's range), converted by this interpreter's
    ml_dtypes and by `other_python`'s; prints where they differ, by format, input type and
    documented class, with examples. Nothing is modelled: both sides are the libraries."""
    child = subprocess.Popen([other_python, os.path.abspath(__file__), "--serve"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    ver = subprocess.run([other_python, "-c", "import ml_dtypes, numpy; "
                          "print(ml_dtypes.__version__, numpy.__version__)"],
                         capture_output=True, text=True, check=True).stdout.split()
    other = next(r for r in RELEASES.values() if r.version == ver[0])

    def theirs(fmt, kind, x):
        child.stdin.write(f"{fmt.name} {kind} {len(x)}\n".encode() + x.tobytes())
        child.stdin.flush()
        return np.frombuffer(read_exactly(child.stdout, 2 * len(x)), dtype="<u2").astype(np.int64)

    print(f"# ml_dtypes {ml_dtypes.__version__} (numpy {np.__version__}) against "
          f"ml_dtypes {ver[0]} (numpy {ver[1]})")
    rng = np.random.default_rng(SEED)
    prng = random.Random(SEED)
    total = Counter()
    examples = {}
    for fmt in FORMATS:
        inputs = {"f32": [np.array([b << 16 for b in range(0x10000)] + f32_probes(fmt),
                                   dtype=np.uint32)],
                  "f64": [np.array(f64_probes(fmt, prng), dtype=np.uint64)],
                  "f16": [np.arange(0x10000, dtype=np.uint16)],
                  "bf16": [np.arange(0x10000, dtype=np.uint16)]}
        counted = Counter()
        for kind, chunks in inputs.items():
            extra = []
            if kind == "f32":
                extra = f32_chunks(fmt, exhaustive, n_random, rng)
            elif kind == "f64":
                extra = [f64_sample(fmt, n_random // 4, rng)]
            for x in (c for group in (chunks, extra) for c in group):
                mine = astype_codes(fmt, x, DTYPES[kind][0])
                other_codes = theirs(fmt, kind, x)
                counted[(kind, "inputs")] += len(x)
                for i in np.nonzero(mine != other_codes)[0]:
                    bits = int(x[i])
                    in_fmt = {"f32": BINARY32, "f64": BINARY64, "f16": BINARY16_IN}.get(kind)
                    # which release differs from OCP, and why (the documented classes)
                    ocp = ocp_from(fmt, in_fmt, bits) if in_fmt else \
                        ocp_from(fmt, BINARY32, bits << 16)
                    side = rel if int(mine[i]) != ocp else other
                    why = explain(fmt, in_fmt, bits, side) if in_fmt else \
                        explain(fmt, BINARY32, bits << 16, side)
                    key = (fmt.name, kind, f"{side.version}:{why}")
                    total[key] += 1
                    if len(examples.setdefault(key, [])) < 3:
                        examples[key].append(f"{bits:X} -> {rel.version} {int(mine[i]):X}, "
                                             f"{other.version} {int(other_codes[i]):X}, ocp {ocp:X}")
        print(f"{fmt.name:12s} inputs {dict((k, v) for (k, _), v in counted.items())}", flush=True)
    child.stdin.close()
    child.wait()
    print("# <format> <input> <release that differs from OCP>:<class> <count>  examples")
    for key in sorted(total):
        print(" ".join(key), total[key], " | ".join(examples[key]))
    print(f"total differences: {sum(total.values())}")


# ---------------------------------------------------------------------------------------------
# Table generation
# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("release", nargs="?", choices=sorted(RELEASES),
                    help="the installed ml_dtypes release; tables go to Golden/mldtypes/<release>/")
    ap.add_argument("--check", action="store_true", help="regenerate in memory and diff")
    ap.add_argument("--verify", action="store_true",
                    help="check the rules on many more inputs than are stored, write nothing")
    ap.add_argument("--diff-release", metavar="PYTHON",
                    help="compare this release with the ml_dtypes of another interpreter")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--exhaustive", default="e8m0fnu,e4m3fn",
                    help="with --verify/--diff-release: formats checked on every float32 input "
                         "(e8m0fnu: all 2^32; others: every input from two binades below min "
                         "subnormal to two above max, plus all zero/subnormal/Inf/NaN patterns)")
    ap.add_argument("--random", type=int, default=1 << 24,
                    help="with --verify/--diff-release: random float32 inputs per other format "
                         "(a quarter as many float64)")
    args = ap.parse_args()
    if args.serve:
        serve()
        return
    if args.release is None:
        ap.error("the release (0.6 or 0.7) is required")
    rel = RELEASES[args.release]
    if ml_dtypes.__version__ != rel.version or np.__version__ != rel.numpy:
        raise SystemExit(f"release {args.release} needs ml_dtypes {rel.version} and numpy "
                         f"{rel.numpy}; this interpreter has {ml_dtypes.__version__} / "
                         f"{np.__version__}")
    exhaustive = set(filter(None, args.exhaustive.split(",")))
    if args.verify:
        verify_more(rel, exhaustive, args.random)
        return
    if args.diff_release:
        diff_release(rel, args.diff_release, exhaustive, args.random)
        return
    out_dir = os.path.join(HERE, args.release)
    rng = random.Random(SEED)
    total = 0
    tally = {}
    bf16_sweep = [b << 16 for b in range(0x10000)]

    def model(fn):
        return lambda fmt, x: fn(fmt, x, rel)

    for fmt in FORMATS:
        d = os.path.join(out_dir, fmt.name)
        h = fmt.hex_digits
        diffs = Counter()

        # (a) float32: bfloat16 sweep as runs, then probes
        sweep_codes = run_ml(fmt, np.float32, bf16_sweep, np.uint32)
        verify("f32", fmt, bf16_sweep, sweep_codes, model(ml_from_f32))
        probes = [p for p in f32_probes(fmt) if (p & 0xFFFF) != 0]  # sweep already has the rest
        probe_codes = run_ml(fmt, np.float32, probes, np.uint32)
        verify("f32", fmt, probes, probe_codes, model(ml_from_f32))
        lines = header(fmt, "float32", "bfloat16-representable sweep, then midpoint probes")
        for lo, hi, st, c, dl in runs(bf16_sweep, sweep_codes, 0x10000):
            lines.append(f"R {lo:08X} {hi:08X} {st:X} {fmt_hex(c, h)} {dl:X}")
        for x, c in zip(probes, probe_codes):
            lines.append(f"P {x:08X} {fmt_hex(c, h)}")
        total += write_table(os.path.join(d, "f32.txt"), lines, args.check)
        for x, c in zip(bf16_sweep + probes, sweep_codes + probe_codes):
            if c != ocp_from(fmt, BINARY32, x):
                diffs[("f32", explain(fmt, BINARY32, x, rel))] += 1

        # bfloat16 inputs: identical to the float32 sweep except where rule 6 says otherwise
        bf = list(range(0x10000))
        bf_codes = run_ml(fmt, ml_dtypes.bfloat16, bf, np.uint16)
        verify("bf16", fmt, bf, bf_codes, model(ml_from_bf16))
        if fmt.name == "binary16":
            lines = header(fmt, "bfloat16", "all 65536 patterns")
            for lo, hi, st, c, dl in runs(bf, bf_codes, 1):
                lines.append(f"R {lo:04X} {hi:04X} {st:X} {fmt_hex(c, h)} {dl:X}")
            total += write_table(os.path.join(d, "bf16.txt"), lines, args.check)
        elif fmt.name != "bfloat16":
            assert bf_codes == sweep_codes, fmt.name

        # (b) float64 probes
        p64 = f64_probes(fmt, rng)
        c64 = run_ml(fmt, np.float64, p64, np.uint64)
        verify("f64", fmt, p64, c64, model(ml_from_f64))
        lines = header(fmt, "float64", "midpoints +-1,2 ulp, float32 half-ulp edges, specials, "
                                       "seeded random")
        for x, c in zip(p64, c64):
            lines.append(f"P {x:016X} {fmt_hex(c, h)}")
            if c != ocp_from(fmt, BINARY64, x):
                diffs[("f64", explain(fmt, BINARY64, x, rel))] += 1
        total += write_table(os.path.join(d, "f64.txt"), lines, args.check)

        # (c) float16: all patterns
        f16 = list(range(0x10000))
        c16 = run_ml(fmt, np.float16, f16, np.uint16)
        verify("f16", fmt, f16, c16, model(ml_from_f16))
        lines = header(fmt, "float16", "all 65536 patterns")
        for lo, hi, st, c, dl in runs(f16, c16, 1):
            lines.append(f"R {lo:04X} {hi:04X} {st:X} {fmt_hex(c, h)} {dl:X}")
        total += write_table(os.path.join(d, "f16.txt"), lines, args.check)
        for x, c in zip(f16, c16):
            if c != ocp_from(fmt, BINARY16_IN, x):
                diffs[("f16", explain(fmt, BINARY16_IN, x, rel))] += 1
        tally[fmt.name] = diffs
        print(f"{fmt.name:12s} f32 probes {len(probes):6d}  f64 probes {len(p64):6d}  "
              f"ml!=ocp {dict(diffs)}", flush=True)
    lines = [
        f"# Inputs of the golden tables on which ml_dtypes {rel.version} (= profile "
        f"ml_dtypes-{args.release}) and the OCP",
        "# reference (= profile ocp) give different codes, by documented cause (../README.md).",
        "# <target> <input> <cause> <count>; a (target, input) pair not listed has no difference.",
        "# Generated by Golden/mldtypes/generate.py (provenance only; not used by build/tests).",
    ]
    for fmt in FORMATS:
        for (inp, cause), n in sorted(tally[fmt.name].items()):
            if cause == "UNEXPLAINED":
                raise SystemExit(f"unexplained difference: {fmt.name} {inp} x{n}")
            lines.append(f"{fmt.name} {inp} {cause} {n}")
    total += write_table(os.path.join(out_dir, "differences.txt"), lines, args.check)
    print(f"total bytes {total}")


if __name__ == "__main__":
    main()
