#!/usr/bin/env python3
"""Converts the inputs QuantCheck wrote (`quantcheck inputs`) with a peer library and saves the
peer's outputs, for `quantcheck conform` to check (Tests/Peers/run.sh, README "Check another
framework from files").

  peer_convert.py --peer ml_dtypes|onnxruntime --format e4m3fn [--saturate 0|1] IN.npy OUT.npy
  peer_convert.py --peer ml_dtypes|onnxruntime --format e4m3fn --decode CODES.npy OUT.npy

Encoding writes the codes as uint8 (the byte view of the peer's float8 array); decoding writes
float32. Python is used only to drive the peers; every verdict is QuantCheck's.
"""
import argparse
import sys
import warnings

import numpy as np

# QuantCheck format name -> (ml_dtypes attribute, ONNX TensorProto name)
FORMATS = {
    "e4m3fn": ("float8_e4m3fn", "FLOAT8E4M3FN"),
    "e5m2": ("float8_e5m2", "FLOAT8E5M2"),
    "e4m3fnuz": ("float8_e4m3fnuz", "FLOAT8E4M3FNUZ"),
    "e5m2fnuz": ("float8_e5m2fnuz", "FLOAT8E5M2FNUZ"),
    "e8m0fnu": ("float8_e8m0fnu", "FLOAT8E8M0"),
    "e4m3": ("float8_e4m3", None),
    "e3m4": ("float8_e3m4", None),
    "e4m3b11fnuz": ("float8_e4m3b11fnuz", None),
    "e2m3fn": ("float6_e2m3fn", None),
    "e3m2fn": ("float6_e3m2fn", None),
    "e2m1fn": ("float4_e2m1fn", "FLOAT4E2M1"),
}


def load_inputs(path):
    """The inputs as numpy sees them; bfloat16 (<V2) is viewed as ml_dtypes.bfloat16."""
    x = np.load(path)
    if x.dtype.kind == "V" and x.dtype.itemsize == 2:
        import ml_dtypes
        x = x.view(ml_dtypes.bfloat16)
    return x


def ml_dtypes_encode(x, fmt):
    import ml_dtypes
    return x.astype(getattr(ml_dtypes, FORMATS[fmt][0])).view(np.uint8)


def ml_dtypes_decode(codes, fmt):
    import ml_dtypes
    return codes.view(getattr(ml_dtypes, FORMATS[fmt][0])).astype(np.float32)


def onnx_cast_session(in_type, out_type, saturate):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper
    attrs = {} if saturate is None else {"saturate": saturate}
    node = helper.make_node("Cast", ["x"], ["y"], to=getattr(TensorProto, out_type), **attrs)
    graph = helper.make_graph(
        [node], "cast",
        [helper.make_tensor_value_info("x", getattr(TensorProto, in_type), None)],
        [helper.make_tensor_value_info("y", getattr(TensorProto, out_type), None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def onnxruntime_encode(x, fmt, saturate):
    if FORMATS[fmt][1] is None:
        sys.exit(f"peer_convert: ONNX has no type for {fmt}")
    in_type = {np.dtype(np.float32): "FLOAT", np.dtype(np.float64): "DOUBLE", np.dtype(np.float16): "FLOAT16"}.get(x.dtype)
    if in_type is None:
        sys.exit(f"peer_convert: onnxruntime input dtype {x.dtype} is not supported here")
    sess = onnx_cast_session(in_type, FORMATS[fmt][1], saturate)
    return raw_output_bytes(sess, x)


def raw_output_bytes(sess, x):
    """The output tensor's bytes as uint8, read through its data pointer: onnxruntime's numpy
    bridge has no dtype for some float8 types (FLOAT8E5M2: "No corresponding Numpy type")."""
    import ctypes
    import onnxruntime as ort
    x = np.ascontiguousarray(x)
    out = sess.run_with_ort_values(["y"], {"x": ort.OrtValue.ortvalue_from_numpy(x)})[0]
    n = int(np.prod(out.shape()))
    return np.frombuffer(ctypes.string_at(out.data_ptr(), n), dtype=np.uint8).reshape(out.shape()).copy()


def onnxruntime_decode(codes, fmt):
    """Codes into a float8 tensor without numpy's help (its bridge has no float8 dtypes):
    the uint8 bytes tagged with the ONNX element type."""
    import onnxruntime as ort
    from onnx import TensorProto
    if FORMATS[fmt][1] is None:
        sys.exit(f"peer_convert: ONNX has no type for {fmt}")
    sess = onnx_cast_session(FORMATS[fmt][1], "FLOAT", None)
    x = ort.OrtValue.ortvalue_from_numpy_with_onnx_type(
        np.ascontiguousarray(codes, dtype=np.uint8), onnx_element_type=getattr(TensorProto, FORMATS[fmt][1]))
    return np.asarray(sess.run_with_ort_values(["y"], {"x": x})[0].numpy(), dtype=np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", required=True, choices=["ml_dtypes", "onnxruntime"])
    ap.add_argument("--format", required=True, choices=sorted(FORMATS))
    ap.add_argument("--saturate", type=int, choices=[0, 1])
    ap.add_argument("--decode", action="store_true")
    ap.add_argument("input")
    ap.add_argument("output")
    a = ap.parse_args()
    # numpy warns on every overflowing cast; overflow is what the checks are about.
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    if a.decode:
        codes = np.load(a.input).astype(np.uint8)
        y = ml_dtypes_decode(codes, a.format) if a.peer == "ml_dtypes" else onnxruntime_decode(codes, a.format)
    else:
        x = load_inputs(a.input)
        if a.peer == "ml_dtypes":
            if a.saturate is not None:
                sys.exit("peer_convert: ml_dtypes astype has no saturate option (it is non-saturating)")
            y = ml_dtypes_encode(x, a.format)
        else:
            y = onnxruntime_encode(x, a.format, a.saturate)
    np.save(a.output, y)


if __name__ == "__main__":
    main()
