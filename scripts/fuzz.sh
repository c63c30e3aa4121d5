#!/usr/bin/env bash
# Runs every fuzz target of tokengate for a bounded time (FUZZTIME, default 10s each), one target
# at a time (go test -fuzz takes one target per package and run): `make fuzz`, run by CI after
# `make test`. Plain `go test` (and so `make test`) already runs every target's seed corpus and
# every kept crasher as ordinary tests; this explores new inputs. Fails if any target finds a
# crasher; go test writes it to <pkg>/testdata/fuzz/<Target>/, where plain `go test` then runs it
# as a regression test: commit it with the fix. FUZZMINIMIZETIME bounds the minimisation of new
# inputs (default 5s; go's default of 60s would eat the whole budget).
#
#   scripts/fuzz.sh                       every target, 10s each
#   FUZZTIME=2m scripts/fuzz.sh token     the targets of one package, longer
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

FUZZTIME=${FUZZTIME:-10s}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-5s}

# package:target, every `func FuzzX(f *testing.F)` in the module's test files, so that a target
# added or removed needs no edit here.
mapfile -t targets < <(
  git ls-files '*_test.go' 2>/dev/null | xargs -r grep -H -oE '^func Fuzz[A-Za-z0-9_]+\([A-Za-z_]+ \*testing\.F\)' |
    sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]+).*#\1:\2#; s#^[^/:]*_test\.go:func (Fuzz[A-Za-z0-9_]+).*#.:\1#' | sort -u
)
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz.sh: no fuzz targets found (run it in a git checkout)" >&2
  exit 1
fi

# go1.26's fuzz coordinator can fail a target with a bare "context deadline exceeded" as -fuzztime
# runs out on a loaded machine, without any failing input (go.dev/issue/75804, fixed in go1.27).
# Such a run wrote no crasher and failed no seed: it is retried once, and reported, not failed.
deadline_flake() {
  grep -qx '    context deadline exceeded' "$1" &&
    ! grep -q 'Failing input written' "$1" &&
    ! grep -qE -- '--- FAIL: [^ ]+/' "$1"
}

run_target() { # run_target PKG NAME LOG
  go test -run '^$' -fuzz "^${2}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "./$1" >"$3" 2>&1
}

failed=()
flaked=()
start=$SECONDS
for t in "${targets[@]}"; do
  pkg=${t%%:*} name=${t#*:}
  if [[ $# -gt 0 && ! " $* " == *" $pkg "* ]]; then
    continue
  fi
  printf '%-32s ' "$pkg/$name"
  log=$(mktemp)
  ok=0
  if run_target "$pkg" "$name" "$log"; then
    ok=1
  elif deadline_flake "$log"; then
    if run_target "$pkg" "$name" "$log" || deadline_flake "$log"; then
      ok=1
      flaked+=("$t")
    fi
  fi
  if [[ $ok == 1 ]]; then
    execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 || true)
    echo "ok   ${execs:-}"
  else
    echo "FAIL"
    grep -v '^fuzz: elapsed' "$log" | sed 's/^/    /' >&2
    failed+=("$t")
  fi
  rm -f "$log"
done

echo "fuzzing took $((SECONDS - start))s"
if [[ ${#flaked[@]} -gt 0 ]]; then
  echo "note: go's fuzz coordinator hit its deadline race (go.dev/issue/75804, no crasher) in: ${flaked[*]}" >&2
fi
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz targets failed: ${failed[*]}" >&2
  echo "a new crasher is in <pkg>/testdata/fuzz/<Target>/: fix the bug, keep the file as a regression test" >&2
  exit 1
fi
