package config

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// Size limits for the files Load reads.
const (
	maxConfigBytes = 1 << 20  // the YAML configuration file
	maxSecretBytes = 64 << 10 // token.secret_file
)

// envPrefix starts every environment variable Load looks at.
const envPrefix = "TOKENGATE_"

// usersKey is one of the two keys viper does not decode: viper lower-cases map
// keys, and user names are case-sensitive.
const usersKey = "store.users"

// rulesKey is the other: a list of rules, decoded field by field so that each
// problem names its rule and field.
const rulesKey = "gateway.rules"

// generatedSecretBytes is the amount of randomness in a generated secret: enough for HS512.
const generatedSecretBytes = 64

// setting is one configuration key (other than store.users). field returns a
// pointer to the key's field in a Config; its type (*string, *bool, *int,
// *int64, *time.Duration or *[]string) is the key's type.
type setting struct {
	key    string
	field  func(*Config) any
	secret bool // never put the value in a message
}

// settings is the table of every configuration key. Its defaults come from
// Defaults, so the two cannot drift apart.
var settings = []setting{
	{key: "server.addr", field: func(c *Config) any { return &c.Server.Addr }},
	{key: "server.read_header_timeout", field: func(c *Config) any { return &c.Server.ReadHeaderTimeout }},
	{key: "server.read_timeout", field: func(c *Config) any { return &c.Server.ReadTimeout }},
	{key: "server.write_timeout", field: func(c *Config) any { return &c.Server.WriteTimeout }},
	{key: "server.idle_timeout", field: func(c *Config) any { return &c.Server.IdleTimeout }},
	{key: "server.shutdown_timeout", field: func(c *Config) any { return &c.Server.ShutdownTimeout }},
	{key: "server.max_body_bytes", field: func(c *Config) any { return &c.Server.MaxBodyBytes }},
	{key: "server.trusted_proxies", field: func(c *Config) any { return &c.Server.TrustedProxies }},
	{key: "server.public_url", field: func(c *Config) any { return &c.Server.PublicURL }},
	{key: "token.algorithm", field: func(c *Config) any { return &c.Token.Algorithm }},
	{key: "token.secret", field: func(c *Config) any { return &c.Token.Secret }, secret: true},
	{key: "token.secret_file", field: func(c *Config) any { return &c.Token.SecretFile }},
	{key: "token.issuer", field: func(c *Config) any { return &c.Token.Issuer }},
	{key: "token.audience", field: func(c *Config) any { return &c.Token.Audience }},
	{key: "token.ttl", field: func(c *Config) any { return &c.Token.TTL }},
	{key: "token.leeway", field: func(c *Config) any { return &c.Token.Leeway }},
	{key: "token.refresh_ttl", field: func(c *Config) any { return &c.Token.RefreshTTL }},
	{key: "token.lookup", field: func(c *Config) any { return &c.Token.Lookup }},
	{key: "token.query_param", field: func(c *Config) any { return &c.Token.QueryParam }},
	{key: "token.cookie_name", field: func(c *Config) any { return &c.Token.CookieName }},
	{key: "token.cache_size", field: func(c *Config) any { return &c.Token.CacheSize }},
	{key: "token.private_key_file", field: func(c *Config) any { return &c.Token.PrivateKeyFile }},
	{key: "token.previous_public_key_files", field: func(c *Config) any { return &c.Token.PreviousPublicKeyFiles }},
	{key: "token.next_public_key_files", field: func(c *Config) any { return &c.Token.NextPublicKeyFiles }},
	{key: "token.jwks_max_age", field: func(c *Config) any { return &c.Token.JWKSMaxAge }},
	{key: "store.kind", field: func(c *Config) any { return &c.Store.Kind }},
	{key: "store.path", field: func(c *Config) any { return &c.Store.Path }},
	{key: "store.watch", field: func(c *Config) any { return &c.Store.Watch }},
	{key: "store.dsn", field: func(c *Config) any { return &c.Store.DSN }, secret: true},
	{key: "store.max_open_conns", field: func(c *Config) any { return &c.Store.MaxOpenConns }},
	{key: "store.max_idle_conns", field: func(c *Config) any { return &c.Store.MaxIdleConns }},
	{key: "store.conn_max_lifetime", field: func(c *Config) any { return &c.Store.ConnMaxLifetime }},
	{key: "store.query_timeout", field: func(c *Config) any { return &c.Store.QueryTimeout }},
	{key: "login.max_failures", field: func(c *Config) any { return &c.Login.MaxFailures }},
	{key: "login.window", field: func(c *Config) any { return &c.Login.Window }},
	{key: "login.lockout", field: func(c *Config) any { return &c.Login.Lockout }},
	{key: "login.max_concurrent_hashes", field: func(c *Config) any { return &c.Login.MaxConcurrentHashes }},
	{key: "login.hash_wait", field: func(c *Config) any { return &c.Login.HashWait }},
	{key: "state.backend", field: func(c *Config) any { return &c.State.Backend }},
	{key: "state.redis_url", field: func(c *Config) any { return &c.State.RedisURL }, secret: true},
	{key: "log.level", field: func(c *Config) any { return &c.Log.Level }},
	{key: "log.format", field: func(c *Config) any { return &c.Log.Format }},
	{key: "metrics.enabled", field: func(c *Config) any { return &c.Metrics.Enabled }},
	{key: "gateway.default_access", field: func(c *Config) any { return &c.Gateway.DefaultAccess }},
	{key: "gateway.user_header", field: func(c *Config) any { return &c.Gateway.UserHeader }},
	{key: "gateway.roles_header", field: func(c *Config) any { return &c.Gateway.RolesHeader }},
}

