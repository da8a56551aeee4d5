#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the libFuzzer targets in a clang build dir of their own and runs
# each for SECONDS with its seed corpus, plus the recorded real streams
# ($RILL_STREAMS_DIR, or ../shared/streams next to the checkout) when
# present, read in place as an extra corpus directory.
#
#   tests/fuzz/run-fuzzers.sh SECONDS [TARGET...]
#
# Environment: FUZZ_BUILD_DIR (default <checkout>/_build-fuzz), FUZZ_WORK_DIR
# (new inputs and crashes; default $FUZZ_BUILD_DIR/fuzz-work), FUZZ_JOBS.
# Needs clang and libclang-rt-14-dev (Debian 12). A crash leaves
# crash-* files in the work dir: fix it, then add the input to
# tests/fuzz/regressions/ so the normal test suite replays it.
set -eu

seconds=${1:?usage: run-fuzzers.sh SECONDS [TARGET...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build_dir=${FUZZ_BUILD_DIR:-$source_dir/_build-fuzz}
work_dir=${FUZZ_WORK_DIR:-$build_dir/fuzz-work}
streams=${RILL_STREAMS_DIR:-$source_dir/../shared/streams}
targets=${*:-sse ndjson stream-parser}

if [ ! -f "$build_dir/build.ninja" ]; then
  CC=clang meson setup "$build_dir" "$source_dir" \
    --buildtype=debugoptimized \
    -Dfuzzing=true \
    -Db_sanitize=address,undefined \
    -Db_lundef=false \
    -Dc_args=-fsanitize=fuzzer-no-link
fi
for target in $targets; do
  ninja -C "$build_dir" "tests/fuzz/fuzz-$target"
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
status=0
for target in $targets; do
  # New inputs go to a scratch corpus; the seeds in the tree stay as written.
  mkdir -p "$work_dir/$target/corpus" "$work_dir/$target/artifacts"
  extra=
  if [ -d "$streams" ]; then
    extra=$streams
  fi
  echo "== fuzz-$target for ${seconds}s"
  # shellcheck disable=SC2086
  "$build_dir/tests/fuzz/fuzz-$target" \
    -max_total_time="$seconds" \
    -max_len=131072 \
    -timeout=10 \
    -print_final_stats=1 \
    -artifact_prefix="$work_dir/$target/artifacts/" \
    "$work_dir/$target/corpus" "$here/corpus/$target" $extra \
    || status=$?
done
exit $status
