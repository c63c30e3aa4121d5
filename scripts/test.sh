#!/usr/bin/env bash
# Runs every test of tokengate on a fresh clone. Sets up what it needs: redis-server and PyJWT
# (Debian's packages, installed with apt-get when missing and running as root), node modules
# (npm ci: newman, redocly, and jose for the interop test).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null)/bin"
step() { printf '\n=== %s\n' "$*"; }

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

step "go test -race"
CI=${CI:-} go test -race -count=1 ./...

if [[ -f scripts/fuzz.sh ]]; then
  step "fuzzing (bounded)"
  ./scripts/fuzz.sh
fi
if [[ -f package.json ]]; then
  if [[ -f scripts/newman.sh ]]; then
    step "newman: the Postman collection against a real tokengate"
    ./scripts/newman.sh
  fi
  if [[ -f openapi.yaml ]]; then
    step "redocly lint openapi.yaml"
    npx --no-install redocly lint openapi.yaml
  fi
fi
step "all tests passed"
