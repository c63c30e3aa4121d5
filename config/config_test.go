package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// testHash has the shape of a bcrypt hash; config only checks the shape.
const testHash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"

// testSecret is a valid HMAC secret (≥ 32 bytes).
const testSecret = "0123456789abcdef0123456789abcdef"

func writeFile(tb testing.TB, name, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func mustLoad(tb testing.TB, path string, env []string, overrides map[string]any) *Config {
	tb.Helper()
	c, err := Load(path, env, overrides)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return c
}

// validConfig is a configuration that passes Validate.
func validConfig() *Config {
	c := Defaults()
	c.Token.Secret = testSecret
	c.Store.Users = map[string]UserSpec{"alice": {PasswordHash: testHash, Roles: []string{"admin"}}}
	return c
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, "", nil, nil)
	tests := []struct {
		key       string
		got, want any
	}{
		{"server.addr", c.Server.Addr, ":8080"},
		{"server.read_header_timeout", c.Server.ReadHeaderTimeout, 5 * time.Second},
		{"server.read_timeout", c.Server.ReadTimeout, 10 * time.Second},
		{"server.write_timeout", c.Server.WriteTimeout, 10 * time.Second},
		{"server.idle_timeout", c.Server.IdleTimeout, 60 * time.Second},
		{"server.shutdown_timeout", c.Server.ShutdownTimeout, 10 * time.Second},
		{"server.max_body_bytes", c.Server.MaxBodyBytes, int64(65536)},
		{"server.trusted_proxies", c.Server.TrustedProxies, []string{}},
		{"server.public_url", c.Server.PublicURL, ""},
		{"token.algorithm", c.Token.Algorithm, "HS256"},
		{"token.secret_file", c.Token.SecretFile, ""},
		{"token.issuer", c.Token.Issuer, "tokengate"},
		{"token.audience", c.Token.Audience, "tokengate"},
		{"token.ttl", c.Token.TTL, 15 * time.Minute},
		{"token.leeway", c.Token.Leeway, 5 * time.Second},
		{"token.refresh_ttl", c.Token.RefreshTTL, 168 * time.Hour},
		{"token.lookup", c.Token.Lookup, []string{"header", "query"}},
		{"token.query_param", c.Token.QueryParam, "token"},
		{"token.cookie_name", c.Token.CookieName, ""},
		{"token.cache_size", c.Token.CacheSize, 10000},
		{"token.private_key_file", c.Token.PrivateKeyFile, ""},
		{"token.previous_public_key_files", c.Token.PreviousPublicKeyFiles, []string{}},
		{"token.next_public_key_files", c.Token.NextPublicKeyFiles, []string{}},
		{"token.jwks_max_age", c.Token.JWKSMaxAge, 5 * time.Minute},
		{"clients", c.Clients, map[string]ClientSpec{}},
		{"store.kind", c.Store.Kind, "memory"},
		{"store.users", c.Store.Users, map[string]UserSpec{}},
		{"store.path", c.Store.Path, ""},
		{"store.watch", c.Store.Watch, true},
		{"store.dsn", c.Store.DSN, ""},
		{"store.max_open_conns", c.Store.MaxOpenConns, 10},
		{"store.max_idle_conns", c.Store.MaxIdleConns, 10},
		{"store.conn_max_lifetime", c.Store.ConnMaxLifetime, 30 * time.Minute},
		{"store.query_timeout", c.Store.QueryTimeout, 5 * time.Second},
		{"login.max_failures", c.Login.MaxFailures, 5},
		{"login.window", c.Login.Window, time.Minute},
		{"login.lockout", c.Login.Lockout, 5 * time.Minute},
		{"login.max_concurrent_hashes", c.Login.MaxConcurrentHashes, 0},
		{"login.hash_wait", c.Login.HashWait, 2 * time.Second},
		{"state.backend", c.State.Backend, "memory"},
		{"state.redis_url", c.State.RedisURL, ""},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"metrics.enabled", c.Metrics.Enabled, true},
		{"gateway.rules", c.Gateway.Rules, []GatewayRule{}},
		{"gateway.default_access", c.Gateway.DefaultAccess, "authenticated"},
		{"gateway.user_header", c.Gateway.UserHeader, "X-Auth-User"},
		{"gateway.roles_header", c.Gateway.RolesHeader, "X-Auth-Roles"},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.key, tt.got, tt.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults with generated secret: Validate() = %v, want nil", err)
	}

	// Defaults() is Load("", nil, nil) without the generated secret.
	c.Token.Secret, c.Token.SecretGenerated = "", false
	if d := Defaults(); !reflect.DeepEqual(c, d) {
		t.Errorf("Load(\"\", nil, nil) = %+v\nwant Defaults() = %+v", c, d)
	}
}

