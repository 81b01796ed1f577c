#!/usr/bin/env bash
# Overload: a closed loop of N connections against sandbox + switchyard (release),
# with the edge limits as given, then the ledger's count of payments left `unknown`.
#
#   loadtest/overload.sh CONNECTIONS SECONDS [extra [server] lines]
#   loadtest/overload.sh 2000 20                                  # defaults (shedding on)
#   loadtest/overload.sh 2000 20 'max_inflight_payments = 100000' # shedding off
#
# Prints the loadtest JSON report, then `unknown=N shed_503=N` from the ledger and
# the server's metrics. Needs `ulimit -n` above CONNECTIONS + 1000.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:?connections}
SECS=${2:-20}
EXTRA=${3:-}
BIN=${SWITCHYARD_BIN:-target/release/switchyard}
LT=${LOADTEST_BIN:-target/release/loadtest}
DIR=$(mktemp -d)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P=$(port); A=$(port); B=$(port); ADM=$(port); CTL=$(port)
cat > "$DIR/cfg.toml" <<TOML
[server]
listen = "127.0.0.1:$P"
request_timeout = "10s"
max_attempts = 2
max_connections = 20000
$EXTRA

[admin]
listen = "127.0.0.1:$ADM"
token_env = "OVL_ADMIN"

[ledger]
path = "$DIR/ledger.db"
synchronous = "full"

[[gateway]]
name = "a"
connector = "generic"
base_url = "http://127.0.0.1:$A"
webhook_secret_env = "OVL_HOOK"
timeout = "5s"
pool_size = 64

[[gateway]]
name = "b"
connector = "generic"
base_url = "http://127.0.0.1:$B"
webhook_secret_env = "OVL_HOOK"
timeout = "5s"
pool_size = 64

[[route]]
name = "default"
split = [{ gateway = "a", weight = 90 }, { gateway = "b", weight = 10 }]
fallback = ["a", "b"]
TOML
export OVL_ADMIN=x OVL_HOOK=y
"$BIN" sandbox --config "$DIR/cfg.toml" --callbacks off --control "127.0.0.1:$CTL" 2>"$DIR/sandbox.log" &
SB=$!
"$BIN" serve --config "$DIR/cfg.toml" 2>"$DIR/serve.log" &
SV=$!
trap 'kill $SB $SV 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$P/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
RSS0=$(awk '/VmRSS/{print $2}' /proc/$SV/status)
"$LT" closed --url "http://127.0.0.1:$P/v1/payments" -c "$N" -d "$SECS" --timeout 30 --json
RSS1=$(awk '/VmHWM/{print $2}' /proc/$SV/status)
SHED=$(curl -s "http://127.0.0.1:$P/metrics" | awk -F' ' '/http_errors_total\{code="overloaded"\}/{print $2}')
kill -TERM $SV; wait $SV 2>/dev/null || true
python3 - "$DIR/ledger.db" "${SHED:-0}" "$RSS0" "$RSS1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = dict(db.execute("select status, count(*) from payments group by status").fetchall())
print(f"ledger={rows} unknown={rows.get('unknown', 0)} shed_503={sys.argv[2]} rss_kb_start={sys.argv[3]} rss_kb_peak={sys.argv[4]}")
PY
