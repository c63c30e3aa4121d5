package token

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNewHMACKeys(t *testing.T) {
	tests := []struct {
		name    string
		alg     string
		secret  []byte
		wantErr bool
	}{
		{"HS256 32 bytes", HS256, testSecret[:32], false},
		{"HS384", HS384, testSecret[:48], false},
		{"HS512", HS512, testSecret, false},
		{"31 bytes", HS256, testSecret[:31], true},
		{"HS384 with 47 bytes (RFC 7518 §3.2)", HS384, testSecret[:47], true},
		{"HS512 with 63 bytes (RFC 7518 §3.2)", HS512, testSecret[:63], true},
		{"empty", HS256, nil, true},
		{"RS256 is not HMAC", RS256, testSecret, true},
		{"none", "none", testSecret, true},
		{"lower case", "hs256", testSecret, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewHMACKeys(tt.alg, tt.secret)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if len(tt.secret) > 0 && strings.Contains(err.Error(), string(tt.secret)) {
					t.Errorf("error text contains the secret")
				}
				return
			}
			if string(k.JWKS()) != `{"keys":[]}` {
				t.Errorf("JWKS = %s, want {\"keys\":[]}", k.JWKS())
			}
		})
	}
}

func TestHMACKeyID(t *testing.T) {
	a := mustHMAC(t, HS256, testSecret)
	b := mustHMAC(t, HS256, bytes.Clone(testSecret))
	c := mustHMAC(t, HS256, append([]byte("x"), testSecret...))
	d := mustHMAC(t, HS512, testSecret)
	if a.KeyID() != b.KeyID() {
		t.Error("same secret, different kid")
	}
	if a.KeyID() == c.KeyID() || a.KeyID() == d.KeyID() {
		t.Error("different secret or algorithm, same kid")
	}
	if len(a.KeyID()) != 22 || strings.Contains(a.KeyID(), string(testSecret[:8])) {
		t.Errorf("kid %q: want 16 bytes of base64url, nothing of the secret", a.KeyID())
	}
	// The secret is copied: changing the caller's slice changes nothing.
	secret := bytes.Clone(testSecret)
	k := mustHMAC(t, HS256, secret)
	raw, _, err := NewIssuer(k, testOptions(newClock())).Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	secret[0] ^= 0xff
	if _, err := NewVerifier(k, testOptions(newClock())).Verify(context.Background(), raw); err != nil {
		t.Errorf("Verify after the caller changed its secret: %v", err)
	}
}

