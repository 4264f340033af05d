# Helpers the comparison scripts in benches/ share; sourced (`. "$ROOT/benches/lib.sh"`), not
# run. A script sets ROOT, FORKLIFT (the release binary) and WORK (its scratch folder), then
# calls what it needs:
#
#   bench_cleanup_on_exit      kills the servers in PIDS and deletes WORK when the script ends
#   need_tools TOOL...         exits naming the first tool missing
#   build_forklift             builds the release forklift when FORKLIFT is not there
#   start_server NAME CMD...   runs a server in the background until $WORK/NAME.sock exists
#   stop_servers               kills the servers started so far
#   write_pieces FMT FILE SIZE_GIB DATA_GIB
#                              writes DATA_GIB in 64 MiB patterned pieces spread over FILE
#   once CMD...                one timed run: RUN_SECONDS, RUN_RSS (KiB), RUN_CPU (the run's
#                              CPU seconds), RUN_SRV (the servers' CPU seconds meanwhile)
#   keep KEY                   records the run under KEY: every wall time, and the fastest
#                              run's TIME, RSS, CPU and SRV
#   median KEY                 the median wall time of every run kept under KEY

PIDS=()
declare -A TIME RSS CPU SRV ALL
TICKS=$(getconf CLK_TCK)

bench_cleanup_on_exit() {
  trap 'stop_servers; rm -rf "$WORK"' EXIT
}

need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "missing $tool (run scripts/setup.sh)" >&2; exit 1; }
  done
}

build_forklift() {
  [ -x "$FORKLIFT" ] || (cd "$ROOT" && cargo build --release -q -p forklift)
}

start_server() {
  local name=$1; shift
  local sock=$WORK/$name.sock
  rm -f "$sock"
  "$@" >/dev/null 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 500); do [ -S "$sock" ] && return 0; sleep 0.02; done
  echo "server $name did not start" >&2; exit 1
}

stop_servers() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}

write_pieces() {
  local fmt=$1 file=$2 size_gib=$3 data_gib=$4
  local pieces=$((data_gib * 16)) i
  local stride=$((size_gib * 1024 / pieces))
  local cmds=()
  for i in $(seq 0 $((pieces - 1))); do
    cmds+=(-c "write -P $((i % 250 + 1)) $((i * stride))M 64M")
  done
  qemu-io -f "$fmt" "${cmds[@]}" "$file" >/dev/null
}

# server_cpu: CPU seconds (user + system, all threads) the servers in PIDS have used.
server_cpu() {
  local ticks=0 pid
  for pid in "${PIDS[@]}"; do
    [ -r "/proc/$pid/stat" ] && ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$ticks / $TICKS" | bc -l
}

once() {
  local start end srv
  srv=$(server_cpu)
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$WORK/time.txt" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || {
    echo "$* failed:" >&2; cat "$WORK/err.txt" >&2; exit 1; }
  end=$(date +%s.%N)
  RUN_SECONDS=$(echo "$end - $start" | bc -l)
  RUN_SRV=$(echo "$(server_cpu) - $srv" | bc -l)
  RUN_RSS=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/time.txt")
  RUN_CPU=$(awk -F: '/(User|System) time \(seconds\)/ {t += $2} END {print t}' "$WORK/time.txt")
}

keep() {
  ALL[$1]+="$RUN_SECONDS "
  if [ -z "${TIME[$1]:-}" ] || [ "$(echo "$RUN_SECONDS < ${TIME[$1]}" | bc -l)" = 1 ]; then
    TIME[$1]=$RUN_SECONDS; RSS[$1]=$RUN_RSS; CPU[$1]=$RUN_CPU; SRV[$1]=$RUN_SRV
  fi
}

median() {
  tr ' ' '\n' <<<"${ALL[$1]}" | grep -v '^$' | sort -g |
    awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
