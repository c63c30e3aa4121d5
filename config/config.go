// Package config loads and checks tokengate's configuration.
//
// Settings come from four layers, each overriding the one before it: built-in
// defaults (see [Defaults]), an optional YAML file, TOKENGATE_* environment
// variables and command-line overrides. [Load] resolves them into a [Config];
// [Config.Validate] then reports every invalid setting at once, one line per
// problem, each line starting with the configuration key it is about.
//
// Secrets (token.secret, user password hashes, the passwords in
// state.redis_url and store.dsn) never appear in an error or problem message; print a
// configuration only through [Config.Redacted].
//
// config is the only package that imports viper. Each call to [Load] uses its
// own viper instance, so it has no global state and is safe for concurrent use.
package config

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config is the whole tokengate configuration. The mapstructure tags are the
// configuration keys: Token.TTL is "token.ttl", Server.MaxBodyBytes is
// "server.max_body_bytes", and so on.
type Config struct {
	Server  Server  `mapstructure:"server"`
	Token   Token   `mapstructure:"token"`
	Store   Store   `mapstructure:"store"`
	Login   Login   `mapstructure:"login"`
	State   State   `mapstructure:"state"`
	Log     Log     `mapstructure:"log"`
	Metrics Metrics `mapstructure:"metrics"`
	Gateway Gateway `mapstructure:"gateway"`
	// Clients are the callers of POST /introspect, by case-sensitive client
	// id. Load reads them from the YAML file directly (key clients, like
	// store.users); they cannot be set from the environment.
	Clients map[string]ClientSpec `mapstructure:"-"`
}

// Server holds the HTTP server settings (keys server.*).
type Server struct {
	// Addr is the listen address, host:port (":8080").
	Addr string `mapstructure:"addr"`
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are the
	// http.Server timeouts of the same names.
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"`
	ReadTimeout       time.Duration `mapstructure:"read_timeout"`
	WriteTimeout      time.Duration `mapstructure:"write_timeout"`
	IdleTimeout       time.Duration `mapstructure:"idle_timeout"`
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// MaxBodyBytes caps a request body; larger bodies get 413.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
	// TrustedProxies lists the IPs and CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
	// PublicURL is the base URL of the discovery document's URLs
	// (https://auth.example.com); empty means the request's own scheme and host.
	PublicURL string `mapstructure:"public_url"`
}

// Token holds the token settings (keys token.*).
type Token struct {
	// Algorithm is one of HS256, HS384, HS512, RS256, ES256, EdDSA.
	Algorithm string `mapstructure:"algorithm"`
	// Secret is the HMAC secret. Load fills it from SecretFile when that is
	// set, or with a random value when both are empty (see SecretGenerated).
	Secret string `mapstructure:"secret"`
	// SecretFile names a file holding the HMAC secret (one trailing newline
	// is dropped). It may not be set together with Secret.
	SecretFile string `mapstructure:"secret_file"`
	// Issuer and Audience are the iss and aud claims, checked on every verify.
	Issuer   string `mapstructure:"issuer"`
	Audience string `mapstructure:"audience"`
	// TTL is the access-token lifetime.
	TTL time.Duration `mapstructure:"ttl"`
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration `mapstructure:"leeway"`
	// RefreshTTL is the refresh-token lifetime; it must exceed TTL.
	RefreshTTL time.Duration `mapstructure:"refresh_ttl"`
	// Lookup lists where tokens are read, in order: header, query, cookie.
	Lookup []string `mapstructure:"lookup"`
	// QueryParam is the query parameter read by the "query" source.
	QueryParam string `mapstructure:"query_param"`
	// CookieName is the cookie read by the "cookie" source.
	CookieName string `mapstructure:"cookie_name"`
	// CacheSize is the number of verified tokens cached; 0 turns the cache off.
	CacheSize int `mapstructure:"cache_size"`
	// PrivateKeyFile is the PEM signing key for RS256, ES256 and EdDSA.
	PrivateKeyFile string `mapstructure:"private_key_file"`
	// PreviousPublicKeyFiles are retired public keys that still verify.
	PreviousPublicKeyFiles []string `mapstructure:"previous_public_key_files"`
	// NextPublicKeyFiles are public keys published (and accepted) before
	// they sign, so that verifiers have them before their first token.
	NextPublicKeyFiles []string `mapstructure:"next_public_key_files"`
	// JWKSMaxAge is the Cache-Control max-age of the JWKS and the discovery
	// document: how long verifiers may keep them.
	JWKSMaxAge time.Duration `mapstructure:"jwks_max_age"`
	// SecretGenerated is true when Load made a random Secret because none was
	// configured; tokens then do not survive a restart, so main warns loudly.
	SecretGenerated bool `mapstructure:"-"`

	// secretFromFile is set by Load when Secret was read from SecretFile, so
	// Validate can tell that apart from both keys being configured.
	secretFromFile bool
}

