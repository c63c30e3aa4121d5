# tokengate — the two commands of the README:
#   make run    start the service on the shipped config.yaml (same as `go run .`)
#   make test   run every test: static checks, go test -race (with the fuzz seed corpora), newman,
#               OpenAPI lint; each step prints its duration
#   make fuzz   run every fuzz target for a bounded time (FUZZTIME, default 10s each); CI runs it
#               after make test
.PHONY: run test fuzz build bench

run:
	go run .

test:
	./scripts/test.sh

fuzz:
	./scripts/fuzz.sh

build:
	CGO_ENABLED=0 go build -buildvcs=auto -trimpath -ldflags "-s -w" -o tokengate .

bench:
	./bench/run.sh
