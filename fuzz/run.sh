#!/usr/bin/env bash
# fuzz/run.sh [--target NAME] [--seconds N] [--build-dir DIR]: builds one libFuzzer target with
# clang (+ ASan/UBSan) and runs it over its seed corpus for N seconds (default 20). Targets:
#   proxy_decoder  message framing, startup params, error fields, carried state, SCRAM (default)
#   proxy_startup  ReadStartupPacket, ParseStartupParams, DecideAdmission
#   admin_api      AdminServer::Handle and the proxy_admin_api FromJson parsers
# Objects are compiled two at a time and kept in the build dir; a source or any header under
# src/ newer than an object rebuilds it. Exit status non-zero on a crash; the reproducer is
# left in the build dir.
set -euo pipefail
SECONDS_TO_RUN=20
TARGET=proxy_decoder
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="$ROOT/build-fuzz"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) SECONDS_TO_RUN="$2"; shift 2 ;;
    --build-dir) OUT="$2"; shift 2 ;;
    --target) TARGET="$2"; shift 2 ;;
    *) echo "usage: $0 [--target NAME] [--seconds N] [--build-dir DIR]" >&2; exit 2 ;;
  esac
done
CXX="${CXX_FUZZ:-clang++-14}"
FLAGS=(-std=c++20 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
       -I"$ROOT/src")
LIBS=()
case "$TARGET" in
  proxy_decoder)
    SRCS=("$HERE/proxy_decoder_fuzz.cc" "$ROOT/src/proxy/frame_decoder.cc"
          "$ROOT/src/proxy/wire_format.cc" "$ROOT/src/proxy/scram_client.cc"
          "$ROOT/src/proxy/carried_state.cc" "$ROOT/src/common/status.cc")
    LIBS=(-lcrypto)
    SEEDS="$HERE/seeds" ;;
  proxy_startup)
    SRCS=("$HERE/proxy_startup_fuzz.cc" "$ROOT/src/proxy/wire_format.cc"
          "$ROOT/src/proxy/admission.cc" "$ROOT/src/proxy/proxy_config.cc"
          "$ROOT/src/proxy/replication_startup.cc" "$ROOT/src/common/status.cc"
          "$ROOT/src/common/loopback_host.cc" "$ROOT/src/common/ini_file.cc")
    # The config loader logs its warnings (spdlog over fmt).
    read -r -a PC_CFLAGS <<< "$(pkg-config --cflags spdlog fmt)"
    read -r -a PC_LIBS <<< "$(pkg-config --libs spdlog fmt)"
    FLAGS+=("${PC_CFLAGS[@]}")
    LIBS=("${PC_LIBS[@]}" -pthread)
    SEEDS="$HERE/seeds/proxy_startup" ;;
  admin_api)
    # The whole proxy (AdminServer needs its context and pause controller) and the HTTP layer,
    # with the flags the distribution's libraries were built with.
    SRCS=("$HERE/admin_api_fuzz.cc" "$ROOT"/src/proxy/*.cc "$ROOT"/src/http/*.cc
          "$ROOT"/src/proxy_admin_api/*.cc "$ROOT"/src/common/*.cc)
    read -r -a PC_CFLAGS <<< "$(pkg-config --cflags spdlog fmt cpp-httplib liburing openssl)"
    read -r -a PC_LIBS <<< "$(pkg-config --libs spdlog fmt cpp-httplib liburing openssl)"
    FLAGS+=("${PC_CFLAGS[@]}")
    LIBS=("${PC_LIBS[@]}" -pthread)
    SEEDS="$HERE/seeds/admin_api" ;;
  *) echo "unknown target $TARGET (proxy_decoder, proxy_startup, admin_api)" >&2; exit 2 ;;
esac

OBJ="$OUT/obj-$TARGET"
mkdir -p "$OBJ" "$OUT/corpus-$TARGET"
stale=()
objs=()
for src in "${SRCS[@]}"; do
  rel="${src#"$ROOT"/}"
  obj="$OBJ/${rel//\//_}.o"
  objs+=("$obj")
  if [[ ! -f "$obj" || "$src" -nt "$obj" || -n "$(find "$ROOT/src" -name '*.h' -newer "$obj" -print -quit)" ]]; then
    stale+=("$src")
  fi
done
compile() {
  local rel="${1#"$ROOT"/}"
  "$CXX" "${FLAGS[@]}" -c "$1" -o "$OBJ/${rel//\//_}.o"
}
pids=()
failed=0
for src in "${stale[@]}"; do
  compile "$src" &
  pids+=($!)
  if [[ ${#pids[@]} -ge 2 ]]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
if [[ $failed -ne 0 ]]; then
  echo "fuzz: compiling $TARGET failed" >&2
  exit 1
fi
BIN="$OUT/${TARGET}_fuzz"
"$CXX" -fsanitize=fuzzer,address,undefined "${objs[@]}" "${LIBS[@]}" -o "$BIN"
find "$SEEDS" -maxdepth 1 -type f -exec cp -n {} "$OUT/corpus-$TARGET/" \; 2>/dev/null || true
cd "$OUT"
"$BIN" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 -print_final_stats=1 \
  "corpus-$TARGET"
