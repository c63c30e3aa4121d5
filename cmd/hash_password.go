package cmd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tokengate/tokengate/store"
)

// defaultCost is the bcrypt cost of the hashes the command line makes.
const defaultCost = 12

// costUsage is the help text of every --cost flag.
var costUsage = fmt.Sprintf("bcrypt cost, %d to %d (each step doubles the work)", store.MinCost, store.MaxCost)

func newHashPasswordCmd(sio IO) *cobra.Command {
	var cost int
	c := &cobra.Command{
		Use:   "hash-password",
		Short: "Read a password on stdin and print its bcrypt hash",
		Long: `Read a password on stdin (without echo, twice, on a terminal; else the first line) and print
its bcrypt hash, for store.users in the configuration or a users file. A password over 72 bytes is
refused: bcrypt would silently compare only its first 72.`,
		Example: `  tokengate hash-password                       asks for the password on a terminal
  printf '%s\n' "$PASSWORD" | tokengate hash-password --cost 12`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			h, err := readHash(sio.Stdin, sio.Stderr, cost)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(sio.Stdout, h)
			return err
		},
	}
	c.Flags().IntVar(&cost, "cost", defaultCost, costUsage)
	return c
}

// readPassword reads one password from stdin: without echo (and asking twice when confirm) on a
// terminal, else the first line of the input. It refuses passwords over 72 bytes (bcrypt would
// silently compare only their first 72) and empty ones.
func readPassword(stdin io.Reader, stderr io.Writer, confirm bool) (string, error) {
	var pw string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		pw = string(b)
		if confirm {
			fmt.Fprint(stderr, "Again: ")
			b2, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			if err != nil {
				return "", err
			}
			if string(b2) != pw {
				return "", errors.New("passwords do not match")
			}
		}
	} else {
		r := bufio.NewReaderSize(io.LimitReader(stdin, 4096), 4096)
		line, err := r.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		pw = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	if len(pw) > store.MaxPasswordBytes {
		return "", fmt.Errorf("password is %d bytes; bcrypt uses only the first 72, so it is refused", len(pw))
	}
	return pw, nil
}

// readHash reads a password (see readPassword, asking twice on a terminal) and returns its bcrypt
// hash at cost.
func readHash(stdin io.Reader, stderr io.Writer, cost int) (string, error) {
	pw, err := readPassword(stdin, stderr, true)
	if err != nil {
		return "", err
	}
	return store.HashPassword([]byte(pw), cost)
}
