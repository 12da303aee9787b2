#!/usr/bin/env python3
"""`quantcheck encode` of a .npy file beside numpy + ml_dtypes doing the same, in one run.

Writes a 16 Mi-element Float32 .npy (seeded), then times, alternating so both see the same
machine load:
  * `quantcheck encode --format e4m3fn` as a whole process (wall time from spawn to exit, peak
    RSS from wait4), output to a fresh path and over an existing file;
  * numpy.load + astype(ml_dtypes.float8_e4m3fn) + numpy.save in this process (the figure
    numpy users quote), and the same as a whole `python3 -c` process.
Both outputs are compared byte for byte (they must be equal: quantcheck's default policy is
ml_dtypes' saturate-free E4M3FN rounding to nearest even for these finite inputs).

Usage (a venv under .build, as the README shows):
  python3 -m venv .build/venv-peers
  .build/venv-peers/bin/pip install numpy ml-dtypes==0.7.0
  swift build -c release --product quantcheck
  .build/venv-peers/bin/python Tests/Peers/file-throughput.py [--runs 30] [--elements 16777216]

The page cache is warm: every timed run reads a file the previous run read. Times are the
minimum and the median over the runs (the minimum is the least disturbed by other processes on
a shared machine).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import ml_dtypes
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # Tests/Peers/ → the package


def timed_process(argv):
    """Wall seconds of one child process, from spawn to exit."""
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ)
    _, status = os.waitpid(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} exited with {os.waitstatus_to_exitcode(status)}")
    return wall


def peak_rss(argv, scratch):
    """Peak RSS (bytes) of one run, from GNU time (`%M`), or None without /usr/bin/time.

    Not from this process's wait4: a child spawned with vfork (posix_spawn) is charged the
    parent's peak RSS at its exec, which here holds the 64 MiB array and numpy.
    """
    if not os.path.exists("/usr/bin/time"):
        return None
    report = os.path.join(scratch, "rss.txt")
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report] + argv, check=True)
    with open(report) as f:
        return int(f.read().split()[-1]) * 1024


def numpy_in_process(src, dst):
    t0 = time.perf_counter()
    x = np.load(src)
    np.save(dst, x.astype(ml_dtypes.float8_e4m3fn))
    return time.perf_counter() - t0


def summary(label, walls, n, rss=None, data_bytes=None):
    best, median = min(walls), statistics.median(walls)
    line = (f"{label:<52} min {best * 1e3:7.1f} ms  median {median * 1e3:7.1f} ms  "
            f"{n / best / 1e9:5.2f} G el/s (min)  {n / median / 1e9:5.2f} G el/s (median)")
    if rss:
        line += f"  peak RSS {max(rss) / 2**20:6.1f} MiB ({max(rss) / data_bytes:.2f}× in+out)"
    print(line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--elements", type=int, default=16 << 20)
    ap.add_argument("--quantcheck", default=os.path.join(ROOT, ".build/release/quantcheck"))
    args = ap.parse_args()
    n = args.elements
    with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, ".build")) as d:
        src = os.path.join(d, "in.npy")
        rng = np.random.default_rng(1)
        # Finite values across E4M3FN's range and beyond (overflow to NaN under nonsat, as in
        # ml_dtypes), with subnormals and underflow.
        x = (rng.standard_normal(n) * np.exp2(rng.integers(-12, 10, n))).astype(np.float32)
        np.save(src, x)
        data_bytes = x.nbytes + n  # input + output (1 byte per code)
        qc_new, qc_over, qc_rss, np_in, np_proc = [], [], [], [], []
        existing = os.path.join(d, "qc-existing.npy")
        npy_out = os.path.join(d, "np.npy")
        numpy_script = ("import numpy as np, ml_dtypes, sys; "
                        "np.save(sys.argv[2], np.load(sys.argv[1]).astype(ml_dtypes.float8_e4m3fn))")
        encode = [args.quantcheck, "encode", "--format", "e4m3fn", "--input", src, "--output"]
        timed_process(encode + [existing])  # warm the page cache and the binary
        numpy_in_process(src, npy_out)
        for i in range(args.runs):
            fresh = os.path.join(d, f"qc-{i}.npy")
            qc_new.append(timed_process(encode + [fresh]))
            os.unlink(fresh)
            qc_over.append(timed_process(encode + [existing]))
            np_in.append(numpy_in_process(src, npy_out))
            np_proc.append(timed_process([sys.executable, "-c", numpy_script, src, npy_out]))
        for _ in range(3):
            rss = peak_rss(encode + [existing], d)
            if rss is not None:
                qc_rss.append(rss)
        same = np.array_equal(np.load(existing), np.load(npy_out).view(np.uint8))
        print(f"{n} Float32 elements → e4m3fn, {args.runs} runs each, warm page cache, "
              f"{os.cpu_count()} cores, numpy {np.__version__}, ml_dtypes {ml_dtypes.__version__}")
        summary("quantcheck encode (process, fresh output)", qc_new, n, qc_rss, data_bytes)
        summary("quantcheck encode (process, replacing a file)", qc_over, n)
        summary("numpy.load + astype + numpy.save (in process)", np_in, n)
        summary("numpy.load + astype + numpy.save (process)", np_proc, n)
        print(f"outputs identical: {same}")
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
