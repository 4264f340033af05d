#!/usr/bin/env bash
# Compares `forklift copy` (release build) with nbdcopy and `qemu-img convert` on the same
# sources, in one run, and prints wall time, MiB/s, peak RSS and ratios:
#
#   (a) SIZE fully allocated:      nbdkit pattern        -> nbdkit memory
#  (a0) the same, zero detection off in forklift (--sparse 0) and nbdcopy (-S 0)
#   (b) SIZE virtual, DATA of data: qemu-nbd raw on tmpfs -> nbdkit memory (extents matter)
#   (c) 1% of SIZE dirty:          qemu-nbd qcow2 -B b0  -> nbdkit memory (forklift only:
#                                   neither nbdcopy nor qemu-img copy a dirty bitmap)
#
# Goals: (a) forklift <= 0.9x nbdcopy, (b) <= 1.0x nbdcopy, (c) <= 2% of (a); RSS <= 64 MiB.
# Besides wall time, each row shows the CPU seconds of the copying tool and of the servers
# during its run: on a machine with few CPUs the servers' work bounds every tool.
# Every server listens on a Unix socket; the destination is warmed once (the memory plugin
# allocating pages would otherwise dominate the first run) and every tool overwrites all
# of it, so each run starts from the same state. The tools take turns for ROUNDS rounds;
# each row shows the fastest run of its tool and the median wall time of all its runs (on
# a shared machine the median ratio is the steadier one).
#
# Usage: benches/copy-compare.sh            (SIZE_GIB=8 DATA_GIB=1 ROUNDS=5)
#        SIZE_GIB=2 DATA_GIB=1 benches/copy-compare.sh   when memory or time is short
# Needs: nbdkit, qemu-utils, libnbd-bin (nbdcopy), time (/usr/bin/time); see scripts/setup.sh.
set -euo pipefail

SIZE_GIB=${SIZE_GIB:-8}
DATA_GIB=${DATA_GIB:-1}
ROUNDS=${ROUNDS:-5}
FORKLIFT_ARGS=${FORKLIFT_ARGS:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FORKLIFT=${FORKLIFT:-$ROOT/target/release/forklift}
WORK=$(mktemp -d "${TMPDIR:-/dev/shm}/forklift-bench.XXXXXX")
. "$ROOT/benches/lib.sh"
bench_cleanup_on_exit

need_tools nbdkit nbdcopy qemu-img qemu-nbd qemu-io /usr/bin/time
build_forklift

uri() { echo "nbd+unix:///?socket=$WORK/$1.sock"; }

row() { # SCENARIO TOOL
  local key="$1/$2" mib
  mib=$(echo "$SIZE_GIB * 1024 / ${TIME[$key]}" | bc -l)
  printf "%-4s %-10s %8.2f s %9.0f MiB/s %8.1f MiB RSS %6.2f s CPU %6.2f s servers %8.2f s median" \
    "$1" "$2" "${TIME[$key]}" "$mib" "$(echo "${RSS[$key]} / 1024" | bc -l)" "${CPU[$key]}" \
    "${SRV[$key]}" "$(median "$key")"
  if [ -n "${TIME[$1/nbdcopy]:-}" ] && [ "$2" != nbdcopy ]; then
    printf "   %.2fx nbdcopy (median %.2fx)" "$(echo "${TIME[$key]} / ${TIME[$1/nbdcopy]}" | bc -l)" \
      "$(echo "$(median "$key") / $(median "$1/nbdcopy")" | bc -l)"
  fi
  echo
}
# run_all SCENARIO SRC DST [forklift args...]: tools interleaved round by round, so load
# from other processes on the machine hits every tool alike.
run_all() {
  local scenario=$1 src=$2 dst=$3; shift 3
  for _ in $(seq 1 "$ROUNDS"); do
    once "$FORKLIFT" copy -o json "$src" "$dst" $FORKLIFT_ARGS "$@"
    keep "$scenario/forklift"
    cp "$WORK/out.txt" "$WORK/forklift-$scenario.json"
    if [ "$scenario" != c ]; then
      once nbdcopy "$src" "$dst"
      keep "$scenario/nbdcopy"
      once qemu-img convert -n -m 8 -W -f raw -O raw "$src" "$dst"
      keep "$scenario/qemu-img"
    fi
  done
}

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo);" \
  "size ${SIZE_GIB} GiB, data ${DATA_GIB} GiB, fastest and median of $ROUNDS runs"
