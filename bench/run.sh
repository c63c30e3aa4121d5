#!/usr/bin/env bash
# bench/run.sh — tokengate under a real HTTP load generator (wrk), every figure of
# docs/performance.md from ONE run on ONE machine, so that the ratios mean something even on a
# shared, noisy box.
#
#   ./bench/run.sh > summary.md        (or: make bench; progress goes to stderr)
#
# Parts (PARTS, all by default):
#   compare      servers pinned to CPU 1, wrk pinned to CPU 0 (taskset), no access log on any side:
#                  tg     tokengate, HS256, token.cache_size 10000 (the default)
#                  tg-nc  the same with token.cache_size 0 (golang-jwt on every request)
#                  gj     appleboy/gin-jwt v2 (bench/ginjwt), HS256, gin.New() + Recovery
#                         (gj and nh run with tokengate's http.Server timeouts, as tokengate does)
#                  fl     the seed's Flask app (bench/flask) under gunicorn, one process
#                  nh     bare net/http (bench/nethttp): /unprotected only, the floor
#                (LOG=null|file adds tg-log and gj-log: both with an access line per request;
#                BASE=REV adds base and base-nc: tokengate built from git revision REV, with and
#                without the cache, to compare two builds in one run)
#                each driven on /unprotected, on /unprotected carrying the Authorization header that
#                /protected gets (what reading the header costs any server), and on /protected.
#   oauth2proxy  forward auth against the field (issue 14): installs oauth2-proxy with `go install`
#                into a temporary GOBIN, starts tokengate with RS256 (tg-rs) and oauth2-proxy
#                verifying the same bearer JWTs against tokengate's JWKS (o2p), both pinned like
#                above, and drives tokengate's /auth (when this tokengate has it), tokengate's
#                /protected and oauth2-proxy's /oauth2/auth with the same token and X-Forwarded-*
#                headers.
#   flood        tokengate unpinned (tg-fl): /protected alone, then during FLOOD connections POSTing
#                wrong passwords (bcrypt cost HASH_COST): the throughput /protected keeps.
#   trickle      tokengate unpinned (tg-fl): correct logins at TRICKLE_RATE a second (bench/trickle,
#                open loop) while LOAD_CONNS connections of wrk drive /protected and saturate the
#                CPUs: the fraction answered 200 within 2 s, and the latency distribution.
#
# The pinned runs go in ROUNDS rounds, every other round in the reverse order; a row shows the
# median over the rounds, a ratio is the median of the per-round ratios (each round's two runs ran
# close together). Efficiency is judged by server CPU per request: utime+stime of the server's
# processes (/proc/PID/stat) around each run, divided by the requests wrk counted.
#
# Settings (environment), with defaults:
#   DURATION=10s WARMUP=3s ROUNDS=5 (1..20) THREADS=1 CONNS=16   wrk, per pinned run
#   PIN=1            1: servers on CPU 1, wrk on CPU 0 (taskset); 0: unpinned (for a 1-CPU box)
#   LOG=off          off: no access log anywhere; null|file: also tg-log and gj-log (to /dev/null or
#                    to a file)
#   FLOOD=64 HASH_COST=10 HASHES=0 (login.max_concurrent_hashes; 0 = tokengate's default)
#   TRICKLE_RATE=4 LOAD_CONNS=64
#   PARTS="compare oauth2proxy flood trickle"   ONLY="tg.protected gj.protected" (a subset of the
#   pinned runs, by name, for quick iterations)   OUT=DIR (keep wrk's raw output there)
#   BASE=             a git revision (commit, tag, main~3) whose tokengate joins the compare part;
#                    it must accept this script's configuration
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-1}
CONNS=${CONNS:-16}
PIN=${PIN:-1}
LOG=${LOG:-off}
FLOOD=${FLOOD:-64}
HASH_COST=${HASH_COST:-10}
HASHES=${HASHES:-0}
TRICKLE_RATE=${TRICKLE_RATE:-4}
LOAD_CONNS=${LOAD_CONNS:-64}
PARTS=${PARTS:-compare oauth2proxy flood trickle}
ONLY=${ONLY:-}
BASE=${BASE:-}
OAUTH2_PROXY_MODULE=github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6
SECRET=bench-secret-0123456789abcdef0123456789abcdef
PASSWORD=bench-password
FLASK_PASSWORD=pyconid # the seed's, fixed in its /login
TTL=4h                 # outlives the longest run (ROUNDS=20)

