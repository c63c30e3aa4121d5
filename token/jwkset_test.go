package token

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// publishedSets returns, per algorithm, a key set loaded from a PEM file (the signer) and its
// JWKS as tokengate publishes it.
func publishedSets(t testing.TB) map[string]*KeySet {
	t.Helper()
	dir := t.TempDir()
	k := sharedKeys()
	return map[string]*KeySet{
		RS256: mustLoad(t, RS256, writePKCS8(t, dir, "rsa.pem", k.rsa)),
		ES256: mustLoad(t, ES256, writePKCS8(t, dir, "ec.pem", k.ec)),
		EdDSA: mustLoad(t, EdDSA, writePKCS8(t, dir, "ed.pem", k.ed)),
	}
}

func mustParseJWKS(tb testing.TB, data []byte, algs ...string) *KeySet {
	tb.Helper()
	ks, err := ParseJWKS(data, algs)
	if err != nil {
		tb.Fatalf("ParseJWKS(%s): %v", data, err)
	}
	return ks
}

// jwksOf builds a JWKS document from members given as maps.
func jwksOf(tb testing.TB, keys ...map[string]any) []byte {
	tb.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// membersOf returns the members of a published JWKS as maps, to be altered by a test.
func membersOf(tb testing.TB, jwks []byte) []map[string]any {
	tb.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		tb.Fatal(err)
	}
	return set.Keys
}

