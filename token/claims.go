package token

import (
	"math"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// claimNames are the registered claims Verify reads. RFC 7519 §4 makes claim names
// case-sensitive; a payload that spells one of them in another case ("EXP", "Sub") is refused, so
// that no reader that matches names loosely can be handed a second, different value.
var claimNames = [...]string{"sub", "iss", "aud", "exp", "nbf", "iat", "jti", "roles", "auth_time"}

// maxSeconds bounds NumericDate values so that they convert to time.Time exactly (a float64 holds
// every integer up to 2^53).
const maxSeconds = 1 << 53

// toClaims converts the payload golang-jwt has verified (signature, alg, exp, nbf, iat, iss, aud)
// into Claims, applying the rules its validator does not know: exact-case claim names, a non-empty
// string sub, a string jti, roles as a list of strings, and times golang-jwt can represent.
func toClaims(mc jwt.MapClaims) (Claims, error) {
	for name := range mc {
		for _, want := range claimNames {
			if len(name) == len(want) && name != want && strings.EqualFold(name, want) {
				return Claims{}, refine(ErrMalformed, "claim "+want+" spelt in another case")
			}
		}
	}
	sub, ok := mc["sub"].(string)
	if !ok || sub == "" {
		return Claims{}, refine(ErrMalformed, "missing sub claim")
	}
	iss, _ := mc.GetIssuer() // golang-jwt checked it is a string equal to ours
	aud, _ := mc.GetAudience()
	c := Claims{Subject: sub, Issuer: iss, Audience: []string(aud)}
	if jti, present := mc["jti"]; present {
		if c.ID, ok = jti.(string); !ok {
			return Claims{}, refine(ErrMalformed, "jti claim is not a string")
		}
	}
	if roles, present := mc["roles"]; present && roles != nil {
		list, ok := roles.([]any)
		if !ok {
			return Claims{}, refine(ErrMalformed, "roles claim is not a list of strings")
		}
		for _, r := range list {
			s, ok := r.(string)
			if !ok {
				return Claims{}, refine(ErrMalformed, "roles claim is not a list of strings")
			}
			c.Roles = append(c.Roles, s)
		}
	}
	var err error
	if c.ExpiresAt, err = date(mc, "exp"); err != nil {
		return Claims{}, err
	}
	if c.NotBefore, err = date(mc, "nbf"); err != nil {
		return Claims{}, err
	}
	if c.IssuedAt, err = date(mc, "iat"); err != nil {
		return Claims{}, err
	}
	if c.AuthTime, err = date(mc, "auth_time"); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// date returns the NumericDate claim name in whole seconds, UTC; the zero time when it is absent.
// golang-jwt has checked that it is a number; a value beyond ±2^53 seconds is refused, since
// golang-jwt's conversion of it to a time would overflow.
func date(mc jwt.MapClaims, name string) (time.Time, error) {
	v, present := mc[name]
	if !present || v == nil {
		return time.Time{}, nil
	}
	f, ok := v.(float64)
	if !ok || math.Abs(f) >= maxSeconds {
		return time.Time{}, refine(ErrMalformed, name+" claim is out of range")
	}
	return time.Unix(int64(math.Floor(f)), 0).UTC(), nil
}
