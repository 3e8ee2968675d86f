#!/usr/bin/env bash
# Starts N real containers (cube/busybox:latest, `sleep 3600`) three ways on this machine and
# times each until all N are running, then removes everything it made:
#
#   dockerd   direct Docker Engine API calls (create + start over the unix socket, as many in
#             parallel as the Cube agent's worker pool): the ceiling of what dockerd manages
#   cube      a cube-broker and one cube-agent --driver docker; N tasks submitted with
#             cube-client; timed from the first submit until the broker lists all N Running
#   swarm     `docker swarm init` on loopback, a service of N replicas (--no-resolve-image);
#             timed until N tasks are Running
#
# All three use the default bridge network for their containers (swarm: the service's default).
# Prints the three rates and Cube's ratios to each (targets: >= 95% of dockerd, >= 1.3x Swarm).
#
#   bench/compare-swarm.sh 60          (N defaults to 20)
#
# With --update, a rolling update instead: a service of N replicas (default 6) of
# cube/busybox:latest, then its image changed to cube/busybox:v2 (the same image under a second
# tag, made here), P slots at a time (default 2), each new task watched for M (default 5s,
# Swarm's and Cube's default), stop-first, no delay: Swarm `docker service update --image`
# against `cube-client service update --image`, each timed from the update command until every
# replica runs the new image and the update is completed.
#
#   bench/compare-swarm.sh --update 6 2 [5s]
#
# Needs dockerd (scripts/start-dockerd.sh), the image (scripts/build-test-image.sh), a build
# (BUILD_DIR, default build/), curl. Refuses to run when this dockerd is already in a swarm.
set -euo pipefail

MODE=create
if [ "${1:-}" = --update ]; then
  MODE=update
  shift
  N=${1:-6}
  PARALLELISM=${2:-2}
  MONITOR=${3:-5s}
  case "$PARALLELISM" in ''|*[!0-9]*) echo "usage: $0 --update [N [P [MONITOR]]]" >&2; exit 2 ;; esac
  [ "$PARALLELISM" -ge 1 ] || { echo "P must be at least 1" >&2; exit 2; }
else
  N=${1:-20}
fi
case "$N" in ''|*[!0-9]*) echo "usage: $0 [N] | $0 --update [N [P [MONITOR]]]" >&2; exit 2 ;; esac
[ "$N" -ge 1 ] || { echo "N must be at least 1" >&2; exit 2; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
BROKER=$BUILD/broker/cube-broker
AGENT=$BUILD/agent/cube-agent
CLIENT=$BUILD/client/cube-client
IMAGE=cube/busybox:latest
IMAGE2=cube/busybox:v2  # --update: the same image under a second tag
SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
RUN=compare-$$-$(date +%s)
API=http://localhost/v1.41
# The agent's pool runs up to slots+1 (at most 32) driver calls at once; the direct API run
# uses the same parallelism so that the comparison is fair.
PARALLEL=$(( N + 1 < 32 ? N + 1 : 32 ))
PARALLEL=$(( PARALLEL < 2 ? 2 : PARALLEL ))

for bin in "$BROKER" "$AGENT" "$CLIENT"; do
  [ -x "$bin" ] || { echo "missing $bin: build first (cmake --build build)" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 2; }
docker info >/dev/null 2>&1 || { echo "dockerd is not reachable (scripts/start-dockerd.sh)" >&2; exit 2; }
docker image inspect "$IMAGE" >/dev/null 2>&1 ||
  { echo "image $IMAGE is missing (scripts/build-test-image.sh)" >&2; exit 2; }
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != inactive ]; then
  echo "this dockerd is already part of a swarm; refusing to touch it" >&2; exit 2
fi