echo "versions: $("$FORKLIFT" version), $(nbdcopy --version | head -1), $(qemu-img --version | head -1)"

# (a) fully allocated.
start_server src nbdkit --foreground -U "$WORK/src.sock" pattern size="${SIZE_GIB}G"
start_server dst nbdkit --foreground -U "$WORK/dst.sock" memory size="${SIZE_GIB}G"
nbdcopy "$(uri src)" "$(uri dst)"   # warm the destination
run_all a "$(uri src)" "$(uri dst)"
# (a0) the same without zero detection on either side (forklift --sparse 0, nbdcopy -S 0):
# forklift then passes the data from socket to socket without copying it.
for _ in $(seq 1 "$ROUNDS"); do
  once "$FORKLIFT" copy --sparse 0 "$(uri src)" "$(uri dst)"
  keep a0/forklift
  once nbdcopy -S 0 "$(uri src)" "$(uri dst)"
  keep a0/nbdcopy
done
stop_servers

# (b) sparse: DATA_GIB of data in 64 MiB pieces spread over the disk.
qemu-img create -q -f raw "$WORK/sparse.raw" "${SIZE_GIB}G"
write_pieces raw "$WORK/sparse.raw" "$SIZE_GIB" "$DATA_GIB"
start_server sparse qemu-nbd -r -e 8 --persistent -f raw -k "$WORK/sparse.sock" "$WORK/sparse.raw"
start_server dst nbdkit --foreground -U "$WORK/dst.sock" memory size="${SIZE_GIB}G"
nbdcopy "$(uri sparse)" "$(uri dst)"
run_all b "$(uri sparse)" "$(uri dst)"
stop_servers
rm -f "$WORK/sparse.raw"

# (c) 1% dirty: a qcow2 with DATA_GIB of data, bitmap b0, then 1% of the disk rewritten
# in 1 MiB pieces at scattered places.
qemu-img create -q -f qcow2 "$WORK/inc.qcow2" "${SIZE_GIB}G"
write_pieces qcow2 "$WORK/inc.qcow2" "$SIZE_GIB" "$DATA_GIB"
qemu-img bitmap --add --enable -f qcow2 "$WORK/inc.qcow2" b0
dirty=$((SIZE_GIB * 1024 / 100)); step=$((SIZE_GIB * 1024 / dirty))
dargs=(); for i in $(seq 0 $((dirty - 1))); do dargs+=(-c "write -P 0x77 $((i * step))M 1M"); done
qemu-io -f qcow2 "${dargs[@]}" "$WORK/inc.qcow2" >/dev/null
start_server inc qemu-nbd -r -e 8 --persistent -f qcow2 -B b0 -k "$WORK/inc.sock" "$WORK/inc.qcow2"
start_server dst nbdkit --foreground -U "$WORK/dst.sock" memory size="${SIZE_GIB}G"
nbdcopy "$(uri inc)" "$(uri dst)"
run_all c "$(uri inc)" "$(uri dst)" --bitmap b0
stop_servers

echo
for s in a b; do for t in forklift nbdcopy qemu-img; do row $s $t; done; done
row a0 forklift
row a0 nbdcopy
row c forklift
printf "(c)/(a) forklift: %.2f%%\n" "$(echo "100 * ${TIME[c/forklift]} / ${TIME[a/forklift]}" | bc -l)"
echo "forklift JSON summaries:"
for s in a b c; do echo "  ($s) $(tr -d '\n ' < "$WORK/forklift-$s.json")"; done
