#!/usr/bin/env bash
# Peers stage (README, "Check another framework from files"): installs pinned releases of
# ml_dtypes and onnxruntime from PyPI into virtual environments under .build/, has them convert
# the inputs `quantcheck inputs` writes, and checks their outputs with `quantcheck conform`
# through the file host. Expected verdicts:
#   - ml_dtypes 0.6.0 and 0.7.0 pass under their own profile, every format, every input set;
#   - onnxruntime 1.32.0 fails with its known deviations, each asserted by its first
#     counterexample (a change in them fails this stage), and passes where it is right.
# If PyPI cannot be reached the stage says so loudly and is skipped; it never passes silently.
set -uo pipefail
cd "$(dirname "$0")/../.."
Q=${QUANTCHECK:-.build/release/quantcheck}
[ -x "$Q" ] || { echo "peers: $Q not built (swift build -c release --product quantcheck)"; exit 2; }
PEER=Tests/Peers/peer_convert.py
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
failures=0

venv() {  # venv NAME PACKAGES… — creates .build/NAME once, installs the pinned packages
  local dir=.build/$1; shift
  [ -x "$dir/bin/python" ] || python3 -m venv "$dir" || return 1
  "$dir/bin/pip" install -q --disable-pip-version-check "$@" > "$W/pip.log" 2>&1 || { cat "$W/pip.log" | tail -3; return 1; }
}

skip() {
  printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
  printf '!!! PEERS STAGE SKIPPED: %s\n' "$1"
  printf '!!! (nothing was checked against the peers; this is not a pass)\n'
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
  exit 0
}

# check NAME EXPECTED-EXIT EXPECTED-LINE CONFORM-ARGS… — runs conform, compares the exit code
# and (when not empty) requires EXPECTED-LINE among the counterexample lines it prints.
check() {
  local name=$1 want=$2 line=$3; shift 3
  local out status
  out=$("$Q" conform --quiet "$@" 2>&1); status=$?
  if [ "$status" -ne "$want" ]; then
    echo "peers: FAIL $name: exit $status, expected $want"; echo "$out" | tail -6; failures=$((failures + 1)); return
  fi
  if [ -n "$line" ] && ! grep -qF -- "$line" <<<"$out"; then
    echo "peers: FAIL $name: expected the line: $line"; echo "$out" | tail -6; failures=$((failures + 1)); return
  fi
  echo "peers: ok   $name ($(grep -E '^conform: ' <<<"$out" | tail -1))"
}

venv venv-mldtypes-0.6 numpy ml-dtypes==0.6.0 || skip "cannot install ml-dtypes 0.6.0 from PyPI"
venv venv-mldtypes-0.7 numpy ml-dtypes==0.7.0 || skip "cannot install ml-dtypes 0.7.0 from PyPI"
venv venv-onnxruntime numpy ml-dtypes==0.7.0 onnx onnxruntime==1.32.0 || skip "cannot install onnxruntime 1.32.0 from PyPI"

# --- ml_dtypes: every format, every input set, under the profile of the release -------------
"$Q" inputs --set exhaustive-f16 --output "$W/f16.npy"
"$Q" inputs --set exhaustive-bf16 --output "$W/bf16.npy"
"$Q" inputs --set exhaustive-f32 --shard 64/256 --output "$W/s64.npy"   # patterns 0x40000000… = [2, 8)
for release in 0.6 0.7; do
  PY=.build/venv-mldtypes-$release/bin/python
  profile=ml_dtypes-$release
  for f in e4m3fn e5m2 e4m3 e3m4 e4m3fnuz e5m2fnuz e4m3b11fnuz e8m0fnu e2m3fn e3m2fn e2m1fn; do
    "$Q" inputs --set float64 --format $f --output "$W/f64.npy"
    "$Q" inputs --set boundaries --format $f --mode nonsat --profile $profile --output "$W/b.npy"
    "$Q" inputs --set roundtrip --format $f --output "$W/rt.npy"
    "$Q" inputs --set decode --format $f --output "$W/codes.npy"
    for s in f64 b rt f16 bf16 s64; do "$PY" $PEER --peer ml_dtypes --format $f "$W/$s.npy" "$W/$s.out.npy"; done
    "$PY" $PEER --peer ml_dtypes --format $f --decode "$W/codes.npy" "$W/dec.npy"
    claim=(--format $f --mode nonsat --profile $profile)
    check "ml_dtypes $release $f float64" 0 "" "${claim[@]}" --inputs "$W/f64.npy" --outputs "$W/f64.out.npy" --suite float64
    check "ml_dtypes $release $f boundaries" 0 "" "${claim[@]}" --inputs "$W/b.npy" --outputs "$W/b.out.npy"
    check "ml_dtypes $release $f roundtrip" 0 "" "${claim[@]}" --inputs "$W/rt.npy" --outputs "$W/rt.out.npy" --suite roundtrip
    check "ml_dtypes $release $f f16/bf16/decode" 0 "" "${claim[@]}" --f16-codes "$W/f16.out.npy" --bf16-codes "$W/bf16.out.npy" --decoded "$W/dec.npy"
    check "ml_dtypes $release $f f32 shard 64/256" 0 "" "${claim[@]}" --f32-codes "$W/s64.out.npy" --shard 64/256
  done
