package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The security suite's fuzzers (FuzzVerify, beside them, is the token package's own). Their
// helpers are prefixed sec so they cannot collide with the package's test helpers.

var (
	secFuzzSecret = []byte("security-fuzz-secret-0123456789abcdef")
	secFuzzNow    = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
)

const (
	secFuzzIssuer   = "tokengate"
	secFuzzAudience = "tokengate"
	secFuzzLeeway   = 5 * time.Second
)

// secNeverRevoked is a revocation store that revokes nothing: with it, Verify requires a jti, as
// it does in production.
type secNeverRevoked struct{}

func (secNeverRevoked) IsRevoked(context.Context, string) (bool, error) { return false, nil }

func secFuzzOptions() Options {
	return Options{
		Issuer: secFuzzIssuer, Audience: secFuzzAudience, Leeway: secFuzzLeeway,
		Now: func() time.Time { return secFuzzNow }, Revoked: secNeverRevoked{},
	}
}

func secB64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// secFuzzClaims is a good payload at secFuzzNow with the replacements old → new applied.
func secFuzzClaims(replace ...string) string {
	now := secFuzzNow.Unix()
	p := `{"sub":"alice","iss":"tokengate","aud":"tokengate","iat":` + secItoa(now) + `,"nbf":` + secItoa(now) +
		`,"exp":` + secItoa(now+900) + `,"jti":"abcdefghijklmnopqrstuv","roles":["admin"]}`
	return strings.NewReplacer(replace...).Replace(p)
}

func secItoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// FuzzVerifyClaims signs any header and payload with the configured secret and verifies the
// token. Whatever the bytes, Verify must not panic, and it may accept a token only if an
// independent, strict reading of the same JSON agrees: alg is HS256 and there is no crit; the
// payload is one JSON object whose exact (case-sensitive) claim names give a non-empty sub, our
// iss, our aud, a jti, a numeric exp in the future and no nbf or iat in the future, all matching
// the returned Claims (RFC 7519 §4, §7.2).
func FuzzVerifyClaims(f *testing.F) {
	keys, err := NewHMACKeys(HS256, secFuzzSecret)
	if err != nil {
		f.Fatal(err)
	}
	v := NewVerifier(keys, secFuzzOptions())
	now := secFuzzNow.Unix()
	hdr := `{"alg":"HS256","typ":"JWT","kid":"` + keys.KeyID() + `"}`
	good := secFuzzClaims()
	exp := `"exp":` + secItoa(now+900)
	for _, seed := range [][2]string{
		{hdr, good},
		{`{"alg":"HS256"}`, good},
		{`{"alg":"none"}`, good},
		{`{"alg":"HS256","crit":["exp"]}`, good},
		{`{"alg":"HS256","kid":"other"}`, good},
		{`{"alg":"HS384"}`, good},
		{`{"alg":"none","alg":"HS256"}`, good},
		{hdr, secFuzzClaims(`"aud":"tokengate"`, `"aud":["x","tokengate"]`)},
		{hdr, secFuzzClaims(`"aud":"tokengate"`, `"aud":[]`)},
		{hdr, secFuzzClaims(exp, `"exp":"`+secItoa(now+900)+`"`)},
		{hdr, secFuzzClaims(exp, `"exp":1e300`)},
		{hdr, secFuzzClaims(exp, `"exp":`+secItoa(now+900)+`.5`)},
		{hdr, secFuzzClaims(exp, exp+`,"exp":`+secItoa(now-900))},
		{hdr, secFuzzClaims(`"sub":"alice"`, `"sub":7`)},
		{hdr, secFuzzClaims(`"nbf":`+secItoa(now), `"nbf":`+secItoa(now+3600))},
		{hdr, good + ` `},
		{hdr, good + `{}`},
		// RFC 7519 §4: claim names are case-sensitive; "EXP" is not "exp".
		{hdr, secFuzzClaims(exp, `"exp":`+secItoa(now-900)+`,"EXP":`+secItoa(now+900))},
		{hdr, secFuzzClaims(`"sub":"alice"`, `"SUB":"alice"`)},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, header, payload string) {
		signing := secB64url(header) + "." + secB64url(payload)
		sig, err := keys.method.Sign(signing, keys.signKey)
		if err != nil {
			t.Fatal(err)
		}
		raw := signing + "." + base64.RawURLEncoding.EncodeToString(sig)
		c, err := v.Verify(context.Background(), raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			return
		}
		if len(raw) > MaxTokenBytes {
			t.Fatalf("accepted a token of %d bytes", len(raw))
		}
		secCheckHeader(t, header, keys.KeyID())
		secCheckPayload(t, payload, c)
	})
}

func secCheckHeader(t *testing.T, header, kid string) {
	t.Helper()
	var h map[string]any
	if err := json.Unmarshal([]byte(header), &h); err != nil {
		t.Fatalf("accepted a header that is not one JSON object: %v", err)
	}
	if h["alg"] != HS256 {
		t.Fatalf("accepted alg %v", h["alg"])
	}
	if _, ok := h["crit"]; ok {
		t.Fatalf("accepted a crit header")
	}
	if k, ok := h["kid"]; ok && k != kid {
		t.Fatalf("accepted kid %v", k)
	}
}

