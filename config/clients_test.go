package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// testClientHash is the shape of a client's secret hash: 64 hex digits.
const testClientHash = "5c0f2e9a6b0d8c1f3a4e7b9d2c6f8a1e3b5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a"

// TestLoadClients: client ids keep their case, as written in the file; problems name the key and
// never quote a hash.
func TestLoadClients(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "config.yaml", `
clients:
  Billing:
    secret_sha256: "`+testClientHash+`"
  billing.v2:
    secret_sha256: "`+strings.ToUpper(testClientHash)+`"
`)
	c := mustLoad(t, path, nil, nil)
	want := map[string]ClientSpec{
		"Billing":    {SecretSHA256: testClientHash},
		"billing.v2": {SecretSHA256: strings.ToUpper(testClientHash)},
	}
	if !reflect.DeepEqual(c.Clients, want) {
		t.Errorf("clients = %#v, want %#v", c.Clients, want)
	}
	c.Token.Secret = testSecret
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}

	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"not a mapping", "clients: [a, b]\n", "clients: must be a mapping of client id"},
		{"unknown field", "clients:\n  a:\n    secret: x\n", "clients.a.secret: unknown field (want one of secret_sha256)"},
		{"hash not a string", "clients:\n  a:\n    secret_sha256: [x]\n", "clients.a.secret_sha256: must be a string"},
		{"entry not a mapping", "clients:\n  a: x\n", "clients.a: must be a mapping {secret_sha256}"},
		{"set twice", "Clients: {}\nclients: {}\n", "clients: set twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, "config.yaml", tt.yaml), nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() error = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestLoadClientsOverride: tests set clients with an override.
func TestLoadClientsOverride(t *testing.T) {
	t.Parallel()
	clients := map[string]ClientSpec{"billing": {SecretSHA256: testClientHash}}
	c := mustLoad(t, "", nil, map[string]any{"clients": clients})
	if !reflect.DeepEqual(c.Clients, clients) {
		t.Errorf("clients = %#v, want %#v", c.Clients, clients)
	}
}

// TestValidateDownstream: the keys of the downstream work (discovery, JWKS, introspection clients).
func TestValidateDownstream(t *testing.T) {
	t.Parallel()
	const secretHash = "hunter2hunter2hunter2"
	for _, tt := range []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"public url", func(c *Config) { c.Server.PublicURL = "https://auth.example.com" }, ""},
		{"public url with a path", func(c *Config) { c.Server.PublicURL = "https://example.com/auth" }, ""},
		{"public url relative", func(c *Config) { c.Server.PublicURL = "auth.example.com" }, `server.public_url: "auth.example.com" is not an absolute http or https URL`},
		{"public url ftp", func(c *Config) { c.Server.PublicURL = "ftp://x" }, "server.public_url: "},
		{"public url query", func(c *Config) { c.Server.PublicURL = "https://x/?a=1" }, "server.public_url: \"https://x/?a=1\" must have no query"},
		{"next key empty", func(c *Config) { c.Token.NextPublicKeyFiles = []string{""} }, "token.next_public_key_files[0]: required"},
		{"next key with HMAC", func(c *Config) { c.Token.NextPublicKeyFiles = []string{"next.pem"} }, "token.next_public_key_files: needs RS256, ES256 or EdDSA"},
		{"next key with ES256", func(c *Config) {
			c.Token.Algorithm, c.Token.PrivateKeyFile, c.Token.NextPublicKeyFiles = "ES256", "k.pem", []string{"next.pem"}
		}, ""},
		{"jwks max age zero", func(c *Config) { c.Token.JWKSMaxAge = 0 }, ""},
		{"jwks max age negative", func(c *Config) { c.Token.JWKSMaxAge = -time.Second }, "token.jwks_max_age: must be between 0 and 24h"},
		{"jwks max age long", func(c *Config) { c.Token.JWKSMaxAge = 25 * time.Hour }, "token.jwks_max_age: must be between 0 and 24h"},
		{"client", func(c *Config) { c.Clients["billing"] = ClientSpec{SecretSHA256: testClientHash} }, ""},
		{"client without hash", func(c *Config) { c.Clients["billing"] = ClientSpec{} }, "clients.billing.secret_sha256: required"},
		{"client hash short", func(c *Config) { c.Clients["billing"] = ClientSpec{SecretSHA256: testClientHash[:63]} }, "clients.billing.secret_sha256: must be 64 hex digits"},
		{"client hash not hex", func(c *Config) { c.Clients["billing"] = ClientSpec{SecretSHA256: secretHash} }, "clients.billing.secret_sha256: must be 64 hex digits"},
		{"client id with a colon", func(c *Config) { c.Clients["a:b"] = ClientSpec{SecretSHA256: testClientHash} }, `clients: client id "a:b" must be`},
		{"client id with a space", func(c *Config) { c.Clients["a b"] = ClientSpec{SecretSHA256: testClientHash} }, `clients: client id "a b" must be`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			c.Clients = map[string]ClientSpec{}
			tt.change(c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secretHash) {
				t.Errorf("Validate() = %q quotes a client's hash", err)
			}
		})
	}
}

// TestRedactedClients: client hashes are masked, in a copy.
func TestRedactedClients(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.Clients = map[string]ClientSpec{"billing": {SecretSHA256: testClientHash}}
	r := c.Redacted()
	if got := r.Clients["billing"].SecretSHA256; got != "***" {
		t.Errorf("secret_sha256 = %q, want ***", got)
	}
	r.Clients["mallory"] = ClientSpec{}
	if c.Clients["billing"].SecretSHA256 != testClientHash || len(c.Clients) != 1 {
		t.Error("Redacted changed or shares the original's clients")
	}
}

// TestLoadEnvDownstream: the new scalar and list keys come from the environment too.
func TestLoadEnvDownstream(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, "", []string{
		"TOKENGATE_SERVER_PUBLIC_URL=https://auth.example.com",
		"TOKENGATE_TOKEN_NEXT_PUBLIC_KEY_FILES=a.pem, b.pem",
		"TOKENGATE_TOKEN_JWKS_MAX_AGE=1m",
	}, nil)
	if c.Server.PublicURL != "https://auth.example.com" || !reflect.DeepEqual(c.Token.NextPublicKeyFiles, []string{"a.pem", "b.pem"}) || c.Token.JWKSMaxAge != time.Minute {
		t.Errorf("got %q %q %v", c.Server.PublicURL, c.Token.NextPublicKeyFiles, c.Token.JWKSMaxAge)
	}
}
