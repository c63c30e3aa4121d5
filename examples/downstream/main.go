// Command downstream is a small Gin service that trusts tokengate's access tokens without sharing
// a secret with it: it verifies them with package verify, which reads tokengate's discovery
// document and JWKS, and guards its routes with tokengate's own middleware.
//
// Configuration, from the environment:
//
//	TOKENGATE_URL            tokengate's base URL, e.g. http://tokengate:8080 (required)
//	TOKENGATE_ISSUER         the iss of tokengate's tokens, when token.issuer is not that URL
//	TOKENGATE_AUDIENCE       the aud tokens must carry (default tokengate)
//	ADDR                     listen address (default :8081)
//	TOKENGATE_CLIENT_ID      with TOKENGATE_CLIENT_SECRET: ask tokengate's /introspect about
//	TOKENGATE_CLIENT_SECRET  every token, so that a logout is honoured within 5 seconds
//
// Routes: GET /hello (any valid token, from the Authorization header or ?token=) → {"user": sub};
// GET /admin (role admin) → {"user": sub}; GET /healthz; GET /readyz (503 until tokengate's keys
// are loaded). Errors follow RFC 6750, as tokengate's own.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Environ(), os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "downstream:", err)
		os.Exit(1)
	}
}

// config is the service's configuration, read from the environment.
type config struct {
	url, issuer, audience, addr string
	clientID, clientSecret      string
}

// loadConfig reads env and reports every problem at once, naming the variable.
func loadConfig(env []string) (config, error) {
	get := func(name, def string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
				return v
			}
		}
		return def
	}
	c := config{
		url:          get("TOKENGATE_URL", ""),
		issuer:       get("TOKENGATE_ISSUER", ""),
		audience:     get("TOKENGATE_AUDIENCE", "tokengate"),
		addr:         get("ADDR", ":8081"),
		clientID:     get("TOKENGATE_CLIENT_ID", ""),
		clientSecret: get("TOKENGATE_CLIENT_SECRET", ""),
	}
	var problems []string
	if c.url == "" {
		problems = append(problems, "TOKENGATE_URL: required (tokengate's base URL, e.g. http://tokengate:8080)")
	}
	if c.audience == "" {
		problems = append(problems, "TOKENGATE_AUDIENCE: must not be empty")
	}
	if (c.clientID == "") != (c.clientSecret == "") {
		problems = append(problems, "TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET: set both or neither")
	}
	if len(problems) > 0 {
		return c, errors.New(strings.Join(problems, "\n"))
	}
	return c, nil
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, env []string, stderr io.Writer) error {
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	opts := verify.Options{Issuer: cfg.url, TokenIssuer: cfg.issuer, Audience: cfg.audience, Logger: log}
	if cfg.clientID != "" {
		opts.Introspection = &verify.Introspection{ClientID: cfg.clientID, ClientSecret: cfg.clientSecret}
	}
	v, err := verify.New(ctx, opts)
	if err != nil {
		return err
	}
	defer v.Close()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newHandler(v, log),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("listening", "addr", ln.Addr().String(), "tokengate", cfg.url, "introspection", opts.Introspection != nil)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// keys is what newHandler needs of a verify.Verifier.
type keys interface {
	middleware.Verifier
	Ready() bool
}

// newHandler lists every route.
func newHandler(v keys, log *slog.Logger) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(middleware.AccessLog(log, "token"), gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, err any) {
		log.Error("panic", "err", fmt.Sprint(err), "path", c.Request.URL.Path)
		middleware.WriteError(c, http.StatusInternalServerError, "internal_error", "internal error")
	}))
	r.NoRoute(func(c *gin.Context) { middleware.WriteError(c, http.StatusNotFound, "not_found", "no such route") })
	r.NoMethod(func(c *gin.Context) {
		middleware.WriteError(c, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed on this route")
	})

	auth := middleware.Auth(v, middleware.Lookup{
		Sources:    []string{middleware.SourceHeader, middleware.SourceQuery},
		QueryParam: "token",
	})
	r.GET("/hello", auth, handleHello)
	r.GET("/admin", auth, middleware.RequireRole("admin"), handleHello)
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", func(c *gin.Context) {
		if !v.Ready() {
			middleware.WriteError(c, http.StatusServiceUnavailable, "unavailable", "tokengate's keys are not loaded yet")
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
	return r
}

// handleHello answers with the user the token names.
func handleHello(c *gin.Context) {
	claims, ok := middleware.ClaimsFrom(c)
	if !ok {
		middleware.WriteError(c, http.StatusInternalServerError, "internal_error", "no claims")
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": claims.Subject})
}
