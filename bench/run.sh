#!/usr/bin/env bash
# bench/run.sh — tokengate under a real HTTP load generator (wrk), all figures from ONE run on ONE
# machine, so that the ratios mean something even on a shared, noisy box.
#
#   ./bench/run.sh            (or: make bench)
#
# It builds tokengate (plain, trimmed), the gin-jwt peer (bench/ginjwt, its own module) and a bare
# net/http server (bench/nethttp), starts
#   tg      tokengate, token.cache_size 10000 (the default), access log at info to a file, metrics on
#   tg-nc   the same with token.cache_size 0 (every request verified in full)
#   gj      appleboy/gin-jwt v2, HS256, gin.New() + Recovery, NO access log
#   gj-log  the same plus gin.Logger() writing to a file (an access line per request, as tokengate)
#   nh      net/http alone: /unprotected only (the floor; sent tokengate's token as the bearer)
# on loopback ports, logs in once to each, and drives each with wrk: a warm-up, then /unprotected,
# /unprotected carrying the same Authorization header as /protected (what reading the header costs
# any server), and /protected (Authorization: Bearer) for DURATION each, ROUNDS times in turn, every
# other round in the reverse order (the median of the rounds is printed; a ratio is the median of
# the ratios of its two runs within each round, which were run close together). Then /protected on
# tg idle and during a flood of FLOOD concurrent wrong logins (a second wrk POSTing JSON with a
# wrong password against a cost-10 bcrypt hash).
# Server CPU per request is read from /proc/PID/stat (utime+stime) around each run.
#
# Settings (environment): DURATION (10s) WARMUP (3s) THREADS (1) CONNS (16) ROUNDS (1) FLOOD (64)
# PIN (0; 1 = servers on CPU 1, wrk on CPU 0, with taskset) LOG (null = /dev/null, or file)
# ONLY (a subset of the runs, by name, e.g. "tg.unprotected tg.protected") HASHES (login.max_concurrent_hashes, 0 = tokengate's default) OUT (directory for raw wrk output,
# default a temporary one, removed at exit).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
THREADS=${THREADS:-1}
CONNS=${CONNS:-16}
ROUNDS=${ROUNDS:-1}
FLOOD=${FLOOD:-64}
HASHES=${HASHES:-0}
LOG=${LOG:-null}
PIN=${PIN:-0}
SECRET=bench-secret-0123456789abcdef0123456789abcdef
PASSWORD=bench-password

[[ $PIN == 0 || $PIN == 1 ]] || { echo "bench: PIN must be 0 or 1" >&2; exit 2; }
if [[ $PIN == 1 ]] && ! command -v taskset >/dev/null; then echo "bench: PIN=1 needs taskset (util-linux)" >&2; exit 1; fi
[[ $LOG == file || $LOG == null ]] || { echo "bench: LOG must be file or null" >&2; exit 2; }
for v in ROUNDS FLOOD HASHES THREADS CONNS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "bench: $v must be a number" >&2; exit 2; }
done
((ROUNDS >= 1 && ROUNDS <= 20)) || { echo "bench: ROUNDS must be 1..20" >&2; exit 2; }
((FLOOD <= 1024)) || { echo "bench: FLOOD must be at most 1024" >&2; exit 2; }

if ! command -v wrk >/dev/null; then
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "bench: installing wrk (apt-get)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "bench: needs wrk: install the Debian package wrk (sudo apt-get install wrk)" >&2
    exit 1
  fi
fi