// UserSpec is one configured user: the schema of a store.users entry and of
// an entry in a YAML users file.
type UserSpec struct {
	// PasswordHash is a bcrypt hash ($2a$, $2b$ or $2y$), never a password.
	PasswordHash string `yaml:"password_hash" mapstructure:"password_hash"`
	// Roles are the user's roles, put in the token's roles claim.
	Roles []string `yaml:"roles" mapstructure:"roles"`
	// Disabled users cannot log in or refresh.
	Disabled bool `yaml:"disabled" mapstructure:"disabled"`
}

// Store holds the credential-store settings (keys store.*).
type Store struct {
	// Kind is "memory" (users from Users), "file" (users from Path) or "sql"
	// (users in the database DSN).
	Kind string `mapstructure:"kind"`
	// Users are the users of the memory store, by case-sensitive name. Load
	// reads them from the YAML file directly (viper would lower-case the
	// names); they cannot be set from the environment.
	Users map[string]UserSpec `mapstructure:"-"`
	// Path is the users file of the file store (YAML or htpasswd).
	Path string `mapstructure:"path"`
	// Watch reloads the users file when it changes.
	Watch bool `mapstructure:"watch"`
	// DSN names the database of the sql store: sqlite:///path/users.db or
	// postgres://user:password@host:5432/db?sslmode=… (it may hold a password).
	DSN string `mapstructure:"dsn"`
	// MaxOpenConns bounds the sql store's connections to its database.
	MaxOpenConns int `mapstructure:"max_open_conns"`
	// MaxIdleConns is how many idle connections the sql store keeps.
	MaxIdleConns int `mapstructure:"max_idle_conns"`
	// ConnMaxLifetime closes older connections (0: never), so that the pool
	// follows a failed-over server or a new DNS answer.
	ConnMaxLifetime time.Duration `mapstructure:"conn_max_lifetime"`
	// QueryTimeout bounds every query of the sql store: an unreachable
	// database answers 503 in that time.
	QueryTimeout time.Duration `mapstructure:"query_timeout"`
}

// Login holds the login-hardening settings (keys login.*).
type Login struct {
	// MaxFailures failures within Window lock a (user, client IP) out.
	MaxFailures int           `mapstructure:"max_failures"`
	Window      time.Duration `mapstructure:"window"`
	// Lockout is how long a lock-out lasts.
	Lockout time.Duration `mapstructure:"lockout"`
	// MaxConcurrentHashes bounds concurrent bcrypt work; 0 means half of GOMAXPROCS (at least 1).
	MaxConcurrentHashes int `mapstructure:"max_concurrent_hashes"`
	// HashWait is how long a login waits for a bcrypt slot before a 503.
	HashWait time.Duration `mapstructure:"hash_wait"`
}

// State holds the shared-state settings (keys state.*).
type State struct {
	// Backend is "memory" or "redis".
	Backend string `mapstructure:"backend"`
	// RedisURL is a redis:// or rediss:// URL; it may hold a password.
	RedisURL string `mapstructure:"redis_url"`
}

// Log holds the logging settings (keys log.*).
type Log struct {
	// Level is debug, info, warn or error.
	Level string `mapstructure:"level"`
	// Format is text or json.
	Format string `mapstructure:"format"`
}

// Metrics holds the metrics settings (keys metrics.*).
type Metrics struct {
	// Enabled serves Prometheus metrics.
	Enabled bool `mapstructure:"enabled"`
}

// Gateway holds the forward-auth settings of /auth (keys gateway.*).
type Gateway struct {
	// Rules are the ordered access rules; the first that matches a request decides. Load reads
	// them from the YAML file directly, or from TOKENGATE_GATEWAY_RULES as YAML (or JSON) text.
	// Their grammar (hosts, paths, methods) is the gateway package's, which checks it: see
	// LoadValid's checks.
	Rules []GatewayRule `mapstructure:"-"`
	// DefaultAccess applies when no rule matches: public, authenticated or deny.
	DefaultAccess string `mapstructure:"default_access"`
	// UserHeader and RolesHeader name the answer headers that carry the token's subject and its
	// comma-joined roles; the proxy copies them onto the request to the upstream.
	UserHeader  string `mapstructure:"user_header"`
	RolesHeader string `mapstructure:"roles_header"`
}

