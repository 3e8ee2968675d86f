#!/usr/bin/env bash
# The .deb on a fresh Debian 12 host: builds it (target `package`), makes a minbase bookworm root
# with systemd by debootstrap (once, cached under BUILD/package-root), installs the package into
# a copy of that root with `apt-get install` (its dependencies come from Debian's archive), and
# checks the executables, the cube user and the state dirs, the conffiles, that the shipped
# config files parse, that the broker starts as cube with broker.conf and answers cube-client,
# the units with `systemd-analyze verify`, and that `apt-get purge` leaves nothing of Cube.
#
#   tests/package/deb_install_test.sh BUILD_DIR
#
# Needs root, debootstrap (scripts/install-deps.sh) and Debian's archive. Without root or
# debootstrap it is skipped (exit 77) on a developer's machine, and fails under CI=true.
set -euo pipefail

build=$(cd "$1" && pwd)
started=$SECONDS
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "=== $* ($((SECONDS - started)) s)"; }

missing=""
[ "$(id -u)" -eq 0 ] || missing="root"
command -v debootstrap >/dev/null || missing="${missing:+$missing and }debootstrap (scripts/install-deps.sh)"
if [ -n "$missing" ]; then
  [ "${CI:-}" = true ] && fail "needs $missing"
  echo "SKIP: needs $missing"
  exit 77
fi

step "building the package"
rm -f "$build"/cube_*.deb
if ! cmake --build "$build" --target package >"$build/package-build.log" 2>&1; then
  cat "$build/package-build.log"
  fail "cmake --build $build --target package failed"
