#!/usr/bin/env bash
# newman.sh: run the Postman collection (postman/) with newman against a real tokengate.
#
#   scripts/newman.sh                    build tokengate, start it on a free loopback port with a
#                                        throw-away config (below), run every request, stop it
#   scripts/newman.sh --url URL          run against a tokengate already serving at URL, with
#                                        postman/local.postman_environment.json as is (its client is the
#                                        docker-compose demo client; the requests that sign test tokens
#                                        need an HS256 tokengate: -- --env-var secret=ITS-SECRET)
#   scripts/newman.sh [...] -- ARGS      pass ARGS on to `newman run` (e.g. -- --folder "Negative cases")
#
# Exits non-zero when any assertion fails (newman's own exit status). Needs `npm ci` first.
set -euo pipefail
cd "$(dirname "$0")/.."
collection=postman/tokengate.postman_collection.json
environment=postman/local.postman_environment.json

url=
while (($#)); do
  case $1 in
    --url) url=${2:?--url needs a URL}; shift 2 ;;
    --) shift; break ;;
    *) echo "newman.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ -x node_modules/.bin/newman ]] || { echo "newman.sh: run 'npm ci' first (newman is pinned in package.json)" >&2; exit 1; }

if [[ -n $url ]]; then
  exec npx --no-install newman run "$collection" -e "$environment" --env-var "baseUrl=$url" "$@"
fi

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

echo "newman.sh: building tokengate"
go build -o "$tmp/tokengate" .

# The users of the run, hashed with tokengate's own hash-password at bcrypt's minimum cost (4) so the
# run is fast (tokengate loads costs under 10 with a warning): alice (admin, the README's demo user),
# bob (a non-admin) and carol (disabled).
secret=newman-test-secret-0123456789abcdef0123456789
client_secret=newman-client-secret-0123456789abcdef0123456789
client_hash=$(printf '%s' "$client_secret" | sha256sum | cut -d' ' -f1)
hash() { printf '%s\n' "$1" | "$tmp/tokengate" hash-password --cost 4; }
cat >"$tmp/config.yaml" <<YAML
server:
  addr: "127.0.0.1:0"
token:
  secret: "$secret"
  ttl: 15m
store:
  kind: memory
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
login:
  max_failures: 5
state:
  backend: memory
log:
  level: info
  format: json
metrics:
  enabled: true
clients:
  newman:
    secret_sha256: "$client_hash"
YAML

# Port 0: the kernel picks a free port; tokengate logs the address it listens on.
: >"$tmp/server.log"
env -i PATH="$PATH" "$tmp/tokengate" serve --config "$tmp/config.yaml" 2>"$tmp/server.log" &
pid=$!
addr=
for _ in $(seq 100); do
  addr=$(sed -nE 's/.*"msg":"listening".*"addr":"([^"]+)".*/\1/p' "$tmp/server.log" | head -1 || true)
  [[ -n $addr ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $addr ]]; then
  echo "newman.sh: tokengate did not start:" >&2; cat "$tmp/server.log" >&2; exit 1
fi
base=http://$addr
for _ in $(seq 50); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/healthz") == 200 ]] && break
  sleep 0.1
done
echo "newman.sh: tokengate is up at $base (pid $pid)"

rc=0
npx --no-install newman run "$collection" -e "$environment" \
  --env-var "baseUrl=$base" --env-var "secret=$secret" \
  --env-var "clientId=newman" --env-var "clientSecret=$client_secret" \
  --env-var "nonAdminUser=bob" --env-var "nonAdminPassword=bob-password" \
  --env-var "disabledUser=carol" --env-var "disabledPassword=carol-password" \
  --env-var "runLockout=true" --env-var "maxFailures=5" \
  --color off "$@" || rc=$?
if ((rc)); then
  echo "newman.sh: newman failed ($rc); the server's last log lines:" >&2
  tail -20 "$tmp/server.log" >&2
fi
exit $rc
