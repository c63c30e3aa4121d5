// Command tokengate is a small service that checks a user's password against a credential store,
// hands back a signed JWT, and guards routes that accept that token from the Authorization header,
// the query string or a cookie. Its command line is package cmd; see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tokengate/tokengate/cmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// run is the whole program: it runs the command in args and returns when it is done (for serve:
// after a graceful shutdown once ctx is cancelled). It reads the environment only from env.
func run(ctx context.Context, args, env []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return cmd.Execute(ctx, args, cmd.IO{Env: env, Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// exitCode prints err (unless it was printed already) and returns the exit status: 0 for success,
// 2 for a mistake on the command line, 1 for anything else.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if !errors.Is(err, cmd.ErrReported) {
		fmt.Fprintln(stderr, "tokengate:", err)
	}
	var ue cmd.UsageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
