#!/usr/bin/env bash
# From a fresh clone to a running cluster: installs the Debian packages, builds Cube, starts
# dockerd if needed, starts a broker and an exec agent in the background (plus a docker agent
# when dockerd is up), submits a first task and shows it completing, then (with dockerd) a
# busybox httpd container answering on its published port. State and logs live in .cube/ of the
# checkout.
#
#   ./scripts/quickstart.sh          # start (or restart) the local cluster and run a first task
#   ./scripts/quickstart.sh stop     # stop its tasks (and their containers), broker and agents
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE="$ROOT/.cube"
BIN="$ROOT/build"
export CUBE_BROKER=127.0.0.1:7100

# Stops the tasks still running (so no container outlives the cluster), waiting a bounded time.
stop_tasks() {
  local client="$BIN/client/cube-client" ids
  [ -x "$client" ] || return 0
  ids=$("$client" --timeout 2s list 2>/dev/null |
    awk 'NR > 1 && ($3 == "Pending" || $3 == "Scheduled" || $3 == "Running") { print $1 }') || true
  [ -n "$ids" ] || return 0
  for id in $ids; do "$client" stop "$id" >/dev/null 2>&1 || true; done
  for _ in $(seq 1 100); do
    "$client" --timeout 2s list 2>/dev/null | awk 'NR > 1 { print $3 }' | grep -q Running || break
    sleep 0.1
  done
}

stop_cluster() {
  for name in agent-docker agent broker; do
    if [ -f "$STATE/$name.pid" ]; then
      pid=$(cat "$STATE/$name.pid")
      if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        # Wait (bounded) for a clean exit so the ports are free for the next start.
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
      rm -f "$STATE/$name.pid"
    fi
  done
}

if [ "${1:-}" = "stop" ]; then
  stop_tasks
  stop_cluster
  echo "quickstart: cluster stopped"
  exit 0
fi

./scripts/install-deps.sh
./scripts/start-dockerd.sh || echo "quickstart: dockerd is not available; continuing with the exec driver"
./scripts/build-test-image.sh || true

cmake -S . -B "$BIN" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCUBE_BUILD_TESTS=OFF -DCUBE_BUILD_BENCH=OFF >/dev/null
cmake --build "$BIN" -j"$(nproc)" --target cube-broker cube-agent cube-client

mkdir -p "$STATE"
stop_cluster

"$BIN/broker/cube-broker" --bind "$CUBE_BROKER" --data-dir "$STATE/broker" \
  >"$STATE/broker.log" 2>&1 &
echo $! >"$STATE/broker.pid"
"$BIN/agent/cube-agent" --broker "$CUBE_BROKER" --name local-exec --driver exec \
  --data-dir "$STATE/agent" >"$STATE/agent.log" 2>&1 &
echo $! >"$STATE/agent.pid"

CLIENT="$BIN/client/cube-client"
echo "quickstart: waiting for the agent to register"
for _ in $(seq 1 100); do
  if "$CLIENT" nodes 2>/dev/null | grep -q local-exec; then break; fi
  sleep 0.1
done
"$CLIENT" nodes

id=$("$CLIENT" submit --name hello --driver exec -- sh -c 'echo hello from cube; sleep 1')
echo "quickstart: submitted task $id"
for _ in $(seq 1 100); do
  if "$CLIENT" list | grep "^${id:0:8}" | grep -qE 'Completed|Failed'; then break; fi
  sleep 0.2
done
"$CLIENT" list
"$CLIENT" get "$id"
echo "quickstart: its output (cube-client logs $id):"
"$CLIENT" logs "$id"

docker_up=no
if curl -fsS --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1; then
  docker_up=yes
  "$BIN/agent/cube-agent" --broker "$CUBE_BROKER" --name local-docker --driver docker \
    --data-dir "$STATE/agent-docker" >"$STATE/agent-docker.log" 2>&1 &
  echo $! >"$STATE/agent-docker.pid"
  echo "quickstart: waiting for the docker agent to register"
  for _ in $(seq 1 100); do
    if "$CLIENT" nodes 2>/dev/null | grep -q local-docker; then break; fi
    sleep 0.1
  done
  # A busybox httpd container (the local image from scripts/build-test-image.sh) with a
  # published port, a memory limit and a health endpoint; -v makes httpd log each request.
  web=$("$CLIENT" submit --name web --image cube/busybox:latest -p 8080/tcp --memory 64MiB \
    --health /health --wait -- httpd -f -v -p 8080 -h /www)
  echo "quickstart: submitted task $web (docker)"
  port=$("$CLIENT" get "$web" -o json | sed -n 's/.*"HostPort": *"\([0-9]*\)".*/\1/p' | head -n 1)
  echo "quickstart: container port 8080/tcp is published on 127.0.0.1:$port"
  for _ in $(seq 1 50); do
    if curl -fsS "http://127.0.0.1:$port/" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "quickstart: what it logged (cube-client logs $web):"
  # dockerd writes a container's log asynchronously: give httpd's request line a moment.
  for _ in $(seq 1 50); do
    logged=$("$CLIENT" logs "$web" 2>/dev/null || true)
    if [ -n "$logged" ]; then break; fi
    sleep 0.1
  done
  echo "${logged:-(nothing yet: $CLIENT logs -f $web)}"
else
  echo "quickstart: dockerd is not running; skipping the docker agent and the httpd task"
fi

cat <<EOT

Cube is running: broker on $CUBE_BROKER, agent "local-exec" (exec driver)$(
  [ "$docker_up" = yes ] && echo ' and agent "local-docker" (docker driver)').
  $CLIENT list
  $CLIENT submit --name demo --driver exec -- sh -c 'sleep 30'
  $CLIENT nodes
EOT
if [ "$docker_up" = yes ]; then
  cat <<EOT
  curl http://127.0.0.1:$port/                 # the httpd task "web"
  $CLIENT logs -f $web    # follow its log
  $CLIENT stop $web       # stops it and removes its container
EOT
fi
cat <<EOT
Logs: $STATE/broker.log, $STATE/agent.log$( [ "$docker_up" = yes ] && echo ", $STATE/agent-docker.log").  Stop: ./scripts/quickstart.sh stop
EOT
