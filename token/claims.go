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
// string sub, a string jti, roles as a list of strings, and times golang-jwt can represent. It
// reads the map in one pass (this runs for every token the cache does not hold).
func toClaims(mc jwt.MapClaims) (Claims, error) {
	var c Claims
	for name, v := range mc {
		var err error
		switch name {
		case "sub":
			c.Subject, _ = v.(string) // empty, or not a string: refused below
		case "iss":
			c.Issuer, _ = v.(string) // golang-jwt checked it is a string equal to ours
		case "aud":
			aud, _ := mc.GetAudience() // golang-jwt checked it is a string or a list of strings
			c.Audience = []string(aud)
		case "jti":
			var ok bool
			if c.ID, ok = v.(string); !ok {
				return Claims{}, refine(ErrMalformed, "jti claim is not a string")
			}
		case "roles":
			if c.Roles, err = roles(v); err != nil {
				return Claims{}, err
			}
		case "exp":
			c.ExpiresAt, err = date(v, name)
		case "nbf":
			c.NotBefore, err = date(v, name)
		case "iat":
			c.IssuedAt, err = date(v, name)
		case "auth_time":
			c.AuthTime, err = date(v, name)
		default:
			for _, want := range claimNames {
				if len(name) == len(want) && strings.EqualFold(name, want) {
					return Claims{}, refine(ErrMalformed, "claim "+want+" spelt in another case")
				}
			}
		}
		if err != nil {
			return Claims{}, err
		}
	}
	if c.Subject == "" {
		return Claims{}, refine(ErrMalformed, "missing sub claim")
	}
	return c, nil
}

// roles reads the roles claim: a list of strings; null is no roles.
func roles(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, refine(ErrMalformed, "roles claim is not a list of strings")
	}
	var out []string
	for _, r := range list {
		s, ok := r.(string)
		if !ok {
			return nil, refine(ErrMalformed, "roles claim is not a list of strings")
		}
		out = append(out, s)
	}
	return out, nil
}

// date returns the NumericDate claim value v (named name) in whole seconds, UTC; the zero time when
// it is null. golang-jwt has checked that it is a number; a value beyond ±2^53 seconds is refused,
// since golang-jwt's conversion of it to a time would overflow.
func date(v any, name string) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	f, ok := v.(float64)
	if !ok || math.Abs(f) >= maxSeconds {
		return time.Time{}, refine(ErrMalformed, name+" claim is out of range")
	}
	return time.Unix(int64(math.Floor(f)), 0).UTC(), nil
}
