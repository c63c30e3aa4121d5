#!/usr/bin/env bash
# newman.sh: run the Postman collection (postman/) with newman against a real tokengate.
#
#   scripts/newman.sh                    start tokengate on a free loopback port with a throw-away
#                                        config (below), run every request, stop it
#   scripts/newman.sh --shipped          start tokengate as `go run .` does: on the repository's own
#                                        config.yaml, with nothing else set than
#                                        TOKENGATE_SERVER_ADDR=127.0.0.1:0 (a free port), and run the
#                                        collection with postman/local.postman_environment.json as it
#                                        is; stop it
#   scripts/newman.sh --url URL          run against a tokengate already serving at URL (e.g. the
#                                        docker-compose stack), with postman/local.postman_environment.json
#                                        as it is (its `secret` is empty: the requests that sign their own
#                                        tokens skip themselves; add -- --env-var secret=S to run them;
#                                        its introspection client is the docker-compose demo client)
#   scripts/newman.sh --full [...]       print every request and assertion, not only the failures
#                                        and the summary
#   scripts/newman.sh [...] -- ARGS      pass ARGS on to `newman run` (e.g. -- --folder "Negative cases")
#
# The collection checks what the server publishes (the discovery document's issuer and signing
# algorithms, the JWKS) rather than assuming one configuration. A request that does not apply to the
# server skips itself and a check that cannot be made there says so, each in a SKIPPED or NOTE line
# of the console; this script lists them after the summary.
#
# The tokengate binary is $TOKENGATE_TEST_BINARY when set (scripts/test.sh builds it once for all
# its steps), else it is built here. Exits non-zero when any assertion fails (newman's own exit
# status) or the server's log holds a data race report. Needs `npm ci` first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
collection=postman/tokengate.postman_collection.json
environment=postman/local.postman_environment.json
newman=node_modules/.bin/newman

url=
full=
shipped=
while (($#)); do
  case $1 in
    --url) url=${2:?--url needs a URL}; shift 2 ;;
    --shipped) shipped=1; shift ;;
    --full) full=1; shift ;;
    --) shift; break ;;
    *) echo "newman.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ -n $url && -n $shipped ]] && { echo "newman.sh: --url and --shipped exclude each other" >&2; exit 2; }
[[ -x $newman ]] || { echo "newman.sh: run 'npm ci' first (newman is pinned in package.json)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tokengate-newman.XXXXXX")
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_newman ARGS: runs the collection; without --full it prints only the summary table and the
# failures after it (the CLI reporter always lists every request as it goes), or everything when
# newman stopped before its summary. Then it lists the run's SKIPPED and NOTE lines.
run_newman() {
  local rc=0
  if [[ -n $full ]]; then
    "$newman" run "$collection" -e "$environment" --color off "$@" 2>&1 | tee "$tmp/newman.out" || rc=$?
  else
    "$newman" run "$collection" -e "$environment" --color off \
      --reporters cli --reporter-cli-no-banner --reporter-cli-no-success-assertions "$@" >"$tmp/newman.out" 2>&1 || rc=$?
    # (--color off leaves some escape sequences in the failure table: strip them.)
    if grep -q '^┌' "$tmp/newman.out"; then
      sed -n '/^┌/,$p' "$tmp/newman.out"
    else
      cat "$tmp/newman.out"
    fi | sed 's/\x1b\[[0-9;]*m//g'
  fi
  console_notes "$tmp/newman.out" >"$tmp/notes"
  if [[ -s $tmp/notes ]]; then
    printf 'newman.sh: what this run did not check, and why (skipped requests: %s, notes: %s)\n' \
      "$(grep -c '^SKIPPED' "$tmp/notes")" "$(grep -c '^NOTE' "$tmp/notes")"
    sed 's/^/  /' "$tmp/notes"
  fi
  return $rc
}

# console_notes FILE: the console messages of the scripts in newman's CLI output. The reporter prints
# each in a box of its own ("  ┌", "  │ " lines wrapped at a fixed width, "  └"), quoted as
# util.inspect quotes a string: the lines are joined again and the quotes dropped.
console_notes() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
    /^  ┌$/ { box = 1; msg = ""; next }
    box && /^  │ / { sub(/^  │ /, ""); msg = msg $0; next }
    box { box = 0; print msg }' | sed -E "s/^(['\"\`])(.*)\1\$/\2/"
}

if [[ -n $url ]]; then
  rc=0
  run_newman --env-var "baseUrl=$url" "$@" || rc=$?
  exit $rc
fi

bin=${TOKENGATE_TEST_BINARY:-}
if [[ -z $bin ]]; then
  echo "newman.sh: building tokengate"
  go build -o "$tmp/tokengate" .
  bin=$tmp/tokengate
