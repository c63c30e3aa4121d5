package token

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// flipFirst changes the first character of s to another base64url character.
func flipFirst(s string) string {
	c := strings.IndexByte(b64url, s[0])
	return string(b64url[(c+1)%64]) + s[1:]
}

// nonCanonical sets a padding bit in the last character of a base64url segment whose length
// leaves unused bits, so that a lenient decoder yields the same bytes.
func nonCanonical(tb testing.TB, seg string) string {
	tb.Helper()
	if len(seg)%4 == 0 {
		tb.Fatalf("segment of length %d has no padding bits", len(seg))
	}
	last := strings.IndexByte(b64url, seg[len(seg)-1])
	out := seg[:len(seg)-1] + string(b64url[last|1])
	if out == seg {
		tb.Fatalf("padding bit already set")
	}
	a, err1 := base64.RawURLEncoding.DecodeString(seg)
	b, err2 := base64.RawURLEncoding.DecodeString(out)
	if err1 != nil || err2 != nil || string(a) != string(b) {
		tb.Fatalf("lenient decoding differs: the row would not test strict decoding")
	}
	return out
}

func split3(tb testing.TB, raw string) (h, p, s string) {
	tb.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d parts", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// sizedTokens returns the longest valid token of at most MaxTokenBytes and the shortest longer one.
func sizedTokens(tb testing.TB, hdr, claims map[string]any, sign signer) (fits, over string) {
	tb.Helper()
	for n := MaxTokenBytes*3/4 - 700; n < MaxTokenBytes; n++ {
		raw := makeToken(tb, hdr, with(claims, "pad", strings.Repeat("x", n)), sign)
		if len(raw) <= MaxTokenBytes {
			fits = raw
		} else {
			if fits == "" {
				tb.Fatal("no token under the limit")
			}
			return fits, raw
		}
	}
	tb.Fatal("no token over the limit")
	return "", ""
}

// TestVerifyHMAC is the negative-case table for an HS256 key set (go-chi/jwtauth style): every
// row is a hand-built token and the exact error it must get.
func TestVerifyHMAC(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	keys := mustHMAC(t, HS256, testSecret)
	opts := testOptions(clk)
	base := NewVerifier(keys, opts)

	revoked := &revocations{}
	revokedOpts := opts
	revokedOpts.Revoked = revoked
	withRevocation := NewVerifier(keys, revokedOpts)
	down := &revocations{}
	down.fail(errors.New("redis: connection refused"))
	downOpts := opts
	downOpts.Revoked = down
	stateDown := NewVerifier(keys, downOpts)

	hs256 := signWith(jwt.SigningMethodHS256, testSecret)
	hdr := map[string]any{"alg": "HS256", "typ": "JWT", "kid": keys.KeyID()}
	good := goodClaims(now)
	valid := makeToken(t, hdr, good, hs256)
	h, p, s := split3(t, valid)
	revoked.revoke(good["jti"].(string))

	k := sharedKeys()
	rsaPub, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	attacker := signWith(jwt.SigningMethodHS256, []byte("attacker-secret-attacker-secret-attacker"))
	fits, over := sizedTokens(t, hdr, good, hs256)
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }
	tampered := makeToken(t, hdr, with(good, "sub", "admin"), hs256)
	_, tamperedPayload, _ := split3(t, tampered)
	noneHdr := map[string]any{"alg": "none", "typ": "JWT"}
	noneUnsigned := makeToken(t, noneHdr, good, fixedSig(nil))

	tests := []struct {
		name string
		raw  string
		v    *Verifier // nil: base
		want error
		desc string // the error text, when it says more than want's
	}{
		// Accepted.
		{name: "valid", raw: valid},
		{name: "valid without kid (another library)", raw: makeToken(t, map[string]any{"alg": "HS256", "typ": "JWT"}, good, hs256)},
		{name: "valid without typ", raw: makeToken(t, map[string]any{"alg": "HS256"}, good, hs256)},
		{name: "valid without roles", raw: makeToken(t, hdr, with(good, "roles", nil), hs256)},
		{name: "aud as array holding ours", raw: makeToken(t, hdr, with(good, "aud", []string{"other", testAudience}), hs256)},
		{name: "exp passed within leeway", raw: makeToken(t, hdr, with(good, "exp", at(-4*time.Second)), hs256)},
		{name: "nbf ahead within leeway", raw: makeToken(t, hdr, with(good, "nbf", at(4*time.Second)), hs256)},
		{name: "iat ahead within leeway", raw: makeToken(t, hdr, with(good, "iat", at(4*time.Second)), hs256)},
		{name: "no nbf, no iat", raw: makeToken(t, hdr, with(good, "nbf", nil, "iat", nil), hs256)},
		{name: "exactly 8 KiB or just under", raw: fits},
		{name: "not revoked", raw: makeToken(t, hdr, with(good, "jti", "other"), hs256), v: withRevocation},

		// Forged or tampered.
		{name: "tampered payload", raw: h + "." + tamperedPayload + "." + s, want: ErrSignature},
		{name: "tampered signature", raw: h + "." + p + "." + flipFirst(s), want: ErrSignature},
		{name: "signature of another token", raw: h + "." + p + "." + strings.Split(tampered, ".")[2], want: ErrSignature},
		{name: "signed with another secret", raw: makeToken(t, hdr, good, attacker), want: ErrSignature},
		{name: "alg none with signature", raw: makeToken(t, noneHdr, good, fixedSig([]byte("sig"))), want: ErrAlgorithm},
		{name: "alg none without signature", raw: noneUnsigned, want: ErrAlgorithm},
		{name: "alg none, our kid", raw: makeToken(t, with(noneHdr, "kid", keys.KeyID()), good, fixedSig([]byte("sig"))), want: ErrAlgorithm},
		{name: "alg None", raw: makeToken(t, map[string]any{"alg": "None"}, good, fixedSig([]byte("sig"))), want: ErrAlgorithm},
		{name: "alg hs256 lower case", raw: makeToken(t, map[string]any{"alg": "hs256"}, good, hs256), want: ErrAlgorithm},
		{name: "alg missing", raw: makeToken(t, map[string]any{"typ": "JWT"}, good, hs256), want: ErrAlgorithm},
		{name: "alg unknown", raw: makeToken(t, map[string]any{"alg": "HS999"}, good, hs256), want: ErrAlgorithm},
		{name: "alg not a string", raw: makeToken(t, map[string]any{"alg": 256}, good, hs256), want: ErrAlgorithm},
		{name: "HS512 when HS256 configured", raw: makeToken(t, with(hdr, "alg", "HS512"), good, signWith(jwt.SigningMethodHS512, testSecret)), want: ErrAlgorithm},
		{name: "HS384 without kid", raw: makeToken(t, map[string]any{"alg": "HS384"}, good, signWith(jwt.SigningMethodHS384, testSecret)), want: ErrAlgorithm},
		{name: "RS256 when HS256 configured", raw: makeToken(t, map[string]any{"alg": "RS256"}, good, signWith(jwt.SigningMethodRS256, k.rsa)), want: ErrAlgorithm},
		{name: "ES256 when HS256 configured", raw: makeToken(t, with(hdr, "alg", "ES256"), good, signWith(jwt.SigningMethodES256, k.ec)), want: ErrAlgorithm},
		{name: "EdDSA when HS256 configured", raw: makeToken(t, map[string]any{"alg": "EdDSA"}, good, signWith(jwt.SigningMethodEdDSA, k.ed)), want: ErrAlgorithm},
		{name: "PS256 when HS256 configured", raw: makeToken(t, map[string]any{"alg": "PS256"}, good, signWith(jwt.SigningMethodPS256, k.rsa)), want: ErrAlgorithm},
		{name: "HS256 keyed with an RSA public key", raw: makeToken(t, map[string]any{"alg": "HS256"}, good, signWith(jwt.SigningMethodHS256, rsaPub)), want: ErrSignature},

		// Time.
		{name: "expired", raw: makeToken(t, hdr, with(good, "exp", at(-time.Hour)), hs256), want: ErrExpired},
		{name: "exp passed beyond leeway", raw: makeToken(t, hdr, with(good, "exp", at(-6*time.Second)), hs256), want: ErrExpired},
		{name: "exp is now minus leeway", raw: makeToken(t, hdr, with(good, "exp", at(-testLeeway)), hs256), want: ErrExpired},
		{name: "nbf in the future", raw: makeToken(t, hdr, with(good, "nbf", at(time.Minute)), hs256), want: ErrNotYetValid},
		{name: "iat in the future", raw: makeToken(t, hdr, with(good, "iat", at(time.Minute)), hs256), want: ErrIssuedInFuture},
		{name: "exp missing", raw: makeToken(t, hdr, with(good, "exp", nil), hs256), want: ErrMalformed, desc: "missing exp claim"},
		{name: "exp not a number", raw: makeToken(t, hdr, with(good, "exp", "soon"), hs256), want: ErrMalformed},
		{name: "exp a numeric string", raw: makeToken(t, hdr, with(good, "exp", fmt.Sprint(at(time.Hour))), hs256), want: ErrMalformed},
		{name: "exp true", raw: makeToken(t, hdr, with(good, "exp", true), hs256), want: ErrMalformed},
		{name: "exp beyond float precision", raw: makeToken(t, hdr, with(good, "exp", 1e300), hs256), want: ErrExpired},
		{name: "nbf beyond float precision", raw: makeToken(t, hdr, with(good, "nbf", 1e300), hs256), want: ErrMalformed},
		{name: "exp fractional", raw: makeToken(t, hdr, with(good, "exp", float64(at(time.Hour))+0.5), hs256)},
		{name: "exp null", raw: makeToken(t, hdr, with(good, "exp", json.RawMessage("null")), hs256), want: ErrMalformed},

		// Claims.
		{name: "sub missing", raw: makeToken(t, hdr, with(good, "sub", nil), hs256), want: ErrMalformed, desc: "missing sub claim"},
		{name: "sub empty", raw: makeToken(t, hdr, with(good, "sub", ""), hs256), want: ErrMalformed},
		{name: "sub not a string", raw: makeToken(t, hdr, with(good, "sub", 42), hs256), want: ErrMalformed},
		{name: "sub an object", raw: makeToken(t, hdr, with(good, "sub", map[string]any{"name": "admin"}), hs256), want: ErrMalformed},
		{name: "roles not a list", raw: makeToken(t, hdr, with(good, "roles", "admin"), hs256), want: ErrMalformed},
		{name: "wrong iss", raw: makeToken(t, hdr, with(good, "iss", "evil"), hs256), want: ErrIssuer},
		{name: "iss missing", raw: makeToken(t, hdr, with(good, "iss", nil), hs256), want: ErrIssuer, desc: "missing iss claim"},
		{name: "iss not a string", raw: makeToken(t, hdr, with(good, "iss", 1), hs256), want: ErrMalformed},
		{name: "wrong aud", raw: makeToken(t, hdr, with(good, "aud", "evil"), hs256), want: ErrAudience},
		{name: "aud missing", raw: makeToken(t, hdr, with(good, "aud", nil), hs256), want: ErrAudience, desc: "missing aud claim"},
		{name: "aud empty", raw: makeToken(t, hdr, with(good, "aud", ""), hs256), want: ErrAudience},
		{name: "aud array without ours", raw: makeToken(t, hdr, with(good, "aud", []string{"a", "b"}), hs256), want: ErrAudience},
		{name: "aud array with a number", raw: makeToken(t, hdr, with(good, "aud", []any{testAudience, 1}), hs256), want: ErrMalformed},
		{name: "jti missing with revocation on", raw: makeToken(t, hdr, with(good, "jti", nil), hs256), v: withRevocation, want: ErrMalformed, desc: "missing jti claim"},

		// Encoding and shape.
		{name: "empty", raw: "", want: ErrMalformed},
		{name: "two segments", raw: h + "." + p, want: ErrMalformed},
		{name: "four segments", raw: valid + "." + s, want: ErrMalformed},
		{name: "dots only", raw: "..", want: ErrMalformed},
		{name: "empty header", raw: "." + p + "." + s, want: ErrMalformed},
		{name: "empty payload", raw: h + ".." + s, want: ErrMalformed},
		{name: "empty signature", raw: h + "." + p + ".", want: ErrSignature},
		{name: "padded signature", raw: valid + "=", want: ErrMalformed},
		{name: "padded payload", raw: h + "." + p + "==." + s, want: ErrMalformed},
		{name: "standard base64 alphabet", raw: strings.NewReplacer("-", "+", "_", "/").Replace(valid) + "+/", want: ErrMalformed},
		{name: "non-canonical signature", raw: h + "." + p + "." + nonCanonical(t, s), want: ErrMalformed},
		{name: "line feed in signature", raw: h + "." + p + "." + s[:10] + "\n" + s[10:], want: ErrMalformed},
		{name: "space around", raw: " " + valid, want: ErrMalformed},
		{name: "Bearer prefix left in", raw: "Bearer " + valid, want: ErrMalformed},
		{name: "header not JSON", raw: b64([]byte("not json")) + "." + p + "." + s, want: ErrMalformed},
		{name: "payload not JSON", raw: h + "." + b64([]byte("[1,2]")) + "." + s, want: ErrMalformed},
		{name: "payload JSON null", raw: makeToken(t, hdr, nil, hs256), want: ErrMalformed},
		{name: "over 8 KiB", raw: over, want: ErrTooLarge},
		{name: "huge garbage", raw: strings.Repeat("A", 1<<20), want: ErrTooLarge},

		// Header fields.
		{name: "crit header", raw: makeToken(t, with(hdr, "crit", []string{"exp"}, "exp", 1), good, hs256), want: ErrCrit},
		{name: "crit empty list", raw: makeToken(t, with(hdr, "crit", []string{}), good, hs256), want: ErrCrit},
		{name: "crit b64 (RFC 7797)", raw: makeToken(t, with(hdr, "crit", []string{"b64"}, "b64", false), good, hs256), want: ErrCrit},
		{name: "kid unknown", raw: makeToken(t, with(hdr, "kid", "other"), good, hs256), want: ErrUnknownKey},
		{name: "kid empty", raw: makeToken(t, with(hdr, "kid", ""), good, hs256), want: ErrUnknownKey},
		{name: "kid not a string", raw: makeToken(t, with(hdr, "kid", 7), good, hs256), want: ErrUnknownKey},
		{name: "kid path traversal", raw: makeToken(t, with(hdr, "kid", "../../dev/null"), good, hs256), want: ErrUnknownKey},
		{name: "jwk header with an attacker oct key", raw: makeToken(t, map[string]any{"alg": "HS256", "jwk": map[string]any{"kty": "oct", "k": b64([]byte("attacker-secret-attacker-secret-attacker"))}}, good, attacker), want: ErrSignature},
		{name: "jwk header with an attacker RSA key", raw: makeToken(t, map[string]any{"alg": "RS256", "jwk": map[string]any{"kty": "RSA", "n": b64(k.rsaOther.N.Bytes()), "e": "AQAB"}}, good, signWith(jwt.SigningMethodRS256, k.rsaOther)), want: ErrAlgorithm},
		{name: "jku header", raw: makeToken(t, with(hdr, "jku", "https://attacker.example/jwks.json"), good, attacker), want: ErrSignature},
		{name: "x5u header", raw: makeToken(t, with(hdr, "x5u", "https://attacker.example/cert.pem"), good, attacker), want: ErrSignature},
		{name: "x5c header", raw: makeToken(t, map[string]any{"alg": "HS256", "x5c": []string{"MIIB"}}, good, attacker), want: ErrSignature},

		// Revocation.
		{name: "revoked jti", raw: valid, v: withRevocation, want: ErrRevoked},
		{name: "revocation store down", raw: valid, v: stateDown, want: ErrStateUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.v
			if v == nil {
				v = base
			}
			c, err := v.Verify(context.Background(), tt.raw)
			wantErr(t, err, tt.want, tt.raw)
			if tt.desc != "" && err.Error() != tt.desc {
				t.Errorf("error text = %q, want %q", err.Error(), tt.desc)
			}
			if tt.want == nil && c.Subject != "alice" {
				t.Errorf("Subject = %q, want alice", c.Subject)
			}
			if tt.want != nil && c.Subject != "" {
				t.Errorf("claims returned with an error: %+v", c)
			}
		})
	}
}

