package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokengate/tokengate/internal/fakeclock"
)

const (
	testIssuer   = "tokengate"
	testAudience = "tokengate"
	testLeeway   = 5 * time.Second
	testTTL      = 15 * time.Minute
)

// testSecret is 64 bytes: long enough for HS512 in every library (RFC 7518 §3.2).
var testSecret = []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")

var testStart = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is an injected, settable time source.
type clock = fakeclock.Clock

func newClock() *clock { return fakeclock.New(testStart) }

// revocations is an in-memory Revocations with an injectable failure.
type revocations struct {
	mu    sync.Mutex
	ids   map[string]bool
	err   error
	calls int
}

func (r *revocations) IsRevoked(_ context.Context, jti string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.err != nil {
		return false, r.err
	}
	return r.ids[jti], nil
}

func (r *revocations) revoke(jti string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[string]bool{}
	}
	r.ids[jti] = true
}

func (r *revocations) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

func testOptions(c *clock) Options {
	o := Options{Issuer: testIssuer, Audience: testAudience, TTL: testTTL, Leeway: testLeeway}
	if c != nil {
		o.Now = c.Now
	}
	return o
}

func mustHMAC(tb testing.TB, alg string, secret []byte) *KeySet {
	tb.Helper()
	k, err := NewHMACKeys(alg, secret)
	if err != nil {
		tb.Fatalf("NewHMACKeys(%s): %v", alg, err)
	}
	return k
}

// testKeys are generated once per test binary: RSA generation is slow under -race.
type testKeyPair struct {
	rsa, rsaOther *rsa.PrivateKey
	ec, ecOther   *ecdsa.PrivateKey
	ed, edOther   ed25519.PrivateKey
}

var sharedKeys = sync.OnceValue(func() testKeyPair {
	var (
		k   testKeyPair
		err error
	)
	must := func(e error) {
		if e != nil {
			panic(e)
		}
	}
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsaOther, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.ecOther, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	_, k.edOther, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return k
})

// writePEM writes one PEM block to a new file in dir and returns its path.
func writePEM(tb testing.TB, dir, name, typ string, der []byte) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func writePKCS8(tb testing.TB, dir, name string, key any) string {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return writePEM(tb, dir, name, "PRIVATE KEY", der)
}

func writePublic(tb testing.TB, dir, name string, pub crypto.PublicKey) string {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		tb.Fatal(err)
	}
	return writePEM(tb, dir, name, "PUBLIC KEY", der)
}

func mustLoad(tb testing.TB, alg, private string, previous ...string) *KeySet {
	tb.Helper()
	k, err := LoadKeys(alg, private, previous)
	if err != nil {
		tb.Fatalf("LoadKeys(%s): %v", alg, err)
	}
	return k
}

// signer signs a JWS signing input.
type signer func(tb testing.TB, signing string) []byte

func signWith(m jwt.SigningMethod, key any) signer {
	return func(tb testing.TB, signing string) []byte {
		tb.Helper()
		sig, err := m.Sign(signing, key)
		if err != nil {
			tb.Fatalf("sign %s: %v", m.Alg(), err)
		}
		return sig
	}
}

func fixedSig(b []byte) signer { return func(testing.TB, string) []byte { return b } }

// makeToken builds a compact JWS by hand from any header and claims.
func makeToken(tb testing.TB, header, claims map[string]any, sign signer) string {
	tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	s := b64(h) + "." + b64(p)
	return s + "." + b64(sign(tb, s))
}

// goodClaims are the claims tokengate issues, valid at now.
func goodClaims(now time.Time) map[string]any {
	return map[string]any{
		"sub":   "alice",
		"iss":   testIssuer,
		"aud":   testAudience,
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Add(testTTL).Unix(),
		"jti":   "jti-" + now.Format(time.RFC3339Nano),
		"roles": []string{"admin"},
	}
}

// with returns a copy of m with the given keys set (a nil value deletes the key).
func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

// wantErr fails unless err matches want (nil: success). Every failure but a state failure must
// also wrap ErrInvalid, and its text must not contain the token.
func wantErr(tb testing.TB, err, want error, raw string) {
	tb.Helper()
	if want == nil {
		if err != nil {
			tb.Fatalf("err = %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, want) {
		tb.Fatalf("err = %v, want %v", err, want)
	}
	if errors.Is(want, ErrStateUnavailable) {
		if errors.Is(err, ErrInvalid) {
			tb.Fatalf("state failure %v also wraps ErrInvalid", err)
		}
		return
	}
	if !errors.Is(err, ErrInvalid) {
		tb.Fatalf("err = %v does not wrap ErrInvalid", err)
	}
	if len(raw) > 8 && strings.Contains(err.Error(), raw) {
		tb.Fatalf("error text contains the token")
	}
}
