package config

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ValidationError lists every problem found in a configuration, one line per
// problem, each starting with the configuration key it is about, e.g.
// "token.ttl: must be positive". No problem contains a secret's value.
type ValidationError struct {
	// Problems are the problem lines, in a stable order.
	Problems []string
}

// Error returns the problems joined by newlines.
func (e *ValidationError) Error() string {
	return strings.Join(e.Problems, "\n")
}

// Constants of the contract that Validate checks against.
const (
	minSecretBytes = 32
	maxLeeway      = 5 * time.Minute
)

// algorithms are the accepted token.algorithm values, in message order.
var algorithms = []string{"HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA"}

// lookupSources are the accepted token.lookup entries.
var lookupSources = []string{"header", "query", "cookie"}

func isHMAC(alg string) bool {
	return alg == "HS256" || alg == "HS384" || alg == "HS512"
}

// Validate checks every setting and returns nil or a *ValidationError that
// lists every problem at once (not just the first), each naming its key.
func (c *Config) Validate() error {
	if c == nil {
		return &ValidationError{Problems: []string{"config: missing"}}
	}
	var p problemList
	c.validateServer(&p)
	c.validateToken(&p)
	c.validateStore(&p)
	c.validateLogin(&p)
	c.validateState(&p)
	c.validateLog(&p)
	c.validateGateway(&p)
	c.validateClients(&p)
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}

// problemList collects problem lines.
type problemList []string

func (p *problemList) add(key, format string, args ...any) {
	*p = append(*p, key+": "+fmt.Sprintf(format, args...))
}

func (p *problemList) positive(key string, d time.Duration) {
	if d <= 0 {
		p.add(key, "must be positive (got %s)", d)
	}
}

func (p *problemList) required(key, value, why string) {
	if strings.TrimSpace(value) == "" {
		p.add(key, "required%s", why)
	}
}

func (p *problemList) oneOf(key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		p.add(key, "%q is not one of %s", value, strings.Join(allowed, ", "))
	}
}