done
# Negative control: each release's outputs fail under the other release's profile (ml_dtypes 0.6
# rounds Float64 through Float32; 0.7 rounds it once).
"$Q" inputs --set float64 --format e4m3fn --output "$W/f64.npy"
for release in 0.6 0.7; do
  .build/venv-mldtypes-$release/bin/python $PEER --peer ml_dtypes --format e4m3fn "$W/f64.npy" "$W/f64.$release.npy"
done
check "ml_dtypes 0.7 e4m3fn float64 under the 0.6 profile" 1 "" --format e4m3fn --mode nonsat --profile ml_dtypes-0.6 \
  --inputs "$W/f64.npy" --outputs "$W/f64.0.7.npy" --suite float64
check "ml_dtypes 0.6 e4m3fn float64 under the 0.7 profile" 1 "" --format e4m3fn --mode nonsat --profile ml_dtypes-0.7 \
  --inputs "$W/f64.npy" --outputs "$W/f64.0.6.npy" --suite float64

# --- onnxruntime 1.32.0 Cast -----------------------------------------------------------------
PY=.build/venv-onnxruntime/bin/python
"$Q" inputs --set exhaustive-f32 --shard 68/256 --output "$W/s68.npy"   # [128, 512): holds 448 … 496
"$Q" inputs --set exhaustive-f32 --shard 72/256 --output "$W/s72.npy"   # [2^15, 2^17): holds 57344…65536
"$Q" inputs --set float64 --format e4m3fn --output "$W/f64.npy"
"$PY" $PEER --peer onnxruntime --format e4m3fn --saturate 0 "$W/s68.npy" "$W/s68.nonsat.npy"
"$PY" $PEER --peer onnxruntime --format e4m3fn --saturate 1 "$W/s68.npy" "$W/s68.sat.npy"
"$PY" $PEER --peer onnxruntime --format e5m2 --saturate 0 "$W/s72.npy" "$W/s72.nonsat.npy"
"$PY" $PEER --peer onnxruntime --format e4m3fn --saturate 1 "$W/f64.npy" "$W/f64.ort.npy"
check "onnxruntime e4m3fn saturate=0: [480, 496) → 448 instead of NaN" 1 \
  "input 0x43f00000 = 480.0 (0x1.ep+8): expected 0x7f (nan), got 0x7e (448)" \
  --format e4m3fn --mode nonsat --f32-codes "$W/s68.nonsat.npy" --shard 68/256
check "onnxruntime e4m3fn saturate=1 (right)" 0 "" --format e4m3fn --mode sat --f32-codes "$W/s68.sat.npy" --shard 68/256
check "onnxruntime e5m2 saturate=0: the 61440 tie → NaN instead of +inf" 1 \
  "input 0x47700000 = 61440.0 (0x1.ep+15): expected 0x7c (inf), got 0x7f (nan)" \
  --format e5m2 --mode nonsat --f32-codes "$W/s72.nonsat.npy" --shard 72/256
check "onnxruntime e4m3fn Float64 rounded through Float32" 1 \
  "input 0x3f50000000000001 = 0.0009765625000000002 (0x1.0000000000001p-10): expected 0x01 (0.001953125), got 0x00 (0)" \
  --format e4m3fn --mode sat --inputs "$W/f64.npy" --outputs "$W/f64.ort.npy" --suite float64

if [ "$failures" -gt 0 ]; then echo "peers: $failures check(s) failed"; exit 1; fi
echo "peers: every check as expected"
