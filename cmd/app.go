package cmd

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/metrics"
	"github.com/tokengate/tokengate/routes"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/token"
)

// errNoUsers is the readiness problem of a memory store without users.
var errNoUsers = errors.New("no users are configured (store.users is empty)")

// app is everything serve and check-config build from a configuration.
type app struct {
	users    routes.Users
	admin    store.Admin
	hasher   *store.Hasher
	closers  []func() error
	keys     *token.KeySet
	clients  map[string]routes.Client
	state    state.Store
	ready    []routes.Check
	observer *metrics.Metrics
	// hashSlots is how many bcrypt compares may run at once (login.max_concurrent_hashes resolved).
	hashSlots int
	// userCount and userSource say how many users were loaded, and from where.
	userCount  int
	userSource string
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		_ = a.closers[i]()
	}
}

// build opens the credential store, the signing keys and the state backend. Its errors name the
// configuration key they are about.
func build(cfg *config.Config, log *slog.Logger, watch bool) (*app, error) {
	a := &app{}
	if cfg.Metrics.Enabled {
		a.observer = metrics.New()
	}
	hasher := store.NewHasher(cfg.Login.MaxConcurrentHashes, cfg.Login.HashWait)
	a.hashSlots, a.hasher = hasher.Slots(), hasher
	switch cfg.Store.Kind {
	case "sql":
		ctx, cancel := context.WithTimeout(context.Background(), sqlOpenTimeout)
		s, err := store.OpenSQL(ctx, cfg.Store.DSN, sqlOptions(cfg, hasher, log))
		var n int
		if err == nil {
			n, err = s.Count(ctx)
			if err != nil {
				s.Close()
			}
		}
		cancel()
		if err != nil {
			return nil, fmt.Errorf("store.dsn: %s", strings.TrimPrefix(err.Error(), "store: "))
		}
		a.users, a.admin, a.userCount = s, s, n
		a.userSource = "the " + s.Dialect() + " database " + cfg.Redacted().Store.DSN
		a.closers = append(a.closers, s.Close)
		a.ready = append(a.ready, routes.Check{Name: "store", Fn: func(ctx context.Context) error {
			// /readyz shows this text: the database's address stays in the log.
			if err := s.Ready(ctx); err != nil {
				log.Warn("user database does not answer", slog.String("error", err.Error()))
				return errors.New("the user database does not answer")
			}
			return nil
		}})
		if a.observer != nil {
			a.observer.Reload(true, n)
		}
	case "file":
		opts := store.FileOptions{Watch: watch && cfg.Store.Watch, Hasher: hasher, Logger: log}
		if a.observer != nil {
			opts.OnReload = a.observer.Reload
		}
		f, err := store.OpenFile(cfg.Store.Path, opts)
		if err != nil {
			return nil, fmt.Errorf("store.path: %s", strings.TrimPrefix(err.Error(), "store: "))
		}
		a.users, a.admin, a.userCount, a.userSource = f, f, f.Len(), "users file "+cfg.Store.Path
		a.closers = append(a.closers, f.Close)
		a.ready = append(a.ready, routes.Check{Name: "store", Fn: func(context.Context) error { return f.Ready() }})
	default:
		entries := make(map[string]store.Entry, len(cfg.Store.Users))
		for name, u := range cfg.Store.Users {
			entries[name] = store.Entry{PasswordHash: u.PasswordHash, Roles: u.Roles, Disabled: u.Disabled}
		}
		m, err := store.NewMemory(entries, hasher, log)
		if err != nil {
			return nil, fmt.Errorf("store.users: %s", strings.TrimPrefix(err.Error(), "store: "))
		}
		a.users, a.admin, a.userCount, a.userSource = m, m, m.Len(), "store.users in the configuration"
		a.ready = append(a.ready, routes.Check{Name: "store", Fn: func(context.Context) error {
			if m.Len() == 0 {
				return errNoUsers
			}
			return m.Ready()
		}})
		if a.observer != nil {
			a.observer.Reload(true, m.Len())
		}
	}

	var err error
	if strings.HasPrefix(cfg.Token.Algorithm, "HS") {
		a.keys, err = token.NewHMACKeys(cfg.Token.Algorithm, []byte(cfg.Token.Secret))
		if err != nil {
			err = fmt.Errorf("token.secret: %s", strings.TrimPrefix(err.Error(), "token: "))
		}
	} else {
		a.keys, err = token.LoadKeys(cfg.Token.Algorithm, cfg.Token.PrivateKeyFile, cfg.Token.PreviousPublicKeyFiles)
		if err != nil {
			err = fmt.Errorf("token.private_key_file: %s", strings.TrimPrefix(err.Error(), "token: "))
		} else if a.keys, err = a.keys.WithNextKeys(cfg.Token.NextPublicKeyFiles); err != nil {
			err = fmt.Errorf("token.next_public_key_files: %s", strings.TrimPrefix(err.Error(), "token: "))
		}
	}
	if err != nil {
		a.close()
		return nil, err
	}
	a.clients = make(map[string]routes.Client, len(cfg.Clients))
	for id, cl := range cfg.Clients {
		var c routes.Client
		if n, err := hex.Decode(c.SecretSHA256[:], []byte(cl.SecretSHA256)); err != nil || n != len(c.SecretSHA256) {
			a.close()
			return nil, fmt.Errorf("clients.%s.secret_sha256: must be 64 hex digits", id)
		}
		a.clients[id] = c
	}

	switch cfg.State.Backend {
	case "redis":
		r, err := state.NewRedis(cfg.State.RedisURL)
		if err != nil {
			a.close()
			return nil, fmt.Errorf("state.redis_url: %s", strings.TrimPrefix(err.Error(), "state: "))
		}
		a.state = r
		a.ready = append(a.ready, routes.Check{Name: "state", Fn: func(ctx context.Context) error {
			if r.Ping(ctx) != nil {
				return errors.New("the Redis backend does not answer")
			}
			return nil
		}})
	default:
		a.state = state.NewMemory(nil)
	}
	a.closers = append(a.closers, a.state.Close)
	return a, nil
}
