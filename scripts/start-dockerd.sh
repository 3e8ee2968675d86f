#!/usr/bin/env bash
# Starts dockerd in the background when no engine answers on its socket, and waits (up to 60 s)
# until it answers /_ping. Logs go to ${CUBE_DOCKERD_LOG:-/tmp/cube-dockerd.log}.
set -euo pipefail

SOCK="${DOCKER_SOCK:-/var/run/docker.sock}"
LOG="${CUBE_DOCKERD_LOG:-/tmp/cube-dockerd.log}"

ping() { curl -fsS --max-time 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }

if ping; then
  echo "start-dockerd: dockerd already answers on $SOCK"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "start-dockerd: dockerd is not running and starting it needs root" >&2
  exit 1
fi
echo "start-dockerd: starting dockerd (log: $LOG)"
nohup dockerd --host "unix://$SOCK" >"$LOG" 2>&1 &
for _ in $(seq 1 120); do
  if ping; then
    echo "start-dockerd: dockerd is up"
    exit 0
  fi
  sleep 0.5
done
echo "start-dockerd: dockerd did not answer within 60 s; last log lines:" >&2
tail -20 "$LOG" >&2
exit 1
