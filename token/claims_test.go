package token

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestClaimNames: claim names are case-sensitive (RFC 7519 §4): a registered claim spelt in another
// case is refused, so no differently-cased "exp", "aud" or "sub" can stand beside the real one. A
// name given twice takes its lexically last value, as RFC 7519 §4 allows and as encoding/json,
// PyJWT and jose read it: the sub returned is the last one.
func TestClaimNames(t *testing.T) {
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
		want    error  // nil: accepted
		sub     string // the subject when accepted
	}{
		{"baseline", fmt.Sprintf(`{"sub":"alice",%s,"exp":%d,%s}`, aud, future, rest), nil, "alice"},
		{"EXP after an expired exp", fmt.Sprintf(`{"sub":"alice",%s,"exp":%d,"EXP":%d,%s}`, aud, past, future, rest), ErrInvalid, ""},
		{"EXP beside a valid exp", fmt.Sprintf(`{"sub":"alice",%s,"exp":%d,"EXP":%d,%s}`, aud, future, past, rest), ErrMalformed, ""},
		{"Exp instead of exp", fmt.Sprintf(`{"sub":"alice",%s,"Exp":%d,%s}`, aud, future, rest), ErrInvalid, ""},
		{"SUB beside sub", fmt.Sprintf(`{"SUB":"admin","sub":"alice",%s,"exp":%d,%s}`, aud, future, rest), ErrMalformed, ""},
		{"escaped sub then sub", fmt.Sprintf(`{"s\u0075b":"alice","sub":"bob",%s,"exp":%d,%s}`, aud, future, rest), nil, "bob"},
		{"AUD after a foreign aud", fmt.Sprintf(`{"sub":"alice","aud":"other","AUD":%q,"exp":%d,%s}`, testAudience, future, rest), ErrInvalid, ""},
		{"Roles", fmt.Sprintf(`{"sub":"alice",%s,"exp":%d,%s,"Roles":["admin"]}`, aud, future, rest), ErrInvalid, ""},
		{"future exp then expired exp", fmt.Sprintf(`{"sub":"alice",%s,"exp":%d,"exp":%d,%s}`, aud, future, past, rest), ErrExpired, ""},
		{"foreign aud last", fmt.Sprintf(`{"sub":"alice",%s,"aud":"other","exp":%d,%s}`, aud, future, rest), ErrAudience, ""},
		{"sub twice", fmt.Sprintf(`{"sub":"alice","sub":"admin",%s,"exp":%d,%s}`, aud, future, rest), nil, "admin"},
		{"unknown claims are ignored", fmt.Sprintf(`{"sub":"alice",%s,"exp":%d,%s,"x":{"y":[1,2]},"x":null}`, aud, future, rest), nil, "alice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := b64([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64([]byte(c.payload))
			raw := s + "." + b64(sign(t, s))
			got, err := v.Verify(context.Background(), raw)
			if c.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				if got.Subject != c.sub {
					t.Errorf("Subject = %q, want %q", got.Subject, c.sub)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}
