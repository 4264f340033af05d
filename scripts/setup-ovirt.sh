#!/usr/bin/env bash
# Installs oVirt's image I/O daemon (PyPI ovirt-imageio 2.5.1) for the oVirt data-path tests
# (tests/imageio.rs, tests/support/imageio) and benches/imageio-compare.sh. ovirt-imageio is a
# source package with a C extension, so it needs gcc and the Python headers; it goes into its own
# venv at a fixed path (override with FORKLIFT_IMAGEIO_VENV; the tests read the same variable):
#
#   /opt/forklift/ovirt-imageio-venv/bin/ovirt-imageio   the daemon
#   /opt/forklift/ovirt-imageio-venv/bin/python          has ovirt_imageio.client (the bench's reference)
#
# The venv is made from the system interpreter (/usr/bin/python3), the one python3-dev has headers
# for. Idempotent: quiet and fast when everything is present.
set -euo pipefail

VENV="${FORKLIFT_IMAGEIO_VENV:-/opt/forklift/ovirt-imageio-venv}"
IMAGEIO_VERSION=2.5.1
APT_PACKAGES=(gcc python3-dev python3-venv qemu-utils openssl)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-ovirt: installing apt packages: ${missing[*]}"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -x "$VENV/bin/ovirt-imageio" ] &&
  "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('ovirt-imageio') != '$IMAGEIO_VERSION')" 2>/dev/null; then
  exit 0
fi

echo "setup-ovirt: installing ovirt-imageio==$IMAGEIO_VERSION into $VENV"
$SUDO mkdir -p "$(dirname "$VENV")"
$SUDO /usr/bin/python3 -m venv "$VENV"
$SUDO "$VENV/bin/python" -m pip install -q --disable-pip-version-check --use-pep517 "ovirt-imageio==$IMAGEIO_VERSION"
