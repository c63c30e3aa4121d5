package cmd

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

func newCheckConfigCmd(sio IO, configFile *string) *cobra.Command {
	return &cobra.Command{
		Use:   "check-config",
		Short: "Validate the configuration, the users and the keys without serving",
		Long: `Load the configuration exactly as serve would (the --config file, else $TOKENGATE_CONFIG, else
./config.yaml, with TOKENGATE_* variables on top), open the users and the signing keys, and report
every problem at once, one line each naming the key. When all is well it names the file it read,
how many users it loaded and from where, and prints the main settings with secrets masked.
Exit status 1 when there is any problem.`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			return checkConfig(sio, *configFile)
		},
	}
}

// checkConfig loads and validates the configuration and opens the users file and keys, printing
// every problem; when all is well, it prints what it read and the main settings, secrets masked.
func checkConfig(sio IO, configFile string) error {
	path := configPath(configFile, sio.Env)
	cfg, err := loadConfig(path, sio.Env, sio.Stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(sio.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := build(cfg, log, false)
	if err != nil {
		fmt.Fprintln(sio.Stderr, "tokengate: config:", err)
		return ErrReported
	}
	a.close()
	w := sio.Stdout
	fmt.Fprintf(w, "config %s is valid\n", configName(path))
	fmt.Fprintf(w, "users: %d from %s\n", a.userCount, a.userSource)
	if a.userCount == 0 && cfg.Store.Kind == "memory" {
		fmt.Fprintln(w, "warning: no users are configured: nobody can log in and /readyz answers 503 (add store.users, or use a users file: docs/users.md)")
	}
	if cfg.Token.SecretGenerated {
		fmt.Fprintln(w, "warning: token.secret is not set: serve would sign with a random secret for that process only, "+
			"so tokens would die with the process and replicas would refuse each other's (set TOKENGATE_TOKEN_SECRET or token.secret_file)")
	}
	r := cfg.Redacted()
	secret := "***"
	if cfg.Token.SecretGenerated {
		secret = "(random per process)"
	} else if !strings.HasPrefix(r.Token.Algorithm, "HS") {
		secret = "(not used: " + r.Token.Algorithm + " signs with token.private_key_file)"
	}
	fmt.Fprintf(w, "server.addr: %s\ntoken.algorithm: %s\ntoken.secret: %s\ntoken.issuer: %s\ntoken.audience: %s\n"+
		"token.ttl: %s\ntoken.lookup: %s\nstore.kind: %s\nstate.backend: %s\n",
		r.Server.Addr, r.Token.Algorithm, secret, r.Token.Issuer, r.Token.Audience, r.Token.TTL,
		strings.Join(r.Token.Lookup, ","), r.Store.Kind, r.State.Backend)
	fmt.Fprintf(w, "gateway: %d rules, default_access %s\n", len(r.Gateway.Rules), r.Gateway.DefaultAccess)
	publicURL := r.Server.PublicURL
	if publicURL == "" {
		publicURL = "(from each request's scheme and host)"
	}
	ids := slices.Sorted(maps.Keys(r.Clients))
	for i, id := range ids {
		ids[i] = id + " (secret_sha256 " + r.Clients[id].SecretSHA256 + ")"
	}
	published := "(none: an HMAC secret is never published)"
	if !strings.HasPrefix(r.Token.Algorithm, "HS") {
		published = strings.Join(a.keys.KeyIDs(), ", ")
	}
	fmt.Fprintf(w, "server.public_url: %s\njwks kids: %s\nclients: %d %s\n",
		publicURL, published, len(ids), strings.Join(ids, ", "))
	if cfg.Store.Kind == "sql" {
		fmt.Fprintf(w, "store.dsn: %s\n", r.Store.DSN)
	}
	return nil
}
