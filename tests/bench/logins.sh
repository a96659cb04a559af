#!/usr/bin/env bash
# api-service under a login flood: the release binary, 50 connections of
# wrong logins for 30 s (wrk), one good login every half second meanwhile
# (curl), and the process's memory against the chart's limit for it —
# peak RSS (the kernel's VmHWM), RSS before the burst and after it.
#
# The login rate limit is lifted, as if every connection came from its own
# address (a botnet): what bounds memory then is the login pool alone.
# Three pool sizes: what the service derives on this machine, what the
# chart's memory limit allows before the CPU cap (5 slots at 19 MiB), and
# 50 (one per connection: the unbounded case the pool replaced).
#
#   tests/bench/logins.sh            # needs wrk and curl
#   SECONDS_PER_RUN=10 tests/bench/logins.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "\`$tool\` is not installed; nothing measured" >&2; exit 1; }
done
duration=${SECONDS_PER_RUN:-30}
# The limit the chart gives api-service, from the config it is rendered from.
limit_text=$(sed -n '/^\[defaults.services.api-service\]/,/^\[/p' myhealth.toml | grep -o 'memory_limit = "[0-9]*Mi"' | grep -o '[0-9]*')
limit_kib=$((limit_text * 1024))

cargo build --release --quiet -p api-service
bin=target/release/api-service
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
hash=$(echo "bench-password" | "$bin" hash-password)

cat > "$work/wrong.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"username":"me","password":"not the password"}'
wrk.headers["Content-Type"] = "application/json"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("counts")) do total[s] = (total[s] or 0) + n end
  end
  local parts = {}
  for s, n in pairs(total) do table.insert(parts, string.format("%d × %d", n, s)) end
  table.sort(parts)
  io.write("wrong logins: " .. table.concat(parts, ", ") .. string.format(", %d socket errors\n",
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOF

kib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
pct() { awk -v k="$1" -v l="$limit_kib" 'BEGIN { printf "%.1f %%", 100 * k / l }'; }
status_kib() { awk -v f="$1" '$1 == f":" { print $2 }' "/proc/$2/status"; }

run() {
  local label=$1 concurrency=$2
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  env -i PATH="$PATH" PORT="$port" API_PASSWORD_HASH="$hash" JWT_SIGNING_KEY=a-benchmark-signing-key-of-32-bytes-or-more \
    DATABASE_URL=postgres://nobody@127.0.0.1:9/none LOGIN_RATE_LIMIT_PER_MINUTE=100000000 RUST_LOG=info \
    ${concurrency:+LOGIN_CONCURRENCY=$concurrency} "$bin" > "$work/log" 2>&1 &
  local pid=$!
  until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.1; done
  local slots
  slots=$(grep -o '"slots":[0-9]*' "$work/log" | head -1 | cut -d: -f2)
  # Warm: one good login, so "before" includes what any login leaves.
  curl -sf -o /dev/null -H 'content-type: application/json' -d '{"username":"me","password":"bench-password"}' "http://127.0.0.1:$port/auth/login"
  local before
  before=$(status_kib VmRSS "$pid")
  wrk -t2 -c50 -d"${duration}s" --timeout 10s -s "$work/wrong.lua" "http://127.0.0.1:$port/auth/login" > "$work/wrk" &
  local wrk_pid=$!
  local ok=0 tried=0 slowest=0
  sleep 1
  while kill -0 "$wrk_pid" 2>/dev/null; do
    local out code secs
    out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H 'content-type: application/json' \
      -d '{"username":"me","password":"bench-password"}' "http://127.0.0.1:$port/auth/login" || echo "000 0")
    read -r code secs <<<"$out"
    tried=$((tried + 1))
    [ "$code" = 200 ] && ok=$((ok + 1))
    slowest=$(awk -v a="$slowest" -v b="$secs" 'BEGIN { print (b > a ? b : a) }')
    sleep 0.5
  done
  wait "$wrk_pid"
  sleep 2
  local peak after
  peak=$(status_kib VmHWM "$pid")
  after=$(status_kib VmRSS "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "== $label: $slots login slots, 50 connections of wrong logins for ${duration}s"
  grep 'wrong logins' "$work/wrk" | sed 's/^/   /'
  grep 'Requests/sec' "$work/wrk" | sed 's/^ */   wrong logins per second: /; s/Requests\/sec://'
  echo "   good logins: $ok of $tried succeeded (slowest ${slowest}s)"
  echo "   RSS before the burst $(kib "$before"), peak $(kib "$peak") = $(pct "$peak") of the chart's ${limit_text} MiB limit, 2 s after $(kib "$after")"
}

echo "chart memory limit for api-service: ${limit_text} MiB (myhealth.toml); goal: peak under 60 %"
run "derived here ($(nproc) CPUs, no cgroup limit: 256 MiB assumed)" ""
run "LOGIN_CONCURRENCY=5 (the 256 MiB limit's share, before the CPU cap)" 5
run "LOGIN_CONCURRENCY=50 (one per connection: no bound)" 50