// TestVerifyAsymmetric is the negative-case table for a key set that signs with RS256 and still
// accepts a retired ES256 and a retired EdDSA key.
func TestVerifyAsymmetric(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	k := sharedKeys()
	dir := t.TempDir()
	keys := mustLoad(t, RS256, writePKCS8(t, dir, "rsa.pem", k.rsa),
		writePublic(t, dir, "ec.pub.pem", &k.ec.PublicKey), writePublic(t, dir, "ed.pub.pem", k.ed.Public()))
	v := NewVerifier(keys, testOptions(clk))
	ecKID := thumbprint(t, &k.ec.PublicKey)
	edKID := thumbprint(t, k.ed.Public())
	rsaKID := keys.KeyID()
	if rsaKID != thumbprint(t, &k.rsa.PublicKey) {
		t.Fatalf("KeyID = %s, want the RFC 7638 thumbprint", rsaKID)
	}
	rsaPEM, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	good := goodClaims(now)
	rs := signWith(jwt.SigningMethodRS256, k.rsa)
	es := signWith(jwt.SigningMethodES256, k.ec)
	ed := signWith(jwt.SigningMethodEdDSA, k.ed)
	hdr := func(alg, kid string) map[string]any {
		h := map[string]any{"alg": alg, "typ": "JWT"}
		if kid != "" {
			h["kid"] = kid
		}
		return h
	}
	attackerJWK := map[string]any{"kty": "RSA", "n": b64(k.rsaOther.N.Bytes()), "e": "AQAB"}
	attackerKID := thumbprint(t, &k.rsaOther.PublicKey)
	psychic := make([]byte, 64) // CVE-2022-21449: r = s = 0

	tests := []struct {
		name string
		raw  string
		want error
	}{
		{name: "RS256 current key", raw: makeToken(t, hdr("RS256", rsaKID), good, rs)},
		{name: "RS256 current key without kid", raw: makeToken(t, hdr("RS256", ""), good, rs)},
		{name: "ES256 retired key", raw: makeToken(t, hdr("ES256", ecKID), good, es)},
		{name: "EdDSA retired key", raw: makeToken(t, hdr("EdDSA", edKID), good, ed)},

		{name: "retired key without kid", raw: makeToken(t, hdr("ES256", ""), good, es), want: ErrAlgorithm},
		{name: "kid unknown", raw: makeToken(t, hdr("RS256", "nope"), good, rs), want: ErrUnknownKey},
		{name: "kid of retired ES256 key, alg RS256", raw: makeToken(t, hdr("RS256", ecKID), good, rs), want: ErrAlgorithm},
		{name: "kid of retired EdDSA key, alg ES256", raw: makeToken(t, hdr("ES256", edKID), good, es), want: ErrAlgorithm},
		{name: "kid of current RSA key, alg ES256", raw: makeToken(t, hdr("ES256", rsaKID), good, es), want: ErrAlgorithm},
		{name: "kid of current RSA key, alg PS256", raw: makeToken(t, hdr("PS256", rsaKID), good, signWith(jwt.SigningMethodPS256, k.rsa)), want: ErrAlgorithm},
		{name: "key confusion: HS256 keyed with the public key PEM", raw: makeToken(t, hdr("HS256", rsaKID), good, signWith(jwt.SigningMethodHS256, rsaPEM)), want: ErrAlgorithm},
		{name: "key confusion without kid", raw: makeToken(t, hdr("HS256", ""), good, signWith(jwt.SigningMethodHS256, rsaPEM)), want: ErrAlgorithm},
		{name: "alg none", raw: makeToken(t, hdr("none", rsaKID), good, fixedSig([]byte("x"))), want: ErrAlgorithm},
		{name: "RS256 signed by another key", raw: makeToken(t, hdr("RS256", rsaKID), good, signWith(jwt.SigningMethodRS256, k.rsaOther)), want: ErrSignature},
		{name: "ES256 retired kid, signed by another key", raw: makeToken(t, hdr("ES256", ecKID), good, signWith(jwt.SigningMethodES256, k.ecOther)), want: ErrSignature},
		{name: "ES256 psychic signature", raw: makeToken(t, hdr("ES256", ecKID), good, fixedSig(psychic)), want: ErrSignature},
		{name: "EdDSA signed by another key", raw: makeToken(t, hdr("EdDSA", edKID), good, signWith(jwt.SigningMethodEdDSA, k.edOther)), want: ErrSignature},
		{name: "jwk header, attacker kid", raw: makeToken(t, with(hdr("RS256", attackerKID), "jwk", attackerJWK), good, signWith(jwt.SigningMethodRS256, k.rsaOther)), want: ErrUnknownKey},
		{name: "jwk header, our kid", raw: makeToken(t, with(hdr("RS256", rsaKID), "jwk", attackerJWK), good, signWith(jwt.SigningMethodRS256, k.rsaOther)), want: ErrSignature},
		{name: "jwk header, no kid", raw: makeToken(t, with(hdr("RS256", ""), "jwk", attackerJWK), good, signWith(jwt.SigningMethodRS256, k.rsaOther)), want: ErrSignature},
		{name: "jku header", raw: makeToken(t, with(hdr("RS256", ""), "jku", "https://attacker.example/jwks.json"), good, signWith(jwt.SigningMethodRS256, k.rsaOther)), want: ErrSignature},
		{name: "x5u header", raw: makeToken(t, with(hdr("RS256", ""), "x5u", "https://attacker.example/c.pem"), good, signWith(jwt.SigningMethodRS256, k.rsaOther)), want: ErrSignature},
		{name: "x5c header", raw: makeToken(t, with(hdr("RS256", rsaKID), "x5c", []string{"MIIB"}), good, signWith(jwt.SigningMethodRS256, k.rsaOther)), want: ErrSignature},
		{name: "crit header", raw: makeToken(t, with(hdr("RS256", rsaKID), "crit", []string{"exp"}), good, rs), want: ErrCrit},
		{name: "expired", raw: makeToken(t, hdr("ES256", ecKID), with(good, "exp", now.Add(-time.Minute).Unix()), es), want: ErrExpired},
		{name: "wrong aud", raw: makeToken(t, hdr("EdDSA", edKID), with(good, "aud", "x"), ed), want: ErrAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.raw)
			wantErr(t, err, tt.want, tt.raw)
		})
	}
}

