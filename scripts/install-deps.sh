#!/usr/bin/env bash
# Installs everything Cube needs to build, test and run on Debian 12, from Debian's archive only.
# Idempotent: packages already installed are left as they are. Run as root (or with sudo).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libcurl4-openssl-dev libspdlog-dev
  libboost-program-options-dev libgtest-dev libgmock-dev libsqlite3-dev nlohmann-json3-dev
  libcpp-httplib-dev prometheus-cpp-dev libbenchmark-dev uuid-dev
  # the etcd store deflates its log records (broker/etcd_values.cpp)
  zlib1g-dev
  docker.io busybox-static iproute2 iptables curl procps
  # The etcd store's integration tests start their own etcd processes (tests/integration/
  # etcd_cluster.h); the package's etcd service, where systemd runs it, is not used.
  etcd-server
  # scripts/fuzz.sh: libFuzzer needs clang and its runtime, which is only a Recommends of clang
  # (installed here --no-install-recommends); llvm-14 gives llvm-symbolizer for readable reports.
  clang libclang-rt-14-dev llvm-14
  # The .deb (packaging/): CPack's DEB generator runs `file` and dpkg-shlibdeps (dpkg-dev, from
  # build-essential) to declare the runtime libraries; its test (tests/package/) installs it
  # into a Debian 12 root made by debootstrap.
  file debootstrap
  # The dashboard's tests (tests/browser/) drive a headless chromium through chromedriver.
  chromium chromium-driver
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
