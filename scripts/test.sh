#!/usr/bin/env bash
# Runs every test of the workspace: Rust unit, integration and doc tests, the fuzz targets
# (each corpus replayed, then each target fuzzed for FUZZ_SECONDS, 15 s by default), then the
# Python suite.
#
# scripts/setup.sh (minutes of apt and pip on a new machine) runs in the background while the
# tests compile (the build needs none of it), and the conversion tests' guest (debootstrap and
# virt-customize) is built after it while the fuzz targets build and run. The Rust test
# binaries then run TEST_JOBS (default 2) at a time through scripts/test-queue.py, each with
# the environment `cargo test` gives it, each one's output printed whole, and a table of wall
# and CPU seconds at the end (TEST_JOBS=1: one at a time).
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir=${CARGO_TARGET_DIR:-target}
mkdir -p "$target_dir/tmp"
setup_log=$(realpath -m "$target_dir/tmp/test-setup.log")
guest_log=$(realpath -m "$target_dir/tmp/test-guest.log")
bash scripts/setup.sh >"$setup_log" 2>&1 &
setup_pid=$!
# The guest goes where tests/convert_v2v.rs looks (CARGO_TARGET_TMPDIR/test-guest); it needs
# setup's packages, so its setup call waits on setup.sh's lock for the one above. The test
# also takes the guest script's lock, so it would wait for a build still under way.
(bash scripts/setup.sh && bash scripts/build-test-guest.sh "$target_dir/tmp/test-guest") \
  >"$guest_log" 2>&1 &
guest_pid=$!
# waited PID LOG WHAT: waits for a background step; on failure shows its log and stops.
waited() {
  if ! wait "$1"; then
    echo "test: $3 failed; $2 ends:" >&2
    tail -40 "$2" >&2
    exit 1
  fi
}

queue=$(realpath -m "$target_dir/tmp/test-queue")
rm -rf "$queue"
host=$(rustc -vV | sed -n 's/^host: //p')
runner_var="CARGO_TARGET_$(echo "$host" | tr 'a-z-' 'A-Z_')_RUNNER"
# cargo builds every test target and, through the runner, records how it would run each one.
env "$runner_var=python3 $PWD/scripts/test-queue.py record $queue" \
  cargo test --workspace --all-targets --locked
waited "$setup_pid" "$setup_log" "scripts/setup.sh"
grep -v '^/' "$setup_log" || true
# The fuzz crate is its own workspace: replay every committed corpus input on the plain build
# (in the workspace's target folder, which already holds most of its dependencies), then fuzz
# every target coverage-guided (scripts/fuzz.sh; FUZZ_SECONDS=0 skips the fuzzing). It runs
# while the guest is still being built.
cargo test --manifest-path fuzz/Cargo.toml --target-dir "$target_dir" --locked
fuzz_seconds=${FUZZ_SECONDS:-15}
if [ "$fuzz_seconds" != 0 ]; then
  FUZZ_SECONDS=$fuzz_seconds bash scripts/fuzz.sh
fi
waited "$guest_pid" "$guest_log" "building the conversion tests' guest"
python3 scripts/test-queue.py run "$queue" --jobs "${TEST_JOBS:-2}"
cargo test --workspace --doc --locked
if [ -f forklift-py/pyproject.toml ] && [ -d forklift-py/tests ]; then
  bash scripts/python-tests.sh
fi
