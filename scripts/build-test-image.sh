#!/usr/bin/env bash
# Builds the local image cube/busybox:latest from Debian's busybox-static with `docker import`
# (no registry is needed). It has sh, sleep, httpd, nc, wget... Idempotent.
set -euo pipefail

IMAGE="${1:-cube/busybox:latest}"
SOCK="${DOCKER_SOCK:-/var/run/docker.sock}"

if curl -fsS --unix-socket "$SOCK" "http://localhost/images/${IMAGE}/json" >/dev/null 2>&1; then
  echo "build-test-image: $IMAGE already exists"
  exit 0
fi
BUSYBOX=$(command -v busybox || echo /bin/busybox)
[ -x "$BUSYBOX" ] || { echo "build-test-image: busybox not found (apt-get install busybox-static)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/rootfs/www" "$work/rootfs/etc"
cp "$BUSYBOX" "$work/rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$work/rootfs/bin/$applet"
done
echo "ok" > "$work/rootfs/www/health"
echo "hello from cube/busybox" > "$work/rootfs/www/index.html"
echo "root:x:0:0:root:/:/bin/sh" > "$work/rootfs/etc/passwd"
echo "nobody:x:65534:65534:nobody:/:/bin/false" >> "$work/rootfs/etc/passwd"
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
# Import through the Engine API so no particular docker CLI version is needed.
curl -fsS --unix-socket "$SOCK" -X POST -H "Content-Type: application/x-tar" \
  --data-binary "@$work/rootfs.tar" \
  "http://localhost/images/create?fromSrc=-&repo=${IMAGE%%:*}&tag=${IMAGE##*:}&changes=CMD%20%5B%22sh%22%5D" >/dev/null
echo "build-test-image: built $IMAGE"