die() { echo "bench: $*" >&2; exit 2; }
[[ $PIN == 0 || $PIN == 1 ]] || die "PIN must be 0 or 1"
[[ $LOG == off || $LOG == null || $LOG == file ]] || die "LOG must be off, null or file"
for v in ROUNDS THREADS CONNS FLOOD HASH_COST HASHES TRICKLE_RATE LOAD_CONNS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number"
done
[[ $DURATION =~ ^[0-9]+s$ && $WARMUP =~ ^[0-9]+s$ ]] || die "DURATION and WARMUP must be whole seconds, e.g. 10s"
SECS=${DURATION%s}
((SECS >= 1 && SECS <= 600)) || die "DURATION must be 1s..600s"
((ROUNDS >= 1 && ROUNDS <= 20)) || die "ROUNDS must be 1..20"
((FLOOD >= 1 && FLOOD <= 1024 && LOAD_CONNS >= 1 && LOAD_CONNS <= 1024)) || die "FLOOD and LOAD_CONNS must be 1..1024"
((HASH_COST >= 4 && HASH_COST <= 14)) || die "HASH_COST must be 4..14"
((TRICKLE_RATE >= 1 && TRICKLE_RATE <= 100)) || die "TRICKLE_RATE must be 1..100"
for p in $PARTS; do
  [[ $p =~ ^(compare|oauth2proxy|flood|trickle)$ ]] || die "PARTS: unknown part $p (compare, oauth2proxy, flood, trickle)"
done
part() { [[ " $PARTS " == *" $1 "* ]]; }
if [[ -n $BASE ]]; then
  part compare || die "BASE needs the compare part"
  BASE_REV=$(git rev-parse --verify --quiet "$BASE^{commit}") || die "BASE: $BASE is not a git revision here"
fi

# need_pkg COMMAND-CHECK PACKAGE...: installs the Debian packages when the check fails and this runs
# as root, else names them and stops.
need_pkg() {
  local check=$1
  shift
  eval "$check" >/dev/null 2>&1 && return 0
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "bench: installing $* (apt-get)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    eval "$check" >/dev/null 2>&1 && return 0
  fi
  echo "bench: needs the Debian package(s) $* (sudo apt-get install $*)" >&2
  exit 1
}
need_pkg "command -v wrk" wrk
need_pkg "command -v curl" curl
if [[ $PIN == 1 ]]; then
  need_pkg "command -v taskset" util-linux
  (($(nproc) >= 2)) || die "PIN=1 needs 2 CPUs (this machine has $(nproc)); run with PIN=0"
