#!/usr/bin/env bash
# Installs, from Debian's packages, everything pgshift needs to build, test and run its demo.
# Idempotent: installs only what is missing, so a second run costs a few dpkg look-ups.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format clang-14 libclang-rt-14-dev
  libpq-dev libssl-dev libsqlite3-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev liburing-dev libcpp-httplib-dev
  postgresql-15 postgresql-client-15
  pgbouncer haproxy openssl util-linux procps
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's packaging would start default clusters and services; pgshift starts its own.
