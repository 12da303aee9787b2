#!/usr/bin/env python3
"""Generator of the ml_dtypes golden tables in Golden/mldtypes/ (provenance only).

NOT used by the build or by the tests: the Swift package never runs Python. This script records
how the checked-in text files were produced, so that anyone can regenerate and diff them:

    python3 -m venv /tmp/mlenv && /tmp/mlenv/bin/pip install ml-dtypes==0.6.0 numpy
    /tmp/mlenv/bin/python Golden/mldtypes/generate.py            # writes the tables
    /tmp/mlenv/bin/python Golden/mldtypes/generate.py --check    # regenerates in memory, diffs

What it does, for every target format T and input type I (float32, float64, float16, and
bfloat16 where it differs from float32):
  1. builds the input list (bfloat16-representable float32 sweep, every adjacent-code midpoint
     with neighbours, specials, seeded random doubles — see README.md "Golden data");
  2. converts it with numpy `astype(T)` (ml_dtypes 0.6.0) and records the output codes;
  3. recomputes every code with an independent exact model of the rules written in README.md
     ("ml_dtypes profile rules", integer arithmetic only, no ml_dtypes/numpy rounding) and fails
     if a single code differs — so the README rules are checked against every golden line;
  4. recomputes every code with the exact OCP reference (RNE, round first then range-check,
     ties to even code, Float64 rounded directly) and tallies where and why ml_dtypes differs.
"""

import argparse
import math
import os
import random
import struct
import sys
from collections import Counter

import numpy as np
import ml_dtypes

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20260901  # fixed: the tables must be bit-identical on every run


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
# The two models: OCP reference and the ml_dtypes 0.6 profile (README rules)
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


def ml_e8m0_from_f32(bits):
    """Rule 5: ml_dtypes 0.6 float32 -> float8_e8m0fnu."""
    if bits & 0x80000000:
        return 0xFF  # negatives, -0, -Inf, -NaN
    e, f = bits >> 23, bits & 0x7FFFFF
    if e == 0xFF or bits == 0:
        return 0xFF  # +Inf, NaN, +0
    if e == 0:  # float32 subnormal: x <= 2^-127 -> 2^-127, otherwise 2^-126
        return 0x00 if f <= 0x400000 else 0x01
    code = e if f < 0x400000 else e + 1  # ties (f == 2^22) round up
    return code if code <= 0xFE else 0xFF


def ml_from_f32(fmt, bits):
    """ml_dtypes 0.6 / numpy astype from float32 (rules 2-6)."""
    if fmt.name == "e8m0fnu":
        return ml_e8m0_from_f32(bits)
    u = unpack(BINARY32, bits)
    if u[0] == "nan":
        neg = u[1]
        if fmt.nan == "none":  # rule 3: FP6/FP4 NaN -> zero of the opposite sign
            return fmt.zero_code(not neg)
        if fmt.name == "binary16":  # rule 6: numpy keeps the payload's top bits
            p = u[2] >> 13
            return (0x8000 if neg else 0) | 0x7C00 | (p if p else 1)
        return fmt.canonical_nan(neg)
    return ocp_encode(fmt, u)


def ml_from_f64(fmt, bits):
    u = unpack(BINARY64, bits)
    if fmt.name == "binary16":  # rule 6: numpy's own float64 -> float16, direct
        if u[0] == "nan":
            p = u[2] >> 42
            return (0x8000 if u[1] else 0) | 0x7C00 | (p if p else 1)
        return ocp_encode(fmt, u)
    return ml_from_f32(fmt, to_binary32_bits(u))  # rule 1: through float32


def ml_from_f16(fmt, bits):
    if fmt.name == "binary16":
        return bits  # same dtype: astype copies
    u = unpack(BINARY16_IN, bits)
    if u[0] == "nan":  # exact widening keeps the payload (shifted up 13 bits)
        return ml_from_f32(fmt, (0x80000000 if u[1] else 0) | 0x7F800000 | (u[2] << 13))
    return ml_from_f32(fmt, f32_bits_of_unpacked(u))


