package token

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify: Verify never panics, refuses with an ErrInvalid whose text does not echo the input,
// and accepts nothing but the one token the issuer made (no malleable encoding of it).
func FuzzVerify(f *testing.F) {
	clk := newClock()
	keys := mustHMAC(f, HS256, testSecret)
	o := testOptions(clk)
	o.CacheSize = 4
	// Built by hand, not issued: every fuzz worker must derive the same token (no random jti).
	hdr := map[string]any{"alg": "HS256", "typ": "JWT", "kid": keys.KeyID()}
	raw := makeToken(f, hdr, goodClaims(clk.Now()), signWith(jwt.SigningMethodHS256, testSecret))
	v := NewVerifier(keys, o)
	h, p, s := split3(f, raw)
	for _, seed := range []string{
		raw, raw + "=", h + "." + p, h + "." + p + ".", ".." + s, raw + "." + s,
		h + "." + p + "." + s[:5] + "\n" + s[5:], strings.ToUpper(raw),
		"eyJhbGciOiJub25lIn0." + p + ".", "eyJhbGciOiJub25lIn0." + p + ".AA",
		b64([]byte(`{"alg":"HS256","crit":["x"]}`)) + "." + p + "." + s,
		b64([]byte(`{"alg":"HS256","kid":7}`)) + "." + p + "." + s,
		h + "." + b64([]byte(`{"exp":"1"}`)) + "." + s,
		h + "." + b64([]byte(`{"aud":[1]}`)) + "." + s,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := v.Verify(context.Background(), in)
		if err == nil {
			if in != raw {
				t.Fatalf("accepted %q, which is not the issued token", in)
			}
			return
		}
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
		if c.Subject != "" || c.ID != "" {
			t.Fatalf("claims returned with an error")
		}
		if len(in) >= 16 && strings.Contains(err.Error(), in) {
			t.Fatalf("error text echoes the input")
		}
	})
}
