#!/usr/bin/env bash
# Renders the naming-template cases of benches/templates-cases.jsonl with our engine (criterion
# bench `templates`) and with Go's text/template + sprig (tools/gotemplate-ref in bench mode),
# then reports renders per second of both and the ratio ours/Go.
#
# Usage: benches/templates-vs-go.sh [seconds per measurement, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-3}"
CASES=benches/templates-cases.jsonl
WORK=target/gotemplate-ref-bench

# Go reference (Debian golang-go + golang-github-masterminds-sprig-dev, GOPATH mode).
mkdir -p "$WORK/gopath/src"
ln -sfn "$PWD/tools/gotemplate-ref" "$WORK/gopath/src/gotemplateref"
HOME="$PWD/$WORK" GOCACHE="$PWD/$WORK/gocache" GOPATH="$PWD/$WORK/gopath:/usr/share/gocode" GO111MODULE=off \
  go build -o "$WORK/gotemplate-ref" gotemplateref

echo "== ours (criterion, release build)" >&2
cargo bench --bench templates -- --warm-up-time 1 --measurement-time "$SECS" >&2

echo "== Go $(go version | awk '{print $3}') text/template + sprig" >&2
"$WORK/gotemplate-ref" -bench-ms "$((SECS * 1000))" < "$CASES" > "$WORK/go-results.jsonl"

python3 - "$CASES" "$WORK/go-results.jsonl" <<'PY'
import json, sys, glob, os
cases = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
go = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]

def ours(mode, name):
    pattern = f"target/criterion/templates/{mode}_{name}/new/estimates.json"
    paths = glob.glob(pattern)
    if not paths:
        raise SystemExit(f"missing criterion result {pattern}")
    est = json.load(open(paths[0]))
    ns = est["mean"]["point_estimate"]
    return 1e9 / ns

print(f"{'template':<14} {'mode':<14} {'ours renders/s':>16} {'Go renders/s':>14} {'ours/Go':>8}")
for case, g in zip(cases, go):
    for mode, key in (("execute", "execute_per_sec"), ("parse_execute", "parse_execute_per_sec")):
        o = ours(mode, case["name"])
        r = g[key]
        print(f"{case['name']:<14} {mode:<14} {o:>16,.0f} {r:>14,.0f} {o / r:>7.1f}x")
PY
