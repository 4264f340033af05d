#!/usr/bin/env bash
# Compares copies into a raw file on a real disk (the path of every local-destination
# migration) in one run, tools taking turns round by round, and prints fastest and median
# wall time, MiB/s of data, peak RSS and CPU seconds, with ratios:
#
#   (d) qcow2 SIZE virtual, DATA of data, served by `qemu-nbd -t -r` -> raw file:
#       forklift copy   vs  nbdcopy --flush  and  qemu-img convert -W -m 8 + sync FILE
#   (e) streamOptimized VMDK of the same disk -> raw file (the OVA path: the native VMDK
#       reader and the copy engine, example `vmdk_copy`):
#       forklift        vs  qemu-img convert -O raw -W -m 8 + sync FILE
#
# Every tool ends with its data durable: forklift and nbdcopy --flush call fdatasync,
# qemu-img is followed by `sync FILE` (fsync) inside the timed run. The target is deleted
# before each run and the deletion synced (outside the timing), so every tool creates a new
# sparse file on a settled file system. Sources stay
# in the page cache after the first round, alike for every tool.
# Half of the data pieces are random (incompressible), half base64 text (compresses to
# about 3/4), so VMDK inflation does realistic work.
#
# (d) also runs forklift at each request size of SIZES (default "2M 4M 8M"; the default
# 1M is the plain forklift row), and, with DIRECT=1 (the default), forklift `--direct`
# (O_DIRECT file sink) at 1M and each of SIZES beside qemu-img writing with O_DIRECT
# (`-t none`, + sync). DIRECT=0 skips the O_DIRECT runs.
#
# Goals: (d) forklift <= 0.9x nbdcopy --flush, (e) <= 0.8x qemu-img; RSS <= 64 MiB.
# Usage: benches/file-compare.sh   (SIZE_GIB=4 DATA_MIB=1024 ROUNDS=5, DIR=/var/tmp: a real disk)
# Needs: qemu-utils, libnbd-bin (nbdcopy), /usr/bin/time; a release build of forklift and
# of the example (built if missing).
set -euo pipefail

SIZE_GIB=${SIZE_GIB:-4}
DATA_MIB=${DATA_MIB:-1024}
ROUNDS=${ROUNDS:-5}
CASES=${CASES:-d e}   # which cases run
SIZES=${SIZES:-2M 4M 8M}   # extra forklift request sizes in (d)
DIRECT=${DIRECT:-1}   # forklift --direct and qemu-img -t none (O_DIRECT) in (d)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
FORKLIFT=${FORKLIFT:-$TARGET/release/forklift}
VMDK_COPY=${VMDK_COPY:-$TARGET/release/examples/vmdk_copy}
WORK=$(mktemp -d "${DIR:-/var/tmp}/forklift-file-bench.XXXXXX")
. "$ROOT/benches/lib.sh"
bench_cleanup_on_exit

need_tools nbdcopy qemu-img qemu-nbd /usr/bin/time base64
build_forklift
[[ "$CASES" != *e* ]] || [ -x "$VMDK_COPY" ] || (cd "$ROOT" && cargo build --release -q -p forklift-transfer --example vmdk_copy)

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg); target $(findmnt -n -o FSTYPE -T "$WORK") at $WORK;" \
  "size ${SIZE_GIB} GiB, data ${DATA_MIB} MiB, fastest and median of $ROUNDS runs"
echo "versions: $("$FORKLIFT" version), $(nbdcopy --version | head -1), $(qemu-img --version | head -1)"

# The source disk: DATA_MIB in 64 MiB pieces spread over SIZE_GIB.
raw=$WORK/src.raw
truncate -s "${SIZE_GIB}G" "$raw"
pieces=$((DATA_MIB / 64)); stride=$((SIZE_GIB * 1024 / pieces))
head -c $((48 << 20)) /dev/urandom | base64 -w 0 | head -c $((64 << 20)) >"$WORK/text.bin"
for i in $(seq 0 $((pieces - 1))); do
  if [ $((i % 2)) = 0 ]; then
    dd if=/dev/urandom of="$raw" bs=1M count=64 seek=$((i * stride)) conv=notrunc status=none
  else
    dd if="$WORK/text.bin" of="$raw" bs=1M count=64 seek=$((i * stride)) conv=notrunc status=none
  fi
done
[[ "$CASES" != *d* ]] || qemu-img convert -q -f raw -O qcow2 "$raw" "$WORK/src.qcow2"
[[ "$CASES" != *e* ]] ||
  qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized "$raw" "$WORK/src.vmdk"
expected=$(sha256sum <"$raw" | cut -d' ' -f1)
rm -f "$raw" "$WORK/text.bin"

if [[ "$CASES" == *d* ]]; then
  start_server src qemu-nbd -t -r -e 8 -f qcow2 -k "$WORK/src.sock" "$WORK/src.qcow2"
  uri="nbd+unix:///?socket=$WORK/src.sock"
fi