// TestSettingsTable checks that the key table used for SetDefault, the
// environment and type checks names exactly the mapstructure path of the
// field it points to, and covers every field.
func TestSettingsTable(t *testing.T) {
	t.Parallel()
	var c Config
	paths := map[uintptr]string{}
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for i := range v.NumField() {
			f := v.Type().Field(i)
			tag := f.Tag.Get("mapstructure")
			if tag == "" || tag == "-" {
				continue
			}
			if f.Type.Kind() == reflect.Struct {
				walk(v.Field(i), prefix+tag+".")
				continue
			}
			paths[v.Field(i).Addr().Pointer()] = prefix + tag
		}
	}
	walk(reflect.ValueOf(&c).Elem(), "")
	seen := map[string]bool{}
	for _, s := range settings {
		got := paths[reflect.ValueOf(s.field(&c)).Pointer()]
		if got != s.key {
			t.Errorf("setting %q points at field %q", s.key, got)
		}
		seen[s.key] = true
	}
	for _, p := range paths {
		if !seen[p] {
			t.Errorf("field %q has no entry in settings", p)
		}
	}
}

func TestLoadYAML(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "config.yaml", `
server:
  addr: "127.0.0.1:9000"
  read_timeout: 3s
  max_body_bytes: 1024
  trusted_proxies: [10.0.0.0/8, "::1"]
token:
  algorithm: HS512
  secret: "`+testSecret+testSecret+`"
  issuer: me
  ttl: 5m
  leeway: 0
  lookup: [cookie]
  cookie_name: jwt
  cache_size: 0
store:
  kind: file
  path: /etc/users.yaml
  watch: false
login:
  max_failures: 3
  hash_wait: 500ms
state:
  backend: redis
  redis_url: redis://localhost:6379/0
Log:
  Level: debug
  format: json
metrics:
  enabled: false
`)
	c := mustLoad(t, path, nil, nil)
	tests := []struct {
		key       string
		got, want any
	}{
		{"server.addr", c.Server.Addr, "127.0.0.1:9000"},
		{"server.read_timeout", c.Server.ReadTimeout, 3 * time.Second},
		{"server.write_timeout (default)", c.Server.WriteTimeout, 10 * time.Second},
		{"server.max_body_bytes", c.Server.MaxBodyBytes, int64(1024)},
		{"server.trusted_proxies", c.Server.TrustedProxies, []string{"10.0.0.0/8", "::1"}},
		{"token.algorithm", c.Token.Algorithm, "HS512"},
		{"token.secret", c.Token.Secret, testSecret + testSecret},
		{"token.secret_generated", c.Token.SecretGenerated, false},
		{"token.issuer", c.Token.Issuer, "me"},
		{"token.audience (default)", c.Token.Audience, "tokengate"},
		{"token.ttl", c.Token.TTL, 5 * time.Minute},
		{"token.leeway", c.Token.Leeway, time.Duration(0)},
		{"token.lookup", c.Token.Lookup, []string{"cookie"}},
		{"token.cookie_name", c.Token.CookieName, "jwt"},
		{"token.cache_size", c.Token.CacheSize, 0},
		{"store.kind", c.Store.Kind, "file"},
		{"store.path", c.Store.Path, "/etc/users.yaml"},
		{"store.watch", c.Store.Watch, false},
		{"login.max_failures", c.Login.MaxFailures, 3},
		{"login.hash_wait", c.Login.HashWait, 500 * time.Millisecond},
		{"state.backend", c.State.Backend, "redis"},
		{"state.redis_url", c.State.RedisURL, "redis://localhost:6379/0"},
		{"log.level (keys are case-insensitive)", c.Log.Level, "debug"},
		{"log.format", c.Log.Format, "json"},
		{"metrics.enabled", c.Metrics.Enabled, false},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.key, tt.got, tt.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}

func TestLoadEmptyFile(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, writeFile(t, "empty.yaml", ""), nil, nil)
	if c.Server.Addr != ":8080" {
		t.Errorf("server.addr = %q, want default", c.Server.Addr)
	}
}

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "config.yaml", "server:\n  addr: \":1111\"\ntoken:\n  ttl: 1m\n")
	tests := []struct {
		name      string
		path      string
		env       []string
		overrides map[string]any
		wantAddr  string
		wantTTL   time.Duration
	}{
		{"defaults", "", nil, nil, ":8080", 15 * time.Minute},
		{"file beats defaults", path, nil, nil, ":1111", time.Minute},
		{"env beats file", path, []string{"TOKENGATE_SERVER_ADDR=:2222", "TOKENGATE_TOKEN_TTL=2m"}, nil, ":2222", 2 * time.Minute},
		{"env without file", "", []string{"TOKENGATE_SERVER_ADDR=:2222"}, nil, ":2222", 15 * time.Minute},
		{"override beats env", path, []string{"TOKENGATE_SERVER_ADDR=:2222"}, map[string]any{"server.addr": ":3333", "token.ttl": 3 * time.Minute}, ":3333", 3 * time.Minute},
		{"override as string", "", nil, map[string]any{"token.ttl": "4m"}, ":8080", 4 * time.Minute},
		{"nil override is ignored", path, []string{"TOKENGATE_SERVER_ADDR=:2222"}, map[string]any{"server.addr": nil}, ":2222", time.Minute},
		{"last env entry wins", "", []string{"TOKENGATE_SERVER_ADDR=:1", "TOKENGATE_SERVER_ADDR=:2"}, nil, ":2", 15 * time.Minute},
		{"other env ignored", "", []string{"SERVER_ADDR=:1", "TOKENGATE_CONFIG=x.yaml", "garbage"}, nil, ":8080", 15 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, tt.path, tt.env, tt.overrides)
			if c.Server.Addr != tt.wantAddr {
				t.Errorf("server.addr = %q, want %q", c.Server.Addr, tt.wantAddr)
			}
			if c.Token.TTL != tt.wantTTL {
				t.Errorf("token.ttl = %v, want %v", c.Token.TTL, tt.wantTTL)
			}
		})
	}
}