fi
need_pkg "command -v pgrep" procps
if part compare; then
  need_pkg "/usr/bin/python3 -c 'import flask, jwt, gunicorn'" python3-flask python3-jwt gunicorn
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
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$WORK/trickle" ./bench/trickle
if part compare; then
  (cd bench/ginjwt && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$WORK/ginjwt" .)
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$WORK/nethttp" ./bench/nethttp
fi
if [[ -n $BASE ]]; then
  mkdir "$WORK/base-src"
  git archive "$BASE_REV" | tar -x -C "$WORK/base-src"
  (cd "$WORK/base-src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$WORK/tokengate-base" .)
fi
if part oauth2proxy; then
  echo "== installing oauth2-proxy ($OAUTH2_PROXY_MODULE; the first time takes minutes)" >&2
  (cd "$WORK" && GOBIN=$WORK/gobin CGO_ENABLED=0 go install "$OAUTH2_PROXY_MODULE")
  "$WORK/gobin/oauth2-proxy" --version >/dev/null # it runs (go install leaves its version string unset)
fi

HASH=$(printf '%s' "$PASSWORD" | "$WORK/tokengate" hash-password --cost "$HASH_COST")
# tg_config FILE LEVEL [ALGORITHM KEY_FILE]: a tokengate configuration; LEVEL warn leaves out the
# access log (its lines are written at info).
tg_config() {
  local token_keys="  secret: \"$SECRET\""
  [[ -n ${3:-} ]] && token_keys="  algorithm: $3
  private_key_file: \"$4\""
  cat >"$1" <<EOF
server:
  addr: "127.0.0.1:0"
token:
$token_keys
  ttl: $TTL
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
  level: $2
  format: text
EOF
}
tg_config "$WORK/tg.yaml" warn
tg_config "$WORK/tg-log.yaml" info
if part oauth2proxy; then
  "$WORK/tokengate" keygen --alg RS256 --out "$WORK/rs256.pem" >/dev/null
  tg_config "$WORK/tg-rs.yaml" warn RS256 "$WORK/rs256.pem"
fi

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
# wait_http NAME URL: waits (at most 10 s) until URL answers, failing when the server exited.
wait_http() {
  local i
  for ((i = 0; i < 100; i++)); do
    curl -s -o /dev/null "$2" && return 0
    kill -0 "${PID[$1]}" 2>/dev/null || { echo "bench: $1 exited:" >&2; cat "$WORK/$1.out" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench: $1 does not answer at $2" >&2
  cat "$WORK/$1.out" >&2
  exit 1
}
# token_of JSON FIELD: the string FIELD of a JSON object.
token_of() { sed -nE "s/.*\"$2\":\"([^\"]+)\".*/\1/p" <<<"$1"; }

declare -A ADDR PID TOKEN CPUPIDS
# PIN=1: the servers run on CPU 1 and wrk on CPU 0, so that each server has exactly one CPU (and
# Go's GOMAXPROCS, read from the affinity mask, is 1) and requests/s measure the server, not the
# scheduler. The flood and trickle server is never pinned: bcrypt and verification share the CPUs.
server_cpu=()
client_cpu=()
if [[ $PIN == 1 ]]; then server_cpu=(taskset -c 1); client_cpu=(taskset -c 0); fi

started() { # started NAME PID: records a server process
  PID[$1]=$2
  CPUPIDS[$1]=$2
  PIDS+=("$2")
}
# start_tokengate NAME CONFIG CACHE_SIZE [unpinned] [port=PORT] [log=FILE] [bin=BINARY] [ENV=VALUE...]:
# tokengate (this build unless told), pinned unless told, on PORT (else a free one), its log (stderr)
# to FILE (else beside its stdout).
start_tokengate() {
  local name=$1 config=$2 cache=$3 pin=("${server_cpu[@]}") port="" log="" bin=$WORK/tokengate env=() a
  shift 3
  for a in "$@"; do
    case $a in
      unpinned) pin=() ;;
      bin=*) bin=${a#bin=} ;;
      port=*) port=${a#port=} ;;
      log=*) log=${a#log=} ;;
      *) env+=("$a") ;;
    esac
  done
  [[ -n $port ]] || port=$(free_port)
  [[ -n $log ]] || log=$WORK/$name.out
  ADDR[$name]=127.0.0.1:$port
  env TOKENGATE_SERVER_ADDR="${ADDR[$name]}" TOKENGATE_TOKEN_CACHE_SIZE="$cache" "${env[@]}" \
    "${pin[@]}" "$bin" serve --config "$config" >>"$WORK/$name.out" 2>>"$log" &
  started "$name" $!
  wait_http "$name" "http://${ADDR[$name]}/healthz"
  TOKEN[$name]=$(token_of "$(curl -sf -u "alice:$PASSWORD" "http://${ADDR[$name]}/login")" access_token)
  [[ -n ${TOKEN[$name]} ]] || { echo "bench: $name: no token from /login" >&2; exit 1; }
}
start_ginjwt() { # start_ginjwt NAME [ARGS...]
  local name=$1
  shift
  "${server_cpu[@]}" "$WORK/ginjwt" -secret "$SECRET" -ttl "$TTL" "$@" >"$WORK/$name.out" 2>&1 &
  started "$name" $!
  ADDR[$name]=$(wait_for "$WORK/$name.out" '127\.0\.0\.1:[0-9]+')
  TOKEN[$name]=$(token_of "$(curl -sf "http://${ADDR[$name]}/login")" token)
}
start_nethttp() { # start_nethttp NAME: the bare net/http floor; it is sent tokengate's token
  "${server_cpu[@]}" "$WORK/nethttp" >"$WORK/$1.out" 2>&1 &
  started "$1" $!
  ADDR[$1]=$(wait_for "$WORK/$1.out" '127\.0\.0\.1:[0-9]+')
  TOKEN[$1]=${TOKEN[tg]}
}
# start_flask NAME: the seed's app under gunicorn, one process (a Python process uses one CPU) with
# threads, so that it keeps connections alive as the Go servers do (gunicorn's default sync worker
# closes every connection); its own access log is off by default.
start_flask() {
  ADDR[$1]=127.0.0.1:$(free_port)
  FLASK_SECRET_KEY=$SECRET FLASK_TOKEN_TTL=14400 "${server_cpu[@]}" /usr/bin/python3 -m gunicorn \
    --chdir bench/flask --workers 1 --worker-class gthread --threads 4 --bind "${ADDR[$1]}" app:app >"$WORK/$1.out" 2>&1 &
  started "$1" $!
  wait_http "$1" "http://${ADDR[$1]}/unprotected"
  CPUPIDS[$1]="${PID[$1]} $(pgrep -P "${PID[$1]}" | tr '\n' ' ')" # the arbiter and its worker
  TOKEN[$1]=$(token_of "$(curl -sf -u "alice:$FLASK_PASSWORD" "http://${ADDR[$1]}/login")" token)
}
# start_oauth2_proxy NAME ISSUER_SERVER: oauth2-proxy trusting the bearer JWTs that tokengate
# ISSUER_SERVER signs, checked against its JWKS. The smallest flag set it starts and decides with:
# --provider=oidc with discovery skipped needs the JWKS URL and the issuer (checked against iss),
# --client-id is the audience it checks aud against; a client secret, a cookie secret and an email
# rule are required at start even though no login flow or cookie is used (tokens without an email
# claim pass: it takes sub). Its logs are off: no access log on either side.
start_oauth2_proxy() {
  local iss=$2
  ADDR[$1]=127.0.0.1:$(free_port)
  "${server_cpu[@]}" "$WORK/gobin/oauth2-proxy" --http-address="${ADDR[$1]}" \
    --provider=oidc --skip-oidc-discovery --oidc-issuer-url="http://${ADDR[$iss]}" \
    --oidc-jwks-url="http://${ADDR[$iss]}/.well-known/jwks.json" --client-id=tokengate \
    --client-secret=unused --cookie-secret=0123456789abcdef0123456789abcdef --email-domain='*' \
    --skip-jwt-bearer-tokens \
    --request-logging=false --auth-logging=false --standard-logging=false >"$WORK/$1.out" 2>&1 &
  started "$1" $!
  wait_http "$1" "http://${ADDR[$1]}/ping"
  TOKEN[$1]=${TOKEN[$iss]}
}

# The headers of a run. Mode 0: none; 1: the server's bearer token; 2: the token and a proxy's
# X-Forwarded-* headers (a forward-auth question; the same headers for every server of that part).
headers() { # headers MODE SERVER: one wrk/curl argument a line
  [[ $1 == 0 ]] && return 0
  printf '%s\n' -H "Authorization: Bearer ${TOKEN[$2]}"
  [[ $1 == 2 ]] && printf '%s\n' -H "X-Forwarded-Method: GET" -H "X-Forwarded-Proto: http" \
    -H "X-Forwarded-Host: app.example.com" -H "X-Forwarded-Uri: /api/hello"
  return 0
}
status_of() { # status_of SERVER PATH MODE: the HTTP status of one request
  local h
  mapfile -t h < <(headers "$3" "$1")
  curl -s -o /dev/null -w '%{http_code}' "${h[@]}" "http://${ADDR[$1]}$2"
}

echo "== starting servers" >&2
RUNS=()
if part compare; then
  start_tokengate tg "$WORK/tg.yaml" 10000
  start_tokengate tg-nc "$WORK/tg.yaml" 0
  start_ginjwt gj
  start_flask fl
  start_nethttp nh
  RUNS+=(
    "tg.unprotected tg /unprotected 0"
    "tg.unprotected.bearer tg /unprotected 1"
    "tg.protected tg /protected 1"
    "tg-nc.protected tg-nc /protected 1"
    "gj.unprotected gj /unprotected 0"
    "gj.protected gj /protected 1"
    "fl.unprotected fl /unprotected 0"
    "fl.protected fl /protected 1"
    "nh.unprotected nh /unprotected 0"
    "nh.unprotected.bearer nh /unprotected 1"
  )
  if [[ $LOG != off ]]; then
    start_tokengate tg-log "$WORK/tg-log.yaml" 10000 log="$([[ $LOG == file ]] && echo "$WORK/tg-log.access" || echo /dev/null)"
    start_ginjwt gj-log -logger -log "$([[ $LOG == file ]] && echo "$WORK/gj-log.access" || echo /dev/null)"
    RUNS+=("tg-log.protected tg-log /protected 1" "gj-log.protected gj-log /protected 1")
  fi
  if [[ -n $BASE ]]; then
    start_tokengate base "$WORK/tg.yaml" 10000 bin="$WORK/tokengate-base"
    start_tokengate base-nc "$WORK/tg.yaml" 0 bin="$WORK/tokengate-base"
    RUNS+=(
      "base.unprotected.bearer base /unprotected 1"
      "base.protected base /protected 1"
      "base-nc.protected base-nc /protected 1"
    )
  fi
fi
AUTH=absent
if part oauth2proxy; then
  rs_port=$(free_port)
  # The issuer is tokengate's URL, as docs/ tell operators to set it (and as OIDC clients expect).
  start_tokengate tg-rs "$WORK/tg-rs.yaml" 10000 port="$rs_port" TOKENGATE_TOKEN_ISSUER="http://127.0.0.1:$rs_port"
  start_oauth2_proxy o2p tg-rs
  RUNS+=("tg-rs.protected tg-rs /protected 2")
  # tokengate's forward-auth endpoint, when this tokengate has it.
  code=$(status_of tg-rs /auth 2)
  if [[ $code == 200 ]]; then
    AUTH=present
    RUNS+=("tg-rs.auth tg-rs /auth 2")
  else
    echo "bench: tokengate's /auth answered $code: measuring /protected only" >&2
  fi
  RUNS+=("o2p.auth o2p /oauth2/auth 2")
  # Both sides must decide, and refuse a bad token.
  bad=${TOKEN[tg-rs]%?}A
  [[ $bad == "${TOKEN[tg-rs]}" ]] && bad=${TOKEN[tg-rs]%?}B
  for path in /oauth2/auth $([[ $AUTH == present ]] && echo /auth); do
    srv=o2p
    [[ $path == /auth ]] && srv=tg-rs
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $bad" -H "X-Forwarded-Method: GET" \
      -H "X-Forwarded-Host: app.example.com" -H "X-Forwarded-Uri: /api/hello" "http://${ADDR[$srv]}$path")
    [[ $code == 401 ]] || { echo "bench: $srv $path answered $code to a bad token, want 401" >&2; exit 1; }
  done
fi
if part flood || part trickle; then
  start_tokengate tg-fl "$WORK/tg.yaml" 10000 unpinned
fi
if [[ -n $ONLY ]]; then
  keep=()
  for run in "${RUNS[@]}"; do [[ " $ONLY " == *" ${run%% *} "* ]] && keep+=("$run"); done
  RUNS=("${keep[@]}")
fi
for run in "${RUNS[@]}"; do
  read -r name srv path mode <<<"$run"
  code=$(status_of "$srv" "$path" "$mode")
  [[ $code == 200 || $code == 202 ]] || { echo "bench: $name: $path answered $code" >&2; exit 1; }
done

TCK=$(getconf CLK_TCK)
# cpu_ticks SERVER: utime+stime of the server's processes, in clock ticks. The fields are counted
# from after the ")" that ends the command name, which may hold spaces.
cpu_ticks() {
  local p total=0 t
  for p in ${CPUPIDS[$1]}; do
    t=$(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')
    total=$((total + t))
  done
  echo "$total"
}
# to_ms VALUE: wrk latency ("812.00us", "1.23ms", "1.02s", "1.10m") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}
# measure NAME SERVER PATH MODE [pinned|unpinned]: runs wrk, writes "rps p50_ms p99_ms
# cpu_us_per_req non2xx" to $OUT/NAME.res and wrk's own output to $OUT/NAME.wrk.
measure() {
  local name=$1 srv=$2 path=$3 mode=$4 cpu=("${client_cpu[@]}") h t0 t1 f=$OUT/$1.wrk
  [[ ${5:-pinned} == unpinned ]] && cpu=()
  mapfile -t h < <(headers "$mode" "$srv")
  t0=$(cpu_ticks "$srv")
  "${cpu[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${h[@]}" "http://${ADDR[$srv]}$path" >"$f"
  t1=$(cpu_ticks "$srv")
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
    'BEGIN { printf "%s %s %s %.1f %s\n", rps, p50, p99, (r > 0 ? (b - a) / tck * 1e6 / r : 0), bad }' >"$OUT/$name.res"
}

if ((${#RUNS[@]} > 0)); then
  echo "== warm-up ($WARMUP per target)" >&2
  for run in "${RUNS[@]}"; do
    read -r name srv path mode <<<"$run"
    mapfile -t h < <(headers "$mode" "$srv")
    "${client_cpu[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "${h[@]}" "http://${ADDR[$srv]}$path" >/dev/null
  done
fi
for ((r = 1; r <= ROUNDS && ${#RUNS[@]} > 0; r++)); do
  order=("${RUNS[@]}")
  if ((r % 2 == 0)); then # every other round backwards: a drift of the machine's speed during a
    order=()              # round favours neither side of a ratio
    for ((i = ${#RUNS[@]} - 1; i >= 0; i--)); do order+=("${RUNS[i]}"); done
  fi
  for run in "${order[@]}"; do
    read -r name srv path mode <<<"$run"
    echo "== round $r/$ROUNDS: $name (wrk -t$THREADS -c$CONNS -d$DURATION)" >&2
    measure "$name.r$r" "$srv" "$path" "$mode"
  done
done

# The login flood: /protected alone, then /protected while FLOOD connections POST wrong passwords.
cat >"$WORK/flood.lua" <<'EOF'
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
# cpu_stat: the machine's idle and total CPU time (/proc/stat); busy_between IDLE0 TOTAL0 IDLE1 TOTAL1:
# the busy fraction between two of them.
cpu_stat() { awk '$1 == "cpu" { idle = $5 + $6; t = 0; for (i = 2; i <= 9; i++) t += $i; print idle, t }' /proc/stat; }
busy_between() { awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN { printf "%.2f", ((d - b) > 0 ? 1 - (c - a) / (d - b) : 0) }'; }

for ((r = 1; r <= ROUNDS; r++)); do
  if part flood; then
    echo "== round $r/$ROUNDS: flood: /protected alone, then during $FLOOD concurrent wrong logins" >&2
    measure "flood.idle.r$r" tg-fl /protected 1 unpinned
    wrk -t1 -c"$FLOOD" -d"$((SECS + 4))s" --timeout 10s -s "$WORK/flood.lua" "http://${ADDR[tg-fl]}/login" >"$OUT/flood.logins.r$r.wrk" &
    flood_pid=$!
    sleep 2 # let the flood fill the bcrypt slots and the queue
    measure "flood.busy.r$r" tg-fl /protected 1 unpinned
    wait "$flood_pid" || true
  fi
  if part trickle; then
    echo "== round $r/$ROUNDS: trickle: $TRICKLE_RATE logins/s during /protected from $LOAD_CONNS connections" >&2
    wrk -t2 -c"$LOAD_CONNS" -d"$((SECS + 4))s" -H "Authorization: Bearer ${TOKEN[tg-fl]}" \
      "http://${ADDR[tg-fl]}/protected" >"$OUT/trickle.load.r$r.wrk" &
    load_pid=$!
    sleep 2 # the load reaches its pace
    read -r idle0 total0 < <(cpu_stat)
    "$WORK/trickle" -url "http://${ADDR[tg-fl]}/login" -user alice -password "$PASSWORD" \
      -rate "$TRICKLE_RATE" -duration "$DURATION" -within 2s -timeout 10s -out "$OUT/trickle.r$r.txt" >"$OUT/trickle.r$r.summary"
    read -r idle1 total1 < <(cpu_stat)
    busy_between "$idle0" "$total0" "$idle1" "$total1" >"$OUT/trickle.busy.r$r"
    wait "$load_pid" || true
    echo "   $(cat "$OUT/trickle.r$r.summary") cpu_busy=$(cat "$OUT/trickle.busy.r$r")" >&2
  fi
done

# ---- report (markdown, on stdout) ----
median_of() { sort -g | awk '{a[NR] = $1} END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.4f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
median() { # median NAME FIELD: the median of FIELD over the rounds of NAME
  for ((r = 1; r <= ROUNDS; r++)); do [[ -f $OUT/$1.r$r.res ]] && awk -v f="$2" '{print $f}' "$OUT/$1.r$r.res"; done | median_of
}
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "-" || v == "") print "-"; else printf f, v }'; }
# pratio A B FIELD INVERT: the median over the rounds of A's FIELD ÷ B's FIELD, each round's two
# runs taken close together (INVERT=1: B ÷ A, for costs such as CPU per request).
pratio() {
  [[ -f $OUT/$1.r1.res && -f $OUT/$2.r1.res ]] || { echo "-"; return 0; }
  for ((r = 1; r <= ROUNDS; r++)); do
    awk -v f="$3" -v inv="$4" 'FNR == 1 { v[NR] = $f } END { a = v[1]; b = v[2]; if (inv) { t = a; a = b; b = t }; if (b > 0) printf "%.4f\n", a / b }' \
      "$OUT/$1.r$r.res" "$OUT/$2.r$r.res"
  done | median_of
}
verdict() { # verdict VALUE TARGET: "yes" when VALUE >= TARGET
  awk -v v="$1" -v t="$2" 'BEGIN { if (v == "-" || v == "") print "-"; else if (v + 0 >= t + 0) print "yes"; else print "**no**" }'
}
row() { # row LABEL NAME
  [[ -f $OUT/$2.r1.res ]] || return 0
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$(fmt "$(median "$2" 1)" %.0f)" "$(fmt "$(median "$2" 2)" %.2f)" \
    "$(fmt "$(median "$2" 3)" %.2f)" "$(fmt "$(median "$2" 4)" %.1f)"
}
rline() { # rline LABEL A B [TARGET]: A's efficiency relative to B, by server CPU per request
  [[ -f $OUT/$2.r1.res && -f $OUT/$3.r1.res ]] || return 0
  local cpu rps
  cpu=$(pratio "$2" "$3" 4 1) rps=$(pratio "$2" "$3" 1 0)
  if [[ -n ${4:-} ]]; then
    printf '| %s | %s× | %s× | ≥ %s× | %s |\n' "$1" "$(fmt "$cpu" %.2f)" "$(fmt "$rps" %.2f)" "$4" "$(verdict "$cpu" "$4")"
  else
    printf '| %s | %s× | %s× | | |\n' "$1" "$(fmt "$cpu" %.2f)" "$(fmt "$rps" %.2f)"
  fi
}

cmdline="DURATION=$DURATION WARMUP=$WARMUP ROUNDS=$ROUNDS THREADS=$THREADS CONNS=$CONNS PIN=$PIN LOG=$LOG"
part flood && cmdline+=" FLOOD=$FLOOD"
part flood || part trickle && cmdline+=" HASH_COST=$HASH_COST HASHES=$HASHES"
part trickle && cmdline+=" TRICKLE_RATE=$TRICKLE_RATE LOAD_CONNS=$LOAD_CONNS"
cmdline+=" PARTS=\"$PARTS\""
[[ -n $ONLY ]] && cmdline+=" ONLY=\"$ONLY\""
[[ -n $BASE ]] && cmdline+=" BASE=$(printf %q "$BASE")"
cmdline+=" ./bench/run.sh"
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git status --porcelain 2>/dev/null) ]] && rev+=" (with uncommitted changes)"

echo
echo "Measured with:"
echo
echo '```'
echo "$cmdline"
echo '```'
echo
echo "tokengate $rev$([[ -n $BASE ]] && echo ", base $BASE = $(git rev-parse --short "$BASE_REV")"); $(go version | awk '{print $3}'); $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)); $(wrk --version 2>&1 | head -n1 | awk '{print $1, $2}')."
if ((${#RUNS[@]} > 0)); then
  echo "wrk -t$THREADS -c$CONNS -d$DURATION after a $WARMUP warm-up, $ROUNDS interleaved round(s), medians;"
  echo "$([[ $PIN == 1 ]] && echo "servers pinned to CPU 1, wrk to CPU 0" || echo "unpinned"); no access log unless the row says so; tokengate's metrics on (its default)."
fi
if part compare && ((${#RUNS[@]} > 0)); then
  echo
  echo "| server and route | req/s | p50 ms | p99 ms | server CPU µs/req |"
  echo "|---|---:|---:|---:|---:|"
  row "tokengate /unprotected" tg.unprotected
  row "tokengate /unprotected + bearer header" tg.unprotected.bearer
  row "tokengate /protected (cache on)" tg.protected
  row "tokengate /protected (token.cache_size: 0)" tg-nc.protected
  row "tokengate /protected, access log (LOG=$LOG)" tg-log.protected
  row "gin-jwt /unprotected" gj.unprotected
  row "gin-jwt /protected" gj.protected
  row "gin-jwt /protected, gin.Logger (LOG=$LOG)" gj-log.protected
  row "seed Flask app /unprotected (gunicorn)" fl.unprotected
  row "seed Flask app /protected (gunicorn)" fl.protected
  row "bare net/http /unprotected" nh.unprotected
  row "bare net/http /unprotected + bearer header" nh.unprotected.bearer
  row "base $BASE /unprotected + bearer header" base.unprotected.bearer
  row "base $BASE /protected (cache on)" base.protected
  row "base $BASE /protected (token.cache_size: 0)" base-nc.protected
  echo
  echo "| efficiency (server CPU per request; higher is better) | by CPU | by req/s | target | met |"
  echo "|---|---:|---:|---:|:-:|"
  rline "tokengate /protected vs gin-jwt /protected" tg.protected gj.protected 1.15
  rline "tokengate /protected, cache_size 0, vs gin-jwt /protected" tg-nc.protected gj.protected 0.75
  rline "tokengate /protected vs its /unprotected with the same header" tg.protected tg.unprotected.bearer 0.93
  rline "tokengate /protected vs its /unprotected" tg.protected tg.unprotected
  rline "tokengate /protected vs the seed Flask app /protected" tg.protected fl.protected
  rline "tokengate /protected, cache_size 0, vs the seed Flask app /protected" tg-nc.protected fl.protected
  rline "tokengate vs gin-jwt /protected, both with an access log" tg-log.protected gj-log.protected
  rline "bare net/http: /unprotected + bearer header vs without" nh.unprotected.bearer nh.unprotected
  rline "base $BASE /protected vs its /unprotected with the same header" base.protected base.unprotected.bearer
  rline "base $BASE /protected vs gin-jwt /protected" base.protected gj.protected
  rline "base $BASE /protected, cache_size 0, vs gin-jwt /protected" base-nc.protected gj.protected
  rline "tokengate /protected vs base $BASE /protected" tg.protected base.protected
  rline "tokengate /protected, cache_size 0, vs base $BASE, cache_size 0" tg-nc.protected base-nc.protected
  if [[ -f $OUT/fl.protected.r1.res || -f $OUT/fl.unprotected.r1.res ]]; then
    echo
    echo "The seed's Flask app: $(/usr/bin/python3 -c 'from importlib.metadata import version as v; print("Flask", v("flask") + ", PyJWT", v("pyjwt") + ", gunicorn", v("gunicorn"))' 2>/dev/null || echo "Debian's python3-flask, python3-jwt, gunicorn"), one gunicorn process with 4 threads (gthread: connections kept alive)."
  fi
fi
if part oauth2proxy && ((${#RUNS[@]} > 0)); then
  echo
  echo "Forward auth, RS256 (the same token and X-Forwarded-* headers for every row); oauth2-proxy ${OAUTH2_PROXY_MODULE#*@} (go install)."
  echo
  echo "| server and route | req/s | p50 ms | p99 ms | server CPU µs/req |"
  echo "|---|---:|---:|---:|---:|"
  row "tokengate /auth" tg-rs.auth
  row "tokengate /protected" tg-rs.protected
  row "oauth2-proxy /oauth2/auth" o2p.auth
  [[ $AUTH == absent ]] && echo "| tokengate /auth | not in this build | | | |"
  echo
  echo "| efficiency (server CPU per request; higher is better) | by CPU | by req/s | target | met |"
  echo "|---|---:|---:|---:|:-:|"
  rline "tokengate /auth vs oauth2-proxy /oauth2/auth" tg-rs.auth o2p.auth 10
  rline "tokengate /auth vs its /protected" tg-rs.auth tg-rs.protected 0.85
  rline "tokengate /protected vs oauth2-proxy /oauth2/auth" tg-rs.protected o2p.auth
fi
if part flood; then
  kept=$(for ((r = 1; r <= ROUNDS; r++)); do
    awk 'FNR == 1 { v[NR] = $1 } END { if (v[1] > 0) printf "%.4f\n", v[2] / v[1] }' "$OUT/flood.idle.r$r.res" "$OUT/flood.busy.r$r.res"
  done | median_of)
  l401=$(cat "$OUT"/flood.logins.r*.wrk | awk '$1 == "status" && $2 == 401 {n += $3} END {print n + 0}')
  l503=$(cat "$OUT"/flood.logins.r*.wrk | awk '$1 == "status" && $2 == 503 {n += $3} END {print n + 0}')
  echo
  echo "Login flood: $FLOOD connections POST wrong passwords (bcrypt cost $HASH_COST) at an unpinned tokengate; /protected driven by wrk -t$THREADS -c$CONNS; $l401 logins answered 401, $l503 answered 503 (busy)."
  echo
  echo "| /protected | req/s | p50 ms | p99 ms |"
  echo "|---|---:|---:|---:|"
  printf '| alone | %s | %s | %s |\n' "$(fmt "$(median flood.idle 1)" %.0f)" "$(fmt "$(median flood.idle 2)" %.2f)" "$(fmt "$(median flood.idle 3)" %.2f)"
  printf '| during the flood | %s | %s | %s |\n' "$(fmt "$(median flood.busy 1)" %.0f)" "$(fmt "$(median flood.busy 2)" %.2f)" "$(fmt "$(median flood.busy 3)" %.2f)"
  printf '| **throughput kept** (median of per-round ratios; target ≥ 0.50) | %s (%s) | | |\n' "$(fmt "$kept" %.2f)" "$(verdict "$kept" 0.5)"
fi
if part trickle; then
  cat "$OUT"/trickle.r*.txt >"$WORK/trickle.all"
  read -r sent ok < <(awk '{ n++; if ($1 == 200 && $2 <= 2000) ok++ } END { print n + 0, ok + 0 }' "$WORK/trickle.all")
  fraction=$(awk -v n="$sent" -v k="$ok" 'BEGIN { if (n > 0) printf "%.3f", k / n; else print "-" }')
  pct() { sort -g -k2,2 "$WORK/trickle.all" | awk -v p="$1" '{ a[NR] = $2 } END { if (NR == 0) { print "-"; exit } r = int((p * NR + 99) / 100); if (r < 1) r = 1; printf "%.0f", a[r] }'; }
  statuses=$(awk '{ c[$1]++ } END { for (s in c) printf "%s%s × %d", (n++ ? ", " : ""), (s == 0 ? "no answer" : s), c[s] }' "$WORK/trickle.all")
  busy=$(cat "$OUT"/trickle.busy.r* | median_of)
  lrps=$(for ((r = 1; r <= ROUNDS; r++)); do awk '/^Requests\/sec:/ {print $2}' "$OUT/trickle.load.r$r.wrk"; done | median_of)
  echo
  echo "Logins under API load: $TRICKLE_RATE correct logins a second (bench/trickle, open loop, bcrypt cost $HASH_COST) while wrk -t2 -c$LOAD_CONNS drives /protected at an unpinned tokengate ($(fmt "$lrps" %.0f) req/s, CPUs $(fmt "$busy" %.2f) busy; medians over the rounds); all rounds pooled: $statuses."
  echo
  echo "| logins | 200 within 2 s | fraction (target ≥ 0.90) | p50 ms | p90 ms | p99 ms | max ms |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  printf '| %s | %s | %s (%s) | %s | %s | %s | %s |\n' "$sent" "$ok" "$fraction" "$(verdict "$fraction" 0.9)" "$(pct 50)" "$(pct 90)" "$(pct 99)" "$(pct 100)"
fi
