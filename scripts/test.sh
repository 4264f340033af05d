#!/usr/bin/env bash
# Runs every test of the workspace: Rust unit, integration and doc tests, the fuzz targets
# (each corpus replayed, then each target fuzzed for FUZZ_SECONDS, 15 s by default), then the
# Python suite.
#
# scripts/setup.sh (minutes of apt and pip on a new machine), then the conversion tests' guest
# (debootstrap and virt-customize), run in the background while the tests compile: the build
# needs neither. The Rust test binaries then run TEST_JOBS (default 2) at a time through
# scripts/test-queue.py, each with the environment `cargo test` gives it, each one's output
# printed whole, and a table of wall and CPU seconds at the end (TEST_JOBS=1: one at a time).
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=${CARGO_TARGET_DIR:-target}
mkdir -p "$target_dir/tmp"
prepare_log=$(realpath -m "$target_dir/tmp/test-prepare.log")
# The guest goes where tests/convert_v2v.rs looks (CARGO_TARGET_TMPDIR/test-guest); the test
# also takes the script's lock, so it would wait for a build still under way.
(bash scripts/setup.sh && bash scripts/build-test-guest.sh "$target_dir/tmp/test-guest") \
  >"$prepare_log" 2>&1 &
prepare_pid=$!

queue=$(realpath -m "$target_dir/tmp/test-queue")
rm -rf "$queue"
host=$(rustc -vV | sed -n 's/^host: //p')
runner_var="CARGO_TARGET_$(echo "$host" | tr 'a-z-' 'A-Z_')_RUNNER"
# cargo builds every test target and, through the runner, records how it would run each one.
env "$runner_var=python3 $PWD/scripts/test-queue.py record $queue" \
  cargo test --workspace --all-targets --locked
if ! wait "$prepare_pid"; then
  echo "test: setup or the conversion guest's build failed; $prepare_log ends:" >&2
  tail -40 "$prepare_log" >&2
  exit 1
fi
grep -v '^/' "$prepare_log" || true
python3 scripts/test-queue.py run "$queue" --jobs "${TEST_JOBS:-2}"
cargo test --workspace --doc --locked
# The fuzz crate is its own workspace: replay every committed corpus input on the plain build
# (in the workspace's target folder, which already holds most of its dependencies), then fuzz
# every target coverage-guided (scripts/fuzz.sh; FUZZ_SECONDS=0 skips the fuzzing).
cargo test --manifest-path fuzz/Cargo.toml --target-dir "$target_dir" --locked
fuzz_seconds=${FUZZ_SECONDS:-15}
if [ "$fuzz_seconds" != 0 ]; then
  FUZZ_SECONDS=$fuzz_seconds bash scripts/fuzz.sh
fi
if [ -f forklift-py/pyproject.toml ] && [ -d forklift-py/tests ]; then
  bash scripts/python-tests.sh
fi
