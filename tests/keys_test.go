package tests

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// keyConfig is the default config signing with the private key file key of alg, and verifying
// also with the previous public key files.
func keyConfig(t *testing.T, alg, key string, previous ...string) string {
	t.Helper()
	prev, err := json.Marshal(append([]string{}, previous...))
	if err != nil {
		t.Fatal(err)
	}
	return conf{token: fmt.Sprintf("  algorithm: %s\n  private_key_file: %q\n  previous_public_key_files: %s\n", alg, key, prev)}.yaml(t)
}

// fetchJWKS reads the server's key set with go-jose.
func fetchJWKS(t *testing.T, s *server) jose.JSONWebKeySet {
	t.Helper()
	r := s.get(t, "/.well-known/jwks.json")
	if r.Status != 200 {
		t.Fatalf("jwks: %d", r.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.Body, &set); err != nil {
		t.Fatalf("go-jose cannot read our JWKS: %v: %s", err, r.Body)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Fatalf("JWKS holds a private key: %s", r.Body)
		}
	}
	return set
}

// verifyWithJWKS verifies raw in go-jose using only the published JWKS, picking the key by kid.
func verifyWithJWKS(t *testing.T, raw string, set jose.JSONWebKeySet, alg jose.SignatureAlgorithm) josejwt.Claims {
	t.Helper()
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatalf("go-jose ParseSigned: %v", err)
	}
	kid := tok.Headers[0].KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("JWKS has %d keys with kid %q", len(keys), kid)
	}
	if keys[0].Algorithm != string(alg) || keys[0].Use != "sig" {
		t.Errorf("JWK alg/use = %q/%q", keys[0].Algorithm, keys[0].Use)
	}
	var cl josejwt.Claims
	if err := tok.Claims(keys[0].Key, &cl); err != nil {
		t.Fatalf("go-jose verification with the JWKS key failed: %v", err)
	}
	if err := cl.ValidateWithLeeway(josejwt.Expected{Issuer: "tokengate", AnyAudience: josejwt.Audience{"tokengate"}, Time: time.Now()}, 5*time.Second); err != nil {
		t.Fatalf("go-jose claims check: %v", err)
	}
	return cl
}

// TestAsymmetricTokensVerifyWithJWKS: for RS256, ES256 and EdDSA, another library verifies our
// tokens with nothing but the public key fetched from /.well-known/jwks.json.
func TestAsymmetricTokensVerifyWithJWKS(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			key := keygen(t, dir, alg, "key.pem")
			s := startServer(t, keyConfig(t, alg, key))
			tok := s.accessToken(t, "alice", "pyconid")
			cl := verifyWithJWKS(t, tok, fetchJWKS(t, s), jose.SignatureAlgorithm(alg))
			if cl.Subject != "alice" {
				t.Errorf("sub = %q", cl.Subject)
			}
			if r := s.get(t, "/protected", "Authorization", "Bearer "+tok); r.Status != 200 {
				t.Fatalf("our own token: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestKeyRotation: after a rotation, tokens signed with the retired key keep working; a token with
// an unknown kid, or a known kid with another algorithm, is refused.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	oldKey := keygen(t, dir, "ES256", "old.pem")
	newKey := keygen(t, dir, "EdDSA", "new.pem")
	strayKey := keygen(t, dir, "ES256", "stray.pem")

	before := startServer(t, keyConfig(t, "ES256", oldKey))
	oldTok := before.accessToken(t, "alice", "pyconid")
	oldJWKS := fetchJWKS(t, before)
	stray := startServer(t, keyConfig(t, "ES256", strayKey))
	strayTok := stray.accessToken(t, "alice", "pyconid")

	after := startServer(t, keyConfig(t, "EdDSA", newKey, writePublicPEM(t, oldKey)))
	newTok := after.accessToken(t, "alice", "pyconid")
	set := fetchJWKS(t, after)
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS after rotation has %d keys, want 2 (new and retired)", len(set.Keys))
	}
	verifyWithJWKS(t, newTok, set, jose.EdDSA)
	verifyWithJWKS(t, oldTok, set, jose.ES256)

	if r := after.get(t, "/protected", "Authorization", "Bearer "+oldTok); r.Status != 200 {
		t.Fatalf("token of the retired key: %d %s", r.Status, r.Body)
	}
	if r := after.get(t, "/protected", "Authorization", "Bearer "+newTok); r.Status != 200 {
		t.Fatalf("token of the new key: %d %s", r.Status, r.Body)
	}
	wantError(t, after.get(t, "/protected", "Authorization", "Bearer "+strayTok), 401, "invalid_token")

	// A known kid with another algorithm: HS256 "signed" with the retired public key's JWK bytes.
	oldKid := oldJWKS.Keys[0].KeyID
	pubJSON, _ := json.Marshal(oldJWKS.Keys[0])
	confused := jws(object("alg", "HS256", "typ", "JWT", "kid", oldKid), sortedObject(map[string]any{
		"sub": "mallory", "iss": "tokengate", "aud": "tokengate",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}), signHS256(pubJSON))
	wantError(t, after.get(t, "/protected", "Authorization", "Bearer "+confused), 401, "invalid_token")
}

// TestHMACInteroperability: go-jose verifies our HS256 tokens with the shared secret, and a token it
// makes with the right claims is accepted; wrong issuer or audience is refused.
func TestHMACInteroperability(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	tok := s.accessToken(t, "alice", "pyconid")
	parsed, err := josejwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		t.Fatal(err)
	}
	var cl josejwt.Claims
	if err := parsed.Claims([]byte(testSecret), &cl); err != nil {
		t.Fatalf("go-jose cannot verify our token with the secret: %v", err)
	}
	if cl.Subject != "alice" || cl.Issuer != "tokengate" || !cl.Audience.Contains("tokengate") {
		t.Fatalf("claims = %+v", cl)
	}

	sign := func(iss, aud string) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(testSecret)}, (&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		raw, err := josejwt.Signed(signer).Claims(josejwt.Claims{
			Subject: "bob", Issuer: iss, Audience: josejwt.Audience{aud},
			IssuedAt: josejwt.NewNumericDate(now), NotBefore: josejwt.NewNumericDate(now),
			Expiry: josejwt.NewNumericDate(now.Add(time.Minute)), ID: "jose-made-token-id",
		}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	r := s.get(t, "/protected", "Authorization", "Bearer "+sign("tokengate", "tokengate"))
	if r.Status != 200 || r.JSON(t)["user"] != "bob" {
		t.Fatalf("go-jose token: %d %s", r.Status, r.Body)
	}
	wantError(t, s.get(t, "/protected", "Authorization", "Bearer "+sign("someone-else", "tokengate")), 401, "invalid_token")
	wantError(t, s.get(t, "/protected", "Authorization", "Bearer "+sign("tokengate", "another-api")), 401, "invalid_token")
}
