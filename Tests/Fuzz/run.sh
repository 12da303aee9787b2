#!/usr/bin/env bash
# libFuzzer targets over the package's real parsing and conversion code (see README,
# "Reliability"). Usage:
#
#   Tests/Fuzz/run.sh build                  build the instrumented modules and every target
#   Tests/Fuzz/run.sh run TARGET [SECONDS] [libFuzzer args…]
#                                            fuzz one target (default 60 s) from its seed corpus
#   Tests/Fuzz/run.sh ci [SECONDS]           build, then fuzz every target SECONDS each (default 60)
#   Tests/Fuzz/run.sh replay TARGET FILE…    run a target once on given inputs (crash triage)
#
# Targets: codec npy results gate calibration (one directory each under Tests/Fuzz/, entry `fuzz.swift`).
#
# How a target is built: SwiftPM compiles the library modules once with libFuzzer coverage and
# AddressSanitizer (`swift build -c release --sanitize fuzzer --sanitize address --target
# Harness`, scratch path .build-fuzz; the C kernels get the same flags), then `swiftc
# -sanitize=fuzzer,address -parse-as-library` compiles the target's `fuzz.swift` (it defines
# `LLVMFuzzerTestOneInput` with `@_cdecl`) against those modules (C targets through their module
# maps) and links their object files, MPFR, GMP and libdl; libFuzzer supplies `main`.
#
# Corpora: the checked-in seeds (Tests/Fuzz/corpus/TARGET, regenerate with make-corpus.py) are
# read-only inputs; new inputs go to .build-fuzz/corpus/TARGET and crashes to
# .build-fuzz/artifacts/TARGET/. A crash makes this script exit 1 and print the reproducer.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
scratch="$root/.build-fuzz"
targets=(codec npy results gate calibration)

build() {
    swift build -c release --scratch-path "$scratch" --sanitize fuzzer --sanitize address --target Harness \
        2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] ' || true
    # A C target that only other C targets depend on (CPUDispatch) is compiled against its
    # header but never built as an object for `--target Harness` (no link step): build it too.
    swift build -c release --scratch-path "$scratch" --sanitize fuzzer --sanitize address --target CPUDispatch \
        2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] ' || true
    local bin
    bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)
    [ -f "$bin/Modules/Harness.swiftmodule" ] || { echo "fuzz: instrumented build failed" >&2; exit 2; }
    # Only Harness and its dependencies are ever built in this scratch directory, so every
    # object file there belongs to the closure; C targets bring generated module maps, system
    # library targets (CMPFR) their own under Sources/.
    local objs=() maps=()
    objs=("$bin"/*.build/*.o)
    for m in "$bin"/*.build/module.modulemap "$root"/Sources/*/module.modulemap; do
        [ -f "$m" ] && maps+=(-Xcc "-fmodule-map-file=$m")
    done
    for t in "${targets[@]}"; do
        swiftc -O -sanitize=fuzzer,address -use-ld=lld -parse-as-library -module-name "Fuzz_$t" \
            -I "$bin/Modules" "${maps[@]}" \
            "Tests/Fuzz/$t/fuzz.swift" "${objs[@]}" -lmpfr -lgmp -ldl -o "$scratch/fuzz-$t"
        echo "fuzz: built $scratch/fuzz-$t"
    done
}

# Runs one target for $2 seconds; prints the execution count; returns non-zero on a crash.
run() {
    local t=$1 secs=${2:-60}
    shift 2 || shift $#
    [ -x "$scratch/fuzz-$t" ] || { echo "fuzz: $scratch/fuzz-$t is not built (run: $0 build)" >&2; exit 2; }
    mkdir -p "$scratch/corpus/$t" "$scratch/artifacts/$t"
    local log="$scratch/fuzz-$t.log"
    local status=0
    # -rss_limit_mb: a parser that allocates what a header claims instead of what the input
    # holds is a bug, so keep the budget small. -timeout: any single input taking 10 s is a hang.
    # SWIFT_BACKTRACE: the Swift runtime's crash handler would intercept a trap (and trips
    # ASan while reading memory); let libFuzzer report it instead.
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$scratch/fuzz-$t" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
        -artifact_prefix="$scratch/artifacts/$t/" "$@" \
        "$scratch/corpus/$t" "$root/Tests/Fuzz/corpus/$t" >"$log" 2>&1 || status=$?
    local execs
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "fuzz: $t: ${execs:-?} executions in ${secs} s, exit $status"
    if [ "$status" -ne 0 ]; then
        grep -E 'ERROR|fatal error|SUMMARY|Test unit written|Fatal error' "$log" | head -20 >&2
        echo "fuzz: $t crashed; full log $log; replay with: $0 replay $t <artifact>" >&2
    fi
    return "$status"
}

case "${1:-}" in
build) build ;;
run)
    [ $# -ge 2 ] || { echo "usage: $0 run TARGET [SECONDS] [libFuzzer args…]" >&2; exit 2; }
    t=$2; secs=${3:-60}; shift; shift; [ $# -gt 0 ] && shift
    run "$t" "$secs" "$@" ;;
ci)
    secs=${2:-60}
    build
    failed=0; total=0
    for t in "${targets[@]}"; do
        run "$t" "$secs" || failed=1
        n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/fuzz-$t.log" | tail -1)
        total=$((total + ${n:-0}))
    done
    echo "fuzz: $total executions across ${#targets[@]} targets"
    exit "$failed" ;;
replay)
    [ $# -ge 3 ] || { echo "usage: $0 replay TARGET FILE…" >&2; exit 2; }
    t=$2; shift 2
    SWIFT_BACKTRACE=enable=no "$scratch/fuzz-$t" "$@" ;;
*)
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
    exit 2 ;;
esac
