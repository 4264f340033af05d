#!/usr/bin/env bash
# Installs what guest conversion and its tests need: virt-v2v, libguestfs-tools (guestfish,
# virt-inspector, virt-customize), a kernel for libguestfs' appliance (linux-image-amd64),
# debootstrap (builds the test guest) and qemu-system-x86 (the appliance and the boot test).
# Called by scripts/setup.sh. Idempotent and quiet when everything is present; runs as root on a
# fresh Debian 12 machine.
#
# The qemu trap: a machine may carry qemu-utils from bookworm-backports (qemu 10), which
# conflicts with bookworm's qemu-system-common (< 8.0) that virt-v2v pulls in. Then this script
# adds the bookworm-backports suite of the archive the machine already uses and takes the qemu
# system packages from it, so all qemu packages share one version (and conversions run ~2.5x
# faster than with qemu 7.2). With bookworm's own qemu-utils, a plain install resolves.
set -euo pipefail

V2V_PACKAGES=(virt-v2v libguestfs-tools linux-image-amd64 debootstrap qemu-system-x86)
# The qemu system packages that must match the installed qemu-utils' version.
QEMU_SYSTEM_PACKAGES=(qemu-system-x86 qemu-system-common qemu-system-data seabios)
BACKPORTS_SOURCE=/etc/apt/sources.list.d/forklift-bookworm-backports.sources

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in "${V2V_PACKAGES[@]}"; do
  if ! installed "$p"; then missing+=("$p"); fi
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

# The Debian archive URL of the machine's own "bookworm" suite (deb822 or one-line sources).
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN{RS=""} /Suites:[^\n]*bookworm([ \n]|$)/ { if (match($0, /URIs: *[^ \n]+/)) {
           u=substr($0, RSTART, RLENGTH); sub(/URIs: */, "", u); print u; exit } }' "$f"
  done
  if [ -f /etc/apt/sources.list ]; then
    awk '$1=="deb" && $0 ~ / bookworm / { for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
      /etc/apt/sources.list
  fi
}

echo "setup-v2v: installing ${missing[*]}"
request=("${V2V_PACKAGES[@]}")
qemu_utils=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
if [ -n "$qemu_utils" ] && dpkg --compare-versions "$qemu_utils" ge "1:8"; then
  if [ ! -f "$BACKPORTS_SOURCE" ]; then
    mirror=$(debian_mirror | sed -n 1p)
    mirror=${mirror:-http://deb.debian.org/debian}
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$mirror" | $SUDO tee "$BACKPORTS_SOURCE" >/dev/null
  fi
  request=(virt-v2v libguestfs-tools linux-image-amd64 debootstrap)
  for p in "${QEMU_SYSTEM_PACKAGES[@]}"; do request+=("$p/bookworm-backports"); done
fi
$SUDO apt-get update -qq -o DPkg::Lock::Timeout=600 >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${request[@]}" >/dev/null
