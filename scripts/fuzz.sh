#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ coverage-guided, FUZZ_SECONDS (default 30) each, on the
# stable toolchain: rustc's own SanitizerCoverage pass (-Cpasses=sancov-module, stable codegen
# flags) feeds libFuzzer, linked from libfuzzer-sys; no nightly, no RUSTC_BOOTSTRAP, no
# cargo-fuzz. Each target starts from its committed corpus, fuzz/corpus/<target>/.
#
#   bash scripts/fuzz.sh [TARGET...]     all targets, or the ones named
#   FUZZ_SECONDS=300 bash scripts/fuzz.sh ova_dir
#   FUZZ_MERGE=1 bash scripts/fuzz.sh    afterwards, add the inputs that found new coverage
#                                        to fuzz/corpus/<target>/ (review and commit them)
#
# A crash, a hang (an input running past FUZZ_INPUT_TIMEOUT seconds) or an input that needs
# more than FUZZ_RSS_MIB of memory fails the run; the input is left in
# fuzz/findings/<target>/ (FUZZ_FINDINGS) and named in the output. Replay one with
# `fuzz/target/<host>/release/<target> <file>`, and add it to the corpus with its fix so the
# replay test (`cargo test` in fuzz/) keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
input_timeout=${FUZZ_INPUT_TIMEOUT:-10}
rss_mib=${FUZZ_RSS_MIB:-2048}
findings=${FUZZ_FINDINGS:-fuzz/findings}
host=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=fuzz/target/$host/release
# New inputs of each run go here, not into the committed corpus.
work=fuzz/target/fuzz-work

# The flags cargo-fuzz passes for `--sanitizer none`: edge coverage with inline 8-bit
# counters and a PC table (libFuzzer's coverage feedback), compare tracing (libFuzzer's value
# profile and dictionary), stack depth; assertions and overflow checks stay on. The explicit
# --target keeps these flags off build scripts and proc macros and gives the instrumented
# build its own folder beside the plain one.
RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-sanitizer-coverage-stack-depth \
--cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  cargo build --manifest-path fuzz/Cargo.toml --release --locked --target "$host" --bins

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz/fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi

passed=0
failed=0
for target in "${targets[@]}"; do
  corpus=fuzz/corpus/$target
  out=$findings/$target
  if [ ! -x "$bin_dir/$target" ] || [ ! -d "$corpus" ]; then
    echo "fuzz: $target: no such target (fuzz/fuzz_targets/$target.rs, fuzz/corpus/$target/)" >&2
    failed=$((failed + 1))
    continue
  fi
  rm -rf "${work:?}/$target"
  mkdir -p "$work/$target/new" "$work/$target/tmp" "$out"
  log=$work/$target/log
  status=0
  # TMPDIR: the scratch folders of file-based targets stay inside the work folder even when
  # an input is killed mid-way. `timeout` is a backstop beyond libFuzzer's own limits.
  TMPDIR=$(realpath "$work/$target/tmp") timeout --kill-after=10 $((seconds + input_timeout + 60)) \
    "$bin_dir/$target" -max_total_time="$seconds" -timeout="$input_timeout" \
    -rss_limit_mb="$rss_mib" -artifact_prefix="$out/" -print_final_stats=1 \
    "$work/$target/new" "$corpus" >"$log" 2>&1 || status=$?
  start=$(grep -m1 -o 'INITED cov: [0-9]* ft: [0-9]*' "$log" | sed 's/INITED //' || true)
  end=$(grep -o 'DONE *cov: [0-9]* ft: [0-9]*' "$log" | tail -1 | sed 's/DONE *//' || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  if [ "$status" = 0 ]; then
    passed=$((passed + 1))
    echo "fuzz: $target: ok in ${seconds}s, ${runs:-?} runs; seeds ${start:-?} -> ${end:-?}"
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
      "$bin_dir/$target" -merge=1 -timeout="$input_timeout" -rss_limit_mb="$rss_mib" \
        "$corpus" "$work/$target/new" >>"$log" 2>&1
      echo "fuzz: $target: corpus now $(find "$corpus" -type f | wc -l) inputs (merged)"
    fi
  else
    failed=$((failed + 1))
    echo "fuzz: $target: FAILED (exit $status); log $log; last lines:" >&2
    { grep -v '^#\|^ *"' "$log" || true; } | tail -25 >&2
    echo "fuzz: $target: failing input(s) in $out/:" >&2
    ls -1 "$out" >&2 || true
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
