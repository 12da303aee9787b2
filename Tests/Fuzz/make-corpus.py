#!/usr/bin/env python3
"""Regenerates the checked-in seed corpora under Tests/Fuzz/corpus/ (needs numpy).

The seeds are small, named for what they exercise, and cover the accepted and the refused
shapes of each input: libFuzzer mutates from them. Results and gate seeds come from the
repository's own files (Golden/gate.json) and hand-written variants.
"""
import io, json, os, struct, sys
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))

def put(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

# --- npy -------------------------------------------------------------------------------
def npy(arr, version=None):
    b = io.BytesIO()
    if version is None:
        np.save(b, arr)
    else:
        np.lib.format.write_array(b, arr, version=version)
    return b.getvalue()

def header(descr, shape, fortran=False, version=1, data=b""):
    h = "{'descr': %r, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    pre = 10 if version == 1 else 12
    h += " " * ((64 - (pre + len(h) + 1) % 64) % 64) + "\n"
    hb = h.encode("latin-1")
    length = struct.pack("<H", len(hb)) if version == 1 else struct.pack("<I", len(hb))
    return b"\x93NUMPY" + bytes([version, 0]) + length + hb + data

put("npy", "f4-3x4.npy", npy(np.arange(12, dtype="<f4").reshape(3, 4) - 5.5))
put("npy", "f8-specials.npy", npy(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 1.7976931348623157e308], dtype="<f8")))
put("npy", "f2-halves.npy", npy(np.array([0, 1, -2, 65504, 6e-8, np.inf, np.nan], dtype="<f2")))
# Regression: a header key with a carriage return broke the one-line error message.
put("npy", "regress-key-cr.npy", header("<f4", "(2,), 'x\ry': True", data=bytes(8)))
put("npy", "u1-codes.npy", npy(np.arange(16, dtype="u1")))
put("npy", "u2-codes.npy", npy(np.array([0, 1, 0x7C00, 0xFFFF], dtype="<u2")))
put("npy", "scalar-0d.npy", npy(np.float32(1.5)))
put("npy", "empty-0.npy", npy(np.zeros((0,), dtype="<f4")))
put("npy", "empty-2x0.npy", npy(np.zeros((2, 0), dtype="<f4")))
put("npy", "v2.npy", npy(np.arange(3, dtype="<f4"), version=(2, 0)))
put("npy", "v3.npy", npy(np.arange(3, dtype="<f4"), version=(3, 0)))
put("npy", "big-endian.npy", npy(np.arange(3, dtype=">f4")))
put("npy", "fortran.npy", npy(np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3))))
put("npy", "int32-unsupported.npy", npy(np.arange(3, dtype="<i4")))
put("npy", "structured.npy", npy(np.zeros(2, dtype=[("a", "<f4"), ("b", "<u1")])))
put("npy", "truncated-data.npy", npy(np.arange(12, dtype="<f4"))[:-5])
put("npy", "truncated-header.npy", npy(np.arange(12, dtype="<f4"))[:30])
put("npy", "lying-header.npy", header("<f4", "(1000,)", data=struct.pack("<3f", 1, 2, 3)))
put("npy", "huge-shape.npy", header("<f4", "(4294967296, 4294967296)"))
put("npy", "overflow-shape.npy", header("<f8", "(99999999999999999999999,)"))
put("npy", "bad-magic.npy", b"\x93NUMPZ\x01\x00" + b"\x00" * 8)
put("npy", "version-9.npy", b"\x93NUMPY\x09\x00\x10\x00" + b" " * 16)
put("npy", "dup-key.npy", header("<f4", "(1,), 'shape': (2,)", data=b"\0" * 4))

# --- codec -----------------------------------------------------------------------------
# byte 0 format, byte 1 mode (rounding | 8 sat | 16 ml_dtypes (0.7; with 64: 0.6) | 32 threads=2), byte 2 kind,
# bytes 3–10 seed, then values.
def codec(fmt, mode, kind, values, seed=0):
    return bytes([fmt, mode, kind]) + struct.pack("<Q", seed) + values

f32 = struct.pack("<12f", 0.0, -0.0, 1.0, -1.5, 448.0, 464.0, 480.0, 1e-9, -3.4e38, float("inf"), float("-inf"), float("nan"))
f32 += struct.pack("<4I", 0x7FC00001, 0xFFC00000, 0x00000001, 0x807FFFFF)
f64 = struct.pack("<8d", -431.99999999999994, 0.5, 2.0 ** -127, 2.0 ** -130, 57344.0, 61440.0, 1e300, -5e-324)
f16 = struct.pack("<8H", 0x0000, 0x8000, 0x3C00, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x0001)
for fmt in range(13):
    put("codec", "f32-fmt%02d-rne-nonsat" % fmt, codec(fmt, 0, 0, f32))
    put("codec", "f64-fmt%02d-rne-sat" % fmt, codec(fmt, 8, 1, f64))
