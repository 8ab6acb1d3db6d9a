#!/usr/bin/env bash
# Installs, from Debian's packages, everything pgshift needs to build, test and run its demo,
# and the browser tests' npm packages (test/browser, from its lock file).
# Idempotent and quiet: installs only what is missing, so a second run costs a few dpkg
# look-ups and a file-date comparison. Runs without a terminal (CI=true, no stdin).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config clang-format clang-14 libclang-rt-14-dev
  libpq-dev libssl-dev libsqlite3-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev liburing-dev libcpp-httplib-dev
  postgresql-15 postgresql-client-15
  pgbouncer haproxy openssl util-linux procps
  nftables  # bench/chaos's network_cut fault (loopback packet filter rules)
  chromium  # the browser tests drive Debian's chromium (never a browser npm downloads)
)
# Node only when the machine has no npm of its own: a developer's newer Node is kept (the
# browser tests' lock file holds to packages that run on Debian 12's Node 18 too).
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's packaging would start default clusters and services; pgshift starts its own.
fi

# The browser tests' packages: installed exactly as locked, again whenever the lock file is
# newer than the last install (npm ci writes node_modules/.package-lock.json). Playwright is
# told not to download a browser of its own.
browser_dir=test/browser
stamp=$browser_dir/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ "$browser_dir/package-lock.json" -nt "$stamp" ]; then
  echo "setup: npm ci in $browser_dir"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$browser_dir" --no-audit --no-fund \
    --loglevel=error >/dev/null
fi