// TestRoundTrip issues and verifies with every algorithm and checks the header and claims.
func TestRoundTrip(t *testing.T) {
	k := sharedKeys()
	dir := t.TempDir()
	sets := map[string]*KeySet{
		HS256: mustHMAC(t, HS256, testSecret[:32]),
		HS384: mustHMAC(t, HS384, testSecret[:48]),
		HS512: mustHMAC(t, HS512, testSecret),
		RS256: mustLoad(t, RS256, writePKCS8(t, dir, "rsa.pem", k.rsa)),
		ES256: mustLoad(t, ES256, writePKCS8(t, dir, "ec.pem", k.ec)),
		EdDSA: mustLoad(t, EdDSA, writePKCS8(t, dir, "ed.pem", k.ed)),
	}
	for alg, keys := range sets {
		t.Run(alg, func(t *testing.T) {
			clk := newClock()
			clk.Add(123 * time.Millisecond) // Issue truncates to whole seconds
			opts := testOptions(clk)
			raw, issued, err := NewIssuer(keys, opts).Issue("alice", []string{"admin", "dev"})
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if keys.Algorithm() != alg {
				t.Errorf("Algorithm() = %s, want %s", keys.Algorithm(), alg)
			}
			hb, pb := decodeParts(t, raw)
			var hdr map[string]any
			if err := json.Unmarshal(hb, &hdr); err != nil {
				t.Fatal(err)
			}
			if len(hdr) != 3 || hdr["alg"] != alg || hdr["typ"] != "JWT" || hdr["kid"] != keys.KeyID() || keys.KeyID() == "" {
				t.Errorf("header = %v, want alg %s, typ JWT, kid %s", hdr, alg, keys.KeyID())
			}
			var payload map[string]any
			if err := json.Unmarshal(pb, &payload); err != nil {
				t.Fatal(err)
			}
			start := testStart.Unix()
			want := map[string]any{
				"sub": "alice", "iss": testIssuer, "aud": testAudience,
				"iat": float64(start), "nbf": float64(start), "exp": float64(start + int64(testTTL/time.Second)),
				"jti": issued.ID, "roles": []any{"admin", "dev"},
			}
			if fmt.Sprint(payload) != fmt.Sprint(want) {
				t.Errorf("payload = %v, want %v", payload, want)
			}
			if id, err := base64.RawURLEncoding.DecodeString(issued.ID); err != nil || len(id) < 16 {
				t.Errorf("jti %q is not ≥128 bits of base64url", issued.ID)
			}
			got, err := NewVerifier(keys, opts).Verify(context.Background(), raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(issued) {
				t.Errorf("Verify = %+v, want %+v", got, issued)
			}
			if !got.ExpiresAt.Equal(testStart.Add(testTTL)) || got.ExpiresAt.Location() != time.UTC {
				t.Errorf("ExpiresAt = %v, want %v UTC", got.ExpiresAt, testStart.Add(testTTL))
			}
		})
	}
}

func TestIssueNoRoles(t *testing.T) {
	clk := newClock()
	keys := mustHMAC(t, HS256, testSecret)
	raw, c, err := NewIssuer(keys, testOptions(clk)).Issue("bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Roles != nil {
		t.Errorf("Roles = %v, want nil", c.Roles)
	}
	_, pb := decodeParts(t, raw)
	if strings.Contains(string(pb), "roles") {
		t.Errorf("payload %s has roles, want them omitted", pb)
	}
	if _, _, err := NewIssuer(keys, testOptions(clk)).Issue("", nil); err == nil {
		t.Error("Issue with empty subject: err = nil")
	}
}

func TestIssueUniqueIDs(t *testing.T) {
	keys := mustHMAC(t, HS256, testSecret)
	is := NewIssuer(keys, testOptions(newClock()))
	seen := map[string]bool{}
	for range 100 {
		_, c, err := is.Issue("alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.ID] {
			t.Fatalf("jti %s issued twice", c.ID)
		}
		seen[c.ID] = true
	}
}

// TestVerifierEmptyConfig: an empty issuer or audience never switches the check off.
func TestVerifierEmptyConfig(t *testing.T) {
	clk := newClock()
	keys := mustHMAC(t, HS256, testSecret)
	for _, tt := range []struct {
		name     string
		iss, aud string
		want     error
	}{
		{"empty issuer", "", testAudience, ErrIssuer},
		{"empty audience", testIssuer, "", ErrAudience},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(clk)
			opts.Issuer, opts.Audience = tt.iss, tt.aud
			raw, _, err := NewIssuer(keys, opts).Issue("alice", nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewVerifier(keys, opts).Verify(context.Background(), raw)
			wantErr(t, err, tt.want, raw)
		})
	}
}