func secCheckPayload(t *testing.T, payload string, c Claims) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(payload))
	dec.UseNumber()
	var p map[string]any
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("accepted a payload that is not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err == nil {
		t.Fatalf("accepted a payload with data after the JSON object")
	}
	str := func(name string) string {
		s, ok := p[name].(string)
		if !ok {
			t.Fatalf("accepted %s = %#v (claim names are case-sensitive)", name, p[name])
		}
		return s
	}
	if sub := str("sub"); sub == "" || sub != c.Subject {
		t.Fatalf("sub = %q, Claims.Subject = %q", sub, c.Subject)
	}
	if iss := str("iss"); iss != secFuzzIssuer || c.Issuer != iss {
		t.Fatalf("accepted iss %q (Claims.Issuer %q)", iss, c.Issuer)
	}
	if jti := str("jti"); jti == "" || jti != c.ID {
		t.Fatalf("jti = %q, Claims.ID = %q", jti, c.ID)
	}
	switch aud := p["aud"].(type) {
	case string:
		if aud != secFuzzAudience {
			t.Fatalf("accepted aud %q", aud)
		}
	case []any:
		found := false
		for _, a := range aud {
			if _, ok := a.(string); !ok {
				t.Fatalf("accepted aud %v with a non-string", aud)
			}
			found = found || a == secFuzzAudience
		}
		if !found {
			t.Fatalf("accepted aud %v", aud)
		}
	default:
		t.Fatalf("accepted aud %#v", p["aud"])
	}
	now := float64(secFuzzNow.Unix())
	leeway := secFuzzLeeway.Seconds()
	date := func(name string) (float64, bool) {
		v, ok := p[name]
		if !ok || v == nil {
			return 0, false
		}
		n, isNum := v.(json.Number)
		if !isNum {
			t.Fatalf("accepted %s = %#v, not a NumericDate", name, v)
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) {
			t.Fatalf("accepted %s = %s", name, n)
		}
		return f, true
	}
	exp, ok := date("exp")
	if !ok {
		t.Fatalf("accepted a token without exp")
	}
	if exp+leeway <= now {
		t.Fatalf("accepted exp %v, expired at %v", exp, now)
	}
	if !c.ExpiresAt.Equal(time.Unix(int64(math.Floor(exp)), 0)) {
		t.Fatalf("Claims.ExpiresAt = %v, exp = %v", c.ExpiresAt, exp)
	}
	for _, name := range []string{"nbf", "iat"} {
		if d, ok := date(name); ok && d > now+leeway {
			t.Fatalf("accepted %s %v in the future (now %v)", name, d, now)
		}
	}
}

// secFuzzES256Keys makes a P-256 key set from a fixed scalar, so that every fuzz worker has the
// same key (a key in a PEM literal would be flagged by secret scanners).
func secFuzzES256Keys(f *testing.F) *KeySet {
	f.Helper()
	d := sha256.Sum256([]byte("tokengate security fuzz key"))
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(f.TempDir(), "es256.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		f.Fatal(err)
	}
	keys, err := LoadKeys(ES256, path, nil)
	if err != nil {
		f.Fatal(err)
	}
	return keys
}

// FuzzVerifyES256: with an ECDSA key, Verify never panics and accepts a token only if its header
// and payload are exactly those of a token the key signed. (ECDSA signatures are not unique: the
// signature segment may differ, the signed bytes may not.) Seeds include the psychic signature
// r = s = 0 (CVE-2022-21449), DER signatures and alg confusion with the public key as HMAC key.
func FuzzVerifyES256(f *testing.F) {
	keys := secFuzzES256Keys(f)
	v := NewVerifier(keys, secFuzzOptions())
	hdr := `{"alg":"ES256","typ":"JWT","kid":"` + keys.KeyID() + `"}`
	signed := map[string]bool{}
	sign := func(header, payload string) string {
		signing := secB64url(header) + "." + secB64url(payload)
		sig, err := keys.method.Sign(signing, keys.signKey)
		if err != nil {
			f.Fatal(err)
		}
		signed[signing] = true
		return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	good := sign(hdr, secFuzzClaims())
	sign(`{"alg":"ES256"}`, secFuzzClaims())
	parts := strings.Split(good, ".")
	h, p, s := parts[0], parts[1], parts[2]
	pub, err := x509.MarshalPKIXPublicKey(keys.current.key)
	if err != nil {
		f.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	hs, err := NewHMACKeys(HS256, pubPEM)
	if err != nil {
		f.Fatal(err)
	}
	confused := secB64url(`{"alg":"HS256","kid":"`+keys.KeyID()+`"}`) + "." + p
	confusedSig, _ := hs.method.Sign(confused, hs.signKey)
	for _, seed := range []string{
		good, h + "." + p + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64)),
		h + "." + p + "." + s[:len(s)-2], h + "." + p + ".", secB64url(`{"alg":"none"}`) + "." + p + ".",
		confused + "." + base64.RawURLEncoding.EncodeToString(confusedSig),
		h + "." + secB64url(secFuzzClaims(`"alice"`, `"admin"`)) + "." + s,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := v.Verify(context.Background(), in)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			return
		}
		i := strings.LastIndexByte(in, '.')
		if i < 0 || !signed[in[:i]] {
			t.Fatalf("accepted a token whose header and payload the key never signed: %q", in)
		}
		if c.Subject != "alice" {
			t.Fatalf("Subject = %q", c.Subject)
		}
	})
}
