#!/usr/bin/env bash
# switchyard vs nginx vs direct, side by side on one machine.
#
#   bash loadtest/compare.sh [--rounds N] [--duration S] [--connections C] [--threads T]
#       [--open-rate R] [--ledger-sync full|normal]
#   (or ROUNDS=, DURATION=, CONNECTIONS=, LT_THREADS=, WARMUP=, OPEN_RATE=, LEDGER_SYNC=)
#
# Installs nginx and wrk with apt-get when missing, builds release, then starts on
# random free 127.0.0.1 ports:
#   - `switchyard sandbox --callbacks off`: two generic-dialect gateways `a` and `b`,
#     zero latency, no callbacks (so the comparison measures initiation only);
#   - `switchyard serve`: route default = a 90 / b 10, ledger in the temp dir with
#     synchronous = "full" (fsync per group commit);
#   - nginx (worker_processes auto, i.e. one worker per CPU, as switchyard's Tokio runtime
#     has one worker thread per CPU): upstream a weight=9 / b weight=1, keepalive 64,
#     proxy_http_version 1.1, Connection "", proxy_next_upstream error.
# Each round measures direct (loadtest -> sandbox a), nginx (-> sandbox) and switchyard
# (-> sandbox), in that order, with the same closed-loop load from the `loadtest`
# binary (C connections, D seconds). It prints every round, the medians, the ratio
# switchyard/nginx per round, the CPU time each process used during its own rounds, and
# each process's peak RSS (VmHWM) and total CPU time. Everything it started is stopped
# on exit. Artifacts (configs, logs, per-run JSON) stay in the printed temp dir.
# With --open-rate R (default off), each round also runs the open loop at R req/s against
# the three targets (latency from the intended send time) and prints the added latency.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
LT_THREADS=${LT_THREADS:-}
WARMUP=${WARMUP:-2}
OPEN_RATE=${OPEN_RATE:-0}
LEDGER_SYNC=${LEDGER_SYNC:-full}
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --threads) LT_THREADS=$2; shift 2 ;;
    --open-rate) OPEN_RATE=$2; shift 2 ;;
    --ledger-sync) LEDGER_SYNC=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

say() { printf '\n== %s\n' "$*" >&2; }

# --- 1. tools ---------------------------------------------------------------------
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  say "installing nginx and wrk (apt-get)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx wrk >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# --- 2. build ---------------------------------------------------------------------
say "cargo build --release --workspace"
cargo build --release --workspace
SY=$ROOT/target/release/switchyard
LT=$ROOT/target/release/loadtest

