#!/usr/bin/env bash
# The OpenStack testbed of the forklift tests: real Keystone, Glance, Placement, Nova (api,
# conductor, scheduler and a compute process with a fake driver), Neutron (ML2, no agents),
# Cinder (fake volume driver) and RabbitMQ, all on 127.0.0.1 with sqlite databases.
#
#   testbed.sh up [--owner PID]   start from empty databases (stopping an earlier instance
#                                 first); with --owner, a watcher stops the testbed once PID
#                                 exits (the test binary that started it)
#   testbed.sh down               stop every process by its PID file
#
# State (configs, databases, logs, PID files, fixtures.json) lives in $OPENSTACK_TESTBED_STATE
# (default: target/openstack-testbed of the repository). Packages: scripts/setup-openstack.sh.
set -euo pipefail
# The distribution's Python, which has the OpenStack libraries (not a pyenv or venv one).
PY=/usr/bin/python3
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
STATE="${OPENSTACK_TESTBED_STATE:-$REPO/target/openstack-testbed}"
# Every service started, as name:pidfile, in stop order (API first, then workers).
PIDFILES=(keystone/uwsgi.pid placement/uwsgi.pid glance/glance.pid nova/api.pid
  nova/conductor.pid nova/scheduler.pid nova/compute.pid neutron/server.pid cinder/api.pid
  cinder/scheduler.pid cinder/volume.pid rabbit/rabbit.pid rabbit/epmd.pid)
# How long services get for SIGTERM before SIGKILL, in half seconds.
STOP_GRACE_HALF_SECONDS=20
# How long `up` waits for one service to answer, in fifths of a second.
START_WAIT_FIFTHS=600

# RabbitMQ's own scripts, not the /usr/sbin wrappers, which switch to the rabbitmq user (who
# cannot write the state folder).
RABBIT_BIN=/usr/lib/rabbitmq/bin
export HOME="$STATE/rabbit"  # the Erlang cookie of rabbitmq-server and rabbitmqctl
export RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
  RABBITMQ_NODE_PORT=5672 RABBITMQ_DIST_PORT=25672 ERL_EPMD_ADDRESS=127.0.0.1 \
  RABBITMQ_MNESIA_BASE="$STATE/rabbit/mnesia" RABBITMQ_LOG_BASE="$STATE/rabbit/log" \
  RABBITMQ_CONF_ENV_FILE="$STATE/rabbit/rabbitmq-env.conf" \
  RABBITMQ_CONFIG_FILE="$STATE/rabbit/rabbitmq" \
  RABBITMQ_ENABLED_PLUGINS_FILE="$STATE/rabbit/enabled_plugins" \
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

started() { date +%s.%N; }
T0=$(started)
lap() { printf '[openstack testbed %5.1fs] %s\n' "$(echo "$(started) - $T0" | bc)" "$*"; }

wait_http() {
  local code
  for _ in $(seq 1 $START_WAIT_FIFTHS); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)
    case $code in 2*|3*) return 0 ;; esac
    sleep 0.2
  done
  echo "openstack testbed: $1 did not answer; logs in $STATE" >&2
  return 1
}