// TestLoadIgnoresProcessEnvironment: only the env argument counts.
func TestLoadIgnoresProcessEnvironment(t *testing.T) {
	t.Setenv("TOKENGATE_SERVER_ADDR", ":9999")
	if c := mustLoad(t, "", nil, nil); c.Server.Addr != ":8080" {
		t.Errorf("server.addr = %q, want :8080 (os environment must not be read)", c.Server.Addr)
	}
}

func TestLoadEnvTypes(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, "", []string{
		"TOKENGATE_TOKEN_SECRET=" + testSecret,
		"TOKENGATE_TOKEN_LOOKUP=header, cookie",
		"TOKENGATE_SERVER_TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1,",
		"TOKENGATE_TOKEN_PREVIOUS_PUBLIC_KEY_FILES=a.pem,b.pem",
		"TOKENGATE_LOG_LEVEL=warn",
		"TOKENGATE_STORE_KIND=file",
		"TOKENGATE_STORE_WATCH=false",
		"TOKENGATE_METRICS_ENABLED=0",
		"TOKENGATE_TOKEN_CACHE_SIZE=12",
		"TOKENGATE_SERVER_MAX_BODY_BYTES=2048",
		"TOKENGATE_LOGIN_WINDOW=90s",
	}, nil)
	tests := []struct {
		key       string
		got, want any
	}{
		{"token.secret", c.Token.Secret, testSecret},
		{"token.secret_generated", c.Token.SecretGenerated, false},
		{"token.lookup", c.Token.Lookup, []string{"header", "cookie"}},
		{"server.trusted_proxies", c.Server.TrustedProxies, []string{"10.0.0.0/8", "127.0.0.1"}},
		{"token.previous_public_key_files", c.Token.PreviousPublicKeyFiles, []string{"a.pem", "b.pem"}},
		{"log.level", c.Log.Level, "warn"},
		{"store.kind", c.Store.Kind, "file"},
		{"store.watch", c.Store.Watch, false},
		{"metrics.enabled", c.Metrics.Enabled, false},
		{"token.cache_size", c.Token.CacheSize, 12},
		{"server.max_body_bytes", c.Server.MaxBodyBytes, int64(2048)},
		{"login.window", c.Login.Window, 90 * time.Second},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v, want %#v", tt.key, tt.got, tt.want)
		}
	}
}

func TestLoadEnvEmptyList(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, "", []string{"TOKENGATE_TOKEN_LOOKUP="}, nil)
	if len(c.Token.Lookup) != 0 {
		t.Fatalf("token.lookup = %q, want empty", c.Token.Lookup)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "token.lookup: must list at least one") {
		t.Errorf("Validate() = %v, want a token.lookup problem", err)
	}
}

func TestLoadUsersCaseSensitive(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "config.yaml", `
store:
  users:
    Alice:
      password_hash: "`+testHash+`"
      roles: [admin]
    alice:
      password_hash: "`+testHash+`"
      disabled: true
    bob.smith:
      password_hash: "`+testHash+`"
`)
	c := mustLoad(t, path, nil, nil)
	want := map[string]UserSpec{
		"Alice":     {PasswordHash: testHash, Roles: []string{"admin"}},
		"alice":     {PasswordHash: testHash, Disabled: true},
		"bob.smith": {PasswordHash: testHash},
	}
	if !reflect.DeepEqual(c.Store.Users, want) {
		t.Errorf("store.users = %#v\nwant %#v", c.Store.Users, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}

func TestLoadUsersOverride(t *testing.T) {
	t.Parallel()
	users := map[string]UserSpec{"Carol": {PasswordHash: testHash}}
	c := mustLoad(t, "", nil, map[string]any{"store.users": users})
	if !reflect.DeepEqual(c.Store.Users, users) {
		t.Errorf("store.users = %#v, want %#v", c.Store.Users, users)
	}
}

func TestLoadSecretFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"trailing newline dropped", testSecret + "\n", testSecret},
		{"trailing CRLF dropped", testSecret + "\r\n", testSecret},
		{"only one newline dropped", testSecret + "\n\n", testSecret + "\n"},
		{"no newline", testSecret, testSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, "secret", tt.content)
			c := mustLoad(t, "", []string{"TOKENGATE_TOKEN_SECRET_FILE=" + file}, nil)
			if c.Token.Secret != tt.want {
				t.Errorf("token.secret = %q, want %q", c.Token.Secret, tt.want)
			}
			if c.Token.SecretGenerated {
				t.Error("SecretGenerated = true, want false")
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

// TestLoadValidReportsEverything: a value of the wrong type does not hide the invalid settings
// after it; a key with a type problem is not reported twice.
func TestLoadValidReportsEverything(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "config.yaml", "token:\n  ttl: soon\n  leeway: -1s\nlogin:\n  max_failures: 0\nlog:\n  level: loud\n")
	_, err := LoadValid(path, []string{"TOKENGATE_SERVER_MAX_BODY_BYTES=many"}, nil)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("LoadValid() = %v, want a *ValidationError", err)
	}
	for _, key := range []string{"token.ttl", "server.max_body_bytes", "token.leeway", "login.max_failures", "log.level"} {
		n := 0
		for _, p := range ve.Problems {
			if strings.HasPrefix(p, key+": ") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d problems about %s, want 1:\n%s", n, key, err)
		}
	}
	if _, err := LoadValid(filepath.Join(t.TempDir(), "none.yaml"), nil, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadValid(missing file) = %v, want a not-exist error", err)
	}
}

