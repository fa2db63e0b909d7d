#!/usr/bin/env bash
# Run every libFuzzer target of a CAIRN_FUZZ build for a bounded time, one
# after another: scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]
#
# Each target starts from its seed corpus in tests/fuzz/corpus/<name> and
# adds what it finds to BUILD_DIR/fuzz-corpus/<name> (the repository's
# corpus is never written).  A crash leaves its input in
# BUILD_DIR/fuzz-crashes/ and fails the run: fix it, then add the input
# to tests/fuzz/corpus/<name>/ so CTest replays it from then on.
set -uo pipefail
build=${1:?build dir}
seconds=${2:?seconds per target}
shift 2
cd "$(dirname "$0")/.."
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for t in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$t" .c | sed 's/^fuzz_//')"); done
fi
# Inputs larger than the default 4 kB matter where files are fuzzed.
declare -A max_len=([snapshot]=65536 [rdb]=65536 [config]=16384 [resp]=16384)
mkdir -p "$build/fuzz-crashes"
failed=0
for t in "${targets[@]}"; do
    mkdir -p "$build/fuzz-corpus/$t"
    log="$build/fuzz-crashes/$t.log"
    "$build/fuzz_$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=3072 \
        -max_len="${max_len[$t]:-4096}" -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-crashes/$t-" \
        "$build/fuzz-corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ $rc -eq 0 ]; then
        echo "fuzz $t: ${runs:-?} runs in ${seconds}s, no crash"
    else
        failed=1
        echo "fuzz $t: FAILED (exit $rc) after ${runs:-?} runs; see $log"
        grep -m5 -E "ERROR:|invariant failed|runtime error|Test unit written" "$log" | sed 's/^/  /'
    fi
done
exit $failed