// TestParseJWKSVerifiesIssuedTokens: a verifier over the parsed JWKS of each algorithm accepts the
// tokens the signing key set issues, and the parsed set publishes the same JWKS again.
func TestParseJWKSVerifiesIssuedTokens(t *testing.T) {
	for alg, signer := range publishedSets(t) {
		t.Run(alg, func(t *testing.T) {
			clk := newClock()
			raw, want, err := NewIssuer(signer, testOptions(clk)).Issue("alice", []string{"admin"})
			if err != nil {
				t.Fatal(err)
			}
			parsed := mustParseJWKS(t, signer.JWKS())
			if got, want := string(parsed.JWKS()), string(signer.JWKS()); got != want {
				t.Errorf("JWKS() = %s, want %s", got, want)
			}
			if got, want := parsed.KeyIDs(), []string{signer.KeyID()}; !slices.Equal(got, want) {
				t.Errorf("KeyIDs() = %v, want %v", got, want)
			}
			got, err := NewVerifier(parsed, testOptions(clk)).Verify(context.Background(), raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Subject != want.Subject || got.ID != want.ID || !slices.Equal(got.Roles, want.Roles) {
				t.Errorf("claims = %+v, want %+v", got, want)
			}
			if _, _, err := NewIssuer(parsed, testOptions(clk)).Issue("alice", nil); err == nil {
				t.Errorf("a key set parsed from a JWKS signed a token")
			}
		})
	}
}

// TestParseJWKSRotation: a JWKS holding the current and a retired key verifies tokens of both,
// each only with its own algorithm.
func TestParseJWKSRotation(t *testing.T) {
	dir := t.TempDir()
	k := sharedKeys()
	oldSigner := mustLoad(t, RS256, writePKCS8(t, dir, "old.pem", k.rsa))
	newSigner := mustLoad(t, ES256, writePKCS8(t, dir, "new.pem", k.ec), writePublic(t, dir, "old.pub.pem", k.rsa.Public()))
	parsed := mustParseJWKS(t, newSigner.JWKS())
	if got := parsed.KeyIDs(); len(got) != 2 || got[0] != newSigner.KeyID() || got[1] != oldSigner.KeyID() {
		t.Fatalf("KeyIDs() = %v, want [%s %s]", got, newSigner.KeyID(), oldSigner.KeyID())
	}
	clk := newClock()
	v := NewVerifier(parsed, testOptions(clk))
	for name, signer := range map[string]*KeySet{"current": newSigner, "retired": oldSigner} {
		raw, _, err := NewIssuer(signer, testOptions(clk)).Issue("alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), raw); err != nil {
			t.Errorf("%s key: Verify: %v", name, err)
		}
	}
}

// TestParseJWKSRefusesConfusion: tokens that try to make a verifier over a JWKS use a published
// value as an HMAC secret, or another algorithm than the key's, are refused.
func TestParseJWKSRefusesConfusion(t *testing.T) {
	sets := publishedSets(t)
	es := sets[ES256]
	parsed := mustParseJWKS(t, es.JWKS())
	clk := newClock()
	v := NewVerifier(parsed, testOptions(clk))
	jwkJSON, err := json.Marshal(membersOf(t, es.JWKS())[0])
	if err != nil {
		t.Fatal(err)
	}
	hs := func(secret []byte) signer {
		return func(_ testing.TB, s string) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write([]byte(s))
			return m.Sum(nil)
		}
	}
	k := sharedKeys()
	for _, tt := range []struct {
		name string
		raw  string
		want error
	}{
		{"HS256 keyed with the JWK", makeToken(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": es.KeyID()}, goodClaims(clk.Now()), hs(jwkJSON)), ErrAlgorithm},
		{"HS256 keyed with the JWKS", makeToken(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": es.KeyID()}, goodClaims(clk.Now()), hs(es.JWKS())), ErrAlgorithm},
		{"HS256 without kid", makeToken(t, map[string]any{"alg": "HS256", "typ": "JWT"}, goodClaims(clk.Now()), hs(jwkJSON)), ErrAlgorithm},
		{"none", makeToken(t, map[string]any{"alg": "none", "typ": "JWT", "kid": es.KeyID()}, goodClaims(clk.Now()), fixedSig(nil)) + "", ErrMalformed},
		{"EdDSA under the ES256 kid", makeToken(t, map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": es.KeyID()}, goodClaims(clk.Now()), signWith(jwt.SigningMethodEdDSA, k.ed)), ErrAlgorithm},
		{"ES256 by another key", makeToken(t, map[string]any{"alg": "ES256", "typ": "JWT", "kid": es.KeyID()}, goodClaims(clk.Now()), signWith(jwt.SigningMethodES256, k.ecOther)), ErrSignature},
		{"EdDSA with an unknown kid", makeToken(t, map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": "next"}, goodClaims(clk.Now()), signWith(jwt.SigningMethodEdDSA, k.ed)), ErrUnknownKey},
		{"unknown kid", makeToken(t, map[string]any{"alg": "ES256", "typ": "JWT", "kid": "nobody"}, goodClaims(clk.Now()), signWith(jwt.SigningMethodES256, k.ec)), ErrUnknownKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.raw)
			if tt.name == "EdDSA with an unknown kid" {
				// Only the algorithms asked for are admitted.
				esOnly := NewVerifier(mustParseJWKS(t, es.JWKS(), ES256), testOptions(clk))
				if _, err := esOnly.Verify(context.Background(), tt.raw); !errors.Is(err, ErrAlgorithm) {
					t.Errorf("algs [ES256]: err = %v, want ErrAlgorithm", err)
				}
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want an ErrInvalid", err)
			}
			if tt.want != ErrMalformed && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestParseJWKSSkips: members a verifier must not or cannot use are skipped; a set with none
// left is ErrNoUsableKey, and a document that is no JWKS an error.
func TestParseJWKSSkips(t *testing.T) {
	sets := publishedSets(t)
	ec := membersOf(t, sets[ES256].JWKS())[0]
	rs := membersOf(t, sets[RS256].JWKS())[0]
	ed := membersOf(t, sets[EdDSA].JWKS())[0]
	oct := map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", "alg": "HS256"}
	set := func(members ...map[string]any) []byte { return jwksOf(t, members...) }
	for _, tt := range []struct {
		name string
		data []byte
		algs []string
		want []string // kids kept, in order; nil: ErrNoUsableKey
	}{
		{"all three", set(ec, rs, ed), nil, []string{ec["kid"].(string), ed["kid"].(string), rs["kid"].(string)}},
		{"symmetric key", set(oct), nil, nil},
		{"symmetric key next to an EC key", set(oct, ec), nil, []string{ec["kid"].(string)}},
		{"encryption key", set(with(ec, "use", "enc")), nil, nil},
		{"key_ops without verify", set(with(ec, "key_ops", []string{"encrypt"})), nil, nil},
		{"key_ops with verify", set(with(ec, "key_ops", []string{"verify"})), nil, []string{ec["kid"].(string)}},
		{"private member", set(with(ec, "d", "AAAA")), nil, nil},
		{"alg of another type", set(with(ec, "alg", "RS256")), nil, nil},
		{"alg HS256 on an EC key", set(with(ec, "alg", "HS256")), nil, nil},
		{"alg RS512 on an RSA key", set(with(rs, "alg", "RS512")), nil, nil},
		{"no alg: from the type", set(with(ed, "alg", nil)), nil, []string{ed["kid"].(string)}},
		{"no kid: the thumbprint", set(with(ec, "kid", nil)), nil, []string{ec["kid"].(string)}},
		{"empty kid", set(with(ec, "kid", "")), nil, nil},
		{"other kid", set(with(ec, "kid", "k1")), nil, []string{"k1"}},
		{"duplicate kid: first kept", set(with(ec, "kid", "k1"), with(ed, "kid", "k1")), nil, []string{"k1"}},
		{"P-384", set(with(ec, "crv", "P-384")), nil, nil},
		{"point off the curve", set(with(ec, "y", ec["x"])), nil, nil},
		{"padded base64", set(with(ed, "x", ed["x"].(string)+"=")), nil, nil},
		{"X25519", set(with(ed, "crv", "X25519")), nil, nil},
		{"short RSA modulus", set(with(rs, "n", "AQAB")), nil, nil},
		{"even RSA exponent", set(with(rs, "e", "Ag")), nil, nil},
		{"unknown kty", set(map[string]any{"kty": "XYZ", "kid": "x"}), nil, nil},
		{"member not an object", []byte(`{"keys":[1, "x", null]}`), nil, nil},
		{"empty set", []byte(`{"keys":[]}`), nil, nil},
		{"algs filter", set(ec, rs, ed), []string{EdDSA}, []string{ed["kid"].(string)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParseJWKS(tt.data, tt.algs)
			if tt.want == nil {
				if !errors.Is(err, ErrNoUsableKey) {
					t.Fatalf("err = %v, want ErrNoUsableKey", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseJWKS: %v", err)
			}
			got := ks.KeyIDs()
			if got[0] != tt.want[0] || !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(tt.want))) {
				t.Errorf("KeyIDs() = %v, want %v", got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name string
		data string
	}{
		{"not JSON", "not json"},
		{"an array", `[]`},
		{"no keys member", `{}`},
		{"keys not an array", `{"keys":{}}`},
		{"too large", `{"keys":[],"pad":"` + strings.Repeat("x", MaxJWKSBytes) + `"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJWKS([]byte(tt.data), nil)
			if err == nil || errors.Is(err, ErrNoUsableKey) {
				t.Errorf("err = %v, want a parse error", err)
			}
		})
	}
}

// TestWithNextKeys: next keys are published after the current and retired ones and verify tokens,
// so a replica accepts tokens of another replica that already signs with them.
func TestWithNextKeys(t *testing.T) {
	dir := t.TempDir()
	k := sharedKeys()
	current := mustLoad(t, ES256, writePKCS8(t, dir, "cur.pem", k.ec), writePublic(t, dir, "old.pub", k.rsa.Public()))
	nextFile := writePKCS8(t, dir, "next.pem", k.ed) // a private key file: only its public part is read
	withNext, err := current.WithNextKeys([]string{nextFile})
	if err != nil {
		t.Fatalf("WithNextKeys: %v", err)
	}
	nextSigner := mustLoad(t, EdDSA, nextFile)
	oldSigner := mustLoad(t, RS256, writePKCS8(t, dir, "old.pem", k.rsa))
	want := []string{current.KeyID(), oldSigner.KeyID(), nextSigner.KeyID()}
	if got := withNext.KeyIDs(); !slices.Equal(got, want) {
		t.Errorf("KeyIDs() = %v, want %v", got, want)
	}
	if got := mustParseJWKS(t, withNext.JWKS()).KeyIDs(); !slices.Equal(got, want) {
		t.Errorf("published kids = %v, want %v", got, want)
	}
	if got, want := withNext.Algorithms(), []string{ES256, RS256, EdDSA}; !slices.Equal(got, want) {
		t.Errorf("Algorithms() = %v, want %v", got, want)
	}
	if withNext.KeyID() != current.KeyID() {
		t.Errorf("the signing key changed")
	}
	clk := newClock()
	v := NewVerifier(withNext, testOptions(clk))
	for name, signer := range map[string]*KeySet{"current": current, "next": nextSigner, "retired": oldSigner} {
		raw, _, err := NewIssuer(signer, testOptions(clk)).Issue("alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), raw); err != nil {
			t.Errorf("%s key: %v", name, err)
		}
	}
	if same, err := current.WithNextKeys(nil); err != nil || same != current {
		t.Errorf("WithNextKeys(nil) = %p, %v; want the same set", same, err)
	}
	if _, err := mustHMAC(t, HS256, testSecret[:32]).WithNextKeys([]string{nextFile}); err == nil {
		t.Errorf("an HMAC set took next keys")
	}
	bad := writePEM(t, dir, "bad.pem", "CERTIFICATE", []byte("x"))
	if _, err := current.WithNextKeys([]string{bad}); err == nil || !strings.Contains(err.Error(), "next key "+bad) {
		t.Errorf("bad next key file: err = %v, want it to name the file as a next key", err)
	}
}

// FuzzParseJWKS: any bytes, as a fetched key set would be, never panic; a set that parses keeps
// only asymmetric keys, publishes them again in a form that parses to the same kids, and verifies
// with pinned algorithms only.
func FuzzParseJWKS(f *testing.F) {
	for _, ks := range publishedSets(f) {
		f.Add(ks.JWKS())
	}
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h","alg":"HS256"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","alg":"RS256"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := ParseJWKS(data, nil)
		if err != nil {
			return
		}
		kids := ks.KeyIDs()
		if len(kids) == 0 || len(kids) > maxJWKSKeys {
			t.Fatalf("%d keys kept", len(kids))
		}
		for _, alg := range ks.Algorithms() {
			if !slices.Contains([]string{RS256, ES256, EdDSA}, alg) {
				t.Fatalf("algorithm %q admitted", alg)
			}
		}
		again, err := ParseJWKS(ks.JWKS(), nil)
		if err != nil {
			t.Fatalf("the set published again does not parse: %v", err)
		}
		if got := again.KeyIDs(); !slices.Equal(got, kids) {
			t.Fatalf("kids %v, published again %v", kids, got)
		}
	})
}
