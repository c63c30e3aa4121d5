#!/usr/bin/env bash
# Runs every test of tokengate on a fresh clone (`make test`): static checks, go test -race, newman
# against a real tokengate (a test config, then the shipped config.yaml), the OpenAPI lint. Each
# step prints how long it took. Sets up what it needs: redis-server, nginx, postgresql-15 and PyJWT
# (Debian's packages, installed with apt-get when missing and running as root; otherwise it names
# the package and stops), node modules (npm ci: newman, redocly, and jose for the interop test). The
# bounded fuzzing is `make fuzz` (scripts/fuzz.sh); the fuzz targets' seed corpora run here, in go
# test.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null)/bin"

start_all=$EPOCHREALTIME
step_name= step_start=
timings=()
# step NAME: ends the step before (printing its duration) and starts NAME.
step() {
  if [[ -n $step_name ]]; then
    local took
    took=$(elapsed "$step_start")
    printf -- '--- %s: %ss\n' "$step_name" "$took"
    timings+=("$(printf '%7ss  %s' "$took" "$step_name")")
  fi
  step_name=$* step_start=$EPOCHREALTIME
  [[ -n $step_name ]] && printf '\n=== %s\n' "$step_name"
  return 0
}
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

need_pkg() { # need_pkg COMMAND DEBIAN_PACKAGE
  command -v "$1" >/dev/null && return 0
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    step "installing $2 (apt-get)"
    { [[ -n ${APT_UPDATED:-} ]] || apt-get update -qq; } && APT_UPDATED=1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  else
    echo "tokengate tests need '$1': install the Debian package $2 (sudo apt-get install $2)" >&2
    exit 1
  fi
}
need_pkg redis-server redis-server
need_pkg nginx nginx
need_pkg /usr/lib/postgresql/15/bin/initdb postgresql-15 # Debian keeps its binaries off PATH

# PyJWT for tests/interop_test.go: Debian's python3-jwt, imported by Debian's /usr/bin/python3 (an
# interpreter of its own on PATH would not see it). Without it that test skips, naming the package.
if ! /usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null; then
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    step "installing python3-jwt python3-cryptography (apt-get)"
    { [[ -n ${APT_UPDATED:-} ]] || apt-get update -qq; } && APT_UPDATED=1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-jwt python3-cryptography >/dev/null
  else
    echo "warning: the PyJWT interop test will be skipped: install the Debian packages python3-jwt python3-cryptography" >&2
  fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tokengate-test.XXXXXX")
finish() {
  local rc=$?
  rm -rf "$tmp"
  if ((rc)) && [[ -n $step_name ]]; then
    printf -- '--- %s: FAILED after %ss\n' "$step_name" "$(elapsed "$step_start")" >&2
  fi
  exit $rc
}
trap finish EXIT

# Node modules first: the Go tests run jose (tests/interop) from node_modules.
if [[ -f package.json ]]; then
  step "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
if [[ -n $unformatted ]]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi

step "go vet"
go vet ./...

step "staticcheck (pinned)"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# One tokengate binary for every black-box test: tests/ and newman run it (TOKENGATE_TEST_BINARY).
step "build tokengate"
go build -o "$tmp/tokengate" .
export TOKENGATE_TEST_BINARY=$tmp/tokengate

step "go test -race"
CI=${CI:-} go test -race -count=1 ./...

if [[ -f package.json ]]; then
  if [[ -f scripts/newman.sh ]]; then
    # The collection twice: against a test config that lets every request run, and against the
    # shipped config.yaml as `go run .` serves it (where some skip themselves, each with a note).
    step "newman: the Postman collection against a real tokengate (test config)"
    ./scripts/newman.sh
    step "newman: the Postman collection against the shipped config.yaml (as go run .)"
    ./scripts/newman.sh --shipped
  fi
  if [[ -f openapi.yaml ]]; then
    step "redocly lint openapi.yaml"
    npx --no-install redocly lint openapi.yaml
  fi
fi
step ""
printf '\n=== all tests passed in %ss\n' "$(elapsed "$start_all")"
printf '%s\n' "${timings[@]}"