def ml_from_bf16(fmt, bits):
    if fmt.name == "bfloat16":
        return bits
    if fmt.name == "binary16":  # rule 6: ml_dtypes' own cast, Eigen canonical NaN 0x7E00
        u = unpack(FORMATS[12], bits)
        if u[0] == "nan":
            return (0x8000 if u[1] else 0) | 0x7E00
    return ml_from_f32(fmt, bits << 16)


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


def explain_f32(fmt, bits):
    """The documented difference class of a float32 input on which ml_dtypes and OCP differ."""
    u = unpack(BINARY32, bits)
    if u[0] == "nan":
        if fmt.nan == "none":
            return "nan-to-opposite-zero"
        if fmt.name == "binary16":
            return "f16-nan-payload"
    if fmt.name == "e8m0fnu" and u[0] == "finite" and not u[1]:
        e, f = bits >> 23, bits & 0x7FFFFF
        if e == 0 and 0x400000 < f <= 0x600000:
            return "e8m0-subnormal-up"
        if e != 0 and f == 0x400000 and e % 2 == 0:  # OCP keeps the even code e
            return "e8m0-tie-up"
    return "UNEXPLAINED"


def explain(fmt, in_fmt, bits):
    """Precedence: a float64 input whose OCP result changes when it is first rounded to
    float32 is a rule-1 difference; every other difference is judged on the float32 value."""
    if in_fmt is BINARY64 and fmt.name != "binary16":
        u = unpack(BINARY64, bits)
        f32 = to_binary32_bits(u)
        if ocp_encode(fmt, u) != ocp_encode(fmt, unpack(BINARY32, f32)):
            return "f64-via-f32"
        return explain_f32(fmt, f32)
    if in_fmt is BINARY64:  # binary16 target: numpy converts directly
        u = unpack(BINARY64, bits)
        return "f16-nan-payload" if u[0] == "nan" else "UNEXPLAINED"
    if in_fmt is BINARY16_IN:
        u = unpack(BINARY16_IN, bits)
        if u[0] == "nan" and fmt.name == "binary16":
            return "f16-nan-payload"  # same-dtype astype copies the payload
        return explain_f32(fmt, to_binary32_bits(u))
    return explain_f32(fmt, bits)


# ---------------------------------------------------------------------------------------------
# --verify: the same rules, vectorised, against ml_dtypes on far more inputs than are stored
# ---------------------------------------------------------------------------------------------

def vec_ml_from_f32(fmt, bits):
    """Vectorised ml_from_f32 (rules 2-6) over a uint32 array; int64 codes."""
    b = bits.astype(np.int64)
    neg = (b >> 31) & 1
    e = (b >> 23) & 0xFF
    f = b & 0x7FFFFF
    if fmt.name == "e8m0fnu":
        code = np.where(f < 0x400000, e, e + 1)
        code = np.where(code > 0xFE, 0xFF, code)
        code = np.where(e == 0, np.where(f <= 0x400000, 0x00, 0x01), code)
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


