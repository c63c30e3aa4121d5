package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
)

// usersTarget is the store the users commands change, and how to say so.
type usersTarget struct {
	admin store.Admin
	name  string         // the users file, or the database with its password masked
	cfg   *config.Config // nil with --file: then no state backend is known
	close func()
	// create adds the first user of a users file that does not exist yet.
	create func(name string, e store.Entry) error
}

// openUsers opens the store the users commands work on: --file, else the configuration's users
// file (store.kind: file) or database (store.kind: sql). A configuration on the memory store gets
// an explanation instead of a bare error.
func openUsers(ctx context.Context, sio IO, configFile, file string) (*usersTarget, error) {
	var cfg *config.Config
	if file == "" {
		path := configPath(configFile, sio.Env)
		c, err := loadConfig(path, sio.Env, sio.Stderr)
		if err != nil {
			return nil, err
		}
		cfg = c
		switch {
		case c.Store.Kind == "file" && c.Store.Path != "":
			file = c.Store.Path
		case c.Store.Kind == "sql":
			return openSQLUsers(ctx, c)
		default:
			return nil, fmt.Errorf(`the configuration %s keeps its users in the memory store (store.kind: %s): they are
edited in the configuration itself, under store.users (make each password_hash with
"tokengate hash-password"), and the users commands do not change it.
To manage users with these commands, keep them in a users file or a database:
  tokengate users --file users.yaml add alice --role admin   (creates users.yaml)
then set store.kind: file and store.path: users.yaml in the configuration, or store.kind: sql
and store.dsn (see docs/users.md)`, configName(path), c.Store.Kind)
		}
	}
	t := &usersTarget{name: file, cfg: cfg, close: func() {}}
	f, err := store.OpenFile(file, store.FileOptions{Logger: slog.New(slog.DiscardHandler)})
	if errors.Is(err, fs.ErrNotExist) {
		// Only add may make the file; the other commands say that it is missing.
		t.admin = missingFile{path: file, err: err}
		t.create = func(name string, e store.Entry) error { return store.AddUser(file, name, e) }
		return t, nil
	}
	if err != nil {
		return nil, err
	}
	t.admin, t.close = f, func() { _ = f.Close() }
	return t, nil
}

func openSQLUsers(ctx context.Context, c *config.Config) (*usersTarget, error) {
	ctx, cancel := context.WithTimeout(ctx, sqlOpenTimeout)
	defer cancel()
	s, err := store.OpenSQL(ctx, c.Store.DSN, sqlOptions(c, nil, nil))
	if err != nil {
		return nil, fmt.Errorf("store.dsn: %s", strings.TrimPrefix(err.Error(), "store: "))
	}
	return &usersTarget{admin: s, name: c.Redacted().Store.DSN, cfg: c, close: func() { _ = s.Close() }}, nil
}

// missingFile is a users file that does not exist: every command but add fails with its error.
type missingFile struct {
	store.Admin
	path string
	err  error
}

func (m missingFile) AddUser(context.Context, string, store.Entry) error           { return m.err }
func (m missingFile) ListUsers(context.Context, string, int) ([]store.User, error) { return nil, m.err }
func (m missingFile) Lookup(context.Context, string) (store.User, error)           { return store.User{}, m.err }
func (m missingFile) SetPassword(context.Context, string, string) error            { return m.err }
func (m missingFile) SetRoles(context.Context, string, []string) error             { return m.err }
func (m missingFile) SetDisabled(context.Context, string, bool) error              { return m.err }
func (m missingFile) DeleteUser(context.Context, string) error                     { return m.err }

// readHashFile reads a bcrypt hash from the first line of path. The hash was made before (it is a
// user's moving from another store), so the rules of new passwords cannot apply to it.
func readHashFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	h := strings.TrimSuffix(line, "\r")
	if !strings.HasPrefix(h, "$2") {
		return "", fmt.Errorf("%s: the first line is not a bcrypt hash ($2a$, $2b$ or $2y$)", path)
	}
	return h, nil
}

// bufferedFile hides that a password file is an *os.File, so that readPassword reads its first
// line instead of asking a terminal.
type bufferedFile struct{ f *os.File }

func (b bufferedFile) Read(p []byte) (int, error) { return b.f.Read(p) }