put("codec", "f32-e4m3fn-stochastic", codec(0, 4, 0, f32, seed=42))
put("codec", "f32-e8m0-up-mldtypes", codec(7, 2 | 16, 0, f32))
put("codec", "f16-e5m2-down", codec(1, 3, 2, f16))
put("codec", "bf16-e4m3fn-rtz", codec(0, 1, 3, f16))
put("codec", "codes-e2m1", codec(10, 0, 4, bytes(range(0, 40))))
# Regression: 8-bit decode read past the table of sub-byte formats (found by this fuzzer).
put("codec", "regress-decode-u8-table-overread", bytes([10, 0, 4]) + bytes(8) + bytes(range(1, 40)))
# ml_dtypes profile rules the reference model knows: binary16 NaN payloads (rule 6) and
# E8M0 of Float32 subnormals (rule 5), in several rounding directions.
put("codec", "bf16-binary16-mldtypes-nan", codec(11, 2 | 8 | 16, 3, struct.pack("<6H", 0x7FC1, 0xFF81, 0x7F81, 0x7FC0, 0x7F80, 0x3F80)))
put("codec", "f32-binary16-mldtypes-nan", codec(11, 16, 0, struct.pack("<4I", 0x7FC00001, 0xFF800001, 0x7F802000, 0x7FFFFFFF)))
put("codec", "f32-e8m0-mldtypes-subnormals", codec(7, 1 | 16, 0, struct.pack("<5I", 0x00000001, 0x00400000, 0x00400001, 0x007FFFFF, 0x00800000)))
put("codec", "codes-binary16", codec(11, 0, 4, struct.pack("<4H", 0, 0x7C00, 0xFFFF, 0x8001)))

# --- results ---------------------------------------------------------------------------
stamp = {"gitCommit": "0123456789abcdef0123456789abcdef01234567", "date": "2026-11-23T09:00:00Z",
         "cpuModel": "AMD EPYC", "coreCount": 2, "machine": "amd-epyc-2c", "swiftCompiler": ">=6.3",
         "swiftToolchain": "Swift version 6.3.1", "buildConfiguration": "release",
         "commandLine": ["quantcheck", "verify"]}
suite = {"suite": "exhaustive-f32", "caseName": "e4m3fn/sat/rne", "passed": False, "covered": 100,
         "expected": 100, "mismatches": 1,
         "counterexamples": [{"inputBits": "0x43e00000", "inputValue": "448", "expectedCode": "0x7e",
                              "expectedValue": "448", "gotCode": "0x7f", "gotValue": "nan", "note": ""}],
         "metrics": [{"name": "max-ulp", "value": 0.5, "bound": 0.5, "unit": "ulp"},
                     {"name": "unbounded", "value": "inf"}],
         "parameters": {"patterns": "0..<2147483648", "seed": "42"}, "wallSeconds": 0.25,
         "series": [{"chart": "error vs alpha", "name": "per-tensor", "kind": "line", "xLabel": "alpha",
                     "yLabel": "mse", "x": [0, 0.5, 1], "y": [1e-3, 1e-4, "nan"], "logY": True},
                    {"chart": "histogram", "name": "h", "kind": "histogram", "xLabel": "x", "yLabel": "n",
                     "x": [0, 1, 2], "y": [3, 4]}]}
bench = {"name": "codec.encode/e4m3fn", "group": "codec.encode", "parameters": {"format": "e4m3fn"},
         "sizeClass": "dram", "threads": 1, "elements": 1048576, "bytes": 5242880, "warmupIterations": 1,
         "iterationsPerRepetition": 1, "samples": [0.001, 0.002, 0.003], "medianSeconds": 0.002,
         "minSeconds": 0.001, "maxSeconds": 0.003, "madSeconds": 0.001, "elementsPerSecond": 524288000,
         "bytesPerSecond": 2621440000}
def results(**kw):
    d = {"format": "quantcheck-results", "schemaVersion": 1, "stamp": stamp, "suites": [suite],
         "benchmarks": [bench]}
    d.update(kw)
    return json.dumps(d, indent=2, sort_keys=True)
put("results", "full.json", results())
put("results", "shard-1-of-2.json", results(benchmarks=[], shard={"index": 1, "count": 2,
    "domain": {"lower": 0, "upper": 4294967296}, "range": {"lower": 0, "upper": 2147483648}}))
put("results", "schema-2.json", results(schemaVersion=2))
put("results", "truncated.json", results()[:300])
put("results", "not-results.json", json.dumps({"format": "something-else"}))
put("results", "empty-lists.json", results(suites=[], benchmarks=[]))
put("results", "bad-stats.json", results(benchmarks=[dict(bench, medianSeconds=1.0)]))
# Regressions: merge enumerated 1…count (a hang), and summed counts without overflow checks.
put("results", "regress-merge-huge-shard-count.json", results(benchmarks=[], shard={"index": 1, "count": 999999999999,
    "domain": {"lower": 0, "upper": 4294967296}, "range": {"lower": 0, "upper": 5}}))