WORK=$(mktemp -d)
OUT=${OUT:-$WORK/out}
mkdir -p "$OUT"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building" >&2
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$WORK/tokengate" .
(cd bench/ginjwt && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$WORK/ginjwt" .)
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$WORK/nethttp" ./bench/nethttp

HASH=$(printf '%s' "$PASSWORD" | "$WORK/tokengate" hash-password --cost 10)
cat >"$WORK/config.yaml" <<EOF
server:
  addr: "127.0.0.1:0"
token:
  secret: "$SECRET"
store:
  kind: memory
  users:
    alice:
      password_hash: "$HASH"
      roles: [admin]
login:
  # The flood must reach bcrypt: no lock-out.
  max_failures: 1000000000
  max_concurrent_hashes: $HASHES
log:
  level: info
  format: text
metrics:
  enabled: true
EOF

# wait_for FILE REGEX: prints the first match of REGEX in FILE, waiting at most 10 s for it.
wait_for() {
  local i
  for ((i = 0; i < 100; i++)); do
    if grep -Eo "$2" "$1" 2>/dev/null | head -n1 | grep .; then return 0; fi
    sleep 0.1
  done
  echo "bench: timed out waiting for /$2/ in $1" >&2
  cat "$1" >&2 || true
  return 1
}

declare -A ADDR PID TOKEN
# free_port: a loopback port nobody listens on (bounded tries).
free_port() {
  local i p
  for ((i = 0; i < 50; i++)); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "bench: no free port" >&2
  return 1
}
# PIN=1: the servers of the comparison run on CPU 1 and wrk on CPU 0, so that each server has
# exactly one CPU and requests/s measure the server, not the scheduler (the flood server is never
# pinned: bcrypt and verification must share the CPUs there).
server_cpu=()
client_cpu=()
if [[ $PIN == 1 ]]; then server_cpu=(taskset -c 1); client_cpu=(taskset -c 0); fi
start_tokengate() { # start_tokengate NAME CACHE_SIZE [unpinned]
  local log=$WORK/$1.log i pin=("${server_cpu[@]}")
  [[ ${3:-} == unpinned ]] && pin=()
  [[ $LOG == null ]] && log=/dev/null
  ADDR[$1]=127.0.0.1:$(free_port)
  TOKENGATE_SERVER_ADDR=${ADDR[$1]} TOKENGATE_TOKEN_CACHE_SIZE=$2 \
    "${pin[@]}" "$WORK/tokengate" serve --config "$WORK/config.yaml" 2>"$log" &
  PID[$1]=$!
  PIDS+=($!)
  for ((i = 0; i < 100; i++)); do
    curl -sf -o /dev/null "http://${ADDR[$1]}/healthz" && break
    kill -0 "${PID[$1]}" 2>/dev/null || { echo "bench: tokengate $1 exited" >&2; exit 1; }
    sleep 0.1
  done
  TOKEN[$1]=$(curl -sf -u "alice:$PASSWORD" "http://${ADDR[$1]}/login" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
}
start_ginjwt() { # start_ginjwt NAME [ARGS...]
  local name=$1
  shift
  "${server_cpu[@]}" "$WORK/ginjwt" -secret "$SECRET" "$@" >"$WORK/$name.out" 2>&1 &
  PID[$name]=$!
  PIDS+=($!)
  ADDR[$name]=$(wait_for "$WORK/$name.out" '127\.0\.0\.1:[0-9]+')
  TOKEN[$name]=$(curl -sf "http://${ADDR[$name]}/login" | sed -E 's/.*"token":"([^"]+)".*/\1/')
}
start_nethttp() { # start_nethttp NAME: the bare net/http floor; it is sent tokengate's token
  local name=$1
  "${server_cpu[@]}" "$WORK/nethttp" >"$WORK/$name.out" 2>&1 &
  PID[$name]=$!
  PIDS+=($!)
  ADDR[$name]=$(wait_for "$WORK/$name.out" '127\.0\.0\.1:[0-9]+')
  TOKEN[$name]=${TOKEN[tg]}
}

echo "== starting servers" >&2
start_tokengate tg 10000
start_tokengate tg-nc 0
start_ginjwt gj
start_ginjwt gj-log -logger -log "$WORK/gj-log.access"
start_nethttp nh
((FLOOD > 0)) && start_tokengate tg-fl 10000 unpinned
for s in tg tg-nc gj gj-log; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN[$s]}" "http://${ADDR[$s]}/protected")
  [[ $code == 200 ]] || { echo "bench: $s /protected answered $code" >&2; exit 1; }
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

# to_ms VALUE: wrk latency ("812.00us", "1.23ms", "1.02s") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}

# measure NAME SERVER PATH [wrk args...]: runs wrk, writes "rps p50 p99 cpu_us_per_req non2xx" to
# $OUT/NAME.res and wrk's own output to $OUT/NAME.wrk.
measure() {
  local name=$1 srv=$2 path=$3
  shift 3
  local pid=${PID[$srv]} t0 t1 f=$OUT/$name.wrk
  t0=$(cpu_ticks "$pid")
  local cpu=("${client_cpu[@]}")
  [[ $srv == tg-fl ]] && cpu=()
  "${cpu[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$@" "http://${ADDR[$srv]}$path" >"$f"
  t1=$(cpu_ticks "$pid")
  local reqs rps p50 p99 bad
  reqs=$(awk '/requests in/ {print $1}' "$f")
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$f")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$f")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$f")")
  bad=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$f")
  bad=${bad:-0}
  if [[ $bad != 0 ]] || grep -q 'Socket errors' "$f"; then
    echo "bench: $name: $bad non-2xx responses; $(grep 'Socket errors' "$f" || true)" >&2
  fi
  awk -v r="$reqs" -v a="$t0" -v b="$t1" -v tck="$TCK" -v rps="$rps" -v p50="$p50" -v p99="$p99" -v bad="$bad" \
    'BEGIN { printf "%s %s %s %.1f %s\n", rps, p50, p99, (b - a) / tck * 1e6 / r, bad }' >"$OUT/$name.res"
}

