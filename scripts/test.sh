#!/usr/bin/env bash
# Runs every test of the workspace: Rust unit, integration and doc tests, the fuzz targets
# (each corpus replayed, then each target fuzzed for FUZZ_SECONDS, 30 s by default), then the
# Python suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
# The fuzz crate is its own workspace: replay every committed corpus input on the plain build
# (in the workspace's target folder, which already holds most of its dependencies), then fuzz
# every target coverage-guided (scripts/fuzz.sh; FUZZ_SECONDS=0 skips the fuzzing).
cargo test --manifest-path fuzz/Cargo.toml --target-dir "${CARGO_TARGET_DIR:-target}" --locked
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
  bash scripts/fuzz.sh
fi
if [ -f forklift-py/pyproject.toml ] && [ -d forklift-py/tests ]; then
  bash scripts/python-tests.sh
fi