put("results", "regress-merge-covered-overflow.json", results(benchmarks=[],
    suites=[dict(suite, covered=2**64 - 1, expected=2**64 - 1)], shard={"index": 1, "count": 2,
    "domain": {"lower": 0, "upper": 4294967296}, "range": {"lower": 0, "upper": 2147483648}}))
put("results", "empty.json", "  \n")

# --- gate ------------------------------------------------------------------------------
with open(os.path.join(root, "Golden", "gate.json")) as f:
    put("gate", "default.json", f.read())
put("gate", "minimal.json", json.dumps({"format": "quantcheck-gate", "schemaVersion": 1}))
put("gate", "bench-on.json", json.dumps({"format": "quantcheck-gate", "schemaVersion": 1,
    "bench": {"enabled": True, "repetitions": 5, "regressionThreshold": "2.5%", "noiseSigmas": 2.5,
              "baseline": "base.json", "filter": "codec"},
    "verify": {"threads": 2, "formats": ["e4m3fn"], "maxMismatches": 0}}))
put("gate", "unknown-key.json", json.dumps({"format": "quantcheck-gate", "schemaVersion": 1, "verfy": {}}))
put("gate", "wrong-types.json", json.dumps({"format": "quantcheck-gate", "schemaVersion": 1,
    "verify": {"threads": -1, "enabled": 1}, "bench": {"regressionThreshold": 5}}))
# Regression: a key with a line feed broke the one-line error message.
put("gate", "regress-key-linefeed.json", json.dumps({"format": "quantcheck-gate", "schemaVersion": 1,
    "verify": {"thr\neads": 1}}))
put("gate", "truncated.json", '{"format": "quantcheck-gate", "schemaVersion": 1, "verify": {"ena')
# --- calibration (byte 0: 0 SmoothQuantCalibrator, 1 CalibrationStatistics,
#     2 DelayedScalingState, 3 QuantizedIntegerTensor; then JSON) ---------------------------
def cal(kind, obj):
    return bytes([kind]) + json.dumps(obj).encode()
f32bits = lambda x: struct.unpack("<I", struct.pack("<f", x))[0]
put("calibration", "calibrator.json", cal(0, {"layers": {
    "attn.q": {"features": 3, "absMax": [1.5, 0.25, 8.0], "tokens": 12, "batches": 2},
    "mlp.up": {"features": 2, "absMax": [0.0, 3.0], "tokens": 4, "batches": 1}}}))
put("calibration", "calibrator-empty.json", cal(0, {"layers": {}}))
put("calibration", "statistics.json", cal(1, {"count": 3, "min": f32bits(-2.0), "max": f32bits(3.0),
    "mean": 0.6666666666666666, "m2": 12.666666666666666, "absMax": f32bits(3.0),
    "bucketIndices": [16256, 16384, 16448], "bucketCounts": [1, 1, 1]}))
put("calibration", "statistics-empty.json", cal(1, {"count": 0, "min": f32bits(float("inf")),
    "max": f32bits(float("-inf")), "mean": 0, "m2": 0, "absMax": 0, "bucketIndices": [], "bucketCounts": []}))
put("calibration", "regress-statistics-huge-count.json", cal(1, {"count": 2**63 - 1, "min": f32bits(1.0), "max": f32bits(1.0),
    "mean": 1, "m2": 0, "absMax": f32bits(1.0), "bucketIndices": [16256], "bucketCounts": [2**63 - 1]}))
put("calibration", "delayed-scaling.json", cal(2, {"recipe": {"margin": 0, "historyLength": 4, "algorithm": "max",
    "updateInterval": 1, "rounding": "exact"}, "formatName": "e4m3fn",
    "amaxHistory": [f32bits(1.0), f32bits(448.0), 0, 0x7FC00000], "scale": 1.0, "scaleInverse": 1.0,
    "step": 7, "overflowCount": 0, "underflowCount": 2}))
put("calibration", "regress-delayed-scaling-step-max.json", cal(2, {"recipe": {"margin": 3, "historyLength": 1,
    "algorithm": "most_recent", "updateInterval": 2, "rounding": "power_of_two"}, "formatName": "e5m2",
    "amaxHistory": [0], "scale": 2.0, "scaleInverse": 0.5, "step": 2**63 - 1,
    "overflowCount": 2**63 - 1, "underflowCount": 0}))
put("calibration", "int8-tensor.json", cal(3, {"shape": {"dimensions": [2, 3]}, "bits": 8,
    "granularity": {"perToken": {}}, "scales": [0.5, 0.25], "storage": [1, 2, 3, 253, 254, 127]}))
put("calibration", "int4-tensor.json", cal(3, {"shape": {"dimensions": [3]}, "bits": 4,
    "granularity": {"perTensor": {}}, "scales": [0.125], "storage": [0x71, 0x09]}))

print("corpora written under", os.path.join(here, "corpus"))
