#!/usr/bin/env bash
# High availability on one machine (docs/ha.md): a 3-member etcd cluster, three cube-brokers on
# it, two exec agents and cube-client all given the list of the three brokers. Submits a few
# long tasks, shows which broker leads, SIGKILLs the leader and shows the takeover: how long it
# took, the new leader, the tasks still Running on their first attempt with the same processes,
# and a submit that works without pointing anything at the new leader.
#
#   ./scripts/ha-demo.sh                 # from a built tree (cmake --build build)
#   CUBE_BUILD=/path/to/build ./scripts/ha-demo.sh
#   CUBE_BROKER_BIN=... CUBE_AGENT_BIN=... CUBE_CLIENT_BIN=... ETCD_BIN=... ./scripts/ha-demo.sh
#
# Everything runs on loopback on unused ports with its state in a temporary directory; all of it
# (etcd, brokers, agents and the tasks' processes) is stopped and removed on exit, even on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${CUBE_BUILD:-$(pwd)/build}
BROKER_BIN=${CUBE_BROKER_BIN:-$BUILD/broker/cube-broker}
AGENT_BIN=${CUBE_AGENT_BIN:-$BUILD/agent/cube-agent}
CLIENT_BIN=${CUBE_CLIENT_BIN:-$BUILD/client/cube-client}
ETCD_BIN=${ETCD_BIN:-etcd}
TTL=${CUBE_LEADER_TTL:-3s}

for bin in "$BROKER_BIN" "$AGENT_BIN" "$CLIENT_BIN"; do
  [ -x "$bin" ] || { echo "ha-demo: $bin is missing: build first (cmake --build build) or set CUBE_BUILD" >&2; exit 2; }
