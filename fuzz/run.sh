#!/usr/bin/env bash
# fuzz/run.sh [--seconds N] [--build-dir DIR]: builds the proxy decoder fuzzer with clang's
# libFuzzer (+ ASan/UBSan) and runs it over the seed corpus for N seconds (default 20).
# Exit status non-zero on a crash; the reproducer is left in the build dir.
set -euo pipefail
SECONDS_TO_RUN=20
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OUT="$ROOT/build-fuzz"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) SECONDS_TO_RUN="$2"; shift 2 ;;
    --build-dir) OUT="$2"; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--build-dir DIR]" >&2; exit 2 ;;
  esac
done
CXX="${CXX_FUZZ:-clang++-14}"
mkdir -p "$OUT/corpus"
SRCS=("$HERE/proxy_decoder_fuzz.cc" "$ROOT/src/proxy/frame_decoder.cc" "$ROOT/src/proxy/wire_format.cc"
      "$ROOT/src/proxy/scram_client.cc" "$ROOT/src/proxy/carried_state.cc" "$ROOT/src/common/status.cc")
BIN="$OUT/proxy_decoder_fuzz"
if [[ ! -x "$BIN" || -n "$(find "${SRCS[@]}" -newer "$BIN" 2>/dev/null)" ]]; then
  "$CXX" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$ROOT/src" "${SRCS[@]}" -lcrypto -o "$BIN"
fi
cp -n "$HERE"/seeds/* "$OUT/corpus/" 2>/dev/null || true
cd "$OUT"
"$BIN" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=10 -print_final_stats=1 corpus
