package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"

	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/metrics"
	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/routes"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/token"
)

// configPath picks the config file: the --config flag, else $TOKENGATE_CONFIG, else ./config.yaml
// when it exists, else none (built-in defaults).
func configPath(flagValue string, env []string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := lookupEnv(env, "TOKENGATE_CONFIG"); v != "" {
		return v
	}
	if _, err := os.Stat("config.yaml"); err == nil {
		return "config.yaml"
	}
	return ""
}

func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// loadConfig loads and validates the configuration, printing every problem (one line each, naming
// the key) to stderr.
func loadConfig(path string, env []string, stderr io.Writer) (*config.Config, error) {
	cfg, err := config.Load(path, env, nil)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, "tokengate: config:", line)
		}
		return nil, errReported
	}
	return cfg, nil
}

// newLogger returns the service's logger: slog's text or JSON handler at the configured level,
// writing each record to w with one Write as it is logged.
func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// app is everything serve and check-config build from a configuration.
type app struct {
	users    routes.Users
	closers  []func() error
	keys     *token.KeySet
	state    state.Store
	ready    []routes.Check
	observer *metrics.Metrics
	// hashSlots is how many bcrypt compares may run at once (login.max_concurrent_hashes resolved).
	hashSlots int
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		_ = a.closers[i]()
	}
}

// build opens the credential store, the signing keys and the state backend.
func build(cfg *config.Config, log *slog.Logger, watch bool) (*app, error) {
	a := &app{}
	if cfg.Metrics.Enabled {
		a.observer = metrics.New()
	}
	hasher := store.NewHasher(cfg.Login.MaxConcurrentHashes, cfg.Login.HashWait)
	a.hashSlots = hasher.Slots()
	switch cfg.Store.Kind {
	case "file":
		opts := store.FileOptions{Watch: watch && cfg.Store.Watch, Hasher: hasher, Logger: log}
		if a.observer != nil {
			opts.OnReload = a.observer.Reload
		}
		f, err := store.OpenFile(cfg.Store.Path, opts)
		if err != nil {
			return nil, fmt.Errorf("store.path: %w", err)
		}
		a.users = f
		a.closers = append(a.closers, f.Close)
		a.ready = append(a.ready, routes.Check{Name: "store", Fn: func(context.Context) error { return f.Ready() }})
	default:
		entries := make(map[string]store.Entry, len(cfg.Store.Users))
		for name, u := range cfg.Store.Users {
			entries[name] = store.Entry{PasswordHash: u.PasswordHash, Roles: u.Roles, Disabled: u.Disabled}
		}
		m, err := store.NewMemory(entries, hasher, log)
		if err != nil {
			return nil, fmt.Errorf("store.users: %w", err)
		}
		a.users = m
		a.ready = append(a.ready, routes.Check{Name: "store", Fn: func(context.Context) error { return m.Ready() }})
		if a.observer != nil {
			a.observer.Reload(true, m.Len())
		}
	}

	var err error
	if strings.HasPrefix(cfg.Token.Algorithm, "HS") {
		a.keys, err = token.NewHMACKeys(cfg.Token.Algorithm, []byte(cfg.Token.Secret))
		if err != nil {
			err = fmt.Errorf("token.secret: %w", err)
		}
	} else {
		a.keys, err = token.LoadKeys(cfg.Token.Algorithm, cfg.Token.PrivateKeyFile, cfg.Token.PreviousPublicKeyFiles)
		if err != nil {
			err = fmt.Errorf("token.private_key_file: %w", err)
		}
	}
	if err != nil {
		a.close()
		return nil, err
	}

	switch cfg.State.Backend {
	case "redis":
		r, err := state.NewRedis(cfg.State.RedisURL)
		if err != nil {
			a.close()
			return nil, fmt.Errorf("state.redis_url: %w", err)
		}
		a.state = r
		a.ready = append(a.ready, routes.Check{Name: "state", Fn: r.Ping})
	default:
		a.state = state.NewMemory(nil)
	}
	a.closers = append(a.closers, a.state.Close)
	return a, nil
}

func serve(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "config file (default $TOKENGATE_CONFIG, else ./config.yaml)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve: unexpected argument %q", fs.Arg(0))}
	}
	cfg, err := loadConfig(configPath(*cfgFile, env), env, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	if cfg.Token.SecretGenerated {
		log.Warn("WARNING: token.secret is not set; using a random secret for this process only. " +
			"Tokens will not survive a restart and replicas will not accept each other's tokens. " +
			"Set TOKENGATE_TOKEN_SECRET (32+ bytes) or token.secret_file for real use.")
	}
	a, err := build(cfg, log, true)
	if err != nil {
		return err
	}
	defer a.close()

	opts := token.Options{
		Issuer: cfg.Token.Issuer, Audience: cfg.Token.Audience,
		TTL: cfg.Token.TTL, Leeway: cfg.Token.Leeway,
		CacheSize: cfg.Token.CacheSize, Revoked: a.state,
	}
	deps := routes.Deps{
		Log:      log,
		Users:    a.users,
		Issuer:   token.NewIssuer(a.keys, opts),
		Verifier: token.NewVerifier(a.keys, opts),
		JWKS:     a.keys.JWKS(),
		State:    a.state,
		Lookup: middleware.Lookup{
			Sources: cfg.Token.Lookup, QueryParam: cfg.Token.QueryParam, CookieName: cfg.Token.CookieName,
		},
		Login: routes.LoginPolicy{
			MaxFailures: cfg.Login.MaxFailures, Window: cfg.Login.Window, Lockout: cfg.Login.Lockout,
		},
		RefreshTTL:     cfg.Token.RefreshTTL,
		Leeway:         cfg.Token.Leeway,
		MaxBodyBytes:   cfg.Server.MaxBodyBytes,
		TrustedProxies: cfg.Server.TrustedProxies,
		Ready:          a.ready,
	}
	if a.observer != nil {
		deps.Observe = a.observer
		deps.Metrics = a.observer.Handler()
	}
	handler, err := routes.New(deps)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("server.addr: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       cfg.Server.ReadTimeout,
		WriteTimeout:      cfg.Server.WriteTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("version", version),
		slog.String("algorithm", cfg.Token.Algorithm), slog.String("store", cfg.Store.Kind),
		slog.String("state", cfg.State.Backend), slog.Int("gomaxprocs", runtime.GOMAXPROCS(0)),
		slog.Int("hash_slots", a.hashSlots))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", slog.Duration("timeout", cfg.Server.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