# fresh CMD... : one timed run (lib.sh `once`) into $WORK/dst.raw, deleted first. The
# deletion's journal commit (and, on a file system mounted with `discard`, the discard of the
# freed 1 GiB) is synced here, not inside the next tool's timed run.
fresh() {
  rm -f "$WORK/dst.raw"
  sync -f "$WORK"
  once "$@"
}
check() { # TOOL: the copy must be byte-identical to the source
  local got
  got=$(sha256sum <"$WORK/dst.raw" | cut -d' ' -f1)
  [ "$got" = "$expected" ] || { echo "$1 produced a different image" >&2; exit 1; }
}

row() { # SCENARIO TOOL BASELINE
  local key="$1/$2"
  printf "%-4s %-18s %7.2f s %6.0f MiB/s data %6.1f MiB RSS %6.2f s CPU %7.2f s median" \
    "$1" "$2" "${TIME[$key]}" "$(echo "$DATA_MIB / ${TIME[$key]}" | bc -l)" \
    "$(echo "${RSS[$key]} / 1024" | bc -l)" "${CPU[$key]}" "$(median "$key")"
  if [[ "$2" == forklift* ]]; then
    printf "   %.2fx %s (median %.2fx)" "$(echo "${TIME[$key]} / ${TIME[$1/$3]}" | bc -l)" "$3" \
      "$(echo "$(median "$key") / $(median "$1/$3")" | bc -l)"
  fi
  echo
}

for round in $(seq 1 "$ROUNDS"); do
  [[ "$CASES" == *d* ]] || break
  fresh "$FORKLIFT" copy -o json "$uri" "$WORK/dst.raw"; keep d/forklift
  [ "$round" = 1 ] && { check "forklift (d)"; cp "$WORK/out.txt" "$WORK/forklift-d.json"; }
  fresh nbdcopy --flush "$uri" "$WORK/dst.raw"; keep d/nbdcopy
  [ "$round" = 1 ] && check nbdcopy
  fresh sh -c 'qemu-img convert -W -m 8 -f raw -O raw "$1" "$2" && sync "$2"' sh "$uri" "$WORK/dst.raw"
  keep d/qemu-img
  [ "$round" = 1 ] && check "qemu-img (d)"
  for size in $SIZES; do
    fresh "$FORKLIFT" copy -o json --request-size "$size" "$uri" "$WORK/dst.raw"; keep d/forklift-$size
    [ "$round" = 1 ] && check "forklift --request-size $size (d)"
  done
  if [ "$DIRECT" = 1 ]; then
    fresh "$FORKLIFT" copy -o json --direct "$uri" "$WORK/dst.raw"; keep d/forklift-direct
    [ "$round" = 1 ] && check "forklift --direct (d)"
    for size in $SIZES; do
      fresh "$FORKLIFT" copy -o json --direct --request-size "$size" "$uri" "$WORK/dst.raw"
      keep d/forklift-direct-$size
      [ "$round" = 1 ] && check "forklift --direct --request-size $size (d)"
    done
    fresh sh -c 'qemu-img convert -t none -W -m 8 -f raw -O raw "$1" "$2" && sync "$2"' sh "$uri" "$WORK/dst.raw"
    keep d/qemu-img-direct
    [ "$round" = 1 ] && check "qemu-img -t none (d)"
  fi
done
for round in $(seq 1 "$ROUNDS"); do
  [[ "$CASES" == *e* ]] || break
  fresh "$VMDK_COPY" "$WORK/src.vmdk" "$WORK/dst.raw"; keep e/forklift
  [ "$round" = 1 ] && { check "forklift (e)"; cp "$WORK/out.txt" "$WORK/forklift-e.json"; }
  fresh sh -c 'qemu-img convert -W -m 8 -f vmdk -O raw "$1" "$2" && sync "$2"' sh \
    "$WORK/src.vmdk" "$WORK/dst.raw"
  keep e/qemu-img
  [ "$round" = 1 ] && check "qemu-img (e)"
done

echo
if [[ "$CASES" == *d* ]]; then
  row d forklift nbdcopy
  for size in $SIZES; do row d "forklift-$size" nbdcopy; done
  if [ "$DIRECT" = 1 ]; then
    row d forklift-direct nbdcopy
    for size in $SIZES; do row d "forklift-direct-$size" nbdcopy; done
  fi
  row d nbdcopy
  row d qemu-img
  [ "$DIRECT" = 1 ] && row d qemu-img-direct
  printf "(d)  forklift / qemu-img: %.2fx (median %.2fx)\n" \
    "$(echo "${TIME[d/forklift]} / ${TIME[d/qemu-img]}" | bc -l)" \
    "$(echo "$(median d/forklift) / $(median d/qemu-img)" | bc -l)"
fi
if [[ "$CASES" == *e* ]]; then
  row e forklift qemu-img
  row e qemu-img
fi
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "forklift JSON summaries:"
for s in $CASES; do echo "  ($s) $(tr -d '\n ' <"$WORK/forklift-$s.json")"; done