fi
debs=("$build"/cube_*_amd64.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one cube_*_amd64.deb in $build"
deb=${debs[0]}
deb_name=$(basename "$deb")
echo "$deb_name: $(stat -c %s "$deb") bytes"
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb"
depends=$(dpkg-deb --field "$deb" Depends)
for lib in libzmq5 libboost-program-options libspdlog libcurl; do
  [[ $depends == *"$lib"* ]] || fail "Depends does not name $lib: $depends"
done
[[ $depends != *-dev* ]] || fail "Depends names a -dev package: $depends"

# Debian's archive as apt on this host reaches it, else deb.debian.org.
mirror=$(grep -hoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list \
  /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 |
  tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}

base="$build/package-root/bookworm"
if [ ! -f "$base/.cube-complete" ]; then
  step "debootstrap --variant=minbase --include=systemd bookworm from $mirror (cached in $base)"
  rm -rf "$base"
  mkdir -p "$(dirname "$base")"
  if ! debootstrap --variant=minbase --include=systemd bookworm "$base" "$mirror" \
    >"$build/package-root/debootstrap.log" 2>&1; then
    tail -n 40 "$build/package-root/debootstrap.log"
    fail "debootstrap failed (log: $build/package-root/debootstrap.log)"
  fi
  touch "$base/.cube-complete"
fi

# A fresh copy per run: the cached root never sees the package.
root="$build/package-root/test"
broker_pid=""
agent_pid=""
cleanup() {
  for pid in $agent_pid $broker_pid; do
    kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  if mountpoint -q "$root/proc" && ! umount "$root/proc"; then
    echo "cannot unmount $root/proc: leaving $root" >&2
    return
  fi
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
step "copying the root"
# A run killed before its cleanup may have left /proc mounted there.
if mountpoint -q "$root/proc"; then umount "$root/proc"; fi
rm -rf --one-file-system "$root"
cp -a "$base" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
mount -t proc proc "$root/proc"
in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DEBIAN_FRONTEND=noninteractive "$@"
}

step "apt-get install ./$deb_name"
in_root apt-get update -qq
in_root sh -c "cd /tmp && apt-get install -y -qq --no-install-recommends ./$deb_name"

step "checking the installed package"
for program in cube-broker cube-agent cube-client; do
  version=$(in_root "$program" --version)
  echo "$version"
  [[ $version == "$program "* ]] || fail "$program --version printed: $version"
done
passwd_line=$(in_root getent passwd cube) || fail "no cube user"
[[ $passwd_line == *:/var/lib/cube:/usr/sbin/nologin ]] || fail "cube user: $passwd_line"
# Owners as the root's own passwd names them (the host may give the uid another name).
owner=$(in_root stat -c %U:%G /var/lib/cube/broker)
[ "$owner" = cube:cube ] || fail "/var/lib/cube/broker is $owner, not cube:cube"
[ -d "$root/var/lib/cube/agent" ] || fail "no /var/lib/cube/agent"
conffiles=$(in_root dpkg-query -W -f='${Conffiles}' cube)
for conf in broker agent client; do
  [[ $conffiles == *"/etc/cube/$conf.conf "* ]] || fail "$conf.conf is not a conffile: $conffiles"
done
for unit in cube-broker cube-agent; do
  [ -f "$root/lib/systemd/system/$unit.service" ] || fail "no $unit.service"
done

# The shipped files parse, and the broker's names its data dir.
printed=$(in_root cube-broker --config /etc/cube/broker.conf --print-config)
echo "$printed" | grep -E '^data-dir = /var/lib/cube/broker +# file /etc/cube/broker.conf:[0-9]+$' ||
  fail "cube-broker --print-config does not take data-dir from broker.conf:
$printed"
in_root cube-agent --config /etc/cube/agent.conf --print-config >/dev/null
in_root cube-client --print-config >/dev/null

# systemd does not run in the root: what cube-broker.service would do is done by hand, with the
# unit's own User=, ExecStart= and ExecStartPost= lines (RuntimeDirectory= made here). Only the
# port is changed (a flag overrides broker.conf): 7100 may be in use on this host.
step "cube-broker.service's ExecStart and ExecStartPost, as its User="
unit="$root/lib/systemd/system/cube-broker.service"
unit_user=$(sed -n 's/^User=//p' "$unit")
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
exec_start_post=$(sed -n 's/^ExecStartPost=//p' "$unit")
[ "$unit_user" = cube ] || fail "cube-broker.service runs as \"$unit_user\", not cube"
[[ $exec_start == *"--config /etc/cube/broker.conf"* ]] || fail "ExecStart=$exec_start"
in_root install -d -o cube -g cube -m 0755 /run/cube-broker
# chroot, env and sh exec each other: $! is the broker's pid.
chroot --userspec="$unit_user:$unit_user" "$root" /usr/bin/env -i PATH=/usr/bin:/bin \
  /bin/sh -c "exec $exec_start --bind 127.0.0.1:0" >"$build/package-root/broker.log" 2>&1 &
broker_pid=$!
# ExecStartPost returns once the broker is bound: the readiness check `systemctl start` waits on.
# As root here: for a moment the broker is still chroot running as root, which the cube user may
# not signal (systemd starts ExecStartPost after the main process has changed user).
if ! in_root MAINPID="$broker_pid" /bin/sh -c "$exec_start_post"; then
  cat "$build/package-root/broker.log"
  fail "ExecStartPost failed: the broker did not write its ready file"
fi
address=$(cat "$root/run/cube-broker/ready")
in_root cube-client --broker "$address" status >/dev/null || fail "cube-client status failed"
[ "$(in_root stat -c %U /var/lib/cube/broker/cube.db)" = cube ] || fail "no cube.db owned by cube"

# cube-agent.service's ExecStart (as root: the unit has no User=), pointed at that broker.
step "cube-agent.service's ExecStart"
unit="$root/lib/systemd/system/cube-agent.service"
! grep -q '^User=' "$unit" || fail "cube-agent.service must run as root"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[[ $exec_start == *"--config /etc/cube/agent.conf"* ]] || fail "ExecStart=$exec_start"
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin \
  /bin/sh -c "exec $exec_start --broker $address --name packaged" \
  >"$build/package-root/agent.log" 2>&1 &
agent_pid=$!
for ((i = 0; i < 200; i++)); do
  nodes=$(in_root cube-client --broker "$address" nodes 2>/dev/null || true)
  [[ $nodes == *packaged*ready* ]] && break
  kill -0 "$agent_pid" 2>/dev/null || break
  sleep 0.1
done
[[ $nodes == *packaged*ready* ]] || {
  cat "$build/package-root/agent.log"
  fail "the agent did not register within 20 s: $nodes"
}
[ -s "$root/var/lib/cube/agent/agent-id" ] || fail "the agent keeps no id in /var/lib/cube/agent"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "the agent exited $? on SIGTERM"
agent_pid=""

kill -TERM "$broker_pid"
wait "$broker_pid" || fail "the broker exited $? on SIGTERM"
broker_pid=""

step "systemd-analyze verify"
# It exits 0 on a line it ignores ("Failed to parse ..., ignoring"): any output is a failure.
verify=$(in_root systemd-analyze verify /lib/systemd/system/cube-broker.service \
  /lib/systemd/system/cube-agent.service 2>&1) || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify complained: $verify"

step "apt-get purge cube"
files=$(in_root dpkg-query -L cube)
in_root apt-get purge -y -qq cube
in_root dpkg-query -W -f='${db:Status-Status}' cube 2>/dev/null | grep -qx installed &&
  fail "cube is still installed"
while read -r path; do
  [ -z "$path" ] || [ -d "$root$path" ] || [ ! -e "$root$path" ] || fail "$path left after purge"
done <<<"$files"
for path in /etc/cube /var/lib/cube /usr/share/doc/cube; do
  [ ! -e "$root$path" ] || fail "$path left after purge"
done
in_root getent passwd cube >/dev/null && fail "the cube user is left after purge"
in_root getent group cube >/dev/null && fail "the cube group is left after purge"

step "ok: $deb_name ($(stat -c %s "$deb") bytes) installs, runs and purges cleanly"