// endSessions ends every session of user when the configuration's state backend is shared
// (Redis), as the admin API does; with the in-process memory backend it says that sessions end at
// their expiry.
func (t *usersTarget) endSessions(ctx context.Context, sio IO, user string) error {
	if t.cfg == nil || t.cfg.State.Backend != "redis" {
		fmt.Fprintf(sio.Stderr, "note: %s's sessions end when their tokens expire: only a shared state backend "+
			"(state.backend: redis in the configuration) lets this command end them at once\n", user)
		return nil
	}
	r, err := state.NewRedis(t.cfg.State.RedisURL)
	if err != nil {
		return fmt.Errorf("state.redis_url: %s", strings.TrimPrefix(err.Error(), "state: "))
	}
	defer r.Close()
	now := time.Now()
	span := t.cfg.Token.RefreshTTL + t.cfg.Token.Leeway + time.Second
	if err := r.CutOff(ctx, user, now, now.Add(span)); err != nil {
		return fmt.Errorf("%s was changed, but their sessions could not be ended (run the command again): %w", user, err)
	}
	fmt.Fprintf(sio.Stdout, "ended every session of %s\n", user)
	return nil
}

// readNewPassword reads a new password of user name (see readPassword) from stdin, or from the
// first line of passwordFile when it is set, and checks it.
func readNewPassword(sio IO, name, passwordFile string) (string, error) {
	in := sio.Stdin
	if passwordFile != "" {
		f, err := os.Open(passwordFile)
		if err != nil {
			return "", err
		}
		defer f.Close()
		in = bufferedFile{f}
	}
	pw, err := readPassword(in, sio.Stderr, true)
	if err != nil {
		return "", err
	}
	if err := store.ValidatePassword(name, pw); err != nil {
		return "", err
	}
	return pw, nil
}