done
command -v "$ETCD_BIN" >/dev/null || { echo "ha-demo: etcd is not installed (scripts/install-deps.sh installs it) or set ETCD_BIN" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/cube-ha-demo.XXXXXX")
PIDS=()

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  # Exec tasks outlive their agent (like Docker containers): kill the process group of every
  # process whose stdout is a task log under this demo's directory.
  for fd in /proc/[0-9]*/fd/1; do
    case "$(readlink "$fd" 2>/dev/null)" in
      "$TMP"/*)
        pid=${fd#/proc/}; pid=${pid%%/*}
        pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')
        [ -n "$pgid" ] && kill -9 -- "-$pgid" 2>/dev/null ;;
    esac
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# A loopback port nothing listens on (another process could take it before etcd binds it; the
# demo then fails at the etcd health check and can simply be run again).
free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

# Polls "$@" (a command) every 0.1 s until it succeeds, for at most $1 seconds.
wait_for() {
  local seconds=$1; shift
  local deadline=$(($(now_ms) + seconds * 1000))
  until "$@" >/dev/null 2>&1; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

say "etcd: 3 members on loopback"
CLUSTER="" ENDPOINTS=""
declare -a CLIENT_PORTS PEER_PORTS
for i in 1 2 3; do
  CLIENT_PORTS[$i]=$(free_port); PEER_PORTS[$i]=$(free_port)
  CLUSTER+="${CLUSTER:+,}m$i=http://127.0.0.1:${PEER_PORTS[$i]}"
  ENDPOINTS+="${ENDPOINTS:+,}127.0.0.1:${CLIENT_PORTS[$i]}"
done
for i in 1 2 3; do
  "$ETCD_BIN" --name "m$i" --data-dir "$TMP/etcd-$i" \
    --listen-client-urls "http://127.0.0.1:${CLIENT_PORTS[$i]}" \
    --advertise-client-urls "http://127.0.0.1:${CLIENT_PORTS[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${PEER_PORTS[$i]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${PEER_PORTS[$i]}" \
    --initial-cluster "$CLUSTER" --initial-cluster-state new --initial-cluster-token "cube-ha-demo-$$" \
    --log-level warn >"$TMP/etcd-$i.log" 2>&1 &
  PIDS+=($!); disown
done
# Healthy when every member answers GET /health with "true" (needs an elected leader); plain
# bash, so neither etcdctl nor curl is needed.
etcd_healthy() {
  local i answer
  for i in 1 2 3; do
    exec 3<>"/dev/tcp/127.0.0.1/${CLIENT_PORTS[$i]}" || return 1
    printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    answer=$(cat <&3); exec 3<&-
    case "$answer" in *'"health":"true"'*) ;; *) return 1 ;; esac
  done
}
wait_for 30 etcd_healthy || { echo "ha-demo: etcd did not start; its logs:" >&2; cat "$TMP"/etcd-*.log >&2; exit 1; }
echo "etcd endpoints: $ENDPOINTS"

say "3 brokers on etcd://$ENDPOINTS/cube-demo (--leader-ttl $TTL)"
declare -a BROKER_PIDS BROKERS
# One after the other: the first one creates the store's schema on the empty prefix, which
# brokers starting at the same instant on a fresh prefix can trip over.
for i in 1 2 3; do
  "$BROKER_BIN" --bind 127.0.0.1:0 --ready-file "$TMP/broker-$i.ready" --data-dir "$TMP/broker-$i" \
    --store "etcd://$ENDPOINTS/cube-demo" --leader-ttl "$TTL" >"$TMP/broker-$i.log" 2>&1 &
  BROKER_PIDS[$i]=$!; PIDS+=($!); disown
  wait_for 30 test -s "$TMP/broker-$i.ready" || { echo "ha-demo: broker $i did not start" >&2; cat "$TMP/broker-$i.log" >&2; exit 1; }
  BROKERS[$i]=$(cat "$TMP/broker-$i.ready")
done
export CUBE_BROKER="${BROKERS[1]},${BROKERS[2]},${BROKERS[3]}"
echo "CUBE_BROKER=$CUBE_BROKER"

role_of() { "$CLIENT_BIN" --broker "$1" --timeout 1s status -o json 2>/dev/null | sed -n 's/.*"Role": "\([a-z]*\)".*/\1/p'; }
leader_index() {
  local i
  for i in "$@"; do
    if [ "$(role_of "${BROKERS[$i]}")" = leader ]; then echo "$i"; return 0; fi
  done
  return 1
}
wait_for 20 leader_index 1 2 3 || { echo "ha-demo: no broker leads" >&2; exit 1; }
LEADER=$(leader_index 1 2 3)
for i in 1 2 3; do echo "broker $i at ${BROKERS[$i]}: $(role_of "${BROKERS[$i]}")"; done

say "2 exec agents with --broker $CUBE_BROKER"
for i in 1 2; do
  "$AGENT_BIN" --broker "$CUBE_BROKER" --name "demo-agent-$i" --driver exec --data-dir "$TMP/agent-$i" \
    >"$TMP/agent-$i.log" 2>&1 &
  PIDS+=($!); disown
done
# Both agents ready, as the broker $1 (default: whichever leads) sees them.
agents_ready() { [ "$("$CLIENT_BIN" ${1:+--broker "$1"} nodes 2>/dev/null | grep -c ' ready ')" -ge 2 ]; }
wait_for 20 agents_ready || { echo "ha-demo: the agents did not register" >&2; cat "$TMP"/agent-*.log >&2; exit 1; }
"$CLIENT_BIN" nodes

say "4 long tasks (sleep 600)"
for i in 1 2 3 4; do
  "$CLIENT_BIN" submit --name "demo-$i" --driver exec -- sleep 600 >/dev/null
done
all_running() { [ "$("$CLIENT_BIN" list 2>/dev/null | grep -c ' Running ')" -ge 4 ]; }
wait_for 20 all_running || { echo "ha-demo: the tasks did not start" >&2; "$CLIENT_BIN" list; exit 1; }
"$CLIENT_BIN" list
# The tasks' processes: the exec driver points each one's stdout at its log in the agent's dir.
task_pids() {
  local fd pid
  for fd in /proc/[0-9]*/fd/1; do
    case "$(readlink "$fd" 2>/dev/null)" in
      "$TMP"/agent-*/tasks/*) pid=${fd#/proc/}; echo "${pid%%/*}" ;;
    esac
  done | sort -n | tr '\n' ' '
}
BEFORE=$(task_pids)
echo "task processes: $BEFORE"

say "cube-client status (the first broker of the list that answers; standbys name the leader)"
"$CLIENT_BIN" status | sed "/^Counters:/,\$d"

say "SIGKILL the leader: broker $LEADER at ${BROKERS[$LEADER]} (pid ${BROKER_PIDS[$LEADER]})"
KILLED_AT=$(now_ms)
kill -9 "${BROKER_PIDS[$LEADER]}"
OTHERS=()
for i in 1 2 3; do [ "$i" = "$LEADER" ] || OTHERS+=("$i"); done
wait_for 30 leader_index "${OTHERS[@]}" || { echo "ha-demo: no standby took over" >&2; exit 1; }
TOOK=$(($(now_ms) - KILLED_AT))
NEW=$(leader_index "${OTHERS[@]}")
echo "broker $NEW at ${BROKERS[$NEW]} serves as leader $TOOK ms after the kill (TTL $TTL)"

say "the agents follow the new leader by themselves"
wait_for 20 agents_ready "${BROKERS[$NEW]}" || { echo "ha-demo: the agents did not come back" >&2; cat "$TMP"/agent-*.log >&2; exit 1; }
echo "both agents ready on the new leader $(($(now_ms) - KILLED_AT)) ms after the kill"
"$CLIENT_BIN" nodes

say "the tasks still run: same node, same processes (not restarted)"
"$CLIENT_BIN" list
AFTER=$(task_pids)
echo "task processes before: $BEFORE"
echo "task processes after:  $AFTER"
[ "$BEFORE" = "$AFTER" ] && echo "same processes: nothing was restarted" || echo "ha-demo: the task processes changed!"

say "a submit with the same CUBE_BROKER list, nothing reconfigured"
"$CLIENT_BIN" submit --name after-failover --driver exec --wait -- true
"$CLIENT_BIN" status | sed "/^Counters:/,\$d"
echo
echo "ha-demo: done (logs were in $TMP; removed on exit)"
