#!/usr/bin/env bash
# Installs the Debian 12 packages of the OpenStack testbed (tests/testbeds/openstack): Keystone,
# Glance, Placement, Nova (api, conductor, scheduler; the compute process runs from python3-nova
# with a fake driver), Cinder (api, scheduler, volume with its fake driver), Neutron (ML2 without
# agents) and RabbitMQ. Idempotent: quiet and fast when everything is present. The packages'
# own services must not start (the testbed runs them on loopback under its own PID files), so the
# install runs behind a policy-rc.d that refuses service starts when the machine has none.
set -euo pipefail

OPENSTACK_PACKAGES=(
  keystone glance-api placement-api
  nova-api nova-conductor nova-scheduler
  cinder-api cinder-scheduler cinder-volume
  neutron-server rabbitmq-server
  uwsgi uwsgi-plugin-python3   # Keystone and Placement run under uwsgi (http-socket)
  python3-openstackclient      # not used by the tests; lets a developer inspect the testbed
  curl
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${OPENSTACK_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup-openstack: installing apt packages: ${missing[*]}"
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  made_policy=1
fi
cleanup() { if [ -n "$made_policy" ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
