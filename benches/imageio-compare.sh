#!/usr/bin/env bash
# Compares `forklift copy https://.../images/TICKET` (release build, ImageioDisk through the
# copy pipeline) with ovirt-imageio's own Python client (`ovirt_imageio.client.download`,
# from the venv of scripts/setup-ovirt.sh) on the same ticket of the same real daemon:
#
#   a SIZE_GIB qcow2 with DATA_GIB of data (64 MiB pieces spread over the disk) on tmpfs,
#   served read-only by qemu-nbd (--shared=8), behind ovirt-imageio 2.5.1 with TLS (a test
#   CA); both tools download it to a new raw file on tmpfs and end with a flush (forklift:
#   fsync of the file; imageio's client: NBD FLUSH to the qemu-nbd it writes through).
#
# Goal: forklift <= 0.8x imageio's time. The row forklift-4M reads 4 MiB per request (imageio's
# client's buffer size) instead of the copy's default 1 MiB. The tools take turns for ROUNDS rounds; each row
# shows the fastest run, the median of all runs, peak RSS, the tool's CPU seconds and the
# CPU seconds the servers (imageio daemon + qemu-nbd) spent during the run. Every output is
# compared with `qemu-img compare` against the source once per tool.
#
# Usage: benches/imageio-compare.sh     (SIZE_GIB=4 DATA_GIB=1 ROUNDS=5)
# Needs: scripts/setup-ovirt.sh (venv), qemu-utils, openssl, time (/usr/bin/time), bc.
set -euo pipefail

SIZE_GIB=${SIZE_GIB:-4}
DATA_GIB=${DATA_GIB:-1}
ROUNDS=${ROUNDS:-5}
FORKLIFT_ARGS=${FORKLIFT_ARGS:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FORKLIFT=${FORKLIFT:-$ROOT/target/release/forklift}
VENV=${FORKLIFT_IMAGEIO_VENV:-/opt/forklift/ovirt-imageio-venv}
WORK=$(mktemp -d "${TMPDIR:-/dev/shm}/forklift-imageio-bench.XXXXXX")
. "$ROOT/benches/lib.sh"
bench_cleanup_on_exit

need_tools qemu-img qemu-nbd qemu-io openssl /usr/bin/time bc "$VENV/bin/ovirt-imageio"
build_forklift

# The source: DATA_GIB of data in 64 MiB pieces, evenly spread.
SRC=$WORK/src.qcow2
qemu-img create -q -f qcow2 "$SRC" "${SIZE_GIB}G"
write_pieces qcow2 "$SRC" "$SIZE_GIB" "$DATA_GIB"

# TLS: a test CA and a certificate for 127.0.0.1.
mkdir -p "$WORK/pki" "$WORK/conf/conf.d" "$WORK/run" "$WORK/log"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench CA" \
  -keyout "$WORK/pki/ca.key" -out "$WORK/pki/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$WORK/pki/key.pem" \
  -out "$WORK/pki/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$WORK/pki/ext.cnf"
openssl x509 -req -days 2 -in "$WORK/pki/srv.csr" -CA "$WORK/pki/ca.pem" -CAkey "$WORK/pki/ca.key" \
  -CAcreateserial -out "$WORK/pki/cert.pem" -extfile "$WORK/pki/ext.cnf" 2>/dev/null
cat >"$WORK/conf/conf.d/99-bench.conf" <<CONF
[daemon]
run_dir = $WORK/run
drop_privileges = false
systemd_enable = false
[tls]
enable = true
key_file = $WORK/pki/key.pem
cert_file = $WORK/pki/cert.pem
ca_file = $WORK/pki/ca.pem
[remote]
host = 127.0.0.1
port = 0
[local]
enable = false
[control]
transport = unix
socket = $WORK/run/sock
[handlers]
keys = logfile
[handler_logfile]
args = ('$WORK/log/daemon.log',)
CONF

qemu-nbd --read-only --persistent --shared=8 --format=qcow2 --export-name=disk \
  --socket="$WORK/nbd.sock" "$SRC" >/dev/null 2>&1 &
PIDS+=($!)
"$VENV/bin/ovirt-imageio" -c "$WORK/conf" >"$WORK/log/stdout.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 500); do grep -q "Ready for requests" "$WORK/log/daemon.log" 2>/dev/null && break; sleep 0.02; done
PORT=$(sed -n "s/.*remote.service listening on ('127.0.0.1', \([0-9]*\)).*/\1/p" "$WORK/log/daemon.log")
[ -n "$PORT" ] && [ -S "$WORK/nbd.sock" ] || { echo "imageio or qemu-nbd did not start" >&2; exit 1; }
SIZE=$((SIZE_GIB << 30))
curl -sf --unix-socket "$WORK/run/sock" -X PUT http://localhost/tickets/bench \
  -d "{\"uuid\": \"bench\", \"size\": $SIZE, \"url\": \"nbd:unix:$WORK/nbd.sock:exportname=disk\", \"timeout\": 86400, \"ops\": [\"read\"]}" >/dev/null
URL=https://127.0.0.1:$PORT/images/bench
CA=$WORK/pki/ca.pem

# fresh CMD...: `once` into a new $WORK/dst.raw.
fresh() {
  rm -f "$WORK/dst.raw"
  once "$@"
}
declare -A CHECKED
# keep_checked TOOL: `keep`, and the tool's first output compared with the source.
keep_checked() {
  keep "$1"
  if [ -z "${CHECKED[$1]:-}" ]; then
    qemu-img compare -q -f raw -F qcow2 "$WORK/dst.raw" "$SRC" || { echo "$1: output differs" >&2; exit 1; }
    CHECKED[$1]=1
  fi
}

PY=$VENV/bin/python
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); size ${SIZE_GIB} GiB, data ${DATA_GIB} GiB, fastest and median of $ROUNDS runs"
echo "versions: $("$FORKLIFT" version), ovirt-imageio $("$PY" -c 'import importlib.metadata as m; print(m.version("ovirt-imageio"))')"
for _ in $(seq 1 "$ROUNDS"); do
  fresh "$FORKLIFT" copy "$URL" --ca-file "$CA" "$WORK/dst.raw" $FORKLIFT_ARGS
  keep_checked forklift
  # The same with imageio's client's read size (4 MiB): fewer, larger requests to the daemon.
  fresh "$FORKLIFT" copy "$URL" --ca-file "$CA" "$WORK/dst.raw" --request-size 4M $FORKLIFT_ARGS
  keep_checked forklift-4M
  fresh "$PY" -c 'import sys; from ovirt_imageio import client; client.download(sys.argv[1], sys.argv[2], sys.argv[3], fmt="raw")' \
    "$URL" "$WORK/dst.raw" "$CA"
  keep_checked imageio
done

row() {
  printf "%-11s %8.2f s %8.2f s median %8.1f MiB RSS %6.2f s CPU %6.2f s servers" \
    "$1" "${TIME[$1]}" "$(median "$1")" "$(echo "${RSS[$1]} / 1024" | bc -l)" "${CPU[$1]}" "${SRV[$1]}"
  if [ "$1" != imageio ]; then
    printf "   %.2fx imageio (median %.2fx)" "$(echo "${TIME[$1]} / ${TIME[imageio]}" | bc -l)" \
      "$(echo "$(median "$1") / $(median imageio)" | bc -l)"
  fi
  echo
}
row forklift
row forklift-4M
row imageio
