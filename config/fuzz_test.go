package config

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzLoad writes any bytes as the YAML config file, with any TOKENGATE_* environment, and calls
// Load and Validate. They never panic, and neither their errors nor Redacted ever show a secret
// (token.secret, a password_hash, the Redis password). token.secret_file is overridden to "" so
// that the fuzzer cannot make Load read an arbitrary file (a FIFO would hang it).
func FuzzLoad(f *testing.F) {
	const secret = "fuzz-secret-0123456789abcdef0123456789"
	const hash = "$2y$04$abcdefghijklmnopqrstuuYV8mk3CkM3Ih1mS1xd1AxQeI5dqV3Gq"
	for _, seed := range []struct{ yaml, env string }{
		{"token:\n  secret: " + secret + "\n", ""},
		{"token:\n  secret: short-secret-value\n  ttl: -1m\n", ""},
		{"token:\n  secret: " + secret + "\n  algorithm: none\n  lookup: [header, body]\n", ""},
		{"server:\n  addr: 127.0.0.1:0\n  max_body_bytes: -1\n  trusted_proxies: [\"not-an-ip\"]\n", ""},
		{"store:\n  kind: memory\n  users:\n    alice:\n      password_hash: \"" + hash + "\"\n      roles: [admin]\n", ""},
		{"store:\n  users:\n    alice:\n      password_hash: not-a-hash-pyconid\n      rolse: [x]\n", ""},
		{"store:\n  users:\n    alice: {password_hash: [\"" + hash + "\"]}\n", ""},
		{"state:\n  backend: redis\n  redis_url: \"redis://:hunter2-password@localhost:6379/0\"\n", ""},
		{"state:\n  backend: redis\n  redis_url: \"redis://localhost:6379/0?password=hunter2-password\"\n", ""},
		{"state:\n  redis_url: \"redis://user:hunter2-password@[::1\"\n", ""},
		{"token:\n  secert: " + secret + "\n", ""},
		{"TOKEN:\n  SECRET: " + secret + "\ntoken:\n  ttl: 1m\n", ""},
		{"token: &t\n  secret: " + secret + "\nserver: *t\n", ""},
		{"a: &a [\"x\", \"x\"]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n", ""},
		{"- 1\n- 2\n", ""}, {"", "TOKENGATE_TOKEN_SECRET=" + secret + "\nTOKENGATE_TOKEN_TTL=banana"},
		{"", "TOKENGATE_TOKEN_LOOKUP=header,,query\nTOKENGATE_SERVER_MAX_BODY_BYTES=1e99"},
		{"token:\n  secret: !!binary aGVsbG8=\n", ""}, {"token: {secret: 12345678901234567890123456789012}\n", ""},
		{"\t- bad\n", ""}, {"token:\n  ttl: 1000000000000h\n", ""},
	} {
		f.Add([]byte(seed.yaml), seed.env)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, envText string) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		env := strings.Split(envText, "\n")
		cfg, err := Load(path, env, map[string]any{"token.secret_file": ""})
		var msgs []string
		if err != nil {
			msgs = append(msgs, err.Error())
		} else {
			if verr := cfg.Validate(); verr != nil {
				msgs = append(msgs, verr.Error())
			}
			msgs = append(msgs, fmt.Sprintf("%+v", *cfg.Redacted()))
		}
		secrets, names := secSecretsOf(data, env)
		if cfg != nil && !cfg.Token.SecretGenerated {
			secrets = append(secrets, cfg.Token.Secret)
		}
		if cfg != nil {
			for name, u := range cfg.Store.Users {
				names = append(names, name)
				secrets = append(secrets, u.PasswordHash)
			}
		}
		all := string(data) + "\n" + envText
		for _, s := range secrets {
			// Too short, not unique in the input, escaped by %q, or part of a key or name (which
			// messages quote on purpose): not checked.
			if len(s) < 8 || strings.Count(all, s) != 1 || strconv.Quote(s) != `"`+s+`"` ||
				slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, s) }) {
				continue
			}
			for _, m := range msgs {
				if strings.Contains(m, s) {
					t.Fatalf("secret %q shown: %s", s, m)
				}
			}
		}
	})
}

// secSecretsOf returns the secret values written in a config file and environment, and every key
// and user name (which messages may quote).
func secSecretsOf(data []byte, env []string) (secrets, names []string) {
	var root map[string]any
	if yaml.NewDecoder(bytes.NewReader(data)).Decode(&root) == nil {
		var walk func(prefix string, v any)
		walk = func(prefix string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, sub := range v {
					names = append(names, k)
					walk(strings.ToLower(prefix+"."+k), sub)
				}
			case string:
				if strings.HasSuffix(prefix, ".secret") || strings.HasSuffix(prefix, ".password_hash") {
					secrets = append(secrets, v)
				}
				if strings.HasSuffix(prefix, ".redis_url") {
					secrets = append(secrets, secRedisPassword(v)...)
				}
			}
		}
		walk("", map[string]any(root))
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		names = append(names, k)
		switch k {
		case "TOKENGATE_TOKEN_SECRET":
			secrets = append(secrets, v)
		case "TOKENGATE_STATE_REDIS_URL":
			secrets = append(secrets, secRedisPassword(v)...)
		}
	}
	return secrets, names
}

func secRedisPassword(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	var out []string
	if p, ok := u.User.Password(); ok {
		out = append(out, p)
	}
	if p := u.Query().Get("password"); p != "" {
		out = append(out, p)
	}
	return out
}
