# shellcheck shell=bash
# Starts forklift's vCenter simulator (tools/vcsim) as a warm-migration source, for scripts
# such as scripts/warm-demo.sh. Source this file, then:
#
#   vcsim_start_warm_source WORKDIR [DISKS [DISK_MIB [FILL_MIB [VCSIM_FLAG...]]]]
#       Builds tools/vcsim (Debian's Go and govmomi, GOPATH mode) into WORKDIR/bin if its
#       sources are newer, starts it with one VM (DC0_H0_VM0 on a standalone host) of DISKS
#       disks (default 2) of DISK_MIB MiB (default 256), the first FILL_MIB MiB of each
#       (default 64) holding pseudo-random data, with any further simulator flags (such as
#       -tools-running '*' -guest-shutdown 1s: VMware Tools running, ShutdownGuest works),
#       and sets:
#         VCSIM_URL       SDK URL (https://127.0.0.1:PORT/sdk; any user, any password)
#         VCSIM_CA        PEM file of the CA that signed the server certificate
#         VCSIM_DISKS     tab-separated file, one line per disk after a '#' header:
#                         vm-moref  vm-name  device-key  capacity  [ds] path.vmdk  local-flat-file
#                         (write into local-flat-file to change the running disk)
#         VCSIM_PID       the simulator's process id
#       Snapshots freeze each disk in <vm dir>/<snapshot moref>/<disk>-flat.vmdk, and
#       QueryChangedDiskAreas answers from that data (tools/vcsim/cbt.go).
#   vcsim_fake_vddk LIBDIR
#       Builds the FAKE libvixDiskLib of the tests (forklift-transfer/tests/fake-vddk) into
#       LIBDIR/lib64 and links each datastore of VCSIM_DISKS under LIBDIR/datastores, so that
#       a vSphere Provider with the setting vddkLibDir=LIBDIR reads the simulator's disks,
#       at a snapshot from the snapshot's frozen copy (warm migration needs this: the
#       datastore HTTP path reads the running disk).
#   vcsim_stop
#       Stops the simulator (it removes its datastore folders) and waits for it.

vcsim_start_warm_source() {
  local workdir=$1 disks=${2:-2} disk_mib=${3:-256} fill_mib=${4:-64}
  shift $(($# < 4 ? $# : 4))
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  mkdir -p "$workdir/bin"
  local binary=$workdir/bin/vcsim
  if [[ ! -x $binary ]] || [[ -n $(find "$root/tools/vcsim" -name '*.go' -newer "$binary") ]]; then
    (cd "$root/tools/vcsim" && GOPATH=/usr/share/gocode GO111MODULE=off \
      GOCACHE="$workdir/gocache" go build -o "$binary.partial" . && mv "$binary.partial" "$binary") ||
      { echo "vcsim: build failed" >&2; return 1; }
  fi
  VCSIM_DISKS=$workdir/vcsim-disks.tsv
  local fifo=$workdir/vcsim.stdin out=$workdir/vcsim.out
  rm -f "$fifo" "$out"
  mkfifo "$fifo"
  "$binary" -cluster 0 -host 0 -standalone-host 1 -vm 1 -vm-disks "$disks" \
    -disk-mib "$disk_mib" -fill-mib "$fill_mib" -describe "$VCSIM_DISKS" "$@" \
    <"$fifo" >"$out" 2>"$workdir/vcsim.log" &
  VCSIM_PID=$!
  # Hold the fifo open: the simulator stops when its stdin closes.
  exec {VCSIM_STDIN_FD}>"$fifo"
  local waited=0
  while [[ $(wc -l <"$out") -lt 2 ]]; do
    if ! kill -0 "$VCSIM_PID" 2>/dev/null || ((waited >= 600)); then
      echo "vcsim: did not start (see $workdir/vcsim.log)" >&2
      vcsim_stop
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  VCSIM_URL=$(sed -n 1p "$out")
  VCSIM_CA=$(sed -n 2p "$out")
  export VCSIM_URL VCSIM_CA VCSIM_DISKS VCSIM_PID
}

vcsim_fake_vddk() {
  local libdir=$1 root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  mkdir -p "$libdir/lib64" "$libdir/datastores"
  cc -Wall -shared -fPIC -o "$libdir/lib64/libvixDiskLib.so.8.partial" \
    "$root/forklift-transfer/tests/fake-vddk/fake_vixdisklib.c" -lpthread &&
    mv "$libdir/lib64/libvixDiskLib.so.8.partial" "$libdir/lib64/libvixDiskLib.so.8" ||
    { echo "fake VDDK: build failed" >&2; return 1; }
  local file local_path ds
  while IFS=$'\t' read -r _ _ _ _ file local_path; do
    ds=${file#[}
    ds=${ds%%]*}
    ln -sfn "$(dirname "$(dirname "$local_path")")" "$libdir/datastores/$ds"
  done < <(grep -v '^#' "$VCSIM_DISKS")
}

vcsim_stop() {
  [[ -n ${VCSIM_STDIN_FD:-} ]] && exec {VCSIM_STDIN_FD}>&-
  VCSIM_STDIN_FD=
  if [[ -n ${VCSIM_PID:-} ]]; then
    local waited=0
    while kill -0 "$VCSIM_PID" 2>/dev/null && ((waited < 100)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    kill "$VCSIM_PID" 2>/dev/null || true
    wait "$VCSIM_PID" 2>/dev/null || true
    VCSIM_PID=
  fi
}