WORK=$(mktemp -d)
BROKER_PID=""
AGENT_PID=""
SWARM_STARTED=0
cleanup() {
  set +e
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
  [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
  ids=$(docker ps -aq --filter "label=cube.compare=$RUN")
  [ -n "$ids" ] && docker rm -f $ids >/dev/null
  if [ -n "$AGENT_ID" ]; then
    ids=$(docker ps -aq --filter "label=cube.node=$AGENT_ID")
    [ -n "$ids" ] && docker rm -f $ids >/dev/null
  fi
  if [ "$SWARM_STARTED" = 1 ]; then
    docker service rm "cube-$RUN" >/dev/null 2>&1
    for _ in $(seq 300); do
      [ -z "$(docker ps -aq --filter "label=com.docker.swarm.service.name=cube-$RUN")" ] && break
      sleep 0.2
    done
    docker swarm leave --force >/dev/null 2>&1
  fi
  [ "$MODE" = update ] && docker rmi "$IMAGE2" >/dev/null 2>&1
  rm -rf "$WORK"
}
AGENT_ID=""
trap cleanup EXIT

now() { date +%s.%N; }
rate() { python3 -c "import sys; n,a,b=float(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print('%.2f' % (n/(b-a)))" "$@"; }

# Starts a cube-broker and one cube-agent --driver docker with `slots` slots; sets ADDR, AGENT_ID.
start_cube() {
  local slots=$1
  "$BROKER" --bind 127.0.0.1:0 --store memory --data-dir "$WORK/broker" --log-level warn \
    --ready-file "$WORK/ready" >"$WORK/broker.log" 2>&1 &
  BROKER_PID=$!
  for _ in $(seq 100); do [ -s "$WORK/ready" ] && break; sleep 0.1; done
  [ -s "$WORK/ready" ] || { cat "$WORK/broker.log" >&2; exit 1; }
  ADDR=$(cat "$WORK/ready")
  "$AGENT" --broker "$ADDR" --name "compare-$$" --driver docker --slots "$slots" \
    --data-dir "$WORK/agent" --log-level warn >"$WORK/agent.log" 2>&1 &
  AGENT_PID=$!
  for _ in $(seq 100); do
    "$CLIENT" --broker "$ADDR" nodes -o json 2>/dev/null | grep -q '"ready"' && break
    sleep 0.1
  done
  AGENT_ID=$(cat "$WORK/agent/agent-id" 2>/dev/null || true)
}

# Stops the agent and the broker and removes the agent's containers.
stop_cube() {
  kill "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null || true; AGENT_PID=""
  kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""
  [ -n "$AGENT_ID" ] || { echo "cannot read the agent's id in $WORK/agent" >&2; exit 1; }
  local ids
  ids=$(docker ps -aq --filter "label=cube.node=$AGENT_ID")
  [ -n "$ids" ] && docker rm -f $ids >/dev/null
  return 0
}

if [ "$MODE" = update ]; then
  docker tag "$IMAGE" "$IMAGE2"
  SERVICE="cube-$RUN"

  # --- Cube ---
  echo "cube: a service of $N replicas, then --image $IMAGE2, $PARALLELISM at a time..." >&2
  start_cube $(( N * 2 ))
  # "RUNNING STATE IMAGE" of the service: replicas of its current template Running, its update
  # state, the template's image.
  cube_service() {
    "$CLIENT" --broker "$ADDR" service inspect "$SERVICE" -o json | python3 -c '
import json, sys
s = json.load(sys.stdin)
s = s[0] if isinstance(s, list) else s
print(s.get("Running", 0), (s.get("UpdateStatus") or {}).get("State", "-"), s["Template"].get("Image", ""))'
  }
  "$CLIENT" --broker "$ADDR" service create --name "$SERVICE" --replicas "$N" --image "$IMAGE" \
    --update-parallelism "$PARALLELISM" --update-monitor "$MONITOR" -- sleep 3600 >/dev/null
  until [ "$(cube_service | cut -d' ' -f1)" -ge "$N" ]; do sleep 0.05; done
  T0=$(now)
  "$CLIENT" --broker "$ADDR" service update "$SERVICE" --image "$IMAGE2" >/dev/null
  until [ "$(cube_service)" = "$N completed $IMAGE2" ]; do
    kill -0 "$AGENT_PID" 2>/dev/null || { cat "$WORK/agent.log" >&2; exit 1; }
    sleep 0.05
  done
  T1=$(now)
  CUBE_S=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$T0" "$T1")
  stop_cube

  # --- Docker Swarm ---
  echo "swarm: init on loopback, a service of $N replicas, then --image $IMAGE2..." >&2
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
  SWARM_STARTED=1
  docker service create --detach --no-resolve-image --name "$SERVICE" --replicas "$N" \
    --update-parallelism "$PARALLELISM" --update-monitor "$MONITOR" --update-delay 0s \
    --update-order stop-first --container-label "cube.compare=$RUN" "$IMAGE" sleep 3600 >/dev/null
  swarm_running() {  # replicas Running with image $1
    docker service ps "$SERVICE" --filter desired-state=running --format '{{.Image}} {{.CurrentState}}' |
      grep -c "^$1 Running" || true
  }
  until [ "$(swarm_running "$IMAGE")" -ge "$N" ]; do sleep 0.05; done
  T0=$(now)
  docker service update --detach --no-resolve-image --image "$IMAGE2" "$SERVICE" >/dev/null
  until [ "$(swarm_running "$IMAGE2")" -ge "$N" ] &&
        [ "$(docker service inspect "$SERVICE" --format '{{.UpdateStatus.State}}')" = completed ]; do
    sleep 0.05
  done
  T1=$(now)
  SWARM_S=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$T0" "$T1")

  python3 - "$N" "$PARALLELISM" "$MONITOR" "$CUBE_S" "$SWARM_S" <<'EOF'
import sys
n, p, monitor, cube, swarm = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
print("rolling update of %d replicas (cube/busybox, image latest -> v2), %d at a time, monitor %s, stop-first" % (n, p, monitor))
print("  Cube          %6.1f s until every replica runs the new image" % cube)
print("  Docker Swarm  %6.1f s" % swarm)
print("  Swarm / Cube  %6.2fx" % (swarm / cube))
EOF
  exit 0
fi

# --- 1. dockerd directly ---
echo "dockerd: creating and starting $N containers through the API ($PARALLEL at a time)..." >&2
start_one() {
  local body id
  body="{\"Image\":\"$IMAGE\",\"Cmd\":[\"sleep\",\"3600\"],\"Labels\":{\"cube.compare\":\"$RUN\"}}"
  id=$(curl -sf --unix-socket "$SOCK" -H 'Content-Type: application/json' -d "$body" \
    "$API/containers/create" | sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p')
  [ -n "$id" ] || { echo "create failed" >&2; return 1; }
  curl -sf --unix-socket "$SOCK" -X POST "$API/containers/$id/start" >/dev/null
}
export -f start_one
export IMAGE RUN SOCK API
T0=$(now)
seq "$N" | xargs -P "$PARALLEL" -I{} bash -c start_one
T1=$(now)
RUNNING=$(docker ps -q --filter "label=cube.compare=$RUN" --filter status=running | wc -l)
[ "$RUNNING" -eq "$N" ] || { echo "dockerd: only $RUNNING of $N running" >&2; exit 1; }
DIRECT=$(rate "$N" "$T0" "$T1")
docker rm -f $(docker ps -aq --filter "label=cube.compare=$RUN") >/dev/null

# --- 2. Cube ---
echo "cube: broker, one docker agent, $N tasks..." >&2
start_cube "$N"
count_running() {
  "$CLIENT" --broker "$ADDR" list -o json |
    python3 -c "import json,sys; print(sum(1 for t in json.load(sys.stdin) if t.get('State') == 2))"
}
submit_one() {
  "$CLIENT" --broker "$ADDR" submit --name "c$1" --image "$IMAGE" -- sleep 3600 >/dev/null
}
export -f submit_one
export CLIENT ADDR
T0=$(now)
# In parallel, so that N client processes starting one after the other do not count against Cube.
seq "$N" | xargs -P 16 -I{} bash -c 'submit_one {}' ''

while [ "$(count_running)" -lt "$N" ]; do
  kill -0 "$AGENT_PID" 2>/dev/null || { cat "$WORK/agent.log" >&2; exit 1; }
  sleep 0.05
done
T1=$(now)
CUBE=$(rate "$N" "$T0" "$T1")
stop_cube

# --- 3. Docker Swarm ---
echo "swarm: init on loopback, a service of $N replicas..." >&2
docker swarm init --advertise-addr 127.0.0.1 >/dev/null
SWARM_STARTED=1
T0=$(now)
docker service create --detach --no-resolve-image --name "cube-$RUN" --replicas "$N" \
  --container-label "cube.compare=$RUN" "$IMAGE" sleep 3600 >/dev/null
while [ "$(docker service ps "cube-$RUN" --filter desired-state=running \
          --format '{{.CurrentState}}' | grep -c '^Running')" -lt "$N" ]; do
  sleep 0.05
done
T1=$(now)
SWARM=$(rate "$N" "$T0" "$T1")

python3 - "$N" "$DIRECT" "$CUBE" "$SWARM" <<'EOF'
import sys
n, direct, cube, swarm = int(sys.argv[1]), *map(float, sys.argv[2:])
print("%d containers (cube/busybox, bridge network)" % n)
print("  dockerd API directly  %6.2f containers/s" % direct)
print("  Cube                  %6.2f containers/s  (%.0f%% of dockerd; target >= 95%%)" % (cube, 100 * cube / direct))
print("  Docker Swarm          %6.2f containers/s" % swarm)
print("  Cube / Swarm          %6.2fx  (target >= 1.3x)" % (cube / swarm))
EOF