# median NAME FIELD: the median of FIELD over the rounds of NAME.
median() {
  for ((r = 1; r <= ROUNDS; r++)); do awk -v f="$2" '{print $f}' "$OUT/$1.r$r.res"; done |
    sort -g | awk '{a[NR] = $1} END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# The runs: name server path bearer (1: send the server's token in an Authorization header). The
# ".bearer" runs send /unprotected the very request /protected gets (the route ignores the header):
# their difference from /unprotected is what net/http's reading of the header costs, the same for
# any server. /unprotected of tg-nc is the same code as tg's, so it is not rerun.
RUNS=(
  "tg.unprotected tg /unprotected 0"
  "tg.unprotected.bearer tg /unprotected 1"
  "tg.protected tg /protected 1"
  "tg-nc.protected tg-nc /protected 1"
  "gj.unprotected gj /unprotected 0"
  "gj.unprotected.bearer gj /unprotected 1"
  "gj.protected gj /protected 1"
  "gj-log.unprotected gj-log /unprotected 0"
  "gj-log.protected gj-log /protected 1"
  "nh.unprotected nh /unprotected 0"
  "nh.unprotected.bearer nh /unprotected 1"
)
if [[ -n ${ONLY:-} ]]; then # ONLY="tg.unprotected tg.protected": a subset, for quick iterations
  keep=()
  for run in "${RUNS[@]}"; do [[ " $ONLY " == *" ${run%% *} "* ]] && keep+=("$run"); done
  RUNS=("${keep[@]}")
fi
auth_args() { [[ $1 == 1 ]] && printf '%s\n' -H "Authorization: Bearer ${TOKEN[$2]}"; }

echo "== warm-up ($WARMUP per target)" >&2
for run in "${RUNS[@]}"; do
  read -r name srv path bearer <<<"$run"
  mapfile -t extra < <(auth_args "$bearer" "$srv")
  "${client_cpu[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "${extra[@]}" "http://${ADDR[$srv]}$path" >/dev/null
done

