package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/token"
)

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
	if len(pw) > 72 {
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

func hashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cost := fs.Int("cost", 12, "bcrypt cost (10-31)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	h, err := readHash(stdin, stderr, *cost)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, h)
	return nil
}

// checkConfig loads and validates the configuration and opens the users file and keys, printing
// every problem; it prints the effective configuration with secrets masked when all is well.
func checkConfig(args, env []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "config file")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	path := configPath(*cfgFile, env)
	cfg, err := loadConfig(path, env, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := build(cfg, log, false)
	if err != nil {
		fmt.Fprintln(stderr, "tokengate: config:", err)
		return errReported
	}
	a.close()
	if path == "" {
		path = "(built-in defaults)"
	}
	fmt.Fprintf(stdout, "config %s is valid\n", path)
	r := cfg.Redacted()
	fmt.Fprintf(stdout, "server.addr: %s\ntoken.algorithm: %s\ntoken.secret: ***\ntoken.issuer: %s\ntoken.audience: %s\n"+
		"token.ttl: %s\ntoken.lookup: %s\nstore.kind: %s\nstate.backend: %s\n",
		r.Server.Addr, r.Token.Algorithm, r.Token.Issuer, r.Token.Audience, r.Token.TTL,
		strings.Join(r.Token.Lookup, ","), r.Store.Kind, r.State.Backend)
	return nil
}

// users edits the users file named by store.path (or --file).
func users(args, env []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "config file")
	file := fs.String("file", "", "users file (default: store.path from the config)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError{"users: want add, passwd, remove or list"}
	}
	path := *file
	if path == "" {
		cfg, err := loadConfig(configPath(*cfgFile, env), env, stderr)
		if err != nil {
			return err
		}
		if cfg.Store.Kind != "file" || cfg.Store.Path == "" {
			return errors.New("users: the configuration has no users file (store.kind: file, store.path); use --file")
		}
		path = cfg.Store.Path
	}
	sub, rest := rest[0], rest[1:]
	sf := flag.NewFlagSet("users "+sub, flag.ContinueOnError)
	sf.SetOutput(stderr)
	var roles multiFlag
	disabled := false
	cost := 12
	if sub == "add" {
		sf.Var(&roles, "role", "role to grant (repeatable)")
		sf.BoolVar(&disabled, "disabled", false, "add the user disabled")
	}
	if sub == "add" || sub == "passwd" {
		sf.IntVar(&cost, "cost", 12, "bcrypt cost")
	}
	name, err := nameAndFlags(sf, rest, sub != "list")
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		h, err := readHash(stdin, stderr, cost)
		if err != nil {
			return err
		}
		if err := store.AddUser(path, name, store.Entry{PasswordHash: h, Roles: roles, Disabled: disabled}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s to %s\n", name, path)
	case "passwd":
		h, err := readHash(stdin, stderr, cost)
		if err != nil {
			return err
		}
		if err := store.SetPassword(path, name, h); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "changed the password of %s in %s\n", name, path)
	case "remove":
		if err := store.RemoveUser(path, name); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s from %s\n", name, path)
	case "list":
		list, err := store.ListUsers(path)
		if err != nil {
			return err
		}
		for _, u := range list {
			line := u.Name
			if len(u.Roles) > 0 {
				line += "\troles=" + strings.Join(u.Roles, ",")
			}
			if u.Disabled {
				line += "\tdisabled"
			}
			fmt.Fprintln(stdout, line)
		}
	default:
		return usageError{fmt.Sprintf("users: unknown subcommand %q", sub)}
	}
	return nil
}

// nameAndFlags parses "NAME [flags]" or "[flags] NAME".
func nameAndFlags(fs *flag.FlagSet, args []string, wantName bool) (string, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", usageError{err.Error()}
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return "", usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if wantName && name == "" {
		return "", usageError{"a user name is required"}
	}
	return name, nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// keygen writes a new PKCS#8 private key for RS256, ES256 or EdDSA with mode 0600. It never
// overwrites an existing file.
func keygen(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	alg := fs.String("alg", "ES256", "RS256, ES256 or EdDSA")
	out := fs.String("out", "", "file to write (required)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *out == "" {
		return usageError{"keygen: --out FILE is required"}
	}
	pemBytes, err := token.GenerateKey(*alg)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if _, err := f.Write(pemBytes); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote a new %s private key to %s (mode 0600)\n", *alg, *out)
	return nil
}

// healthcheck exits 0 when /healthz answers 200: the Docker HEALTHCHECK of an image without curl.
func healthcheck(ctx context.Context, args, env []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	url := fs.String("url", "", "URL to probe (default http://127.0.0.1:<port of server.addr>/healthz)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *url == "" {
		port := "8080"
		if addr := lookupEnv(env, "TOKENGATE_SERVER_ADDR"); addr != "" {
			if _, p, err := net.SplitHostPort(addr); err == nil && p != "" {
				port = p
			}
		}
		*url = "http://127.0.0.1:" + port + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", *url, resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
