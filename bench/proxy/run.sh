#!/usr/bin/env bash
# bench/proxy/run.sh [--quick] [--pgshift PATH]
#
# pgbench select-only throughput with 8 clients, simple and prepared protocol, against the
# same PostgreSQL 15 server reached four ways, interleaved round by round so that drift on a
# shared machine hits every contender alike:
#   direct    -> the server
#   pgshift   -> `pgshift proxy` (client_tls = off: benchmark mode, see docs/proxy.md)
#   pgbouncer -> PgBouncer, session pooling, its own userlist
#   haproxy   -> HAProxy, TCP mode
# Prints ONE JSON object on stdout; progress goes to stderr. Everything lives in a temp dir
# that is removed at exit, and every process started here is stopped.
set -euo pipefail

QUICK=0
PGSHIFT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --pgshift) PGSHIFT="$2"; shift 2 ;;
    *) echo "usage: $0 [--quick] [--pgshift PATH]" >&2; exit 2 ;;
  esac
done
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
if [[ -z "$PGSHIFT" ]]; then
  PGSHIFT="$(ls -t "$ROOT"/build*/pgshift 2>/dev/null | head -1 || true)"
fi
[[ -x "$PGSHIFT" ]] || { echo "pgshift binary not found; build it or pass --pgshift PATH" >&2; exit 2; }
BIN=/usr/lib/postgresql/15/bin
if [[ $QUICK == 1 ]]; then ROUNDS=1; SECS=5; else ROUNDS=3; SECS=15; fi
CLIENTS=8

WORK="$(mktemp -d /tmp/pgshift-bench-proxy-XXXXXX)"
chmod 755 "$WORK"
PIDS=()
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  as_pg "$BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
log() { echo "bench: $*" >&2; }

PG_PORT=$(free_port); PX_PORT=$(free_port); PX_ADMIN=$(free_port); BNC_PORT=$(free_port); HA_PORT=$(free_port)
PASSWORD="bench-$(date +%s%N)"
[[ $(id -u) == 0 ]] && chown postgres "$WORK"

log "initdb + start PostgreSQL on $PG_PORT"
as_pg "$BIN/initdb" -D "$WORK/pg" -U postgres -A trust >/dev/null
cat >> "$WORK/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK/pg'
max_connections = 100
shared_buffers = 128MB
password_encryption = scram-sha-256
CONF
echo "local all all trust
host all all 127.0.0.1/32 scram-sha-256" > "$WORK/pg/pg_hba.conf"
as_pg "$BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/log" -w start >/dev/null
as_pg "$BIN/psql" -h "$WORK/pg" -p "$PG_PORT" -U postgres -q \
  -c "CREATE ROLE app LOGIN PASSWORD '$PASSWORD'" -c "CREATE DATABASE appdb OWNER app" >/dev/null
PGPASSWORD="$PASSWORD" "$BIN/pgbench" -i -s 10 -q -h 127.0.0.1 -p "$PG_PORT" -U app appdb >/dev/null 2>&1

log "start pgshift proxy on $PX_PORT"
echo "$PASSWORD" > "$WORK/app.password"
echo "bench-admin-$RANDOM$RANDOM" > "$WORK/admin.token"
cat > "$WORK/proxy.ini" <<CONF
[proxy]
listen = 127.0.0.1:$PX_PORT
admin_listen = 127.0.0.1:$PX_ADMIN
admin_token_file = admin.token
client_tls = off
threads = ${PGSHIFT_BENCH_THREADS:-2}

[cluster appdb]
host = 127.0.0.1
port = $PG_PORT
user = app
password_file = app.password
CONF
"$PGSHIFT" proxy --config "$WORK/proxy.ini" > "$WORK/proxy.out" 2> "$WORK/proxy.err" &
PIDS+=($!)

