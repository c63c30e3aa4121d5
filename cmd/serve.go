package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/routes"
	"github.com/tokengate/tokengate/token"
)

func newServeCmd(sio IO, configFile *string) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the service (the default command)",
		Long: `Run the service on the configuration: the --config file, else $TOKENGATE_CONFIG, else
./config.yaml if it exists, else the built-in defaults; TOKENGATE_* environment variables override
the file. An invalid setting stops the start with one line per problem, naming the key.
SIGINT or SIGTERM shut it down gracefully, within server.shutdown_timeout.`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return serve(c.Context(), sio, *configFile)
		},
	}
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

// serve runs the service until ctx is cancelled, then shuts it down gracefully.
func serve(ctx context.Context, sio IO, configFile string) error {
	path := configPath(configFile, sio.Env)
	cfg, err := loadConfig(path, sio.Env, sio.Stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, sio.Stderr)
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
	if a.userCount == 0 && cfg.Store.Kind == "memory" {
		log.Warn("WARNING: no users are configured, so nobody can log in and /readyz answers 503. " +
			"Add users under store.users in the configuration, or mount a users file and set " +
			"store.kind: file and store.path (see docs/users.md).")
	}

	opts := token.Options{
		Issuer: cfg.Token.Issuer, Audience: cfg.Token.Audience,
		TTL: cfg.Token.TTL, Leeway: cfg.Token.Leeway,
		CacheSize: cfg.Token.CacheSize, Revoked: a.state,
	}
	gw, err := newGateway(cfg.Gateway)
	if err != nil {
		return err
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
		Gateway:        gw,
		Discovery: routes.Discovery{
			Issuer: cfg.Token.Issuer, PublicURL: cfg.Server.PublicURL,
			Algorithms: a.keys.Algorithms(), MaxAge: cfg.Token.JWKSMaxAge,
		},
		Clients: a.clients,
		Admin:   a.admin,
		Hasher:  a.hasher,
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
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("version", Version()),
		slog.String("config", configName(path)), slog.String("algorithm", cfg.Token.Algorithm),
		slog.String("store", cfg.Store.Kind), slog.String("users_from", a.userSource), slog.Int("users", a.userCount), slog.String("state", cfg.State.Backend),
		slog.Int("gomaxprocs", runtime.GOMAXPROCS(0)), slog.Int("hash_slots", a.hashSlots))

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