# --- 3. ports, temp dir, configs --------------------------------------------------
TMP=$(mktemp -d /tmp/switchyard-compare.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
USED=" "
pick_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if [[ "$USED" != *" $p "* ]] && port_free "$p"; then USED="$USED$p "; echo "$p"; return; fi
  done
  echo "no free port found" >&2; exit 1
}
wait_port() {
  for _ in $(seq 1 200); do
    port_free "$1" || return 0
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1 after 10 s (see $TMP/*.log)" >&2; exit 1
}

P_A=$(pick_port); P_B=$(pick_port); P_SY=$(pick_port); P_ADMIN=$(pick_port); P_NG=$(pick_port)

export SWITCHYARD_LT_WEBHOOK_SECRET=loadtest-secret SWITCHYARD_LT_ADMIN_TOKEN=loadtest-admin
cat >"$TMP/switchyard.toml" <<EOF
[server]
listen = "127.0.0.1:$P_SY"
request_timeout = "10s"
max_attempts = 2

[admin]
listen = "127.0.0.1:$P_ADMIN"
token_env = "SWITCHYARD_LT_ADMIN_TOKEN"

[ledger]
path = "$TMP/ledger.db"
synchronous = "$LEDGER_SYNC"

[[gateway]]
name = "a"
connector = "generic"
base_url = "http://127.0.0.1:$P_A"
webhook_secret_env = "SWITCHYARD_LT_WEBHOOK_SECRET"
connect_timeout = "1s"
timeout = "5s"
pool_size = 64

[[gateway]]
name = "b"
connector = "generic"
base_url = "http://127.0.0.1:$P_B"
webhook_secret_env = "SWITCHYARD_LT_WEBHOOK_SECRET"
connect_timeout = "1s"
timeout = "5s"
pool_size = 64

[[route]]
name = "default"
split = [{ gateway = "a", weight = 90 }, { gateway = "b", weight = 10 }]
fallback = ["a", "b"]
EOF

cat >"$TMP/nginx.conf" <<EOF
worker_processes auto;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx-body;
  proxy_temp_path $TMP/nginx-proxy;
  fastcgi_temp_path $TMP/nginx-fastcgi;
  uwsgi_temp_path $TMP/nginx-uwsgi;
  scgi_temp_path $TMP/nginx-scgi;
  upstream sandbox {
    server 127.0.0.1:$P_A weight=9;
    server 127.0.0.1:$P_B weight=1;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$P_NG;
    # The sandbox's generic-dialect initiation endpoint is also /v1/payments.
    location = /v1/payments {
      proxy_pass http://sandbox/v1/payments;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error;
      proxy_connect_timeout 1s;
      proxy_read_timeout 5s;
    }
  }
}
EOF

"$SY" check --config "$TMP/switchyard.toml" >/dev/null
"$NGINX" -t -q -p "$TMP/" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf"

# --- 4. start ---------------------------------------------------------------------
say "starting sandbox (:$P_A, :$P_B), switchyard (:$P_SY), nginx (:$P_NG); temp dir $TMP"
"$SY" sandbox --config "$TMP/switchyard.toml" --callbacks off >"$TMP/sandbox.log" 2>&1 &
PID_SB=$!; PIDS+=("$PID_SB")
wait_port "$P_A"; wait_port "$P_B"
"$SY" serve --config "$TMP/switchyard.toml" >"$TMP/switchyard.log" 2>&1 &
PID_SY=$!; PIDS+=("$PID_SY")
"$NGINX" -p "$TMP/" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" -g 'daemon off;' &
PID_NG=$!; PIDS+=("$PID_NG")
wait_port "$P_SY"; wait_port "$P_NG"

# --- 5. measure -------------------------------------------------------------------
TICK=$(getconf CLK_TCK)
cpu_ticks() { # utime+stime of a pid (fields 14, 15; parsed after the ")" of comm)
  local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }; set -- $s; echo $(( ${12} + ${13} ))
}
nginx_pids() { echo "$PID_NG $(pgrep -P "$PID_NG" | tr '\n' ' ')"; }
group_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p" "$2"; }

URL_DIRECT="http://127.0.0.1:$P_A/v1/payments"
URL_NGINX="http://127.0.0.1:$P_NG/v1/payments"
URL_SY="http://127.0.0.1:$P_SY/v1/payments"
LT_ARGS=(--connections "$CONNECTIONS" --json)
[ -n "$LT_THREADS" ] && LT_ARGS+=(--threads "$LT_THREADS")

declare -A CPU_DURING=([direct]=0 [nginx]=0 [switchyard]=0)
declare -A REQS=([direct]=0 [nginx]=0 [switchyard]=0)
one_run() { # name url kind duration out
  local name=$1 url=$2 kind=$3 dur=$4 out=$5 before after procs
  case $name in
    direct) procs="$PID_SB" ;;
    nginx) procs="$(nginx_pids)" ;;
    switchyard) procs="$PID_SY" ;;
  esac
  before=$(group_ticks $procs)
  "$LT" closed --url "$url" --target-kind "$kind" --duration "$dur" "${LT_ARGS[@]}" >"$out"
  after=$(group_ticks $procs)
  if [ "$name" != warmup ]; then
    CPU_DURING[$name]=$(( ${CPU_DURING[$name]} + after - before ))
    REQS[$name]=$(( ${REQS[$name]} + $(field requests "$out") ))
  fi
}

say "warm-up ${WARMUP}s each"
for t in "direct $URL_DIRECT generic" "nginx $URL_NGINX generic" "switchyard $URL_SY switchyard"; do
  set -- $t
  "$LT" closed --url "$2" --target-kind "$3" --duration "$WARMUP" "${LT_ARGS[@]}" >"$TMP/warmup-$1.json"
done

say "$ROUNDS rounds x ${DURATION}s, $CONNECTIONS connections, closed loop, ledger synchronous=$LEDGER_SYNC (order per round: direct, nginx, switchyard)"
printf '%-6s %-11s %10s %9s %9s %9s %9s %7s\n' round target "req/s" "p50 ms" "p99 ms" "p99.9 ms" "max ms" errors
for r in $(seq 1 "$ROUNDS"); do
  for t in "direct $URL_DIRECT generic" "nginx $URL_NGINX generic" "switchyard $URL_SY switchyard"; do
    set -- $t
    out="$TMP/r$r-$1.json"
    one_run "$1" "$2" "$3" "$DURATION" "$out"
    awk -v r="$r" -v n="$1" -v rps="$(field rps "$out")" -v p50="$(field p50_us "$out")" \
        -v p99="$(field p99_us "$out")" -v p999="$(field p999_us "$out")" -v mx="$(field max_us "$out")" \
        -v e="$(field errors_total "$out")" \
        'BEGIN { printf "%-6s %-11s %10.0f %9.3f %9.3f %9.3f %9.3f %7d\n", r, n, rps, p50/1000, p99/1000, p999/1000, mx/1000, e }'
  done
done

# --- 6. summary -------------------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
collect() { local r; for r in $(seq 1 "$ROUNDS"); do field "$2" "$TMP/r$r-$1.json"; done; }

say "medians over $ROUNDS rounds"
printf '%-11s %10s %9s %9s %9s %12s\n' target "req/s" "p50 ms" "p99 ms" "p99.9 ms" "errors(sum)"
for n in direct nginx switchyard; do
  awk -v n="$n" -v rps="$(collect $n rps | median)" -v p50="$(collect $n p50_us | median)" \
      -v p99="$(collect $n p99_us | median)" -v p999="$(collect $n p999_us | median)" \
      -v e="$(collect $n errors_total | awk "{ s += \$1 } END { print s + 0 }")" \
      'BEGIN { printf "%-11s %10.0f %9.3f %9.3f %9.3f %12d\n", n, rps, p50/1000, p99/1000, p999/1000, e }'
done

say "ratio switchyard/nginx (req/s) per round"
ratios=()
for r in $(seq 1 "$ROUNDS"); do
  x=$(awk -v a="$(field rps "$TMP/r$r-switchyard.json")" -v b="$(field rps "$TMP/r$r-nginx.json")" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
  ratios+=("$x"); echo "round $r: $x"
done
echo "median: $(printf '%s\n' "${ratios[@]}" | median)"

say "CPU used by the process under test during its own rounds (all cores; µs per request)"
for n in direct nginx switchyard; do
  label=$n; [ "$n" = direct ] && label="sandbox (direct)"
  awk -v n="$label" -v t="${CPU_DURING[$n]}" -v hz="$TICK" -v q="${REQS[$n]}" \
    'BEGIN { printf "%-17s %8.2f s CPU for %9d requests = %7.1f µs/request\n", n, t/hz, q, (q > 0 ? t/hz*1e6/q : 0) }'
done

if [ "$OPEN_RATE" != 0 ]; then
  say "open loop at $OPEN_RATE req/s, ${DURATION}s per target per round (latency from the intended send time)"
  printf '%-6s %-11s %10s %9s %9s %9s %7s %6s\n' round target "req/s" "p50 ms" "p99 ms" "p99.9 ms" errors late
  for r in $(seq 1 "$ROUNDS"); do
    for t in "direct $URL_DIRECT generic" "nginx $URL_NGINX generic" "switchyard $URL_SY switchyard"; do
      set -- $t
      out="$TMP/open-r$r-$1.json"
      "$LT" open --rate "$OPEN_RATE" --url "$2" --target-kind "$3" --duration "$DURATION" "${LT_ARGS[@]}" >"$out"
      awk -v r="$r" -v n="$1" -v rps="$(field rps "$out")" -v p50="$(field p50_us "$out")" \
          -v p99="$(field p99_us "$out")" -v p999="$(field p999_us "$out")" \
          -v e="$(field errors_total "$out")" -v l="$(field late_sends "$out")" \
          'BEGIN { printf "%-6s %-11s %10.0f %9.3f %9.3f %9.3f %7d %6d\n", r, n, rps, p50/1000, p99/1000, p999/1000, e, l }'
    done
  done
  ocollect() { local r; for r in $(seq 1 "$ROUNDS"); do field "$2" "$TMP/open-r$r-$1.json"; done; }
  d99=$(ocollect direct p99_us | median)
  for n in nginx switchyard; do
    awk -v n="$n" -v p50="$(ocollect $n p50_us | median)" -v p99="$(ocollect $n p99_us | median)" -v d="$d99" \
      'BEGIN { printf "%-11s median p50 %.3f ms, median p99 %.3f ms, added p99 over direct %.3f ms\n", n, p50/1000, p99/1000, (p99-d)/1000 }'
  done
fi

say "peak RSS (VmHWM) and total CPU time (utime+stime) since start"
report_proc() { awk -v n="$1" -v kb="$2" -v t="$3" -v hz="$TICK" 'BEGIN { printf "%-26s %8.1f MiB %9.2f s\n", n, kb/1024, t/hz }'; }
report_proc "sandbox (pid $PID_SB)" "$(hwm_kb "$PID_SB")" "$(cpu_ticks "$PID_SB")"
report_proc "switchyard (pid $PID_SY)" "$(hwm_kb "$PID_SY")" "$(cpu_ticks "$PID_SY")"
ng_kb=0; for p in $(nginx_pids); do ng_kb=$((ng_kb + $(hwm_kb "$p"))); done
report_proc "nginx master+workers" "$ng_kb" "$(group_ticks $(nginx_pids))"
echo "nginx workers: $(pgrep -P "$PID_NG" | wc -l); switchyard ledger: $(du -sh "$TMP"/ledger.db* 2>/dev/null | awk '{print $1}' | paste -sd' ')" >&2
echo "artifacts: $TMP" >&2
