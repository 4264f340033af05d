#!/usr/bin/env bash
# Warm migration demo: starts the vCenter simulator (tools/vcsim) with one VM of two 256 MiB
# disks (64 MiB of data each), migrates it warm into DIR/out with a precopy every 2 s while
# the guest writes steadily into both disks (until it is asked to shut down), sets the cutover by editing the
# Migration manifest, and compares every target image with its source (qemu-img compare).
# The VM stays on (its simulated VMware Tools run): the cutover asks the guest to shut down.
# Prints one line per precopy and disk, how the source was powered off, the forecast and
# actual final sync (source off until the final snapshot is removed) with their ratio, and
# the forecast and actual downtime. Exit 0 only when every target disk equals its source
# at the cutover.
#
#   scripts/warm-demo.sh [--dir DIR]     (DIR keeps the manifests, the target and the
#                                         sources; a temporary folder otherwise)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=
while (($#)); do
  case $1 in
    --dir) dir=${2:?--dir needs a folder}; shift 2 ;;
    *) echo "usage: $0 [--dir DIR]" >&2; exit 2 ;;
  esac
done
keep=1
if [[ -z $dir ]]; then
  dir=$(mktemp -d)
  keep=0
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

cd "$root"
cargo build --quiet --example warm_demo
libdir=$dir/vddk

# shellcheck source=lib/vcsim.sh
source scripts/lib/vcsim.sh
cleanup() {
  vcsim_stop
  if ((keep == 0)); then rm -rf "$dir"; fi
}
trap cleanup EXIT
# The VM runs VMware Tools: the cutover asks its guest to shut down (it takes 1 s).
vcsim_start_warm_source "$dir" 2 256 64 -tools-running '*' -guest-shutdown 1s

# The fake VDDK reads the simulator's datastores (at a snapshot: its frozen copy).
vcsim_fake_vddk "$libdir"

status=0
"$root/target/debug/examples/warm_demo" "$dir" "$libdir" || status=$?
if ((keep)) && ((status == 0)); then
  # The simulator removes its datastore when it stops: keep a copy of the sources.
  mkdir -p "$dir/sources"
  while IFS=$'\t' read -r _vm _name _key _capacity _file local; do
    [[ $_vm == \#* || -z $_vm ]] && continue
    cp --sparse=always "$local" "$dir/sources/"
  done <"$VCSIM_DISKS"
  echo "kept in $dir: manifests/, out/ (target), sources/"
fi
exit "$status"