fi

# start_server ENV... -- ARGS...: starts tokengate with only the environment ENV (and PATH), waits
# until it listens and sets pid and addr. Port 0: the kernel picks a free port, and tokengate logs
# the address once it listens (connections wait in the listen queue until it serves). The log is
# read line by line as it is written, so the script waits for that line rather than polling; the
# rest of the log goes to server.log. Both log formats are understood (JSON and text).
start_server() {
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  coproc server { exec env -i PATH="$PATH" "${envs[@]}" "$bin" "$@" 2>&1 >/dev/null; }
  pid=$server_PID
  exec {log}<&"${server[0]}"
  addr=
  local line
  while IFS= read -r -t 30 line <&"$log"; do
    printf '%s\n' "$line" >>"$tmp/server.log"
    if [[ $line =~ \"msg\":\"listening\".*\"addr\":\"([^\"]+)\" || $line =~ (^|\ )msg=listening\ .*addr=([^ ]+) ]]; then
      addr=${BASH_REMATCH[-1]}
      break
    fi
  done
  if [[ -z $addr ]]; then
    echo "newman.sh: tokengate did not start:" >&2; cat "$tmp/server.log" >&2; exit 1
  fi
  cat <&"$log" >>"$tmp/server.log" &
  drain=$!
  echo "newman.sh: tokengate is up at http://$addr (pid $pid)"
}

rc=0
if [[ -n $shipped ]]; then
  # As `go run .` on a fresh clone: config.yaml of the working directory, its random per-process
  # secret (so the requests that sign test tokens skip themselves), its memory store (read-only:
  # the user-management writes answer 409), its demo users and demo introspection client, which
  # the local environment names.
  start_server TOKENGATE_SERVER_ADDR=127.0.0.1:0 --
  run_newman --env-var "baseUrl=http://$addr" "$@" || rc=$?
else
  # The users of the run, hashed with tokengate's own hash-password at bcrypt's minimum cost (4) so
  # the run is fast (tokengate loads costs under 10 with a warning): alice (admin, the README's demo
  # user), bob (a non-admin) and carol (disabled). They live in a users file, a writable store, so
  # that the user-management requests run in full. The issuer is not the default one, so that the
  # collection's check against the variable issuer means something.
  secret=newman-test-secret-0123456789abcdef0123456789
  issuer=https://tokengate.newman.test
  client_secret=newman-client-secret-0123456789abcdef0123456789
  client_hash=$(printf '%s' "$client_secret" | sha256sum | cut -d' ' -f1)
  hash() { printf '%s\n' "$1" | "$bin" hash-password --cost 4; }
  cat >"$tmp/users.yaml" <<YAML
users:
  alice:
    password_hash: "$(hash pyconid)"
    roles: [admin]
  bob:
    password_hash: "$(hash bob-password)"
    roles: [user]
  carol:
    password_hash: "$(hash carol-password)"
    roles: [user]
    disabled: true
YAML
  cat >"$tmp/config.yaml" <<YAML
server:
  addr: "127.0.0.1:0"
token:
  secret: "$secret"
  issuer: "$issuer"
  ttl: 15m
store:
  kind: file
  path: "$tmp/users.yaml"
login:
  max_failures: 5
state:
  backend: memory
log:
  level: info
  format: json
metrics:
  enabled: true
gateway: # the shipped config's rules, for the folder "Gateway (/auth)"
  rules:
    - {paths: [/pub/], access: public}
    - {paths: [/api/], access: authenticated}
    - {paths: [/admin/], access: authenticated, roles: [admin]}
clients:
  newman:
    secret_sha256: "$client_hash"
YAML
  start_server -- serve --config "$tmp/config.yaml"
  run_newman --env-var "baseUrl=http://$addr" --env-var "secret=$secret" --env-var "issuer=$issuer" \
    --env-var "clientId=newman" --env-var "clientSecret=$client_secret" \
    --env-var "nonAdminUser=bob" --env-var "nonAdminPassword=bob-password" \
    --env-var "disabledUser=carol" --env-var "disabledPassword=carol-password" \
    --env-var "runLockout=true" --env-var "maxFailures=5" "$@" || rc=$?
fi

kill -TERM "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
wait "$drain" || true
if grep -q 'WARNING: DATA RACE' "$tmp/server.log"; then
  echo "newman.sh: the race detector found a data race in tokengate:" >&2
  sed -n '/WARNING: DATA RACE/,$p' "$tmp/server.log" >&2
  rc=1
fi
if ((rc)); then
  echo "newman.sh: failed ($rc); the server's last log lines:" >&2
  tail -20 "$tmp/server.log" >&2
fi
exit $rc