// GatewayRule is one entry of gateway.rules: the schema of the YAML list.
type GatewayRule struct {
	// Hosts: exact host names or "*.example.com"; empty matches any host.
	Hosts []string `yaml:"hosts"`
	// Paths: "/api/" matches that prefix, "/exact" that path; empty matches any path.
	Paths []string `yaml:"paths"`
	// Methods: HTTP methods; empty matches any method.
	Methods []string `yaml:"methods"`
	// Access is public, authenticated or deny.
	Access string `yaml:"access"`
	// Roles: with authenticated, the token needs any one of them.
	Roles []string `yaml:"roles"`
}

// Defaults returns the built-in configuration: what Load returns with no
// file, environment or overrides, except that Token.Secret is empty (Load
// would generate one). It is not valid on its own for that reason.
func Defaults() *Config {
	return &Config{
		Server: Server{
			Addr:              ":8080",
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      10 * time.Second,
			IdleTimeout:       60 * time.Second,
			ShutdownTimeout:   10 * time.Second,
			MaxBodyBytes:      65536,
			TrustedProxies:    []string{},
		},
		Token: Token{
			Algorithm:              "HS256",
			Issuer:                 "tokengate",
			Audience:               "tokengate",
			TTL:                    15 * time.Minute,
			Leeway:                 5 * time.Second,
			RefreshTTL:             168 * time.Hour,
			Lookup:                 []string{"header", "query"},
			QueryParam:             "token",
			CacheSize:              10000,
			PreviousPublicKeyFiles: []string{},
			NextPublicKeyFiles:     []string{},
			JWKSMaxAge:             5 * time.Minute,
		},
		Store: Store{
			Kind:            "memory",
			Users:           map[string]UserSpec{},
			Watch:           true,
			MaxOpenConns:    10,
			MaxIdleConns:    10,
			ConnMaxLifetime: 30 * time.Minute,
			QueryTimeout:    5 * time.Second,
		},
		Login: Login{
			MaxFailures: 5,
			Window:      time.Minute,
			Lockout:     5 * time.Minute,
			HashWait:    2 * time.Second,
		},
		State:   State{Backend: "memory"},
		Log:     Log{Level: "info", Format: "text"},
		Metrics: Metrics{Enabled: true},
		Gateway: Gateway{
			Rules:         []GatewayRule{},
			DefaultAccess: "authenticated",
			UserHeader:    "X-Auth-User",
			RolesHeader:   "X-Auth-Roles",
		},
		Clients: map[string]ClientSpec{},
	}
}

// redactedValue replaces secrets in Redacted output.
const redactedValue = "***"

// Redacted returns a deep copy of c that is safe to print: Token.Secret,
// every user's PasswordHash, every client's SecretSHA256 and the passwords in
// State.RedisURL and Store.DSN are replaced by "***" when set. A URL that
// does not parse is replaced whole.
func (c *Config) Redacted() *Config {
	if c == nil {
		return nil
	}
	r := *c
	r.Server.TrustedProxies = slices.Clone(c.Server.TrustedProxies)
	r.Token.Lookup = slices.Clone(c.Token.Lookup)
	r.Token.PreviousPublicKeyFiles = slices.Clone(c.Token.PreviousPublicKeyFiles)
	r.Token.NextPublicKeyFiles = slices.Clone(c.Token.NextPublicKeyFiles)
	if c.Clients != nil {
		r.Clients = make(map[string]ClientSpec, len(c.Clients))
		for id, cl := range c.Clients {
			if cl.SecretSHA256 != "" {
				cl.SecretSHA256 = redactedValue
			}
			r.Clients[id] = cl
		}
	}
	if r.Token.Secret != "" {
		r.Token.Secret = redactedValue
	}
	if c.Store.Users != nil {
		r.Store.Users = make(map[string]UserSpec, len(c.Store.Users))
		for name, u := range maps.All(c.Store.Users) {
			u.Roles = slices.Clone(u.Roles)
			if u.PasswordHash != "" {
				u.PasswordHash = redactedValue
			}
			r.Store.Users[name] = u
		}
	}
	r.State.RedisURL = redactURL(c.State.RedisURL)
	r.Gateway.Rules = cloneRules(c.Gateway.Rules)
	r.Store.DSN = redactURL(c.Store.DSN)
	return &r
}

// redactURL masks the password of a Redis or database URL, in the user
// info or in a password query parameter.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return redactedValue
	}
	// url.URL escapes "*", so mark the spots with a plain placeholder first.
	const mark = "REDACTEDREDACTED"
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), mark)
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", mark)
		u.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(u.String(), mark, redactedValue)
}
