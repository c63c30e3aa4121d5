# tokengate — the two commands of the README:
#   make run    start the service on the shipped config.yaml (same as `go run .`)
#   make test   run every test: static checks, go test -race, fuzzing, newman, OpenAPI lint
.PHONY: run test build bench

run:
	go run .

test:
	./scripts/test.sh

build:
	CGO_ENABLED=0 go build -buildvcs=auto -trimpath -ldflags "-s -w" -o tokengate .

bench:
	./bench/run.sh