func (c *Config) validateServer(p *problemList) {
	s := c.Server
	if host, port, err := net.SplitHostPort(s.Addr); err != nil {
		p.add("server.addr", "%q is not host:port (e.g. \":8080\")", s.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add("server.addr", "port %q is not a number from 0 to 65535", port)
	} else if strings.ContainsAny(host, " \t") {
		p.add("server.addr", "host %q is not valid", host)
	}
	p.positive("server.read_header_timeout", s.ReadHeaderTimeout)
	p.positive("server.read_timeout", s.ReadTimeout)
	p.positive("server.write_timeout", s.WriteTimeout)
	p.positive("server.idle_timeout", s.IdleTimeout)
	p.positive("server.shutdown_timeout", s.ShutdownTimeout)
	if s.MaxBodyBytes <= 0 {
		p.add("server.max_body_bytes", "must be positive (got %d)", s.MaxBodyBytes)
	}
	for i, proxy := range s.TrustedProxies {
		if _, err := netip.ParseAddr(proxy); err == nil {
			continue
		}
		if _, err := netip.ParsePrefix(proxy); err == nil {
			continue
		}
		p.add(fmt.Sprintf("server.trusted_proxies[%d]", i), "%q is not an IP address or CIDR", proxy)
	}
	if s.PublicURL != "" {
		u, err := url.Parse(s.PublicURL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			p.add("server.public_url", "%q is not an absolute http or https URL (e.g. https://auth.example.com)", s.PublicURL)
		case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			p.add("server.public_url", "%q must have no query, fragment or user info", s.PublicURL)
		}
	}
}

// minSecretFor is the shortest HMAC secret for alg: at least the hash output size (RFC 7518 §3.2),
// so 32 bytes for HS256, 48 for HS384 and 64 for HS512. Shorter keys weaken the MAC, and
// standards-following libraries (go-jose among them) refuse to verify with them.
func minSecretFor(alg string) int {
	switch alg {
	case "HS384":
		return 48
	case "HS512":
		return 64
	}
	return minSecretBytes
}

func (c *Config) validateToken(p *problemList) {
	t := c.Token
	p.oneOf("token.algorithm", t.Algorithm, algorithms...)
	switch {
	case isHMAC(t.Algorithm):
		switch {
		case t.SecretFile != "" && t.Secret != "" && !t.secretFromFile:
			p.add("token.secret", "set together with token.secret_file; use one of them")
		case t.secretFromFile && t.Secret == "":
			p.add("token.secret_file", "%s is empty", t.SecretFile)
		case len(t.Secret) < minSecretFor(t.Algorithm):
			// Only the length: the value is a secret.
			p.add("token.secret", "must be at least %d bytes for %s (got %d)", minSecretFor(t.Algorithm), t.Algorithm, len(t.Secret))
		}
	case slices.Contains(algorithms, t.Algorithm):
		p.required("token.private_key_file", t.PrivateKeyFile, " for RS256/ES256/EdDSA")
	}
	for i, f := range t.PreviousPublicKeyFiles {
		p.required(fmt.Sprintf("token.previous_public_key_files[%d]", i), f, " (empty file name)")
	}
	for i, f := range t.NextPublicKeyFiles {
		p.required(fmt.Sprintf("token.next_public_key_files[%d]", i), f, " (empty file name)")
	}
	if len(t.NextPublicKeyFiles) > 0 && isHMAC(t.Algorithm) {
		p.add("token.next_public_key_files", "needs RS256, ES256 or EdDSA: an HMAC secret is never published")
	}
	if t.JWKSMaxAge < 0 || t.JWKSMaxAge > 24*time.Hour {
		p.add("token.jwks_max_age", "must be between 0 and 24h (got %s)", t.JWKSMaxAge)
	}
	p.required("token.issuer", t.Issuer, "")
	p.required("token.audience", t.Audience, "")
	p.positive("token.ttl", t.TTL)
	if t.Leeway < 0 || t.Leeway > maxLeeway {
		p.add("token.leeway", "must be between 0 and %s (got %s)", "5m", t.Leeway)
	}
	if t.RefreshTTL <= 0 {
		p.positive("token.refresh_ttl", t.RefreshTTL)
	} else if t.RefreshTTL <= t.TTL {
		p.add("token.refresh_ttl", "must be longer than token.ttl (%s, got %s)", t.TTL, t.RefreshTTL)
	}
	if len(t.Lookup) == 0 {
		p.add("token.lookup", "must list at least one of %s", strings.Join(lookupSources, ", "))
	}
	seen := map[string]bool{}
	for _, src := range t.Lookup {
		switch {
		case !slices.Contains(lookupSources, src):
			p.add("token.lookup", "unknown source %q (want %s)", src, strings.Join(lookupSources, ", "))
		case seen[src]:
			p.add("token.lookup", "%q listed twice", src)
		}
		seen[src] = true
	}
	if seen["cookie"] {
		p.required("token.cookie_name", t.CookieName, " when token.lookup has cookie")
	}
	if seen["query"] {
		p.required("token.query_param", t.QueryParam, " when token.lookup has query")
	}
	if t.CacheSize < 0 {
		p.add("token.cache_size", "must be >= 0 (got %d)", t.CacheSize)
	}
}

func (c *Config) validateStore(p *problemList) {
	s := c.Store
	p.oneOf("store.kind", s.Kind, "memory", "file", "sql")
	switch s.Kind {
	case "file":
		p.required("store.path", s.Path, " when store.kind is file")
	case "sql":
		validateDSN(p, s.DSN)
		if s.MaxOpenConns < 1 {
			p.add("store.max_open_conns", "must be at least 1 (got %d)", s.MaxOpenConns)
		}
		if s.MaxIdleConns < 0 || s.MaxIdleConns > max(s.MaxOpenConns, 1) {
			p.add("store.max_idle_conns", "must be from 0 to store.max_open_conns (got %d)", s.MaxIdleConns)
		}
		if s.ConnMaxLifetime < 0 {
			p.add("store.conn_max_lifetime", "must be >= 0 (got %s; 0 keeps connections for ever)", s.ConnMaxLifetime)
		}
		p.positive("store.query_timeout", s.QueryTimeout)
	case "memory":
		for _, name := range slices.Sorted(maps.Keys(s.Users)) {
			if name == "" {
				p.add(usersKey, "a user name is empty")
				continue
			}
			if msg := checkBcrypt(s.Users[name].PasswordHash); msg != "" {
				p.add(usersKey+"."+name+".password_hash", "not a bcrypt hash (%s)", msg)
			}
		}
	}
}

// validateDSN checks the form of store.dsn. The DSN may hold a password:
// describe the problem, never quote it.
func validateDSN(p *problemList, dsn string) {
	const want = " (want sqlite:///path/users.db or postgres://user:password@host:5432/db)"
	switch {
	case dsn == "":
		p.add("store.dsn", "required when store.kind is sql"+want)
	case strings.HasPrefix(dsn, "sqlite://"):
		path := strings.TrimPrefix(dsn, "sqlite://")
		switch {
		case path == "":
			p.add("store.dsn", "sqlite DSN has no file path"+want)
		case strings.ContainsAny(path, "?#"):
			p.add("store.dsn", "sqlite DSN takes no parameters"+want)
		case path == ":memory:" || strings.HasPrefix(path, "file:"):
			p.add("store.dsn", "sqlite DSN must name a file"+want)
		}
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		u, err := url.Parse(dsn)
		switch {
		case err != nil:
			p.add("store.dsn", "not a valid URL"+want)
		case u.Host == "":
			p.add("store.dsn", "postgres DSN has no host"+want)
		}
	default:
		p.add("store.dsn", "must start with sqlite:// or postgres://"+want)
	}
}

// checkBcrypt says why h does not look like a bcrypt hash, or returns "".
// It never quotes h.
func checkBcrypt(h string) string {
	switch {
	case h == "":
		return "empty"
	case !strings.HasPrefix(h, "$2a$") && !strings.HasPrefix(h, "$2b$") && !strings.HasPrefix(h, "$2y$"):
		return "want a $2a$, $2b$ or $2y$ prefix"
	case len(h) != 60:
		return fmt.Sprintf("want 60 characters, got %d", len(h))
	case h[6] != '$' || h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9':
		return "malformed cost"
	}
	return ""
}

func (c *Config) validateLogin(p *problemList) {
	l := c.Login
	if l.MaxFailures <= 0 {
		p.add("login.max_failures", "must be positive (got %d)", l.MaxFailures)
	}
	p.positive("login.window", l.Window)
	p.positive("login.lockout", l.Lockout)
	if l.MaxConcurrentHashes < 0 {
		p.add("login.max_concurrent_hashes", "must be >= 0 (got %d; 0 means half of GOMAXPROCS, at least 1)", l.MaxConcurrentHashes)
	}
	p.positive("login.hash_wait", l.HashWait)
}

func (c *Config) validateState(p *problemList) {
	s := c.State
	p.oneOf("state.backend", s.Backend, "memory", "redis")
	if s.Backend != "redis" {
		return
	}
	if s.RedisURL == "" {
		p.add("state.redis_url", "required when state.backend is redis")
		return
	}
	// The URL may hold a password: describe the problem, never quote it.
	u, err := url.Parse(s.RedisURL)
	switch {
	case err != nil:
		p.add("state.redis_url", "not a valid URL")
	case u.Scheme != "redis" && u.Scheme != "rediss":
		p.add("state.redis_url", "scheme must be redis:// or rediss://")
	case u.Hostname() == "":
		p.add("state.redis_url", "missing host (want redis://host:6379/0)")
	case u.Path != "" && u.Path != "/":
		if n, err := strconv.Atoi(strings.TrimPrefix(u.Path, "/")); err != nil || n < 0 {
			p.add("state.redis_url", "database must be a number (redis://host:6379/0)")
		}
	}
}

func (c *Config) validateLog(p *problemList) {
	p.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	p.oneOf("log.format", c.Log.Format, "text", "json")
}
