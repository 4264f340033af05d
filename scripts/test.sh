#!/usr/bin/env bash
# Runs every test of the workspace: Rust unit, integration and doc tests, then the Python suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
if [ -f forklift-py/pyproject.toml ] && [ -d forklift-py/tests ]; then
  bash scripts/python-tests.sh
fi
