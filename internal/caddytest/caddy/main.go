// Command caddy is Caddy with its standard modules, pinned by this directory's go.mod: what
// internal/caddytest builds from the Go module proxy for tests. It is a module of its own so that
// Caddy's dependencies stay out of tokengate's go.mod.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() { caddycmd.Main() }