// TestLoadKeysFormats: PKCS#8, PKCS#1 and SEC1 private keys (with or without an EC PARAMETERS
// block) load and sign; retired keys load from public or private PEM.
func TestLoadKeysFormats(t *testing.T) {
	k := sharedKeys()
	dir := t.TempDir()
	pkcs1 := writePEM(t, dir, "rsa1.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.rsa))
	sec1DER, err := x509.MarshalECPrivateKey(k.ec)
	if err != nil {
		t.Fatal(err)
	}
	sec1 := writePEM(t, dir, "ec1.pem", "EC PRIVATE KEY", sec1DER)
	params := filepath.Join(dir, "ecparams.pem")
	oid := []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07} // prime256v1
	data := append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: oid}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1DER})...)
	if err := os.WriteFile(params, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rsaPKCS1Pub := writePEM(t, dir, "rsa.pub1.pem", "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.rsaOther.PublicKey))
	tests := []struct {
		name     string
		alg      string
		private  string
		previous []string
		wantAlgs []string // JWKS algs, current first
	}{
		{"RSA PKCS#8", RS256, writePKCS8(t, dir, "rsa8.pem", k.rsa), nil, []string{RS256}},
		{"RSA PKCS#1", RS256, pkcs1, nil, []string{RS256}},
		{"EC PKCS#8", ES256, writePKCS8(t, dir, "ec8.pem", k.ec), nil, []string{ES256}},
		{"EC SEC1", ES256, sec1, nil, []string{ES256}},
		{"EC SEC1 after EC PARAMETERS", ES256, params, nil, []string{ES256}},
		{"Ed25519 PKCS#8", EdDSA, writePKCS8(t, dir, "ed8.pem", k.ed), nil, []string{EdDSA}},
		{"retired keys of every type", RS256, pkcs1, []string{
			writePublic(t, dir, "ec.pub", &k.ecOther.PublicKey),
			writePublic(t, dir, "ed.pub", k.edOther.Public()),
			rsaPKCS1Pub,
		}, []string{RS256, ES256, EdDSA, RS256}},
		{"retired key given as a private key", ES256, sec1, []string{writePKCS8(t, dir, "edpriv.pem", k.edOther)}, []string{ES256, EdDSA}},
		{"current key also listed as retired", ES256, sec1, []string{writePublic(t, dir, "ecself.pub", &k.ec.PublicKey)}, []string{ES256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := mustLoad(t, tt.alg, tt.private, tt.previous...)
			if keys.Algorithm() != tt.alg {
				t.Errorf("Algorithm = %s, want %s", keys.Algorithm(), tt.alg)
			}
			set := parseJWKS(t, keys.JWKS())
			var algs []string
			for _, key := range set {
				algs = append(algs, key["alg"].(string))
			}
			if !slices.Equal(algs, tt.wantAlgs) {
				t.Errorf("JWKS algs = %v, want %v", algs, tt.wantAlgs)
			}
			if set[0]["kid"] != keys.KeyID() {
				t.Errorf("first JWKS key is %v, want the current key %s", set[0]["kid"], keys.KeyID())
			}
			clk := newClock()
			raw, _, err := NewIssuer(keys, testOptions(clk)).Issue("alice", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := NewVerifier(keys, testOptions(clk)).Verify(context.Background(), raw); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// parseJWKS checks the JWKS carries public members only and returns its keys.
func parseJWKS(tb testing.TB, data []byte) []map[string]any {
	tb.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&set); err != nil {
		tb.Fatalf("JWKS %s: %v", data, err)
	}
	allowed := map[string][]string{
		"RSA": {"alg", "e", "kid", "kty", "n", "use"},
		"EC":  {"alg", "crv", "kid", "kty", "use", "x", "y"},
		"OKP": {"alg", "crv", "kid", "kty", "use", "x"},
	}
	for _, key := range set.Keys {
		var names []string
		for name := range key {
			names = append(names, name)
		}
		slices.Sort(names)
		kty, _ := key["kty"].(string)
		if !slices.Equal(names, allowed[kty]) {
			tb.Errorf("JWKS key members %v, want exactly %v", names, allowed[kty])
		}
		if key["use"] != "sig" {
			tb.Errorf("use = %v, want sig", key["use"])
		}
	}
	return set.Keys
}

func TestLoadKeysErrors(t *testing.T) {
	k := sharedKeys()
	dir := t.TempDir()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaFile := writePKCS8(t, dir, "rsa.pem", k.rsa)
	ecFile := writePKCS8(t, dir, "ec.pem", k.ec)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	encrypted := writePEM(t, dir, "enc.pem", "ENCRYPTED PRIVATE KEY", []byte{1, 2, 3})
	huge := filepath.Join(dir, "huge.pem")
	if err := os.WriteFile(huge, bytes.Repeat([]byte("A"), maxPEMFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	two := filepath.Join(dir, "two.pem")
	r, _ := os.ReadFile(rsaFile)
	e, _ := os.ReadFile(ecFile)
	if err := os.WriteFile(two, append(r, e...), 0o600); err != nil {
		t.Fatal(err)
	}
	cert := writePEM(t, dir, "cert.pem", "CERTIFICATE", []byte{1})
	tests := []struct {
		name     string
		alg      string
		private  string
		previous []string
		mention  string // a word the error must have
	}{
		{"RSA 1024 bits", RS256, writePKCS8(t, dir, "small.pem", small), nil, ""},
		{"retired RSA 1024 bits", RS256, rsaFile, []string{writePublic(t, dir, "small.pub", &small.PublicKey)}, ""},
		{"P-384", ES256, writePKCS8(t, dir, "p384.pem", p384), nil, "P-384"},
		{"retired P-384", ES256, ecFile, []string{writePublic(t, dir, "p384.pub", &p384.PublicKey)}, "P-384"},
		{"RSA key for ES256 named", ES256, rsaFile, nil, "RS256"},
		{"EC key for RS256", RS256, ecFile, nil, ""},
		{"Ed25519 key for ES256", ES256, writePKCS8(t, dir, "ed.pem", k.ed), nil, ""},
		{"HS256 with a key file", HS256, rsaFile, nil, ""},
		{"unknown algorithm", "PS256", rsaFile, nil, ""},
		{"missing file", RS256, filepath.Join(dir, "missing.pem"), nil, ""},
		{"missing retired file", RS256, rsaFile, []string{filepath.Join(dir, "missing.pub")}, ""},
		{"garbage", RS256, garbage, nil, ""},
		{"garbage retired", RS256, rsaFile, []string{garbage}, ""},
		{"encrypted", RS256, encrypted, nil, ""},
		{"over 1 MiB", RS256, huge, nil, ""},
		{"two private keys", RS256, two, nil, ""},
		{"certificate", RS256, cert, nil, ""},
		{"public key as private key", RS256, writePublic(t, dir, "rsa.pub", &k.rsa.PublicKey), nil, ""},
	}
	rsaBody := strings.Split(string(r), "\n")[2] // a line of key material
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadKeys(tt.alg, tt.private, tt.previous)
			if err == nil {
				t.Fatal("err = nil, want an error")
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
			if strings.Contains(err.Error(), rsaBody) {
				t.Errorf("error text contains key material: %v", err)
			}
		})
	}
}

// TestRetiredKeyStillVerifies: after rotating ES256 → RS256, tokens of the old key verify until
// they expire; new tokens carry the new kid.
func TestRetiredKeyStillVerifies(t *testing.T) {
	k := sharedKeys()
	dir := t.TempDir()
	clk := newClock()
	opts := testOptions(clk)
	oldKeys := mustLoad(t, ES256, writePKCS8(t, dir, "old.pem", k.ec))
	oldToken, _, err := NewIssuer(oldKeys, opts).Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	newKeys := mustLoad(t, RS256, writePKCS8(t, dir, "new.pem", k.rsa), writePublic(t, dir, "old.pub", &k.ec.PublicKey))
	v := NewVerifier(newKeys, opts)
	if _, err := v.Verify(context.Background(), oldToken); err != nil {
		t.Fatalf("retired key token: %v", err)
	}
	newToken, _, err := NewIssuer(newKeys, opts).Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), newToken); err != nil {
		t.Fatalf("new key token: %v", err)
	}
	clk.Add(testTTL + testLeeway)
	_, err = v.Verify(context.Background(), oldToken)
	wantErr(t, err, ErrExpired, oldToken)
	// Dropping the retired key refuses its tokens (ES256 is no longer an algorithm of the set).
	clk.Set(testStart)
	_, err = NewVerifier(mustLoad(t, RS256, writePKCS8(t, dir, "new2.pem", k.rsa)), opts).Verify(context.Background(), oldToken)
	wantErr(t, err, ErrAlgorithm, oldToken)
}

func TestGenerateKey(t *testing.T) {
	dir := t.TempDir()
	for _, alg := range []string{RS256, ES256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			if alg == RS256 && testing.Short() {
				t.Skip("RSA 3072 generation is slow")
			}
			data, err := GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			block, rest := pem.Decode(data)
			if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
				t.Fatalf("GenerateKey(%s) is not one PKCS#8 PEM block", alg)
			}
			key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			switch key := key.(type) {
			case *rsa.PrivateKey:
				if key.N.BitLen() != 3072 {
					t.Errorf("RSA bits = %d, want 3072", key.N.BitLen())
				}
			case *ecdsa.PrivateKey:
				if key.Curve != elliptic.P256() {
					t.Errorf("curve = %s, want P-256", key.Curve.Params().Name)
				}
			case ed25519.PrivateKey:
			default:
				t.Errorf("key type %T", key)
			}
			path := filepath.Join(dir, alg+".pem")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			mustLoad(t, alg, path)
		})
	}
	for _, alg := range []string{HS256, "none", ""} {
		if _, err := GenerateKey(alg); err == nil {
			t.Errorf("GenerateKey(%q): err = nil", alg)
		}
	}
}

func TestJWKSIsACopy(t *testing.T) {
	k := sharedKeys()
	keys := mustLoad(t, EdDSA, writePKCS8(t, t.TempDir(), "ed.pem", k.ed))
	a := keys.JWKS()
	a[0] = 'X'
	if b := keys.JWKS(); b[0] != '{' {
		t.Error("JWKS shares its buffer with callers")
	}
}
