#!/bin/sh
# Builds every libFuzzer target with clang and runs each for a while on a
# scratch copy of its seed corpus (the committed corpus is never written).
# Usage: tests/fuzz/run.sh [seconds-per-target, default 30] [build dir, default build-fuzz]
# Exits non-zero if any target crashes, leaks or trips a sanitizer.
set -eu

seconds=${1:-30}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${2:-build-fuzz}
case "$build" in
    /*) ;;
    *) build="$root/$build" ;;
esac

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DIMAPFRONT_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

targets=$(for source in "$here"/fuzz_*.cpp; do basename "$source" .cpp; done)
for target in $targets; do
    cmake --build "$build" --target "$target" -j2
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM

status=0
for target in $targets; do
    corpus="$scratch/$target"
    mkdir -p "$corpus"
    if [ -d "$here/corpus/$target" ]; then
        cp "$here/corpus/$target"/* "$corpus"/ 2>/dev/null || true
    fi
    # A target's dictionary (tests/fuzz/<target>.dict) when it has one.
    dict=
    if [ -f "$here/$target.dict" ]; then
        dict="-dict=$here/$target.dict"
    fi
    echo "== $target: ${seconds}s"
    if ! (cd "$scratch" && "$build/tests/fuzz/$target" -max_total_time="$seconds" $dict \
            -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$corpus" \
            >"$scratch/$target.log" 2>&1); then
        echo "!! $target failed:"
        tail -n 60 "$scratch/$target.log"
        for crash in "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* "$scratch"/oom-*; do
            if [ -e "$crash" ]; then
                cp "$crash" "$build/"
                echo "   input kept in $build/$(basename "$crash")"
            fi
        done
        status=1
    else
        grep -E '^stat::number_of_executed_units' "$scratch/$target.log" || true
    fi
done
exit $status
