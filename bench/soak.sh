#!/usr/bin/env bash
# bench/soak.sh — memory under a long load (not part of CI; run it by hand, once).
#
#   SOAK=600 ./bench/soak.sh        (10 minutes; prints a CSV and a verdict)
#
# Starts tokengate (cache_size CACHE, default 10000; access log at info to /dev/null; metrics on),
# logs in TOKENS times (default 2 × CACHE, a cost-4 user so that this takes seconds) to get that
# many distinct valid tokens, then drives /protected with wrk for SOAK seconds: every request
# presents the next token of the list in turn, so the cache is filled past its bound and evicts
# all the time. Every 10 s it samples the process's RSS (/proc/PID/status) and Go heap in use
# (/metrics: go_memstats_heap_inuse_bytes). Memory is flat when the last samples are no higher
# than the samples of the second minute (the cache is full by then): RSS within 10%, the heap
# (sampled at random points of its GC cycle) within 25%.
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK=${SOAK:-600}
CACHE=${CACHE:-10000}
TOKENS=${TOKENS:-$((2 * CACHE))}
[[ $SOAK =~ ^[0-9]+$ ]] && ((SOAK >= 60 && SOAK <= 7200)) || { echo "soak: SOAK must be 60..7200 seconds" >&2; exit 2; }
[[ $TOKENS =~ ^[0-9]+$ ]] && ((TOKENS >= 1 && TOKENS <= 200000)) || { echo "soak: TOKENS must be 1..200000" >&2; exit 2; }
command -v wrk >/dev/null || { echo "soak: needs wrk (Debian package wrk)" >&2; exit 1; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$WORK/tokengate" .
HASH=$(printf 'soak-password' | "$WORK/tokengate" hash-password --cost 4)
PORT=$((20000 + RANDOM % 30000))
cat >"$WORK/config.yaml" <<EOF
server:
  addr: "127.0.0.1:$PORT"
token:
  secret: "soak-secret-0123456789abcdef0123456789abcdef"
  ttl: 2h
  cache_size: $CACHE
store:
  kind: memory
  users:
    alice:
      password_hash: "$HASH"
login:
  max_failures: 1000000000
log:
  level: info
metrics:
  enabled: true
EOF
"$WORK/tokengate" serve --config "$WORK/config.yaml" 2>/dev/null &
PID=$!
PIDS+=($!)
BASE=http://127.0.0.1:$PORT
for ((i = 0; i < 100; i++)); do curl -sf -o /dev/null "$BASE/healthz" && break; sleep 0.1; done

echo "soak: logging in $TOKENS times" >&2
# A wrk script that logs in and keeps each access token: TOKENS requests in all, then it stops.
cat >"$WORK/login.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"alice","password":"soak-password"}'
local left = $TOKENS
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init() tokens = {} end
function response(status, headers, body)
  local t = body:match('"access_token":"([^"]+)"')
  if t then tokens[#tokens + 1] = t end
  left = left - 1
  if left <= 0 then wrk.thread:stop() end
end
function done()
  local f = io.open("$WORK/tokens.txt", "w")
  for _, th in ipairs(threads) do
    for _, t in ipairs(th:get("tokens")) do f:write(t, "\n") end
  end
  f:close()
end
EOF
wrk -t1 -c8 -d120s -s "$WORK/login.lua" "$BASE/login" >/dev/null
n=$(wc -l <"$WORK/tokens.txt")
echo "soak: $n tokens" >&2

cat >"$WORK/soak.lua" <<EOF
local tokens = {}
for line in io.lines("$WORK/tokens.txt") do tokens[#tokens + 1] = line end
local i = 0
function request()
  i = i % #tokens + 1
  return wrk.format("GET", "/protected", { ["Authorization"] = "Bearer " .. tokens[i] })
end
EOF

sample() { # seconds rss_kib heap_inuse_bytes
  local rss heap
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$PID/status")
  heap=$(curl -sf "$BASE/metrics" | awk '$1 == "go_memstats_heap_inuse_bytes" {printf "%d", $2}')
  echo "$1,$rss,$heap"
}
echo "seconds,rss_kib,heap_inuse_bytes"
sample 0
wrk -t1 -c16 -d"${SOAK}s" --latency -s "$WORK/soak.lua" "$BASE/protected" >"$WORK/soak.wrk" &
WRK=$!
PIDS+=($!)
for ((s = 10; s <= SOAK; s += 10)); do
  sleep 10
  kill -0 "$PID" || { echo "soak: tokengate died" >&2; exit 1; }
  sample "$s"
done | tee "$WORK/samples.csv"
wait "$WRK" || true
grep -E 'requests in|Requests/sec|Non-2xx|Socket errors|^ +(50|99)%' "$WORK/soak.wrk" >&2 || true
awk -F, -v soak="$SOAK" '
  $1 >= 60 && $1 <= 120 { if ($2 > r0) r0 = $2; if ($3 > h0) h0 = $3 }
  $1 > soak - 60        { if ($2 > r1) r1 = $2; if ($3 > h1) h1 = $3 }
  END {
    printf "soak: max RSS %.1f MiB at 1-2 min, %.1f MiB in the last minute (x%.2f); heap in use %.1f → %.1f MiB (x%.2f)\n",
      r0 / 1024, r1 / 1024, r1 / r0, h0 / 1048576, h1 / 1048576, h1 / h0
    # The heap is sampled at random points of its GC cycle: it gets a wider margin than RSS.
    if (r1 > r0 * 1.10 || h1 > h0 * 1.25) { print "soak: memory GREW"; exit 1 } else print "soak: memory flat"
  }' "$WORK/samples.csv" >&2