func TestLoadSecretFileProblems(t *testing.T) {
	t.Parallel()
	t.Run("missing file is a problem naming the key", func(t *testing.T) {
		t.Parallel()
		missing := filepath.Join(t.TempDir(), "nope")
		_, err := Load("", nil, map[string]any{"token.secret_file": missing})
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) != 1 || !strings.HasPrefix(ve.Problems[0], "token.secret_file: ") ||
			!strings.Contains(ve.Problems[0], "no such file") {
			t.Errorf("Load() error = %v, want one token.secret_file problem saying the file is missing", err)
		}
	})
	t.Run("empty file is a problem, not a generated secret", func(t *testing.T) {
		t.Parallel()
		c := mustLoad(t, "", nil, map[string]any{"token.secret_file": writeFile(t, "secret", "\n")})
		if c.Token.SecretGenerated {
			t.Error("SecretGenerated = true, want false")
		}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "token.secret_file: ") {
			t.Errorf("Validate() = %v, want token.secret_file problem", err)
		}
	})
	t.Run("secret and secret_file both set", func(t *testing.T) {
		t.Parallel()
		file := writeFile(t, "secret", testSecret)
		c := mustLoad(t, "", []string{"TOKENGATE_TOKEN_SECRET=" + testSecret + "x"}, map[string]any{"token.secret_file": file})
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "token.secret: set together with token.secret_file") {
			t.Errorf("Validate() = %v, want conflict problem", err)
		}
	})
}