wal() { "$PY" -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA journal_mode=WAL')" "$1"; }

# Starts a command in its own session (so its whole process group stops with it) and
# records its PID.
spawn() {
  local pidfile=$1 log=$2; shift 2
  setsid "$@" >"$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
}

render() {
  local name
  mkdir -p "$STATE"/{keystone/fernet-keys,keystone/credential-keys,glance/images,glance/staging,glance/tasks,glance/cache,glance/lock,placement,nova/state,nova/instances,nova/lock,neutron/lock,cinder/state,cinder/lock,rabbit/mnesia,rabbit/log}
  for name in keystone.conf keystone-uwsgi.ini placement.conf placement-uwsgi.ini \
      glance-api.conf nova.conf neutron.conf ml2_conf.ini cinder.conf; do
    "$PY" - "$HERE/conf/$name" "$STATE" > "$STATE/$name" <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace('@STATE@', sys.argv[2])
auth = ('auth_url = http://127.0.0.1:5000\nauth_type = password\nproject_domain_name = Default\n'
        'user_domain_name = Default\nproject_name = service\nusername = {}\npassword = svcpw')
text = re.sub(r'@AUTHTOKEN:(\w+)@',
              lambda m: 'www_authenticate_uri = http://127.0.0.1:5000\n' + auth.format(m[1]), text)
text = re.sub(r'@AUTH:(\w+)@', lambda m: auth.format(m[1]), text)
sys.stdout.write(text)
PY
  done
  mv "$STATE/keystone.conf" "$STATE/keystone/keystone.conf"
  mv "$STATE/placement.conf" "$STATE/placement/placement.conf"
  : > "$STATE/rabbit/rabbitmq-env.conf"
  echo "[]." > "$STATE/rabbit/enabled_plugins"
}

down() {
  [ -d "$STATE" ] || return 0
  local pids="" f p alive
  for f in "${PIDFILES[@]}"; do
    if [ -f "$STATE/$f" ]; then
      p=$(cat "$STATE/$f")
      if kill -0 "$p" 2>/dev/null; then kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; pids="$pids $p"; fi
      rm -f "$STATE/$f"
    fi
  done
  for _ in $(seq 1 $STOP_GRACE_HALF_SECONDS); do
    alive=""
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
    [ -z "$alive" ] && break
    sleep 0.5
  done
  for p in $alive; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true; done
  rm -f "$STATE/ready"
}

up() {
  local owner=""
  if [ "${1:-}" = --owner ]; then owner=$2; fi
  command -v keystone-manage >/dev/null || {
    echo "openstack testbed: packages missing; run scripts/setup-openstack.sh" >&2; exit 1; }
  down
  rm -rf "$STATE"
  # A failed start stops what it started (database jobs included) instead of leaving it.
  trap 'status=$?; if [ $status != 0 ]; then jobs -p | xargs -r kill 2>/dev/null; down; fi' EXIT
  render
  cd "$STATE"
  spawn rabbit/epmd.pid rabbit/epmd.out epmd -address 127.0.0.1
  sleep 0.3
  spawn rabbit/rabbit.pid rabbit/rabbit.out "$RABBIT_BIN/rabbitmq-server"
  local K="--config-file $STATE/keystone/keystone.conf"
  keystone-manage $K db_sync >/dev/null 2>&1
  keystone-manage $K fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >/dev/null 2>&1
  keystone-manage $K credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >/dev/null 2>&1
  keystone-manage $K bootstrap --bootstrap-password secretpw \
    --bootstrap-admin-url http://127.0.0.1:5000/v3/ --bootstrap-internal-url http://localhost:5000/v3/ \
    --bootstrap-public-url http://127.0.0.1:5000/v3/ --bootstrap-region-id RegionOne >/dev/null 2>&1
  wal keystone.db
  uwsgi --ini keystone-uwsgi.ini --pidfile "$STATE/keystone/uwsgi.pid" --daemonize2 "$STATE/keystone/uwsgi.out"
  lap "keystone database ready"
  # The other databases fill while Keystone starts.
  local N="--config-file $STATE/nova.conf" jobs=()
  ( glance-manage --config-file glance-api.conf db_sync >glance/dbsync.log 2>&1 && wal glance.db ) & jobs+=($!)
  ( placement-manage --config-dir placement db sync >placement/dbsync.log 2>&1 && wal placement.db ) & jobs+=($!)
  ( nova-manage $N api_db sync >nova/dbsync.log 2>&1
    nova-manage $N cell_v2 map_cell0 --database_connection "sqlite:///$STATE/nova_cell0.db?timeout=60" >>nova/dbsync.log 2>&1
    nova-manage $N cell_v2 create_cell --name cell1 >>nova/dbsync.log 2>&1
    nova-manage $N db sync >>nova/dbsync.log 2>&1
    wal nova_api.db && wal nova.db && wal nova_cell0.db ) & jobs+=($!)
  ( "$PY" "$HERE/python/neutron_schema.py" "$STATE/neutron.db" >neutron/dbsync.log 2>&1 &&
    neutron-db-manage --config-file neutron.conf --config-file ml2_conf.ini stamp heads >>neutron/dbsync.log 2>&1 ) & jobs+=($!)
  ( cinder-manage --config-file cinder.conf db sync >cinder/dbsync.log 2>&1 && wal cinder.db ) & jobs+=($!)
  wait_http http://127.0.0.1:5000/v3/
  lap "keystone answers"
  "$PY" "$HERE/python/bootstrap.py" "$STATE" > keystone/bootstrap.log 2>&1 || {
    cat keystone/bootstrap.log >&2; exit 1; }
  lap "catalog and test identities created"
  for j in "${jobs[@]}"; do wait "$j" || { echo "openstack testbed: a database sync failed; logs in $STATE" >&2; exit 1; }; done
  lap "databases synced"
  for _ in $(seq 1 100); do "$RABBIT_BIN/rabbitmqctl" -q await_startup -t 1 >/dev/null 2>&1 && break; sleep 0.3; done
  lap "rabbitmq up"
  (cd glance && spawn glance.pid glance.out glance-api --config-file "$STATE/glance-api.conf")
  uwsgi --ini placement-uwsgi.ini --pidfile "$STATE/placement/uwsgi.pid" --daemonize2 "$STATE/placement/uwsgi.out"
  (cd neutron && PYTHONPATH="$HERE/python/ext" spawn server.pid server.out neutron-server \
    --config-file "$STATE/neutron.conf" --config-file "$STATE/ml2_conf.ini")
  local s
  for s in api conductor scheduler; do (cd nova && spawn $s.pid $s.out nova-$s $N); done
  (cd nova && spawn compute.pid compute.out "$PY" "$HERE/python/nova_compute.py" $N)
  for s in api scheduler volume; do (cd cinder && PYTHONPATH="$HERE/python/ext" spawn $s.pid $s.out cinder-$s --config-file "$STATE/cinder.conf"); done
  local u
  for u in http://127.0.0.1:9292/ http://127.0.0.1:8778/ http://127.0.0.1:9696/ http://127.0.0.1:8774/ http://127.0.0.1:8776/; do
    wait_http $u
  done
  lap "all APIs answer"
  for _ in $(seq 1 90); do
    nova-manage $N cell_v2 discover_hosts >/dev/null 2>&1
    nova-manage $N cell_v2 list_hosts 2>/dev/null | grep -q fakehost1 && break
    sleep 1
  done
  lap "compute host mapped"
  "$PY" - "$STATE" <<'PY'
import json, sys, time
from keystoneauth1 import session
from keystoneauth1.identity import v3
f = json.load(open(sys.argv[1] + '/fixtures.json'))['admin']
s = session.Session(auth=v3.Password(auth_url='http://127.0.0.1:5000/v3', username='admin',
    password='secretpw', project_name='admin', user_domain_id='default', project_domain_id='default'))
for _ in range(120):
    services = s.get('/os-services', endpoint_filter={'service_type': 'volumev3'}).json()['services']
    if any(x['binary'] == 'cinder-volume' and x['state'] == 'up' for x in services):
        sys.exit(0)
    time.sleep(1)
sys.exit('cinder-volume never came up')
PY
  lap "cinder-volume up; ready"
  trap - EXIT
  touch "$STATE/ready"
  if [ -n "$owner" ]; then
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" down' \
      watcher "$owner" "$HERE/testbed.sh" >"$STATE/watcher.out" 2>&1 < /dev/null &
  fi
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  *) echo "usage: $0 up [--owner PID] | down" >&2; exit 2 ;;
esac