// envName returns the environment variable that sets key:
// TOKENGATE_ + key in upper case with "." replaced by "_"
// (token.secret → TOKENGATE_TOKEN_SECRET).
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// Load builds a Config from, in increasing precedence: the defaults; the YAML
// file at path (none when path is ""); the TOKENGATE_* variables in env, a
// list of "KEY=VALUE" strings (os.Environ is not read; list keys take
// comma-separated values); and overrides, keyed by configuration key (e.g.
// "server.addr", values of the key's type or a string), nil values ignored.
//
// Durations are Go durations ("15m"). When token.secret_file is set (and
// token.secret is not), Load reads the secret from it. When no secret is
// configured and the algorithm is HS*, Load generates a random one and sets
// Token.SecretGenerated.
//
// Load does not validate the result; call Validate, or use LoadValid. It
// returns a nil Config and an error when the file cannot be read or parsed
// (the error names the file). It returns a *ValidationError listing every
// value of the wrong type, unknown key in the file, unknown override key or
// unreadable token.secret_file, one problem per line, each naming its key,
// together with the Config it could build (the keys with problems at their
// defaults), so that Validate can still check the rest.
func Load(path string, env []string, overrides map[string]any) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	defaults := Defaults()
	for _, s := range settings {
		v.SetDefault(s.key, deref(s.field(defaults)))
	}
	v.SetDefault(usersKey, map[string]any{})

	var problems []string
	users := map[string]UserSpec{}
	rules := []GatewayRule{}
	clients := map[string]ClientSpec{}
	if path != "" {
		data, err := readFile(path, maxConfigBytes)
		if err != nil {
			return nil, err // names the file
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		var root *yaml.Node
		if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
			root = resolve(doc.Content[0])
		}
		if !isNull(root) && root.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("parse %s: top level must be a mapping of sections (server, token, …)", path)
		}
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		var parts fileSections
		parts, problems = checkFile(root)
		users, clients, rules = parts.users, parts.clients, parts.rules
	}

	fromEnv := parseEnv(env)
	for _, s := range settings {
		if raw, ok := fromEnv[envName(s.key)]; ok {
			v.Set(s.key, envValue(s, raw))
		}
	}
	if raw, ok := fromEnv[envName(rulesKey)]; ok {
		r, p := rulesFromEnv(raw)
		rules, problems = r, append(problems, p...)
	}

	for _, key := range slices.Sorted(maps.Keys(overrides)) {
		val := overrides[key]
		if val == nil {
			continue
		}
		if key == usersKey {
			u, ok := val.(map[string]UserSpec)
			if !ok {
				problems = append(problems, usersKey+": override must be a map[string]config.UserSpec")
				continue
			}
			users = cloneUsers(u)
			continue
		}
		if key == rulesKey {
			r, ok := val.([]GatewayRule)
			if !ok {
				problems = append(problems, rulesKey+": override must be a []config.GatewayRule")
				continue
			}
			rules = cloneRules(r)
			continue
		}
		if key == clientsKey {
			cl, ok := val.(map[string]ClientSpec)
			if !ok {
				problems = append(problems, clientsKey+": override must be a map[string]config.ClientSpec")
				continue
			}
			clients = maps.Clone(cl)
			continue
		}
		if _, ok := lookupSetting(key); !ok {
			problems = append(problems, fmt.Sprintf("%s: unknown configuration key (override)", key))
			continue
		}
		v.Set(key, val)
	}

	// Check every value's type ourselves, so that each problem names its key
	// and never shows a secret, then hand viper the typed values. A key with a
	// problem takes its default, so that the rest can still be decoded and
	// validated (LoadValid reports both at once).
	for _, s := range settings {
		val, msg := convert(v.Get(s.key), s)
		if msg != "" {
			problems = append(problems, s.key+": "+msg+source(s.key, path, v, fromEnv, overrides))
			val = deref(s.field(defaults))
		}
		v.Set(s.key, val)
	}

	var c Config
	if err := v.Unmarshal(&c); err != nil {
		return nil, fmt.Errorf("decode the configuration: %w", err)
	}
	c.Store.Users = users
	c.Gateway.Rules = rules
	c.Clients = clients
	if c.Server.TrustedProxies == nil {
		c.Server.TrustedProxies = []string{}
	}
	if c.Token.Lookup == nil {
		c.Token.Lookup = []string{}
	}
	if c.Token.PreviousPublicKeyFiles == nil {
		c.Token.PreviousPublicKeyFiles = []string{}
	}
	if c.Token.NextPublicKeyFiles == nil {
		c.Token.NextPublicKeyFiles = []string{}
	}
	if err := resolveSecret(&c.Token); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return &c, &ValidationError{Problems: problems}
	}
	return &c, nil
}