func TestLoadGeneratedSecret(t *testing.T) {
	t.Parallel()
	a := mustLoad(t, "", nil, nil)
	b := mustLoad(t, "", nil, nil)
	if !a.Token.SecretGenerated {
		t.Error("SecretGenerated = false, want true")
	}
	if len(a.Token.Secret) < 32 {
		t.Errorf("generated secret is %d bytes, want >= 32", len(a.Token.Secret))
	}
	if a.Token.Secret == b.Token.Secret {
		t.Error("two loads generated the same secret")
	}
	c := mustLoad(t, "", nil, map[string]any{"token.algorithm": "ES256", "token.private_key_file": "k.pem"})
	if c.Token.SecretGenerated || c.Token.Secret != "" {
		t.Errorf("ES256: secret generated = %v, secret set = %v; want neither", c.Token.SecretGenerated, c.Token.Secret != "")
	}
	if err := c.Validate(); err != nil {
		t.Errorf("ES256 Validate() = %v, want nil", err)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		file      string // YAML content; "" means no file
		env       []string
		overrides map[string]any
		want      []string // substrings of the error
	}{
		{name: "duration from env", env: []string{"TOKENGATE_TOKEN_TTL=abc"}, want: []string{`token.ttl: "abc" is not a duration`, "TOKENGATE_TOKEN_TTL"}},
		{name: "duration from file", file: "token:\n  leeway: soon\n", want: []string{`token.leeway: "soon" is not a duration`}},
		{name: "duration without unit", file: "token:\n  ttl: 900\n", want: []string{"token.ttl: 900 must be a duration with a unit"}},
		{name: "duration from override", overrides: map[string]any{"login.window": true}, want: []string{"login.window: ", "(from override)"}},
		{name: "int from file", file: "server:\n  max_body_bytes: lots\n", want: []string{`server.max_body_bytes: "lots" must be a whole number`}},
		{name: "fractional int", file: "token:\n  cache_size: 1.5\n", want: []string{"token.cache_size: 1.5 must be a whole number"}},
		{name: "int from env", env: []string{"TOKENGATE_LOGIN_MAX_FAILURES=many"}, want: []string{"login.max_failures: "}},
		{name: "bool from env", env: []string{"TOKENGATE_STORE_WATCH=maybe"}, want: []string{`store.watch: "maybe" must be true or false`}},
		{name: "string given a list", file: "server:\n  addr: [a, b]\n", want: []string{"server.addr: must be a string"}},
		{name: "list given a map", file: "token:\n  lookup: {a: b}\n", want: []string{"token.lookup: must be a list of strings"}},
		{name: "section not a mapping", file: "token: 5\n", want: []string{"token: must be a mapping"}},
		{name: "unknown key in file", file: "token:\n  secert: x\n", want: []string{"token.secert: unknown key"}},
		{name: "removed log.flush_interval", file: "log:\n  flush_interval: 100ms\n", want: []string{"log.flush_interval: unknown key (line 2)"}},
		{name: "unknown section", file: "tokens:\n  ttl: 1m\n", want: []string{"tokens: unknown section"}},
		{name: "unknown override", overrides: map[string]any{"token.secert": "x"}, want: []string{"token.secert: unknown configuration key"}},
		{name: "unknown user field", file: "store:\n  users:\n    Alice:\n      pasword_hash: x\n", want: []string{"store.users.Alice.pasword_hash: unknown field"}},
		{name: "roles not a list", file: "store:\n  users:\n    bob:\n      roles: admin\n", want: []string{"store.users.bob.roles: must be a list"}},
		{name: "disabled not a bool", file: "store:\n  users:\n    bob:\n      disabled: sometimes\n", want: []string{"store.users.bob.disabled: must be true or false"}},
		{name: "users not a mapping", file: "store:\n  users: [alice]\n", want: []string{"store.users: must be a mapping"}},
		{
			name: "every problem at once",
			file: "token:\n  ttl: abc\n  typo: 1\nserver:\n  max_body_bytes: x\n",
			env:  []string{"TOKENGATE_LOG_LEVEL=debug", "TOKENGATE_STORE_WATCH=perhaps"},
			want: []string{"token.ttl: ", "token.typo: ", "server.max_body_bytes: ", "store.watch: "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tt.file != "" {
				path = writeFile(t, "config.yaml", tt.file)
			}
			c, err := Load(path, tt.env, tt.overrides)
			if err == nil {
				t.Fatalf("Load() = %+v, nil; want error", c)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("Load() error %T, want *ValidationError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load() error = %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	if _, err := Load(missing, nil, nil); err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: Load() error = %v, want not-exist naming %s", err, missing)
	}
	bad := writeFile(t, "bad.yaml", "server:\n  addr: [unclosed\n")
	if _, err := Load(bad, nil, nil); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("malformed file: Load() error = %v, want one naming %s", err, bad)
	}
	dup := writeFile(t, "dup.yaml", "server:\n  addr: a\n  addr: b\n")
	if _, err := Load(dup, nil, nil); err == nil || !strings.Contains(err.Error(), dup) {
		t.Errorf("duplicate key: Load() error = %v, want one naming %s", err, dup)
	}
	list := writeFile(t, "list.yaml", "- a\n- b\n")
	if _, err := Load(list, nil, nil); err == nil || !strings.Contains(err.Error(), list) || !strings.Contains(err.Error(), "top level must be a mapping") {
		t.Errorf("list at top level: Load() error = %v, want one naming %s", err, list)
	}
	big := writeFile(t, "big.yaml", "# "+strings.Repeat("x", maxConfigBytes)+"\n")
	if _, err := Load(big, nil, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("huge file: Load() error = %v, want size error", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // substring of the problem; "" means valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"port zero is fine", func(c *Config) { c.Server.Addr = "127.0.0.1:0" }, ""},
		{"bad addr", func(c *Config) { c.Server.Addr = "8080" }, "server.addr: "},
		{"bad port", func(c *Config) { c.Server.Addr = ":99999" }, "server.addr: "},
		{"read_header_timeout", func(c *Config) { c.Server.ReadHeaderTimeout = 0 }, "server.read_header_timeout: must be positive"},
		{"read_timeout", func(c *Config) { c.Server.ReadTimeout = -time.Second }, "server.read_timeout: must be positive"},
		{"write_timeout", func(c *Config) { c.Server.WriteTimeout = 0 }, "server.write_timeout: must be positive"},
		{"idle_timeout", func(c *Config) { c.Server.IdleTimeout = 0 }, "server.idle_timeout: must be positive"},
		{"shutdown_timeout", func(c *Config) { c.Server.ShutdownTimeout = 0 }, "server.shutdown_timeout: must be positive"},
		{"max_body_bytes", func(c *Config) { c.Server.MaxBodyBytes = 0 }, "server.max_body_bytes: must be positive"},
		{"trusted proxies ok", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.1", "192.168.0.0/16", "::1", "fd00::/8"} }, ""},
		{"trusted proxy", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.1", "proxy.local"} }, `server.trusted_proxies[1]: "proxy.local" is not an IP address or CIDR`},
		{"algorithm", func(c *Config) { c.Token.Algorithm = "XX256" }, `token.algorithm: "XX256" is not one of HS256, HS384, HS512, RS256, ES256, EdDSA`},
		{"HS384 needs 48 bytes", func(c *Config) { c.Token.Algorithm = "HS384" }, "token.secret: must be at least 48 bytes for HS384 (got 32)"},
		{"HS512 needs 64 bytes", func(c *Config) { c.Token.Algorithm = "HS512" }, "token.secret: must be at least 64 bytes for HS512 (got 32)"},
		{"algorithm none", func(c *Config) { c.Token.Algorithm = "none" }, `token.algorithm: "none" is not one of`},
		{"short secret", func(c *Config) { c.Token.Secret = "short" }, "token.secret: must be at least 32 bytes for HS256 (got 5)"},
		{"empty secret", func(c *Config) { c.Token.Secret = "" }, "token.secret: must be at least 32 bytes for HS256 (got 0)"},
		{"secret and secret_file", func(c *Config) { c.Token.SecretFile = "/run/secret" }, "token.secret: set together with token.secret_file"},
		{"private key required", func(c *Config) { c.Token.Algorithm = "RS256"; c.Token.Secret = "" }, "token.private_key_file: required for RS256/ES256/EdDSA"},
		{"EdDSA with key", func(c *Config) { c.Token.Algorithm = "EdDSA"; c.Token.PrivateKeyFile = "k.pem" }, ""},
		{"previous key empty", func(c *Config) { c.Token.PreviousPublicKeyFiles = []string{""} }, "token.previous_public_key_files[0]: required"},
		{"issuer", func(c *Config) { c.Token.Issuer = "" }, "token.issuer: required"},
		{"audience", func(c *Config) { c.Token.Audience = " " }, "token.audience: required"},
		{"ttl", func(c *Config) { c.Token.TTL = 0 }, "token.ttl: must be positive"},
		{"leeway negative", func(c *Config) { c.Token.Leeway = -time.Second }, "token.leeway: must be between 0 and 5m"},
		{"leeway large", func(c *Config) { c.Token.Leeway = 6 * time.Minute }, "token.leeway: must be between 0 and 5m"},
		{"leeway zero ok", func(c *Config) { c.Token.Leeway = 0 }, ""},
		{"refresh_ttl short", func(c *Config) { c.Token.RefreshTTL = c.Token.TTL }, "token.refresh_ttl: must be longer than token.ttl"},
		{"refresh_ttl zero", func(c *Config) { c.Token.RefreshTTL = 0 }, "token.refresh_ttl: must be positive"},
		{"lookup unknown", func(c *Config) { c.Token.Lookup = []string{"header", "body"} }, `token.lookup: unknown source "body"`},
		{"lookup empty", func(c *Config) { c.Token.Lookup = nil }, "token.lookup: must list at least one of header, query, cookie"},
		{"lookup duplicate", func(c *Config) { c.Token.Lookup = []string{"header", "header"} }, `token.lookup: "header" listed twice`},
		{"cookie name", func(c *Config) { c.Token.Lookup = []string{"cookie"} }, "token.cookie_name: required when token.lookup has cookie"},
		{"query param", func(c *Config) { c.Token.QueryParam = "" }, "token.query_param: required when token.lookup has query"},
		{"query param unused", func(c *Config) { c.Token.QueryParam = ""; c.Token.Lookup = []string{"header"} }, ""},
		{"cache size", func(c *Config) { c.Token.CacheSize = -1 }, "token.cache_size: must be >= 0"},
		{"store kind", func(c *Config) { c.Store.Kind = "ldap" }, `store.kind: "ldap" is not one of memory, file, sql`},
		{"dsn missing", func(c *Config) { c.Store.Kind = "sql" }, "store.dsn: required when store.kind is sql"},
		{"dsn scheme", func(c *Config) { c.Store.Kind, c.Store.DSN = "sql", "mysql://u:pw@h/db" }, "store.dsn: must start with sqlite:// or postgres://"},
		{"dsn sqlite no path", func(c *Config) { c.Store.Kind, c.Store.DSN = "sql", "sqlite://" }, "store.dsn: sqlite DSN has no file path"},
		{"dsn sqlite params", func(c *Config) { c.Store.Kind, c.Store.DSN = "sql", "sqlite:///x.db?mode=ro" }, "store.dsn: sqlite DSN takes no parameters"},
		{"dsn sqlite memory", func(c *Config) { c.Store.Kind, c.Store.DSN = "sql", "sqlite://:memory:" }, "store.dsn: sqlite DSN must name a file"},
		{"dsn postgres no host", func(c *Config) { c.Store.Kind, c.Store.DSN = "sql", "postgres:///db" }, "store.dsn: postgres DSN has no host"},
		{"dsn postgres unparseable", func(c *Config) { c.Store.Kind, c.Store.DSN = "sql", "postgres://u:p w@%zz/db" }, "store.dsn: not a valid URL"},
		{"dsn sqlite ok", func(c *Config) { c.Store.Kind, c.Store.DSN = "sql", "sqlite:///var/lib/tokengate/users.db" }, ""},
		{"dsn postgres ok", func(c *Config) {
			c.Store.Kind, c.Store.DSN = "sql", "postgres://tg:pw@db:5432/tokengate?sslmode=disable"
		}, ""},
		{"max_open_conns", func(c *Config) { c.Store.Kind, c.Store.DSN, c.Store.MaxOpenConns = "sql", "sqlite:///u.db", 0 }, "store.max_open_conns: must be at least 1"},
		{"max_idle_conns", func(c *Config) { c.Store.Kind, c.Store.DSN, c.Store.MaxIdleConns = "sql", "sqlite:///u.db", 11 }, "store.max_idle_conns: must be from 0 to store.max_open_conns"},
		{"conn_max_lifetime", func(c *Config) {
			c.Store.Kind, c.Store.DSN, c.Store.ConnMaxLifetime = "sql", "sqlite:///u.db", -time.Second
		}, "store.conn_max_lifetime: must be >= 0"},
		{"query_timeout", func(c *Config) { c.Store.Kind, c.Store.DSN, c.Store.QueryTimeout = "sql", "sqlite:///u.db", 0 }, "store.query_timeout: must be positive"},
		{"store path", func(c *Config) { c.Store.Kind = "file" }, "store.path: required when store.kind is file"},
		{"plaintext password", func(c *Config) { c.Store.Users["alice"] = UserSpec{PasswordHash: "hunter2"} }, "store.users.alice.password_hash: not a bcrypt hash"},
		{"md5 hash", func(c *Config) { c.Store.Users["Bob"] = UserSpec{PasswordHash: "$1$abc$" + strings.Repeat("x", 53)} }, "store.users.Bob.password_hash: not a bcrypt hash"},
		{"truncated hash", func(c *Config) { c.Store.Users["alice"] = UserSpec{PasswordHash: testHash[:59]} }, "store.users.alice.password_hash: not a bcrypt hash"},
		{"empty hash", func(c *Config) { c.Store.Users["alice"] = UserSpec{} }, "store.users.alice.password_hash: not a bcrypt hash"},
		{"$2y$ and $2b$ ok", func(c *Config) {
			c.Store.Users["y"] = UserSpec{PasswordHash: "$2y$" + testHash[4:]}
			c.Store.Users["b"] = UserSpec{PasswordHash: "$2b$" + testHash[4:]}
		}, ""},
		{"users ignored by file store", func(c *Config) {
			c.Store.Kind, c.Store.Path = "file", "users.yaml"
			c.Store.Users["x"] = UserSpec{}
		}, ""},
		{"max_failures", func(c *Config) { c.Login.MaxFailures = 0 }, "login.max_failures: must be positive"},
		{"window", func(c *Config) { c.Login.Window = 0 }, "login.window: must be positive"},
		{"lockout", func(c *Config) { c.Login.Lockout = 0 }, "login.lockout: must be positive"},
		{"max_concurrent_hashes", func(c *Config) { c.Login.MaxConcurrentHashes = -1 }, "login.max_concurrent_hashes: must be >= 0"},
		{"hash_wait", func(c *Config) { c.Login.HashWait = 0 }, "login.hash_wait: must be positive"},
		{"state backend", func(c *Config) { c.State.Backend = "etcd" }, `state.backend: "etcd" is not one of memory, redis`},
		{"redis url missing", func(c *Config) { c.State.Backend = "redis" }, "state.redis_url: required when state.backend is redis"},
		{"redis url scheme", func(c *Config) { c.State.Backend, c.State.RedisURL = "redis", "http://localhost:6379" }, "state.redis_url: scheme must be redis:// or rediss://"},
		{"redis url unparseable", func(c *Config) { c.State.Backend, c.State.RedisURL = "redis", "redis://a b:%zz" }, "state.redis_url: not a valid URL"},
		{"redis url no host", func(c *Config) { c.State.Backend, c.State.RedisURL = "redis", "redis:///0" }, "state.redis_url: missing host"},
		{"redis url bad db", func(c *Config) { c.State.Backend, c.State.RedisURL = "redis", "redis://h:6379/zero" }, "state.redis_url: database must be a number"},
		{"rediss ok", func(c *Config) { c.State.Backend, c.State.RedisURL = "redis", "rediss://user:pw@h:6380/2" }, ""},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, `log.level: "verbose" is not one of debug, info, warn, error`},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, `log.format: "xml" is not one of text, json`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.change(c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want *ValidationError", err)
			}
			if !slices.ContainsFunc(ve.Problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems = %q\nwant one containing %q", ve.Problems, tt.want)
			}
			for _, p := range ve.Problems {
				if strings.Contains(p, "\n") || !strings.Contains(strings.SplitN(p, ": ", 2)[0], ".") {
					t.Errorf("problem %q is not one line starting with a key", p)
				}
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.Server.Addr = "nope"
	c.Token.Algorithm = "XX256"
	c.Token.TTL = 0
	c.Token.Lookup = []string{"body"}
	c.Store.Kind = "file"
	c.Login.MaxFailures = 0
	c.Log.Format = "xml"
	err := c.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate() = %v, want *ValidationError", err)
	}
	want := []string{"server.addr: ", "token.algorithm: ", "token.ttl: ", "token.lookup: ", "store.path: ", "login.max_failures: ", "log.format: "}
	if len(ve.Problems) != len(want) {
		t.Errorf("got %d problems %q, want %d", len(ve.Problems), ve.Problems, len(want))
	}
	for i, w := range want {
		if i >= len(ve.Problems) || !strings.HasPrefix(ve.Problems[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, ve.Problems, w)
		}
	}
	if got := err.Error(); got != strings.Join(ve.Problems, "\n") {
		t.Errorf("Error() = %q, want problems joined by newlines", got)
	}
}

func TestValidateNeverShowsSecrets(t *testing.T) {
	t.Parallel()
	const (
		secret    = "SuperSecretValue"
		hash      = "PlainTextHunter2"
		redisPass = "RedisPassword99"
	)
	configs := map[string]*Config{}
	add := func(name string, change func(c *Config)) {
		c := validConfig()
		change(c)
		configs[name] = c
	}
	add("short secret", func(c *Config) { c.Token.Secret = secret })
	add("secret and file", func(c *Config) { c.Token.Secret, c.Token.SecretFile = secret, "/x" })
	add("bad hash", func(c *Config) { c.Store.Users["alice"] = UserSpec{PasswordHash: hash} })
	add("redis scheme", func(c *Config) { c.State.Backend, c.State.RedisURL = "redis", "http://u:"+redisPass+"@h" })
	add("redis unparseable", func(c *Config) { c.State.Backend, c.State.RedisURL = "redis", "redis://u:"+redisPass+"@h:port" })
	add("redis no host", func(c *Config) { c.State.Backend, c.State.RedisURL = "redis", "redis://:"+redisPass+"@/0" })
	add("redis bad db", func(c *Config) { c.State.Backend, c.State.RedisURL = "redis", "redis://:"+redisPass+"@h/x" })
	for name, c := range configs {
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: Validate() = nil, want a problem", name)
			continue
		}
		for _, s := range []string{secret, hash, redisPass} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: Validate() = %q reveals a secret", name, err)
			}
		}
	}

	// Wrong-type secrets are reported without their value, too.
	path := writeFile(t, "config.yaml", "token:\n  secret: ["+secret+"]\nstate:\n  redis_url: {"+redisPass+": 1}\n")
	_, err := Load(path, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "token.secret: must be a string") || !strings.Contains(err.Error(), "state.redis_url: ") {
		t.Fatalf("Load() error = %v, want token.secret and state.redis_url problems", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), redisPass) {
		t.Errorf("Load() error = %q reveals a secret", err)
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.State.RedisURL = "redis://user:hunter2@cache:6379/0"
	r := c.Redacted()
	if r.Token.Secret != "***" {
		t.Errorf("token.secret = %q, want ***", r.Token.Secret)
	}
	if got := r.Store.Users["alice"].PasswordHash; got != "***" {
		t.Errorf("password_hash = %q, want ***", got)
	}
	if got, want := r.State.RedisURL, "redis://user:***@cache:6379/0"; got != want {
		t.Errorf("redis_url = %q, want %q", got, want)
	}
	if c.Token.Secret != testSecret || c.Store.Users["alice"].PasswordHash != testHash || !strings.Contains(c.State.RedisURL, "hunter2") {
		t.Error("Redacted changed the original")
	}

	// A deep copy: changing the copy leaves the original alone.
	r.Store.Users["mallory"] = UserSpec{}
	r.Store.Users["alice"].Roles[0] = "changed"
	r.Token.Lookup[0] = "changed"
	r.Server.TrustedProxies = append(r.Server.TrustedProxies, "1.2.3.4")
	if _, ok := c.Store.Users["mallory"]; ok || c.Store.Users["alice"].Roles[0] != "admin" || c.Token.Lookup[0] != "header" || len(c.Server.TrustedProxies) != 0 {
		t.Error("Redacted shares memory with the original")
	}

	urls := []struct{ in, want string }{
		{"", ""},
		{"redis://cache:6379/0", "redis://cache:6379/0"},
		{"rediss://:pw@cache:6380", "rediss://:***@cache:6380"},
		{"redis://cache:6379/0?password=pw", "redis://cache:6379/0?password=***"},
		{"redis://u:pw@cache:%zz", "***"},
	}
	for _, tt := range urls {
		c := Defaults()
		c.State.RedisURL = tt.in
		if got := c.Redacted().State.RedisURL; got != tt.want {
			t.Errorf("Redacted(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}

	dsns := []struct{ in, want string }{
		{"sqlite:///var/lib/tokengate/users.db", "sqlite:///var/lib/tokengate/users.db"},
		{"postgres://tg:hunter2@db:5432/tokengate?sslmode=disable", "postgres://tg:***@db:5432/tokengate?sslmode=disable"},
		{"postgres://tg@db/tokengate?password=hunter2", "postgres://tg@db/tokengate?password=***"},
		{"postgres://tg:hunter2@db:%zz/x", "***"},
	}
	for _, tt := range dsns {
		c := Defaults()
		c.Store.DSN = tt.in
		if got := c.Redacted().Store.DSN; got != tt.want {
			t.Errorf("Redacted(store.dsn %q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if (*Config)(nil).Redacted() != nil {
		t.Error("nil.Redacted() != nil")
	}
}

// A store.dsn with a password never shows it, whatever is wrong around it.
func TestDSNPasswordNeverShown(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{
		"postgres://tg:hunter2@%zz/db",
		"mysql://tg:hunter2@db/x",
		"postgres://tg:hunter2@/db",
	} {
		env := []string{"TOKENGATE_STORE_KIND=sql", "TOKENGATE_STORE_DSN=" + dsn, "TOKENGATE_STORE_MAX_OPEN_CONNS=many"}
		_, err := LoadValid("", env, nil)
		if err == nil {
			t.Fatalf("LoadValid(store.dsn %q) = nil, want problems", dsn)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("problems quote the DSN's password:\n%v", err)
		}
		if !strings.Contains(err.Error(), "store.dsn: ") || !strings.Contains(err.Error(), "store.max_open_conns: ") {
			t.Errorf("problems = %v, want store.dsn and store.max_open_conns named", err)
		}
	}
}
