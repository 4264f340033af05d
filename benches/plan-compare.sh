#!/usr/bin/env bash
# (f) A whole plan end to end against qemu-img on the same disks with the same parallelism.
#
# `forklift demo --vms VMS` builds an OVA catalog of VMS VMs with two streamOptimized disks
# each (half packed as .ova, half as extracted .ovf) and its manifests. Then, round by
# round, taking turns:
#   forklift  `forklift migrate -f manifests.yaml --destination local:DIR` into a fresh DIR
#             (every disk copied into a raw file and flushed; OVA VMs are admitted 20 at
#             a time, controller_max_vm_inflight, and a VM's disks copy in parallel);
#   qemu-img  `qemu-img convert -W -m 8 -O raw DISK.vmdk DISK.raw && sync DISK.raw` for every
#             disk of the same catalog, min(VMS, 20) VMs' disks at a time (xargs -P).
# Prints each side's fastest and median wall time, MiB/s of data written, peak RSS and CPU.
# Goal: forklift <= 1.0x qemu-img; RSS <= 64 MiB.
# Usage: benches/plan-compare.sh   (VMS=20 ROUNDS=5, DIR=/var/tmp: a real disk)
set -euo pipefail

VMS=${VMS:-20}
ROUNDS=${ROUNDS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
FORKLIFT=${FORKLIFT:-$TARGET/release/forklift}
WORK=$(mktemp -d "${DIR:-/var/tmp}/forklift-plan-bench.XXXXXX")
. "$ROOT/benches/lib.sh"
bench_cleanup_on_exit

need_tools qemu-img jq xargs /usr/bin/time
build_forklift

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg); $(findmnt -n -o FSTYPE -T "$WORK") at $WORK; $VMS VMs;" \
  "fastest and median of $ROUNDS runs"
# Not piped into head: the demo would fail writing to a closed pipe (and pipefail with it).
"$FORKLIFT" demo --vms "$VMS" --dir "$WORK/demo" --quiet >"$WORK/demo.txt" 2>&1
head -2 "$WORK/demo.txt"
# The same streamOptimized disks qemu-img reads: an .ova's stay in the builder's work folder.
find "$WORK/demo/work" "$WORK/demo/catalog" -name '*.vmdk' | sort >"$WORK/disks.txt"
disks=$(wc -l <"$WORK/disks.txt")
parallel=$(( (VMS < 20 ? VMS : 20) * 2 ))

fresh() { rm -rf "$1"; mkdir -p "$1"; } # DIR: an empty DIR for the next run to write into

data_mib=0
for _ in $(seq 1 "$ROUNDS"); do
  fresh "$WORK/out"
  once "$FORKLIFT" migrate -o json -f "$WORK/demo/manifests.yaml" \
    --destination "local:$WORK/out"
  keep forklift
  jq -e '.vms | all(.outcome == "succeeded")' "$WORK/out.txt" >/dev/null ||
    { echo "forklift migrate did not succeed" >&2; exit 1; }
  data_mib=$(jq '.bytesWritten / 1048576' "$WORK/out.txt")
  plan_seconds=$(jq '.seconds' "$WORK/out.txt")
  fresh "$WORK/base"
  once xargs -a "$WORK/disks.txt" -P "$parallel" -I{} sh -c \
    'out="$1/$(basename "$2" .vmdk).raw"; qemu-img convert -W -m 8 -f vmdk -O raw "$2" "$out" && sync "$out"' \
    sh "$WORK/base" {}
  keep qemu-img
done

echo
echo "$VMS VMs, $disks disks, $(printf %.0f "$data_mib") MiB of data written per run; qemu-img $parallel at a time"
for t in forklift qemu-img; do
  printf "%-9s %7.2f s %6.0f MiB/s data %7.1f MiB RSS %7.2f s CPU %7.2f s median\n" "$t" \
    "${TIME[$t]}" "$(echo "$data_mib / ${TIME[$t]}" | bc -l)" "$(echo "${RSS[$t]} / 1024" | bc -l)" \
    "${CPU[$t]}" "$(median "$t")"
done
printf "forklift / qemu-img: %.2fx (median %.2fx); last plan report: %.2f s\n" \
  "$(echo "${TIME[forklift]} / ${TIME[qemu-img]}" | bc -l)" \
  "$(echo "$(median forklift) / $(median qemu-img)" | bc -l)" "$plan_seconds"
