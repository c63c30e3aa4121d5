#!/usr/bin/env bash
# compose-flow.sh: the README's curl flow against a running tokengate (by default the one that
# `docker-compose up` publishes on :8080), plus /readyz (Redis up) and a logout that is honoured;
# then the downstream example (:8081): ES256 tokens from /login accepted through the discovery
# document and JWKS, and refused after /logout (introspection, within 5 s); then the gateway
# walkthrough through the nginx that `docker-compose up` publishes on :8000.
#
#   scripts/compose-flow.sh                     # against http://localhost:8080, :8081 and :8000
#   COMPOSE_URL=http://host:port DOWNSTREAM_URL=http://host:port GATEWAY_URL=http://host:port scripts/compose-flow.sh
#   /work/shared/tools/compose-smoke -- scripts/compose-flow.sh   # the whole stack, for real
#
# Exits non-zero at the first answer that is not what the README promises.
set -euo pipefail
base=${COMPOSE_URL:-http://localhost:8080}
downstream=${DOWNSTREAM_URL:-${base%:*}:8081}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*" >&2; exit 1; }

# req NAME CURL-ARGS...: run curl, keep status, headers and body in $tmp/NAME.{code,hdr,body}.
req() {
  local name=$1; shift
  curl -sS --max-time 10 -o "$tmp/$name.body" -D "$tmp/$name.hdr" -w '%{http_code}' "$@" >"$tmp/$name.code"
}
status() { cat "$tmp/$1.code"; }
body() { cat "$tmp/$1.body"; }
header() { grep -i "^$2:" "$tmp/$1.hdr" | head -1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }
expect() { # expect NAME STATUS BODY-REGEX DESCRIPTION
  local got; got=$(status "$1")
  [[ $got == "$2" ]] || fail "$4: status $got, want $2; body: $(body "$1")"
  [[ -z $3 ]] || grep -Eq -- "$3" "$tmp/$1.body" || fail "$4: body $(body "$1") does not match $3"
  ok "$4 → $got"
}

echo "tokengate at $base"

req unprotected "$base/unprotected"
expect unprotected 200 '^\{"message":"Anyone can view this."\}$' "GET /unprotected"

req login -u alice:pyconid "$base/login"
expect login 200 '"token_type":"Bearer"' "GET /login with Basic alice:pyconid"
[[ $(header login Cache-Control) == no-store ]] || fail "login: Cache-Control is not no-store"
grep -q '"refresh_token":"' "$tmp/login.body" || fail "login: no refresh_token"

# Exactly the README's way of taking the token.
TOKEN=$(curl -s -u alice:pyconid "$base/login" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
[[ $TOKEN == *.*.* ]] || fail "the README's sed did not yield a JWT: $TOKEN"
ok "README's TOKEN=\$(curl … | sed …) yields a JWT"

req pq "$base/protected?token=$TOKEN"
expect pq 200 '^\{"message":"Only available to people with valid tokens.","user":"alice"\}$' "GET /protected?token=…"

req ph -H "Authorization: Bearer $TOKEN" "$base/protected"
expect ph 200 '"user":"alice"' "GET /protected with Authorization: Bearer"

req missing "$base/protected"
expect missing 401 '"error":"missing_token"' "GET /protected without a token"
[[ $(header missing WWW-Authenticate) == 'Bearer realm="tokengate"' ]] || fail "missing token: WWW-Authenticate is '$(header missing WWW-Authenticate)'"

req bad "$base/protected?token=not-a-token"
expect bad 401 '"error":"invalid_token"' "GET /protected?token=not-a-token"
[[ $(header bad WWW-Authenticate) == 'Bearer realm="tokengate", error="invalid_token"'* ]] || fail "bad token: WWW-Authenticate is '$(header bad WWW-Authenticate)'"

req ljson -H 'Content-Type: application/json' -d '{"username":"alice","password":"pyconid"}' "$base/login"
expect ljson 200 '"access_token":"' "POST /login with JSON"
req lform -d 'username=alice&password=pyconid' "$base/login"
expect lform 200 '"access_token":"' "POST /login with a form"

req wrong -u alice:wrong "$base/login"
expect wrong 401 '"error":"invalid_credentials"' "GET /login with a wrong password"

req me -H "Authorization: Bearer $TOKEN" "$base/me"
expect me 200 '"roles":\["admin"\]' "GET /me"
req admin -H "Authorization: Bearer $TOKEN" "$base/admin"
expect admin 200 '"user":"alice"' "GET /admin (alice has role admin)"

req healthz "$base/healthz"
expect healthz 200 '"status":"ok"' "GET /healthz"
req readyz "$base/readyz"
expect readyz 200 '"status":"ready"' "GET /readyz (users loaded, Redis answers)"

req metrics "$base/metrics"
expect metrics 200 'tokengate_logins_total\{outcome="success"\}' "GET /metrics"

# Refresh: the old refresh token is spent (state in Redis).
REFRESH=$(sed -E 's/.*"refresh_token":"([^"]+)".*/\1/' "$tmp/ljson.body")
req refresh -H 'Content-Type: application/json' -d "{\"refresh_token\":\"$REFRESH\"}" "$base/refresh"
expect refresh 200 '"refresh_token":"' "POST /refresh"
req reuse -H 'Content-Type: application/json' -d "{\"refresh_token\":\"$REFRESH\"}" "$base/refresh"
expect reuse 401 '"error":"invalid_token"' "POST /refresh with the spent refresh token"

# The stack signs with ES256 (the key keygen wrote into the keys volume) and says so.
hdr=$(printf '%s' "${TOKEN%%.*}" | tr '_-' '/+'); while ((${#hdr} % 4)); do hdr+='='; done
printf '%s' "$hdr" | base64 -d | grep -q '"alg":"ES256"' || fail "the token is not signed with ES256: $(printf '%s' "$hdr" | base64 -d)"
ok "tokens are signed with ES256"
req disco "$base/.well-known/openid-configuration"
expect disco 200 '"jwks_uri":"http://[^"]+/.well-known/jwks.json".*"id_token_signing_alg_values_supported":\["ES256"\]' "GET /.well-known/openid-configuration"
req jwks "$base/.well-known/jwks.json"
expect jwks 200 '"kty":"EC".*"alg":"ES256"' "GET /.well-known/jwks.json"
etag=$(header jwks ETag)
req jwks304 -H "If-None-Match: $etag" "$base/.well-known/jwks.json"
expect jwks304 304 '' "GET /.well-known/jwks.json with If-None-Match"
req introspect -d "token=$TOKEN" "$base/introspect"
expect introspect 401 '"error":"invalid_client"' "POST /introspect without client credentials"

# The downstream example verifies the same token itself (discovery document, JWKS, introspection).
for _ in $(seq 60); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$downstream/readyz" || true) == 200 ]] && break
  sleep 1
done
req dsready "$downstream/readyz"
expect dsready 200 '"status":"ready"' "downstream GET /readyz (tokengate's keys loaded)"
req dshello -H "Authorization: Bearer $TOKEN" "$downstream/hello"
expect dshello 200 '^\{"user":"alice"\}$' "downstream GET /hello with Authorization: Bearer"
req dshelloq "$downstream/hello?token=$TOKEN"
expect dshelloq 200 '^\{"user":"alice"\}$' "downstream GET /hello?token=…"
req dsadmin -H "Authorization: Bearer $TOKEN" "$downstream/admin"
expect dsadmin 200 '"user":"alice"' "downstream GET /admin (role admin)"
req dsmissing "$downstream/hello"
expect dsmissing 401 '"error":"missing_token"' "downstream GET /hello without a token"

# Logout revokes the access token (revocation kept in Redis); the same token is then refused.
req logout -X POST -H "Authorization: Bearer $TOKEN" "$base/logout"
expect logout 204 '' "POST /logout"
req after -H "Authorization: Bearer $TOKEN" "$base/protected"
expect after 401 '"error":"invalid_token"' "GET /protected with the logged-out token"
req afterq "$base/protected?token=$TOKEN"
expect afterq 401 '"error":"invalid_token"' "GET /protected?token= with the logged-out token"

# The downstream service learns of the logout through /introspect once its cached answer (at most
# 5 s old) expires.
start=$SECONDS
while :; do
  req dsafter -H "Authorization: Bearer $TOKEN" "$downstream/hello"
  [[ $(status dsafter) == 401 ]] && break
  ((SECONDS - start < 10)) || fail "downstream still accepts the logged-out token after 10 s: $(status dsafter) $(body dsafter)"
  sleep 0.5
done
expect dsafter 401 '"error":"invalid_token"' "downstream GET /hello with the logged-out token (after $((SECONDS - start)) s)"

# The gateway: nginx (deploy/nginx/gateway.conf) in front of examples/upstream, asking /auth.
gw=${GATEWAY_URL:-http://127.0.0.1:8000}
echo "gateway at $gw"
for _ in $(seq 60); do # nginx starts once tokengate is healthy
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$gw/pub/" || true) == 200 ]] && break
  sleep 1
done
ALICE=$(curl -s -u alice:pyconid "$base/login" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
BOB=$(curl -s -u bob:bobsecret "$base/login" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
[[ $ALICE == *.*.* && $BOB == *.*.* ]] || fail "gateway: could not log alice and bob in"

req gpub -H 'X-Auth-User: admin' "$gw/pub/hello"
expect gpub 200 '"auth_headers":\{\}' "gateway: GET /pub/hello, public (a client's own X-Auth-User: admin does not arrive)"
req gq "$gw/api/hello?token=$ALICE"
expect gq 200 '"X-Auth-User":\["alice"\]' "gateway: GET /api/hello?token=… reaches the upstream as alice"
req gh -H "Authorization: Bearer $BOB" "$gw/api/hello"
expect gh 200 '"X-Auth-User":\["bob"\]' "gateway: GET /api/hello with the header reaches the upstream as bob"
req gpost -X POST -H "Authorization: Bearer $BOB" -d 'x=1' "$gw/api/items"
expect gpost 200 '"method":"POST"' "gateway: POST /api/items keeps its method"
req gnone "$gw/api/hello"
expect gnone 401 '' "gateway: GET /api/hello without a token"
[[ $(header gnone WWW-Authenticate) == 'Bearer realm="tokengate"' ]] || fail "gateway 401: WWW-Authenticate is '$(header gnone WWW-Authenticate)'"
req gadmin -H "Authorization: Bearer $BOB" "$gw/admin/"
expect gadmin 403 '' "gateway: GET /admin/ as bob (no role admin)"
req gadmin2 -H "Authorization: Bearer $ALICE" "$gw/admin/"
expect gadmin2 200 '"X-Auth-Roles":\["admin"\]' "gateway: GET /admin/ as alice (role admin)"
req gdots --path-as-is "$gw/pub/../admin/"
expect gdots 500 '' "gateway: GET /pub/../admin/ is refused (tokengate 400, nginx 500)"
req glogout -X POST -H "Authorization: Bearer $ALICE" "$base/logout"
expect glogout 204 '' "POST /logout (alice)"
req gafter "$gw/api/hello?token=$ALICE"
expect gafter 401 '' "gateway: the logged-out token is refused on the next request"

echo "compose flow: $pass passed, 0 failed"
