package token

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// thumbprint is the RFC 7638 SHA-256 thumbprint of pub as go-jose computes it: an independent
// check of our kid.
func thumbprint(tb testing.TB, pub crypto.PublicKey) string {
	tb.Helper()
	jwk := jose.JSONWebKey{Key: pub}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		tb.Fatalf("Thumbprint: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

type roleClaims struct {
	Roles []string `json:"roles"`
}

// checkWithJose verifies raw in go-jose with key and checks the claims tokengate puts in.
func checkWithJose(t *testing.T, raw string, alg jose.SignatureAlgorithm, key any, now time.Time) {
	t.Helper()
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatalf("go-jose ParseSigned: %v", err)
	}
	var (
		std   josejwt.Claims
		roles roleClaims
	)
	if err := tok.Claims(key, &std, &roles); err != nil {
		t.Fatalf("go-jose Claims: %v", err)
	}
	err = std.ValidateWithLeeway(josejwt.Expected{
		Issuer:      testIssuer,
		AnyAudience: josejwt.Audience{testAudience},
		Time:        now,
	}, 0)
	if err != nil {
		t.Fatalf("go-jose Validate: %v", err)
	}
	if std.Subject != "alice" || std.ID == "" || !slices.Equal(roles.Roles, []string{"admin"}) {
		t.Errorf("go-jose claims = %+v %+v", std, roles)
	}
}

// TestJoseVerifiesHMAC: go-jose, given only the secret, verifies our HS* tokens.
func TestJoseVerifiesHMAC(t *testing.T) {
	for _, tt := range []struct {
		alg    string
		jose   jose.SignatureAlgorithm
		secret []byte
	}{
		{HS256, jose.HS256, testSecret[:32]},
		{HS384, jose.HS384, testSecret[:48]},
		{HS512, jose.HS512, testSecret},
	} {
		t.Run(tt.alg, func(t *testing.T) {
			clk := newClock()
			raw, _, err := NewIssuer(mustHMAC(t, tt.alg, tt.secret), testOptions(clk)).Issue("alice", []string{"admin"})
			if err != nil {
				t.Fatal(err)
			}
			checkWithJose(t, raw, tt.jose, tt.secret, clk.Now())
		})
	}
}

// TestJoseVerifiesWithJWKS: go-jose verifies our asymmetric tokens using ONLY the JWKS we
// publish, and computes the same thumbprints as our kids.
func TestJoseVerifiesWithJWKS(t *testing.T) {
	k := sharedKeys()
	dir := t.TempDir()
	for _, tt := range []struct {
		alg  string
		jose jose.SignatureAlgorithm
		key  any
	}{
		{RS256, jose.RS256, k.rsa},
		{ES256, jose.ES256, k.ec},
		{EdDSA, jose.EdDSA, k.ed},
	} {
		t.Run(tt.alg, func(t *testing.T) {
			clk := newClock()
			keys := mustLoad(t, tt.alg, writePKCS8(t, dir, tt.alg+".pem", tt.key))
			raw, _, err := NewIssuer(keys, testOptions(clk)).Issue("alice", []string{"admin"})
			if err != nil {
				t.Fatal(err)
			}
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(keys.JWKS(), &set); err != nil {
				t.Fatalf("go-jose cannot parse our JWKS: %v", err)
			}
			tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{tt.jose})
			if err != nil {
				t.Fatal(err)
			}
			kid := tok.Headers[0].KeyID
			found := set.Key(kid)
			if len(found) != 1 {
				t.Fatalf("JWKS has %d keys with kid %q, want 1", len(found), kid)
			}
			jwk := found[0]
			if !jwk.IsPublic() || jwk.Use != "sig" || jwk.Algorithm != tt.alg {
				t.Errorf("JWKS key: public %v, use %q, alg %q", jwk.IsPublic(), jwk.Use, jwk.Algorithm)
			}
			if tp := thumbprint(t, jwk.Key); tp != kid {
				t.Errorf("kid = %s, go-jose thumbprint = %s", kid, tp)
			}
			checkWithJose(t, raw, tt.jose, jwk, clk.Now())
		})
	}
}

// TestJoseTokensAccepted: tokens go-jose makes with the right claims verify with us — without
// kid (HMAC, or the current asymmetric key) and with our kid.
func TestJoseTokensAccepted(t *testing.T) {
	k := sharedKeys()
	dir := t.TempDir()
	ecKeys := mustLoad(t, ES256, writePKCS8(t, dir, "ec.pem", k.ec))
	edKeys := mustLoad(t, EdDSA, writePKCS8(t, dir, "ed.pem", k.ed))
	for _, tt := range []struct {
		name string
		keys *KeySet
		alg  jose.SignatureAlgorithm
		key  any
		kid  string
	}{
		{"HS256 without kid", mustHMAC(t, HS256, testSecret[:32]), jose.HS256, testSecret[:32], ""},
		{"HS512 without kid", mustHMAC(t, HS512, testSecret), jose.HS512, testSecret, ""},
		{"ES256 with our kid", ecKeys, jose.ES256, k.ec, ecKeys.KeyID()},
		{"ES256 without kid", ecKeys, jose.ES256, k.ec, ""},
		{"EdDSA with our kid", edKeys, jose.EdDSA, k.ed, edKeys.KeyID()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			now := clk.Now()
			opts := (&jose.SignerOptions{}).WithType("JWT")
			if tt.kid != "" {
				opts = opts.WithHeader(jose.HeaderKey("kid"), tt.kid)
			}
			sig, err := jose.NewSigner(jose.SigningKey{Algorithm: tt.alg, Key: tt.key}, opts)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := josejwt.Signed(sig).Claims(josejwt.Claims{
				Subject:   "alice",
				Issuer:    testIssuer,
				Audience:  josejwt.Audience{testAudience},
				IssuedAt:  josejwt.NewNumericDate(now),
				NotBefore: josejwt.NewNumericDate(now),
				Expiry:    josejwt.NewNumericDate(now.Add(time.Minute)),
				ID:        "jose-1",
			}).Claims(roleClaims{Roles: []string{"admin"}}).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			revoked := &revocations{}
			o := testOptions(clk)
			o.Revoked = revoked
			c, err := NewVerifier(tt.keys, o).Verify(context.Background(), raw)
			if err != nil {
				t.Fatalf("Verify(go-jose token): %v", err)
			}
			if c.Subject != "alice" || c.ID != "jose-1" || !slices.Equal(c.Roles, []string{"admin"}) {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}
