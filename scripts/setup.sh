#!/usr/bin/env bash
# Installs everything forklift's build, demo and tests need on a Debian machine.
# Idempotent and quiet when everything is already present.
set -euo pipefail

# One setup at a time on a machine (apt and pip are machine-wide): .ci/run and scripts/test.sh
# start it in the background beside the build, so a second caller waits here for the first
# and then finds everything present.
exec 8>"${TMPDIR:-/tmp}/forklift-setup.lock"
flock 8

APT_PACKAGES=(
  qemu-utils            # qemu-img, qemu-nbd: image conversion and NBD exports in tests
  nbdkit                # nbdkit servers and filters for fault injection
  time                  # /usr/bin/time -v: peak RSS in benches/copy-compare.sh
  libnbd-bin            # nbdcopy, nbdinfo: reference tools
  golang-go             # Go reference renderers and the vCenter simulator
  golang-github-vmware-govmomi-dev      # govmomi simulator source (GOPATH mode)
  golang-github-masterminds-sprig-dev   # sprig for the Go template reference
  e2fsprogs             # mke2fs -d for demo disks
  openssl               # test certificates for NBD over TLS
  gnutls-bin            # certtool, used by qemu-nbd's TLS test setup
  pkg-config
  gcc                   # cc builds the fake libvixDiskLib of the VDDK tests
  g++                   # libfuzzer-sys compiles libFuzzer (C++) for scripts/fuzz.sh
  libc6-dev
  python3-yaml          # PyYAML, the reference in scripts/bench-manifests.py
)
PIP_PACKAGES=(maturin pytest mypy)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

pip_missing=()
for p in "${PIP_PACKAGES[@]}"; do
  if ! python3 -m pip show -q "$p" >/dev/null 2>&1; then pip_missing+=("$p"); fi
done
if [ ${#pip_missing[@]} -gt 0 ]; then
  echo "setup: installing pip packages: ${pip_missing[*]}"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore "${pip_missing[@]}"
fi

# The OpenStack testbed's services (tests/testbeds/openstack).
bash "$(dirname "$0")/setup-openstack.sh"

# The oVirt image I/O daemon (PyPI ovirt-imageio in a venv) for the oVirt data-path tests.
bash "$(dirname "$0")/setup-ovirt.sh"

# Guest conversion: virt-v2v, libguestfs-tools, a kernel for the appliance, debootstrap.
bash "$(dirname "$0")/setup-v2v.sh"

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is required (install a Rust toolchain with rustup)" >&2
  exit 1
fi