// TestErrorTexts: every sentinel wraps ErrInvalid and is a short text that may go into an
// RFC 6750 error_description (no quote, no backslash, printable ASCII).
func TestErrorTexts(t *testing.T) {
	for _, err := range []error{ErrMalformed, ErrTooLarge, ErrSignature, ErrAlgorithm, ErrExpired,
		ErrNotYetValid, ErrIssuedInFuture, ErrIssuer, ErrAudience, ErrUnknownKey, ErrRevoked, ErrCrit,
		refine(ErrMalformed, "missing sub claim")} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%v does not wrap ErrInvalid", err)
		}
		for _, r := range err.Error() {
			if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
				t.Errorf("%q is not a valid error_description", err.Error())
			}
		}
	}
	if errors.Is(ErrStateUnavailable, ErrInvalid) {
		t.Error("ErrStateUnavailable wraps ErrInvalid")
	}
}

func decodeParts(tb testing.TB, raw string) (header, payload []byte) {
	tb.Helper()
	h, p, _ := split3(tb, raw)
	hb, err := base64.RawURLEncoding.Strict().DecodeString(h)
	if err != nil {
		tb.Fatal(err)
	}
	pb, err := base64.RawURLEncoding.Strict().DecodeString(p)
	if err != nil {
		tb.Fatal(err)
	}
	return hb, pb
}