// LoadValid loads the configuration (Load) and validates it (Validate). It
// returns the Config, or an error: the file cannot be read or parsed, or a
// *ValidationError listing every problem of both steps at once, so that a
// value of the wrong type does not hide the invalid settings after it.
// Validate's problems about a key that already has a load problem are left
// out (the key was checked at its default).
//
// Each of checks, given the Config, returns more problem lines (each naming its key): checks that
// belong to another package, such as gateway.rules against the gateway package's grammar.
func LoadValid(path string, env []string, overrides map[string]any, checks ...func(*Config) []string) (*Config, error) {
	c, err := Load(path, env, overrides)
	var loadErr *ValidationError
	if err != nil && !errors.As(err, &loadErr) {
		return nil, err
	}
	var problems []string
	if loadErr != nil {
		problems = loadErr.Problems
	}
	var validErr *ValidationError
	if err := c.Validate(); errors.As(err, &validErr) {
		for _, p := range validErr.Problems {
			if !hasKeyProblem(problems, p) {
				problems = append(problems, p)
			}
		}
	}
	for _, check := range checks {
		for _, p := range check(c) {
			if !hasKeyProblem(problems, p) {
				problems = append(problems, p)
			}
		}
	}
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return c, nil
}

// hasKeyProblem reports whether problems already holds a line about the key problem p is about.
func hasKeyProblem(problems []string, p string) bool {
	key, _, _ := strings.Cut(p, ":")
	for _, q := range problems {
		if strings.HasPrefix(q, key+":") {
			return true
		}
	}
	return false
}

// resolveSecret reads token.secret_file, or generates a secret for HS*.
func resolveSecret(t *Token) error {
	switch {
	case t.SecretFile != "" && t.Secret == "":
		b, err := readFile(t.SecretFile, maxSecretBytes)
		if err != nil {
			return fmt.Errorf("token.secret_file: %w", err)
		}
		s := string(b)
		if strings.HasSuffix(s, "\r\n") {
			s = s[:len(s)-2]
		} else {
			s = strings.TrimSuffix(s, "\n")
		}
		// An empty file stays empty (Validate reports it): a secret the
		// operator meant to provide must never silently become a random one.
		t.Secret = s
		t.secretFromFile = true
	case t.SecretFile == "" && t.Secret == "" && isHMAC(t.Algorithm):
		b := make([]byte, generatedSecretBytes)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("token.secret: generate: %w", err)
		}
		t.Secret = hex.EncodeToString(b)
		t.SecretGenerated = true
	}
	return nil
}

// readFile reads at most limit bytes of path; a longer file is an error.
func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// parseEnv returns the TOKENGATE_* entries of env; a later entry wins.
func parseEnv(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, val, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, envPrefix) {
			m[k] = val
		}
	}
	return m
}

