#!/usr/bin/env bash
# Warm precopy benchmark: how long an incremental precopy of 1% dirty data takes against the
# full copy of the same disk, in the same run, on the real warm path of vSphere: the vCenter
# simulator (tools/vcsim: snapshots freeze the disk, QueryChangedDiskAreas answers from the
# frozen data) and the fake VDDK library (reads a disk at a snapshot), driven by
# `Migrator` exactly as `forklift migrate` drives a warm plan (examples/warm_bench.rs).
#
# Each of ROUNDS rounds is one warm migration into a fresh folder: precopy 1 copies the
# whole disk (SIZE_MIB, fully written), the guest rewrites DIRTY_PERMILLE per mille of it in
# 64 KiB areas spread over the disk, precopy 2 copies what changed, then the cutover. The
# full and incremental copies therefore alternate, and the medians of their ratio are shown.
# The fixed costs of a precopy (removing the previous snapshot, taking the next, reading
# change ids) are shown apart: in the simulator they copy and hash the whole disk, which says
# nothing about vSphere's.
#
# Goal: the incremental precopy's copy <= 3% of the full copy's.
#
# Usage: benches/warm-precopy.sh          (SIZE_MIB=1024 DIRTY_PERMILLE=10 ROUNDS=5)
#        PROFILE=dev benches/warm-precopy.sh   with a debug build (slower copies)
# Needs: Go (Debian's golang + golang-github-vmware-govmomi-dev), cc; see scripts/setup.sh.
set -euo pipefail
SIZE_MIB=${SIZE_MIB:-1024}
export ROUNDS=${ROUNDS:-5} DIRTY_PERMILLE=${DIRTY_PERMILLE:-10}
PROFILE=${PROFILE:-release}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/forklift-warm-bench.XXXXXX")
cd "$root"
cargo build --quiet --profile "$PROFILE" --example warm_bench
out=release
[[ $PROFILE == dev ]] && out=debug
echo "build: $PROFILE"

# shellcheck source=../scripts/lib/vcsim.sh
source scripts/lib/vcsim.sh
cleanup() {
  vcsim_stop
  rm -rf "$dir"
}
trap cleanup EXIT
vcsim_start_warm_source "$dir" 1 "$SIZE_MIB" "$SIZE_MIB"
vcsim_fake_vddk "$dir/vddk"
"$root/target/$out/examples/warm_bench" "$dir" "$dir/vddk"
