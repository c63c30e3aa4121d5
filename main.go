// Command tokengate is a small service that checks a user's password against a credential store,
// hands back a signed JWT, and guards routes that accept that token from the Authorization header,
// the query string or a cookie. See README.md and DESIGN.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "tokengate:", err)
		}
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errReported is returned when the problem was already printed (e.g. every config problem, one
// line each), so main only sets the exit code.
var errReported = errors.New("reported")

// usageError is a command-line mistake: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// run is the whole program: it dispatches the subcommand in args and returns when it is done (for
// serve: after a graceful shutdown once ctx is cancelled). It reads the environment only from env.
func run(ctx context.Context, args, env []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, env, stdout, stderr)
	case "hash-password":
		return hashPassword(args, stdin, stdout, stderr)
	case "check-config":
		return checkConfig(args, env, stdout, stderr)
	case "users":
		return users(args, env, stdin, stdout, stderr)
	case "keygen":
		return keygen(args, stdout)
	case "healthcheck":
		return healthcheck(ctx, args, env, stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "tokengate", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return usageError{fmt.Sprintf("unknown command %q (try: tokengate help)", cmd)}
	}
}

const usage = `Usage:
  tokengate [serve] [--config FILE]        run the service (default command)
  tokengate check-config [--config FILE]   validate the configuration and the users file
  tokengate hash-password [--cost N]       read a password on stdin, print its bcrypt hash
  tokengate users [--config FILE | --file USERS] add NAME [--role R]... [--disabled] [--cost N]
  tokengate users [--config FILE | --file USERS] passwd NAME [--cost N] | remove NAME | list
  tokengate keygen --alg RS256|ES256|EdDSA --out FILE
  tokengate healthcheck [--url URL]        exit 0 when /healthz answers 200
  tokengate version

FILE defaults to $TOKENGATE_CONFIG, else ./config.yaml if it exists, else built-in defaults.
`