// envValue turns an environment string into the raw value for s: list keys
// are split on commas, with blanks trimmed and empty items dropped.
func envValue(s setting, raw string) any {
	if _, ok := s.field(&Config{}).(*[]string); !ok {
		return raw
	}
	items := []string{}
	for item := range strings.SplitSeq(raw, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// source says where the value of key came from, for problem messages.
func source(key, path string, v *viper.Viper, env map[string]string, overrides map[string]any) string {
	if overrides[key] != nil {
		return " (from override)"
	}
	if _, ok := env[envName(key)]; ok {
		return " (from " + envName(key) + ")"
	}
	if path != "" && v.InConfig(key) {
		return " (in " + path + ")"
	}
	return ""
}

func lookupSetting(key string) (setting, bool) {
	for _, s := range settings {
		if s.key == key {
			return s, true
		}
	}
	return setting{}, false
}

// deref returns the value a settings field pointer points to.
func deref(p any) any {
	switch p := p.(type) {
	case *string:
		return *p
	case *bool:
		return *p
	case *int:
		return *p
	case *int64:
		return *p
	case *time.Duration:
		return *p
	case *[]string:
		return slices.Clone(*p)
	}
	return nil
}

// convert turns a raw value (from YAML, the environment, an override or the
// defaults) into the type of s, or returns a message saying what is wrong.
// The message quotes the value only when s is not secret.
func convert(raw any, s setting) (any, string) {
	// show quotes the value, followed by a blank, unless it is secret.
	show := func() string {
		switch {
		case s.secret:
			return ""
		case isString(raw):
			return fmt.Sprintf("%q ", raw)
		}
		return fmt.Sprintf("%v ", raw)
	}
	switch s.field(&Config{}).(type) {
	case *string:
		if str, ok := raw.(string); ok {
			return str, ""
		}
		return nil, "must be a string"
	case *bool:
		switch b := raw.(type) {
		case bool:
			return b, ""
		case string:
			if parsed, err := strconv.ParseBool(strings.TrimSpace(b)); err == nil {
				return parsed, ""
			}
		}
		return nil, show() + "must be true or false"
	case *int:
		n, ok := toInt(raw)
		if !ok || n < math.MinInt || n > math.MaxInt {
			return nil, show() + "must be a whole number"
		}
		return int(n), ""
	case *int64:
		n, ok := toInt(raw)
		if !ok {
			return nil, show() + "must be a whole number"
		}
		return n, ""
	case *time.Duration:
		switch d := raw.(type) {
		case time.Duration:
			return d, ""
		case string:
			if parsed, err := time.ParseDuration(strings.TrimSpace(d)); err == nil {
				return parsed, ""
			}
			return nil, show() + `is not a duration such as "15m" or "10s"`
		}
		if n, ok := toInt(raw); ok && n == 0 {
			return time.Duration(0), ""
		}
		return nil, show() + `must be a duration with a unit, such as "15m" or "10s"`
	case *[]string:
		switch l := raw.(type) {
		case nil:
			return []string{}, ""
		case []string:
			return slices.Clone(l), ""
		case string:
			return envValue(s, l), ""
		case []any:
			out := make([]string, 0, len(l))
			for _, item := range l {
				str, ok := item.(string)
				if !ok {
					return nil, "must be a list of strings"
				}
				out = append(out, str)
			}
			return out, ""
		}
		return nil, "must be a list of strings"
	}
	return nil, "has an unsupported type"
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

// toInt accepts integers of any Go type, integral floats and decimal strings.
func toInt(raw any) (int64, bool) {
	switch n := raw.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return int64(n), uint64(n) <= math.MaxInt64
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case float32:
		return toInt(float64(n))
	case float64:
		if n != math.Trunc(n) || n < math.MinInt64 || n >= math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		return i, err == nil
	}
	return 0, false
}

// userFields are the fields of a store.users entry.
var userFields = []string{"password_hash", "roles", "disabled"}

// checkFile walks the parsed YAML file: it reports unknown keys (a typo such
// as "secert" must not silently fall back to a default) and decodes
// store.users and clients with the names exactly as written, and gateway.rules.
func checkFile(root *yaml.Node) (fileSections, []string) {
	f := fileSections{users: map[string]UserSpec{}, clients: map[string]ClientSpec{}, rules: []GatewayRule{}}
	var problems []string
	if isNull(root) || root.Kind != yaml.MappingNode {
		return f, nil // Load has rejected a non-mapping top level
	}
	sections := map[string]bool{}
	for _, s := range settings {
		sec, _, _ := strings.Cut(s.key, ".")
		sections[sec] = true
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		sec := strings.ToLower(root.Content[i].Value)
		body := resolve(root.Content[i+1])
		if sec == clientsKey && !seen[sec] {
			seen[sec] = true
			cl, p := decodeClients(body)
			f.clients = cl
			problems = append(problems, p...)
			continue
		}
		if !sections[sec] && sec != clientsKey {
			problems = append(problems, fmt.Sprintf("%s: unknown section (line %d)", root.Content[i].Value, root.Content[i].Line))
			continue
		}
		if seen[sec] {
			problems = append(problems, fmt.Sprintf("%s: set twice (keys are case-insensitive, line %d)", sec, root.Content[i].Line))
			continue
		}
		seen[sec] = true
		if isNull(body) {
			continue
		}
		if body.Kind != yaml.MappingNode {
			problems = append(problems, fmt.Sprintf("%s: must be a mapping (line %d)", sec, body.Line))
			continue
		}
		for j := 0; j+1 < len(body.Content); j += 2 {
			name := body.Content[j].Value
			key := sec + "." + strings.ToLower(name)
			if seen[key] {
				problems = append(problems, fmt.Sprintf("%s: set twice (keys are case-insensitive, line %d)", key, body.Content[j].Line))
				continue
			}
			seen[key] = true
			if key == usersKey {
				u, p := decodeUsers(resolve(body.Content[j+1]))
				f.users = u
				problems = append(problems, p...)
				continue
			}
			if key == rulesKey {
				r, p := decodeRules(resolve(body.Content[j+1]), "")
				f.rules = r
				problems = append(problems, p...)
				continue
			}
			if _, ok := lookupSetting(key); !ok {
				problems = append(problems, fmt.Sprintf("%s.%s: unknown key (line %d)", sec, name, body.Content[j].Line))
			}
		}
	}
	return f, problems
}

// fileSections are the parts of the configuration file that checkFile decodes itself, keeping
// the names as written (viper would lower-case them).
type fileSections struct {
	users   map[string]UserSpec
	clients map[string]ClientSpec
	rules   []GatewayRule
}

// decodeUsers decodes the store.users mapping, keeping names as written.
func decodeUsers(n *yaml.Node) (map[string]UserSpec, []string) {
	return decodeNamed(usersKey, "user name", "{password_hash, roles, disabled}", n, decodeUser)
}

// decodeNamed decodes a mapping of case-sensitive names to entries (store.users, clients), each
// entry field by field with decode, so that every problem names its key.
func decodeNamed[T any](key, noun, fields string, n *yaml.Node, decode func(prefix string, body *yaml.Node, v *T) []string) (map[string]T, []string) {
	out := map[string]T{}
	if isNull(n) {
		return out, nil
	}
	if n.Kind != yaml.MappingNode {
		return out, []string{key + ": must be a mapping of " + noun + " to " + fields}
	}
	var problems []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := n.Content[i]
		name := kn.Value
		if kn.Kind != yaml.ScalarNode || name == "" {
			problems = append(problems, fmt.Sprintf("%s: %s must be a non-empty string (line %d)", key, noun, kn.Line))
			continue
		}
		prefix := key + "." + name
		if _, dup := out[name]; dup {
			problems = append(problems, fmt.Sprintf("%s: defined twice (line %d)", prefix, kn.Line))
			continue
		}
		var v T
		body := resolve(n.Content[i+1])
		switch {
		case isNull(body):
		case body.Kind != yaml.MappingNode:
			problems = append(problems, prefix+": must be a mapping "+fields)
		default:
			problems = append(problems, decode(prefix, body, &v)...)
		}
		out[name] = v
	}
	return out, problems
}

// decodeUser decodes one user entry field by field, so that each problem
// names its field and no problem quotes the password hash.
func decodeUser(prefix string, body *yaml.Node, u *UserSpec) []string {
	var problems []string
	for j := 0; j+1 < len(body.Content); j += 2 {
		field := body.Content[j].Value
		val := resolve(body.Content[j+1])
		key := prefix + "." + field
		switch field {
		case "password_hash":
			if val.Kind != yaml.ScalarNode {
				problems = append(problems, key+": must be a string")
			} else if !isNull(val) {
				u.PasswordHash = val.Value
			}
		case "roles":
			if isNull(val) {
				break
			}
			var roles []string
			if val.Kind != yaml.SequenceNode || val.Decode(&roles) != nil {
				problems = append(problems, key+": must be a list of role names")
				break
			}
			u.Roles = roles
		case "disabled":
			var b bool
			if val.Kind != yaml.ScalarNode || val.Decode(&b) != nil {
				problems = append(problems, key+": must be true or false")
				break
			}
			u.Disabled = b
		default:
			problems = append(problems, fmt.Sprintf("%s: unknown field (want one of %s)", key, strings.Join(userFields, ", ")))
		}
	}
	return problems
}

// resolve follows a YAML alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func cloneUsers(in map[string]UserSpec) map[string]UserSpec {
	out := make(map[string]UserSpec, len(in))
	for name, u := range in {
		u.Roles = slices.Clone(u.Roles)
		out[name] = u
	}
	return out
}
