// Package cmd is tokengate's command line, built with cobra: one file per command. serve, the
// default command, wires the server: config → logger → store → keys → state → routes → listen.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// ErrReported is returned when the problem was already printed (every config problem, one line
// each), so the caller only sets the exit status.
var ErrReported = errors.New("reported")

// UsageError is a command-line mistake (an unknown command or flag, a missing argument): exit
// status 2.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// IO is what a command reads and writes. Env is the environment as os.Environ gives it; commands
// read no other.
type IO struct {
	Env    []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Execute runs the command line args (without the program name) until it is done: for serve,
// until ctx is cancelled and the server has shut down. It returns a UsageError for a mistake on
// the command line, ErrReported when it has printed the problems itself, and any other error to
// be printed by the caller.
func Execute(ctx context.Context, args []string, sio IO) error {
	root := NewRoot(sio)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// NewRoot returns the root command, tokengate, with every subcommand. Run without one, it serves.
func NewRoot(sio IO) *cobra.Command {
	var configFile string
	root := &cobra.Command{
		Use:   "tokengate",
		Short: "Log users in with a password and guard routes with JSON Web Tokens",
		Long: `tokengate checks a user's password against a credential store, hands back a signed JWT,
and guards routes that accept that token in the Authorization header or the query string.

Run without a command, it serves (the same as "tokengate serve").`,
		Example: `  tokengate                                   serve on ./config.yaml (or $TOKENGATE_CONFIG)
  tokengate check-config --config prod.yaml   validate a configuration without serving
  tokengate hash-password < pw.txt            print a bcrypt hash for a users file or config
  tokengate users --file users.yaml add alice --role admin`,
		Version:       Version(),
		Args:          noArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(c *cobra.Command, _ []string) error {
			return serve(c.Context(), sio, configFile)
		},
	}
	root.SetIn(sio.Stdin)
	root.SetOut(sio.Stdout)
	root.SetErr(sio.Stderr)
	root.SetVersionTemplate("tokengate {{.Version}}\n")
	root.SuggestionsMinimumDistance = 2
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return UsageError{fmt.Sprintf("%v (see %s --help)", err, c.CommandPath())}
	})
	root.PersistentFlags().StringVar(&configFile, "config", "",
		"config file (default $TOKENGATE_CONFIG, else ./config.yaml if it exists, else built-in defaults)")
	root.AddCommand(
		newServeCmd(sio, &configFile),
		newCheckConfigCmd(sio, &configFile),
		newHashPasswordCmd(sio),
		newUsersCmd(sio, &configFile),
		newKeygenCmd(sio),
		newClientSecretCmd(sio),
		newHealthcheckCmd(sio),
		newVersionCmd(sio),
	)
	return root
}

// noArgs is the Args of commands that take none: an argument is an unknown command (with cobra's
// suggestions) or an unexpected argument.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if !c.HasSubCommands() {
		return UsageError{fmt.Sprintf("%s takes no arguments, got %q (see %s --help)", c.CommandPath(), args[0], c.CommandPath())}
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return UsageError{msg + " (see " + c.CommandPath() + " --help)"}
}

// exactArgs is cobra.ExactArgs with a UsageError naming the arguments wanted.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return UsageError{fmt.Sprintf("%s wants %s (see %s --help)", c.CommandPath(), names, c.CommandPath())}
		}
		return nil
	}
}