for ((r = 1; r <= ROUNDS; r++)); do
  order=("${RUNS[@]}")
  if ((r % 2 == 0)); then # every other round backwards: a drift of the machine's speed during a
    order=()              # round favours neither side of a ratio
    for ((i = ${#RUNS[@]} - 1; i >= 0; i--)); do order+=("${RUNS[i]}"); done
  fi
  for run in "${order[@]}"; do
    read -r name srv path bearer <<<"$run"
    echo "== round $r/$ROUNDS: $name (wrk -t$THREADS -c$CONNS -d$DURATION)" >&2
    mapfile -t extra < <(auth_args "$bearer" "$srv")
    measure "$name.r$r" "$srv" "$path" "${extra[@]}"
  done
done

# The login flood: idle /protected, then /protected while FLOOD connections POST wrong passwords.
FLOOD_LUA=$WORK/flood.lua
cat >"$FLOOD_LUA" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"alice","password":"wrong-password"}'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init() counts = {} end
function response(status) counts[status] = (counts[status] or 0) + 1 end
function done()
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do total[status] = (total[status] or 0) + n end
  end
  for status, n in pairs(total) do io.write(string.format("status %d %d\n", status, n)) end
end
EOF
secs=${DURATION%s}
[[ $secs =~ ^[0-9]+$ ]] || secs=10
if ((FLOOD > 0)); then
  for ((r = 1; r <= ROUNDS; r++)); do
    echo "== round $r/$ROUNDS: flood: /protected idle, then during $FLOOD concurrent wrong logins" >&2
    measure "flood.idle.r$r" tg-fl /protected -H "Authorization: Bearer ${TOKEN[tg-fl]}"
    wrk -t1 -c"$FLOOD" -d"$((secs + 4))s" --timeout 10s -s "$FLOOD_LUA" "http://${ADDR[tg-fl]}/login" >"$OUT/flood.logins.r$r.wrk" &
    FLOOD_PID=$!
    sleep 2 # let the flood fill the bcrypt slots and the queue
    measure "flood.busy.r$r" tg-fl /protected -H "Authorization: Bearer ${TOKEN[tg-fl]}"
    wait "$FLOOD_PID" || true
  done
fi

# ---- report ----
row() { # row LABEL NAME
  [[ -f $OUT/$2.r1.res ]] || return 0
  printf '%-38s %10s %9s %9s %9s\n' "$1" "$(median "$2" 1)" "$(median "$2" 2)" "$(median "$2" 3)" "$(median "$2" 4)"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }
# pratio A B FIELD INVERT: the median over the rounds of A's FIELD ÷ B's FIELD, each round's two runs
# taken close together (INVERT=1: B ÷ A, for costs such as CPU per request); "-" when one is missing.
pratio() {
  [[ -f $OUT/$1.r1.res && -f $OUT/$2.r1.res ]] || { echo "-"; return 0; }
  for ((r = 1; r <= ROUNDS; r++)); do
    awk -v f="$3" -v inv="$4" 'FNR == 1 { v[NR] = $f } END { a = v[1]; b = v[2]; if (inv) { t = a; a = b; b = t }; if (b > 0) printf "%.4f\n", a / b }' \
      "$OUT/$1.r$r.res" "$OUT/$2.r$r.res"
  done | sort -g | awk '{a[NR] = $1} END { if (NR == 0) print "-"; else if (NR % 2) printf "%.2f\n", a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
pline() { # pline LABEL A B [NOTE]: req/s ratio and server-CPU ratio of A to B
  printf '  %-52s %6s %6s   %s\n' "$1" "$(pratio "$2" "$3" 1 0)" "$(pratio "$2" "$3" 4 1)" "${4:-}"
}
echo
echo "tokengate bench — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(go version | awk '{print $3}')"
echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, $ROUNDS round(s) (median), warm-up $WARMUP, PIN=$PIN; tokengate access log at info ($([[ $LOG == null ]] && echo "to /dev/null" || echo "to a file")), metrics on"
echo
printf '%-38s %10s %9s %9s %9s\n' "target" "req/s" "p50 ms" "p99 ms" "CPU µs/req"
row "tokengate /unprotected" tg.unprotected
row "tokengate /unprotected + bearer header" tg.unprotected.bearer
row "tokengate /protected (cache on)" tg.protected
row "tokengate /protected (cache off)" tg-nc.protected
row "gin-jwt /unprotected (no log)" gj.unprotected
row "gin-jwt /unprotected + bearer (no log)" gj.unprotected.bearer
row "gin-jwt /protected (no log)" gj.protected
row "gin-jwt /unprotected (gin.Logger)" gj-log.unprotected
row "gin-jwt /protected (gin.Logger)" gj-log.protected
row "bare net/http /unprotected" nh.unprotected
row "bare net/http /unprotected + bearer" nh.unprotected.bearer
echo
echo "ratios: the median over the rounds of each round's ratio; by req/s, and by server CPU per request"
printf '  %-52s %6s %6s\n' "" "req/s" "CPU"
pline "tokengate protected / unprotected (cache on)" tg.protected tg.unprotected "target >= 0.90"
pline "tokengate protected / unprotected (cache off)" tg-nc.protected tg.unprotected
pline "tokengate protected / unprotected + bearer (cache on)" tg.protected tg.unprotected.bearer "tokengate's own cost"
pline "tokengate unprotected + bearer / unprotected" tg.unprotected.bearer tg.unprotected "net/http reading the header"
pline "tokengate / gin-jwt protected (cache on)" tg.protected gj.protected "target >= 1.15 (gin-jwt without log)"
pline "tokengate / gin-jwt protected (cache off)" tg-nc.protected gj.protected "target >= 1.00 (gin-jwt without log)"
pline "tokengate / gin-jwt+logger protected (cache on)" tg.protected gj-log.protected
pline "tokengate / gin-jwt+logger protected (cache off)" tg-nc.protected gj-log.protected
pline "gin-jwt protected / unprotected (no log)" gj.protected gj.unprotected
pline "gin-jwt protected / unprotected + bearer (no log)" gj.protected gj.unprotected.bearer
pline "gin-jwt unprotected + bearer / unprotected" gj.unprotected.bearer gj.unprotected
pline "bare net/http unprotected + bearer / unprotected" nh.unprotected.bearer nh.unprotected "the header's cost, no handler code"
if ((FLOOD > 0)); then
  irps=$(median flood.idle 1) ip99=$(median flood.idle 3)
  frps=$(median flood.busy 1) fp50=$(median flood.busy 2) fp99=$(median flood.busy 3)
  l401=$(cat "$OUT"/flood.logins.r*.wrk | awk '$1 == "status" && $2 == 401 {n += $3} END {print n + 0}')
  l503=$(cat "$OUT"/flood.logins.r*.wrk | awk '$1 == "status" && $2 == 503 {n += $3} END {print n + 0}')
  echo
  echo "login flood: $FLOOD connections POSTing wrong passwords (cost-10 bcrypt), max_concurrent_hashes=$HASHES (0 = default)"
  printf '  /protected idle          %10s req/s  p99 %s ms\n' "$irps" "$ip99"
  printf '  /protected during flood  %10s req/s  p99 %s ms  (p50 %s ms)\n' "$frps" "$fp99" "$fp50"
  echo "  throughput kept          $(ratio "$frps" "$irps")   target >= 0.50"
  echo "  p99 flood / idle         $(ratio "$fp99" "$ip99")   target < 3"
  echo "  logins answered          $l401 × 401 (bcrypt ran), $l503 × 503 overloaded, in $ROUNDS × $((secs + 4)) s"
  for ((r = 1; r <= ROUNDS; r++)); do
    read -r a _ b _ _ <"$OUT/flood.idle.r$r.res"
    read -r c _ d _ _ <"$OUT/flood.busy.r$r.res"
    echo "    round $r: idle $a req/s p99 $b ms; flood $c req/s p99 $d ms"
  done
fi
