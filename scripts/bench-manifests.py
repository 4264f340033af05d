#!/usr/bin/env python3
"""Compare forklift's manifest parser with PyYAML's C loader on the same corpus.

Runs the criterion bench `forklift-core/benches/manifest.rs` (which writes its corpus),
then loads the corpus with PyYAML (`yaml.CSafeLoader`, plain YAML to Python objects, no
typing or validation) and prints both times and the ratio.
"""
import json
import os
import pathlib
import subprocess
import tempfile
import time

import yaml

root = pathlib.Path(__file__).resolve().parent.parent
corpus = pathlib.Path(tempfile.gettempdir()) / "forklift-manifest-bench.yaml"
env = dict(os.environ, FORKLIFT_BENCH_CORPUS=str(corpus))
subprocess.run(
    ["cargo", "bench", "-p", "forklift-core", "--bench", "manifest", "--",
     "parse_yaml", "--warm-up-time", "1", "--measurement-time", "5"],
    cwd=root, env=env, check=True, stdout=subprocess.DEVNULL,
)
estimates = root / "target/criterion/manifest/parse_yaml_200_plans/new/estimates.json"
ours_ms = json.loads(estimates.read_text())["median"]["point_estimate"] / 1e6

text = corpus.read_text()
runs = []
for _ in range(5):
    start = time.perf_counter()
    docs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    runs.append(time.perf_counter() - start)
assert len(docs) == 200
pyyaml_ms = sorted(runs)[len(runs) // 2] * 1e3

print(f"corpus: {len(text) / 1e6:.2f} MB, 200 Plans x 25 VMs")
print(f"forklift (typed, validated, diagnostics): {ours_ms:8.1f} ms")
print(f"PyYAML CSafeLoader (untyped):             {pyyaml_ms:8.1f} ms")
print(f"ratio PyYAML / forklift: {pyyaml_ms / ours_ms:.2f}x")
