#!/usr/bin/env bash
# Builds the Python extension into a virtualenv under target/, then runs the pytest suite
# (which also runs examples/python/) and checks the type stubs with mypy.stubtest.
# Reuses the workspace's cargo target dir, so a rebuild after a Rust change is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="target/python-venv"

# --system-site-packages: pytest, mypy and maturin come from scripts/setup.sh's pip install.
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv --system-site-packages "$VENV"
fi
export VIRTUAL_ENV="$PWD/$VENV"
export PATH="$VIRTUAL_ENV/bin:$PATH"

# `maturin develop` installs the package in place: forklift-py/python stays the source of the
# pure-Python modules and the extension is copied next to them.
(cd forklift-py && maturin develop --quiet)

python -m pytest -q forklift-py/tests

# Stubs: `_native.pyi` must describe the compiled module exactly.
MYPYPATH="$PWD/forklift-py/python" python -m mypy.stubtest forklift \
  --allowlist forklift-py/stubtest-allowlist.txt --mypy-config-file forklift-py/pyproject.toml

# The package, the tests and the examples type-check strictly against those stubs.
typed=(forklift-py/python/forklift forklift-py/tests forklift-py/bench)
if [ -d examples/python ]; then typed+=(examples/python); fi
MYPYPATH="$PWD/forklift-py/python" python -m mypy --config-file forklift-py/pyproject.toml "${typed[@]}"
