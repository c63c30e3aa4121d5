package cmd

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/token"
)

// TestKeygenIfMissing: --if-missing writes a key the first time and keeps it after, as long as it
// is a key for --alg; without it an existing file is an error.
func TestKeygenIfMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing.pem")
	out, _, err := runCmd(t, "", nil, "keygen", "--if-missing", "--alg", "ES256", "--out", path)
	if err != nil || !strings.Contains(out, "wrote a new ES256 private key") {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.LoadKeys(token.ES256, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = runCmd(t, "", nil, "keygen", "--if-missing", "--alg", "ES256", "--out", path)
	if err != nil || !strings.Contains(out, "kept the ES256 private key in "+path+" (kid "+keys.KeyID()+")") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	after, err := os.ReadFile(path)
	if err != nil || string(after) != string(before) {
		t.Fatalf("the key changed: %v", err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"exists, without --if-missing", []string{"keygen", "--alg", "ES256", "--out", path}, "exists"},
		{"exists for another algorithm", []string{"keygen", "--if-missing", "--alg", "EdDSA", "--out", path}, "is no usable EdDSA key"},
		{"exists but is no key", []string{"keygen", "--if-missing", "--out", writeFile(t, "junk.pem", "junk")}, "is no usable ES256 key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCmd(t, "", nil, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestClientSecret: a new random secret each time, 32 bytes in base64url, its SHA-256, and the
// configuration snippet with the hash only.
func TestClientSecret(t *testing.T) {
	re := regexp.MustCompile(`(?m)^secret:\s+(\S+)$\n^secret_sha256: ([0-9a-f]{64})$`)
	seen := map[string]bool{}
	for range 2 {
		out, _, err := runCmd(t, "", nil, "client-secret", "--id", "billing")
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("output:\n%s", out)
		}
		secret, hash := m[1], m[2]
		sum := sha256.Sum256([]byte(secret))
		if len(secret) != 43 || hex.EncodeToString(sum[:]) != hash {
			t.Errorf("secret %d characters, hash %s; want 43 and the SHA-256 of the secret", len(secret), hash)
		}
		if !strings.Contains(out, "clients:\n  billing:\n    secret_sha256: \""+hash+"\"\n") || strings.Count(out, secret) != 1 {
			t.Errorf("snippet:\n%s", out)
		}
		if seen[secret] {
			t.Error("the same secret twice")
		}
		seen[secret] = true
	}
	_, _, err := runCmd(t, "", nil, "client-secret", "--id", "a:b")
	var ue UsageError
	if !errors.As(err, &ue) {
		t.Errorf("--id a:b: err = %v, want a UsageError", err)
	}
}

// TestCheckConfigDownstream: check-config loads next keys and clients, names the published kids
// and the client ids, and masks the hashes; a bad next key file names its key.
func TestCheckConfigDownstream(t *testing.T) {
	dir := t.TempDir()
	key, next := filepath.Join(dir, "key.pem"), filepath.Join(dir, "next.pem")
	for _, p := range []string{key, next} {
		if _, _, err := runCmd(t, "", nil, "keygen", "--alg", "ES256", "--out", p); err != nil {
			t.Fatal(err)
		}
	}
	const hash = "5c0f2e9a6b0d8c1f3a4e7b9d2c6f8a1e3b5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a"
	cfg := "token:\n  algorithm: ES256\n  private_key_file: " + key + "\n  next_public_key_files: [" + next + "]\n" +
		"server:\n  public_url: https://auth.example.com\nclients:\n  billing:\n    secret_sha256: " + hash + "\n"
	out, _, err := runCmd(t, "", nil, "check-config", "--config", writeFile(t, "c.yaml", cfg))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := token.LoadKeys(token.ES256, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	nxt, err := token.LoadKeys(token.ES256, next, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server.public_url: https://auth.example.com", "jwks kids: " + cur.KeyID() + ", " + nxt.KeyID(), "clients: 1 billing (secret_sha256 ***)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, hash) {
		t.Errorf("hash printed:\n%s", out)
	}
	bad := strings.Replace(cfg, next, filepath.Join(dir, "missing.pem"), 1)
	_, stderr, err := runCmd(t, "", nil, "check-config", "--config", writeFile(t, "bad.yaml", bad))
	if !errors.Is(err, ErrReported) || !strings.Contains(stderr, "token.next_public_key_files: ") {
		t.Errorf("missing next key: %v\n%s", err, stderr)
	}
}