log "start pgbouncer on $BNC_PORT"
cat > "$WORK/userlist.txt" <<CONF
"app" "$PASSWORD"
CONF
cat > "$WORK/pgbouncer.ini" <<CONF
[databases]
appdb = host=127.0.0.1 port=$PG_PORT dbname=appdb
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BNC_PORT
unix_socket_dir =
auth_type = trust
auth_file = $WORK/userlist.txt
pool_mode = session
max_client_conn = 200
default_pool_size = 20
logfile = $WORK/pgbouncer.log
pidfile = $WORK/pgbouncer.pid
CONF
[[ $(id -u) == 0 ]] && chown postgres "$WORK"/userlist.txt "$WORK"/pgbouncer.ini
as_pg pgbouncer "$WORK/pgbouncer.ini" > /dev/null 2>&1 &
PIDS+=($!)

log "start haproxy on $HA_PORT"
cat > "$WORK/haproxy.cfg" <<CONF
global
  maxconn 1000
  nbthread 2
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
listen pg
  bind 127.0.0.1:$HA_PORT
  server pg 127.0.0.1:$PG_PORT
CONF
haproxy -f "$WORK/haproxy.cfg" -db > "$WORK/haproxy.log" 2>&1 &
PIDS+=($!)

wait_port() {
  for _ in $(seq 1 100); do
    (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on $1 ($2)" >&2; exit 1
}
wait_port "$PX_PORT" pgshift; wait_port "$BNC_PORT" pgbouncer; wait_port "$HA_PORT" haproxy
grep -q "listening on 127.0.0.1:$PX_PORT" "$WORK/proxy.out" || { echo "bench: pgshift did not report ready" >&2; exit 1; }

# tps of one pgbench run: target port, protocol mode.
run_pgbench() {
  local port=$1 mode=$2 out
  out=$(PGPASSWORD="$PASSWORD" PGSSLMODE=disable "$BIN/pgbench" -S -n -c "$CLIENTS" -j 2 -T "$SECS" \
        -M "$mode" -h 127.0.0.1 -p "$port" -U app appdb 2>&1) || { echo "bench: pgbench failed on $port: $out" >&2; exit 1; }
  echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1
}

declare -A SUM
for round in $(seq 1 "$ROUNDS"); do
  for mode in simple prepared; do
    for target in direct pgshift pgbouncer haproxy; do
      case $target in
        direct) port=$PG_PORT ;; pgshift) port=$PX_PORT ;; pgbouncer) port=$BNC_PORT ;; haproxy) port=$HA_PORT ;;
      esac
      tps=$(run_pgbench "$port" "$mode")
      log "round $round $mode $target: $tps tps"
      SUM[$mode,$target]=$(python3 -c "print(${SUM[$mode,$target]:-0} + $tps)")
    done
  done
done

python3 - "$ROUNDS" "$CLIENTS" "$SECS" \
  "${SUM[simple,direct]}" "${SUM[simple,pgshift]}" "${SUM[simple,pgbouncer]}" "${SUM[simple,haproxy]}" \
  "${SUM[prepared,direct]}" "${SUM[prepared,pgshift]}" "${SUM[prepared,pgbouncer]}" "${SUM[prepared,haproxy]}" <<'PY'
import json, sys
rounds, clients, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
v = [float(x) / rounds for x in sys.argv[4:]]
def entry(d, p, b, h):
    best_peer = max(b, h)
    return {"direct_tps": round(d, 1), "pgshift_tps": round(p, 1), "pgbouncer_tps": round(b, 1),
            "haproxy_tps": round(h, 1),
            "ratios": {"pgshift_vs_direct": round(p / d, 3), "pgshift_vs_pgbouncer": round(p / b, 3),
                       "pgshift_vs_haproxy": round(p / h, 3), "pgshift_vs_best_peer": round(p / best_peer, 3)}}
print(json.dumps({"clients": clients, "rounds": rounds, "seconds_per_run": secs,
                  "select_only_8": entry(*v[0:4]), "prepared_8": entry(*v[4:8])}))
PY
