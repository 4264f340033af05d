#!/usr/bin/env bash
# Compares forklift's VMDK readers with qemu-img on the same images: a 1 GiB disk with
# 192 MiB of random data and 192 MiB of text, as streamOptimized and monolithicSparse.
# Both read every allocated byte into a null sink; prints best-of-3 seconds and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/disk.raw" <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    f.truncate(1 << 30)
    for _ in range(192):
        f.write(os.urandom(1 << 20))
    text = b"".join(b"line %08d: lorem ipsum dolor sit amet, consectetur adipiscing elit\n" % i for i in range(15000))[: 1 << 20]
    f.seek(400 << 20)
    for _ in range(192):
        f.write(text)
PY
cargo build -q --release -p forklift-transfer --example vmdk_throughput
ours=target/release/examples/vmdk_throughput
best() { sort -n | head -1; }
seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
for sub in streamOptimized monolithicSparse; do
  qemu-img convert -q -O vmdk -o subformat=$sub "$work/disk.raw" "$work/$sub.vmdk"
  q=$(for _ in 1 2 3; do seconds qemu-img convert -n -f vmdk "$work/$sub.vmdk" --target-image-opts driver=null-co,size=$((1 << 30)); done | best)
  o=$(for _ in 1 2 3; do seconds "$ours" "$work/$sub.vmdk" 1; done | best)
  echo "$sub: qemu-img ${q}s, forklift ${o}s, forklift/qemu-img speed ratio $(echo "scale=2; $q / $o" | bc)"
done
