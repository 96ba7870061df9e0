#!/bin/sh
# Builds the libFuzzer harnesses (clang, ASan + UBSan) in build-fuzz/ and runs
# each one named on the command line (or every tests/fuzz/fuzz_*.c) for
# FUZZ_SECONDS seconds (default 60), one after another, against a working
# copy of its seed corpus (build-fuzz/corpus/<name>/, kept between runs; a
# FUZZ_RUNS run uses a fresh copy in build-fuzz/corpus-runs/<name>/; the
# checked-in corpus is never written). Prints executions and whether it
# crashed; a crash input is saved under tests/fuzz/crashes/. Exits non-zero
# if any fuzzer crashed.
#
#   scripts/fuzz.sh                      # all, 60 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh http_request
#   FUZZ_RUNS=20000 FUZZ_SEED=1 scripts/fuzz.sh   # repeatable (what ./dev test runs)
#
# A tests/fuzz/<name>.dict, or tests/fuzz/<prefix>.dict for the part of the
# name before the first '_', is passed as the libFuzzer dictionary.
# FUZZ_BUILD picks another build directory; FUZZ_MESON_ARGS adds options to
# its first `meson setup`.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}

if [ ! -f "$build/build.ninja" ]; then
    # shellcheck disable=SC2086
    CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        ${FUZZ_MESON_ARGS:-}
fi

if [ $# -gt 0 ]; then
    names="$*"
else
    names=$(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done)
fi

targets=""
for n in $names; do
    if [ ! -f "tests/fuzz/fuzz_$n.c" ]; then
        echo "fuzz.sh: no harness tests/fuzz/fuzz_$n.c" >&2
        exit 2
    fi
    targets="$targets tests/fuzz/fuzz-$n"
done
# shellcheck disable=SC2086
ninja -C "$build" $targets

# UB is a finding, not a warning to scroll past.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"

mkdir -p tests/fuzz/crashes
failed=0
summary=""
for n in $names; do
    work="$build/corpus/$n"
    if [ -n "${FUZZ_RUNS:-}" ]; then
        # A repeatable run starts from the checked-in corpus alone: inputs
        # that earlier runs added to the working copy would change what it
        # executes.
        work="$build/corpus-runs/$n"
        rm -rf "$work"
    fi
    mkdir -p "$work"
    if [ -d "tests/fuzz/corpus/$n" ]; then
        cp -n "tests/fuzz/corpus/$n"/* "$work"/ 2>/dev/null || true
    fi
    dict=""
    prefix=${n%%_*}
    if [ -f "tests/fuzz/$n.dict" ]; then
        dict="-dict=tests/fuzz/$n.dict"
    elif [ -f "tests/fuzz/$prefix.dict" ]; then
        dict="-dict=tests/fuzz/$prefix.dict"
    fi
    log="$build/fuzz-$n.log"
    if [ -n "${FUZZ_RUNS:-}" ]; then
        budget="$FUZZ_RUNS runs, seed ${FUZZ_SEED:-1}"
    else
        budget="${seconds}s"
    fi
    echo "== fuzz-$n: $budget, corpus $work ($(find "$work" -type f | wc -l) inputs)"
    start=$(date +%s)
    rc=0
    # shellcheck disable=SC2086
    # FUZZ_RUNS=N (with FUZZ_SEED) makes a run repeatable: the same inputs
    # every time, as a CI gate must be; without it, FUZZ_SECONDS of search.
    if [ -n "${FUZZ_RUNS:-}" ]; then
        limit="-runs=$FUZZ_RUNS -seed=${FUZZ_SEED:-1}"
    else
        limit="-max_total_time=$seconds"
    fi
    # shellcheck disable=SC2086
    "$build/tests/fuzz/fuzz-$n" $limit -timeout=10 -print_final_stats=1 \
        -artifact_prefix="tests/fuzz/crashes/$n-" $dict "$work" >"$log" 2>&1 || rc=$?
    took=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ -z "$execs" ]; then
        execs=$(grep -o '#[0-9]*' "$log" | tail -n 1 | tr -d '#')
    fi
    if [ "$rc" -ne 0 ]; then
        failed=1
        state="CRASHED (exit $rc)"
        grep -E 'ERROR|property violated|runtime error|Test unit written' "$log" | head -n 5 || true
    else
        state="no crash"
    fi
    line="fuzz-$n: ${execs:-?} execs in ${took}s, $(find "$work" -type f | wc -l) corpus inputs, $state (log: $log)"
    echo "$line"
    summary="$summary$line
"
done
echo "== summary"
printf '%s' "$summary"
exit $failed
