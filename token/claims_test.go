package token

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestClaimNamesExactAndOnce: claim names are case-sensitive (RFC 7519 §4) and a checked claim given
// twice is refused, so no second or differently-cased "exp", "aud" or "sub" can override the first.
func TestClaimNamesExactAndOnce(t *testing.T) {
	clk := newClock()
	now := clk.Now().Unix()
	keys := mustHMAC(t, HS256, testSecret[:32])
	v := NewVerifier(keys, testOptions(clk))
	sign := signWith(jwt.SigningMethodHS256, testSecret[:32])
	rest := fmt.Sprintf(`"iss":%q,"iat":%d,"nbf":%d,"jti":"j1"`, testIssuer, now, now)
	aud := fmt.Sprintf(`"aud":%q`, testAudience)
	future, past := now+600, now-600
	cases := []struct {
		name    string
		payload string
		want    error // nil: accepted
	}{
		{"baseline", fmt.Sprintf(`{"sub":"alice",%s,"exp":%d,%s}`, aud, future, rest), nil},
		{"EXP after an expired exp", fmt.Sprintf(`{"sub":"alice",%s,"exp":%d,"EXP":%d,%s}`, aud, past, future, rest), ErrInvalid},
		{"Exp instead of exp", fmt.Sprintf(`{"sub":"alice",%s,"Exp":%d,%s}`, aud, future, rest), ErrInvalid},
		{"SUB instead of sub", fmt.Sprintf(`{"SUB":"alice",%s,"exp":%d,%s}`, aud, future, rest), ErrInvalid},
		{"escaped sub", fmt.Sprintf(`{"s\u0075b":"alice","sub":"bob",%s,"exp":%d,%s}`, aud, future, rest), ErrInvalid},
		{"AUD after a foreign aud", fmt.Sprintf(`{"sub":"alice","aud":"other","AUD":%q,"exp":%d,%s}`, testAudience, future, rest), ErrInvalid},
		{"exp twice", fmt.Sprintf(`{"sub":"alice",%s,"exp":%d,"exp":%d,%s}`, aud, past, future, rest), ErrInvalid},
		{"aud twice", fmt.Sprintf(`{"sub":"alice","aud":"other",%s,"exp":%d,%s}`, aud, future, rest), ErrInvalid},
		{"sub twice", fmt.Sprintf(`{"sub":"alice","sub":"admin",%s,"exp":%d,%s}`, aud, future, rest), ErrInvalid},
		{"unknown claims are ignored", fmt.Sprintf(`{"sub":"alice",%s,"exp":%d,%s,"x":{"y":[1,2]},"x":null}`, aud, future, rest), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := b64([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64([]byte(c.payload))
			raw := s + "." + b64(sign(t, s))
			_, err := v.Verify(context.Background(), raw)
			if c.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}