def verify_more(exhaustive, n_random):
    rng = np.random.default_rng(SEED)
    exhaustive_counts = {}
    for fmt in FORMATS:
        # the vectorised model must agree with the scalar one first
        probe = np.array([b << 16 for b in range(0x10000)] + f32_probes(fmt), dtype=np.uint32)
        scal = np.array([ml_from_f32(fmt, int(x)) for x in probe])
        assert (vec_ml_from_f32(fmt, probe) == scal).all(), fmt.name
        checked = 0
        if fmt.name in exhaustive:
            # Chunk c = the 2^24 patterns whose top byte (sign + 7 exponent bits) is c. e8m0fnu:
            # all 2^32. Others: every chunk from two binades below the smallest subnormal to two
            # above max finite, plus the zero/subnormal and Inf/NaN chunks — outside that window
            # the code is constant (±0 or overflow), which the random inputs cover.
            lo_e = max(0, 127 + (1 - fmt.bias - fmt.M) - 2)
            hi_e = min(255, 127 + (fmt.max_e - fmt.bias) + 2)
            window = [c for c in range(256) if fmt.name == "e8m0fnu" or (c & 0x7F) in (0, 0x7F)
                      or lo_e >> 1 <= (c & 0x7F) <= hi_e >> 1]
            exhaustive_counts[fmt.name] = len(window) << 24
            chunks = (np.arange(c << 24, (c + 1) << 24, dtype=np.uint64).astype(np.uint32)
                      for c in window)
        else:
            lo_e = max(1, 1 - fmt.bias - fmt.M - 3 + 127)
            hi_e = min(254, fmt.max_e - fmt.bias + 3 + 127)
            def gen():
                for _ in range(n_random // (1 << 22)):
                    yield rng.integers(0, 1 << 32, 1 << 22, dtype=np.uint64).astype(np.uint32)
                    x = rng.integers(0, 1 << 23, 1 << 22, dtype=np.uint64)
                    x |= rng.integers(lo_e, hi_e + 1, 1 << 22, dtype=np.uint64) << 23
                    x |= rng.integers(0, 2, 1 << 22, dtype=np.uint64) << 31
                    yield x.astype(np.uint32)
            chunks = gen()
        for x in chunks:
            with np.errstate(all="ignore"):
                r = x.view(np.float32).astype(fmt.dtype)
            got = r.view(np.uint8 if r.dtype.itemsize == 1 else np.uint16).astype(np.int64)
            want = vec_ml_from_f32(fmt, x)
            if not (got == want).all():
                i = int(np.argmax(got != want))
                raise SystemExit(f"{fmt.name}: float32 {int(x[i]):08X} ml_dtypes "
                                 f"{int(got[i]):X} rules {int(want[i]):X}")
            checked += len(x)
        # float64: rule 1 (through float32) or, for binary16, numpy's direct conversion
        d = rng.integers(0, 1 << 52, n_random // 4, dtype=np.uint64)
        lo_e = 1 - fmt.bias - fmt.M - 30
        hi_e = fmt.max_e - fmt.bias + 30
        d |= (rng.integers(lo_e, hi_e + 1, len(d)) + 1023).astype(np.uint64) << np.uint64(52)
        d |= rng.integers(0, 2, len(d), dtype=np.uint64) << np.uint64(63)
        with np.errstate(all="ignore"):
            r = d.view(np.float64).astype(fmt.dtype)
            f32 = d.view(np.float64).astype(np.float32).view(np.uint32)
        got = r.view(np.uint8 if r.dtype.itemsize == 1 else np.uint16).astype(np.int64)
        if fmt.name == "binary16":
            sample = range(0, len(d), 64)  # scalar exact model (no float32 step)
            bad = [i for i in sample if ml_from_f64(fmt, int(d[i])) != got[i]]
            assert not bad, (fmt.name, [hex(int(d[i])) for i in bad[:5]])
        else:
            want = vec_ml_from_f32(fmt, f32)
            if not (got == want).all():
                i = int(np.argmax(got != want))
                raise SystemExit(f"{fmt.name}: float64 {int(d[i]):016X} mismatch")
        kind = (" (all 2^32)" if checked == 1 << 32 else " (every input of the window)") \
            if fmt.name in exhaustive else " (random)"
        print(f"{fmt.name:12s} float32 inputs checked: {checked}{kind}; float64: {len(d)}",
              flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="regenerate in memory and diff")
    ap.add_argument("--verify", action="store_true",
                    help="check the rules on many more inputs than are stored, write nothing")
    ap.add_argument("--exhaustive", default="e8m0fnu,e4m3fn",
                    help="with --verify: formats checked on every float32 input (e8m0fnu: all "
                         "2^32; others: every input from two binades below min subnormal to two "
                         "above max, plus all zero/subnormal/Inf/NaN patterns)")
    ap.add_argument("--random", type=int, default=1 << 24,
                    help="with --verify: random float32 inputs per other format")
    args = ap.parse_args()
    assert ml_dtypes.__version__ == "0.6.0", ml_dtypes.__version__
    if args.verify:
        verify_more(set(filter(None, args.exhaustive.split(","))), args.random)
        return
    rng = random.Random(SEED)
    total = 0
    tally = {}
    bf16_sweep = [b << 16 for b in range(0x10000)]
    for fmt in FORMATS:
        d = os.path.join(HERE, fmt.name)
        h = fmt.hex_digits
        diffs = Counter()

        # (a) float32: bfloat16 sweep as runs, then probes
        sweep_codes = run_ml(fmt, np.float32, bf16_sweep, np.uint32)
        verify("f32", fmt, bf16_sweep, sweep_codes, ml_from_f32)
        probes = [p for p in f32_probes(fmt) if (p & 0xFFFF) != 0]  # sweep already has the rest
        probe_codes = run_ml(fmt, np.float32, probes, np.uint32)
        verify("f32", fmt, probes, probe_codes, ml_from_f32)
        lines = header(fmt, "float32", "bfloat16-representable sweep, then midpoint probes")
        for lo, hi, st, c, dl in runs(bf16_sweep, sweep_codes, 0x10000):
            lines.append(f"R {lo:08X} {hi:08X} {st:X} {fmt_hex(c, h)} {dl:X}")
        for x, c in zip(probes, probe_codes):
            lines.append(f"P {x:08X} {fmt_hex(c, h)}")
        total += write_table(os.path.join(d, "f32.txt"), lines, args.check)
        for x, c in zip(bf16_sweep + probes, sweep_codes + probe_codes):
            if c != ocp_from(fmt, BINARY32, x):
                diffs[("f32", explain(fmt, BINARY32, x))] += 1

        # bfloat16 inputs: identical to the float32 sweep except where rule 6 says otherwise
        bf = list(range(0x10000))
        bf_codes = run_ml(fmt, ml_dtypes.bfloat16, bf, np.uint16)
        verify("bf16", fmt, bf, bf_codes, ml_from_bf16)
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
        verify("f64", fmt, p64, c64, ml_from_f64)
        lines = header(fmt, "float64", "midpoints +-1,2 ulp, float32 half-ulp edges, specials, "
                                       "seeded random")
        for x, c in zip(p64, c64):
            lines.append(f"P {x:016X} {fmt_hex(c, h)}")
            if c != ocp_from(fmt, BINARY64, x):
                diffs[("f64", explain(fmt, BINARY64, x))] += 1
        total += write_table(os.path.join(d, "f64.txt"), lines, args.check)

        # (c) float16: all patterns
        f16 = list(range(0x10000))
        c16 = run_ml(fmt, np.float16, f16, np.uint16)
        verify("f16", fmt, f16, c16, ml_from_f16)
        lines = header(fmt, "float16", "all 65536 patterns")
        for lo, hi, st, c, dl in runs(f16, c16, 1):
            lines.append(f"R {lo:04X} {hi:04X} {st:X} {fmt_hex(c, h)} {dl:X}")
        total += write_table(os.path.join(d, "f16.txt"), lines, args.check)
        for x, c in zip(f16, c16):
            if c != ocp_from(fmt, BINARY16_IN, x):
                diffs[("f16", explain(fmt, BINARY16_IN, x))] += 1
        tally[fmt.name] = diffs
        print(f"{fmt.name:12s} f32 probes {len(probes):6d}  f64 probes {len(p64):6d}  "
              f"ml!=ocp {dict(diffs)}", flush=True)
    lines = [
        "# Inputs of the golden tables on which ml_dtypes 0.6 (= profile .mlDtypes) and the OCP",
        "# reference (= profile .ocp) give different codes, by documented cause (README.md).",
        "# <target> <input> <cause> <count>; a (target, input) pair not listed has no difference.",
        "# Generated by Golden/mldtypes/generate.py (provenance only; not used by build/tests).",
    ]
    for fmt in FORMATS:
        for (inp, cause), n in sorted(tally[fmt.name].items()):
            if cause == "UNEXPLAINED":
                raise SystemExit(f"unexplained difference: {fmt.name} {inp} x{n}")
            lines.append(f"{fmt.name} {inp} {cause} {n}")
    total += write_table(os.path.join(HERE, "differences.txt"), lines, args.check)
    print(f"total bytes {total}")


if __name__ == "__main__":
    main()