func newUsersCmd(sio IO, configFile *string) *cobra.Command {
	var file string
	users := &cobra.Command{
		Use:   "users",
		Short: "Add, change, disable, remove and list users of a users file or database",
		Long: `Manage the users of the store in the configuration: a users file (store.kind: file; YAML, or
Apache htpasswd for any other extension) or a database (store.kind: sql, store.dsn). --file names a
users file instead. A running tokengate sees the change at once (it watches its users file, and
reads the database on every login).

Passwords are read on stdin, never from the command line: 8 to 72 bytes, not the user name. list
never prints hashes. passwd, disable and delete end the user's sessions at once when the
configuration's state backend is Redis; with the memory backend they end at their expiry.`,
		Example: `  printf '%s\n' "$PASSWORD" | tokengate users --file users.yaml add alice --role admin
  tokengate users list                          (the store of ./config.yaml)
  tokengate users roles alice admin ops
  TOKENGATE_STORE_KIND=sql TOKENGATE_STORE_DSN=sqlite:///var/lib/tokengate/users.db tokengate users list`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return UsageError{"users needs a command: add, passwd, roles, disable, enable, delete or list (see tokengate users --help)"}
		},
	}
	users.PersistentFlags().StringVar(&file, "file", "", "users file (default: the store of the configuration)")

	// run opens the target, runs fn on it and closes it.
	run := func(c *cobra.Command, fn func(ctx context.Context, t *usersTarget) error) error {
		ctx := c.Context()
		t, err := openUsers(ctx, sio, *configFile, file)
		if err != nil {
			return err
		}
		defer t.close()
		return fn(ctx, t)
	}

	var roles []string
	var disabled, ifMissing bool
	var cost int
	var passwordFile, hashFile string
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a user (password on stdin); creates a users file that does not exist",
		Args:  exactArgs(1, "a user name"),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			if err := store.ValidateName(name); err != nil {
				return err
			}
			return run(c, func(ctx context.Context, t *usersTarget) error {
				var h string
				var err error
				if hashFile != "" {
					h, err = readHashFile(hashFile)
				} else {
					var pw string
					if pw, err = readNewPassword(sio, name, passwordFile); err == nil {
						h, err = store.HashPassword([]byte(pw), cost)
					}
				}
				if err != nil {
					return err
				}
				e := store.Entry{PasswordHash: h, Roles: roles, Disabled: disabled}
				if t.create != nil {
					err = t.create(name, e)
				} else {
					err = t.admin.AddUser(ctx, name, e)
				}
				if errors.Is(err, store.ErrUserExists) && ifMissing {
					_, err = fmt.Fprintf(sio.Stdout, "%s exists in %s already: left as it is\n", name, t.name)
					return err
				}
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(sio.Stdout, "added %s to %s\n", name, t.name)
				return err
			})
		},
	}
	add.Flags().StringArrayVar(&roles, "role", nil, "role to grant (repeat for more)")
	add.Flags().BoolVar(&disabled, "disabled", false, "add the user disabled (cannot log in)")
	add.Flags().IntVar(&cost, "cost", defaultCost, costUsage)
	add.Flags().StringVar(&passwordFile, "password-file", "", "read the password from the first line of this file instead of stdin (a container secret)")
	add.Flags().StringVar(&hashFile, "password-hash-file", "", "take the user's bcrypt hash, made before, from the first line of this file (moving a user from a users file or the configuration)")
	add.MarkFlagsMutuallyExclusive("password-file", "password-hash-file")
	add.Flags().BoolVar(&ifMissing, "if-missing", false, "succeed without a change when the user exists (for a seeding job that runs at every start)")

	var passwdCost int
	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's password (read on stdin) and end their sessions",
		Args:  exactArgs(1, "a user name"),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			return run(c, func(ctx context.Context, t *usersTarget) error {
				if _, err := t.admin.Lookup(ctx, name); err != nil {
					return err
				}
				pw, err := readNewPassword(sio, name, "")
				if err != nil {
					return err
				}
				h, err := store.HashPassword([]byte(pw), passwdCost)
				if err != nil {
					return err
				}
				if err := t.admin.SetPassword(ctx, name, h); err != nil {
					return err
				}
				fmt.Fprintf(sio.Stdout, "changed the password of %s in %s\n", name, t.name)
				return t.endSessions(ctx, sio, name)
			})
		},
	}
	passwd.Flags().IntVar(&passwdCost, "cost", defaultCost, costUsage)

	setRoles := &cobra.Command{
		Use:   "roles NAME [ROLE...]",
		Short: "Replace a user's roles (none: no roles) and end their sessions",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) < 1 {
				return UsageError{fmt.Sprintf("%s wants a user name and its roles (see %s --help)", c.CommandPath(), c.CommandPath())}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			name, roles := args[0], args[1:]
			return run(c, func(ctx context.Context, t *usersTarget) error {
				if err := t.admin.SetRoles(ctx, name, roles); err != nil {
					return err
				}
				fmt.Fprintf(sio.Stdout, "set the roles of %s in %s to [%s]\n", name, t.name, strings.Join(roles, " "))
				// Tokens carry the roles they were issued with: old ones must not outlive the change.
				return t.endSessions(ctx, sio, name)
			})
		},
	}

	setDisabled := func(use, short, done string, disable bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " NAME",
			Short: short,
			Args:  exactArgs(1, "a user name"),
			RunE: func(c *cobra.Command, args []string) error {
				name := args[0]
				return run(c, func(ctx context.Context, t *usersTarget) error {
					if err := t.admin.SetDisabled(ctx, name, disable); err != nil {
						return err
					}
					fmt.Fprintf(sio.Stdout, "%s %s in %s\n", done, name, t.name)
					if !disable {
						return nil
					}
					return t.endSessions(ctx, sio, name)
				})
			},
		}
	}
	disable := setDisabled("disable", "Disable a user (cannot log in) and end their sessions", "disabled", true)
	enable := setDisabled("enable", "Enable a disabled user", "enabled", false)

	remove := &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"remove"},
		Short:   "Remove a user and end their sessions",
		Args:    exactArgs(1, "a user name"),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			return run(c, func(ctx context.Context, t *usersTarget) error {
				if err := t.admin.DeleteUser(ctx, name); err != nil {
					return err
				}
				fmt.Fprintf(sio.Stdout, "removed %s from %s\n", name, t.name)
				return t.endSessions(ctx, sio, name)
			})
		},
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List the users with their roles (never their hashes), page by page",
		Args:  noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return run(c, func(ctx context.Context, t *usersTarget) error {
				// Page by page, so that a table of any size is never held in memory at once.
				for after := ""; ; {
					page, err := t.admin.ListUsers(ctx, after, store.MaxPage)
					if err != nil {
						return err
					}
					for _, u := range page {
						line := u.Name
						if len(u.Roles) > 0 {
							line += "\troles=" + strings.Join(u.Roles, ",")
						}
						if u.Disabled {
							line += "\tdisabled"
						}
						if _, err := fmt.Fprintln(sio.Stdout, line); err != nil {
							return err
						}
					}
					if len(page) < store.MaxPage {
						return nil
					}
					after = page[len(page)-1].Name
				}
			})
		},
	}
	users.AddCommand(add, passwd, setRoles, disable, enable, remove, list)
	return users
}

// sqlOpenTimeout bounds opening the database at start: connecting, and migrating — which may
// wait up to a minute for another replica that migrates at the same time.
const sqlOpenTimeout = 90 * time.Second

// sqlOptions are the sql store's settings from the configuration.
func sqlOptions(c *config.Config, hasher *store.Hasher, log *slog.Logger) store.SQLOptions {
	// In the configuration 0 means none (no idle connection, no lifetime limit); in
	// store.SQLOptions 0 means the default and a negative value none.
	lifetime, idle := c.Store.ConnMaxLifetime, c.Store.MaxIdleConns
	if lifetime == 0 {
		lifetime = -1
	}
	if idle == 0 {
		idle = -1
	}
	return store.SQLOptions{
		Hasher:          hasher,
		Logger:          log,
		MaxOpenConns:    c.Store.MaxOpenConns,
		MaxIdleConns:    idle,
		ConnMaxLifetime: lifetime,
		Timeout:         c.Store.QueryTimeout,
	}
}
