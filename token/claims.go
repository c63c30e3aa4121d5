package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// wireClaims is what Verify decodes from a token's payload. It implements jwt.Claims itself
// (rather than embedding jwt.RegisteredClaims) so that dates and audiences decode without
// nested json.Unmarshal calls: the cold path is mostly JSON decoding.
type wireClaims struct {
	Subject   string      `json:"sub"`
	Issuer    string      `json:"iss"`
	Audience  audience    `json:"aud"`
	ExpiresAt numericDate `json:"exp"`
	NotBefore numericDate `json:"nbf"`
	IssuedAt  numericDate `json:"iat"`
	ID        string      `json:"jti"`
	Roles     []string    `json:"roles"`
}

// GetExpirationTime implements jwt.Claims.
func (c *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt.get(), nil }

// GetNotBefore implements jwt.Claims.
func (c *wireClaims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore.get(), nil }

// GetIssuedAt implements jwt.Claims.
func (c *wireClaims) GetIssuedAt() (*jwt.NumericDate, error) { return c.IssuedAt.get(), nil }

// GetAudience implements jwt.Claims.
func (c *wireClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings(c.Audience), nil
}

// GetIssuer implements jwt.Claims.
func (c *wireClaims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c *wireClaims) GetSubject() (string, error) { return c.Subject, nil }

// errClaimType is returned to encoding/json for a claim of the wrong JSON type; jwt reports it
// as malformed.
var errClaimType = errors.New("claim of the wrong type")

// maxSeconds bounds NumericDate values so that they convert to time.Time exactly.
const maxSeconds = 1 << 53

// numericDate is an RFC 7519 NumericDate: a JSON number of seconds since the epoch (a string
// is refused). Like jwt.NumericDate it keeps whole seconds; null is the same as absent.
type numericDate struct {
	d   jwt.NumericDate
	set bool
}

func (n *numericDate) get() *jwt.NumericDate {
	if !n.set {
		return nil
	}
	return &n.d
}

// time returns the date in UTC, or the zero time when absent.
func (n *numericDate) time() time.Time {
	if !n.set {
		return time.Time{}
	}
	return n.d.Time.UTC()
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *numericDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = numericDate{}
		return nil
	}
	// b is a valid JSON value: a string, true, false, an object or an array fails ParseFloat.
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f >= maxSeconds || f <= -maxSeconds {
		return errClaimType
	}
	*n = numericDate{d: jwt.NumericDate{Time: time.Unix(int64(math.Floor(f)), 0)}, set: true}
	return nil
}

// audience is the aud claim: one string or an array of strings.
type audience []string

// UnmarshalJSON implements json.Unmarshaler.
func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return errClaimType
	}
	switch b[0] {
	case 'n':
		*a = nil
		return nil
	case '"':
		if s, ok := plainString(b); ok {
			*a = audience{s}
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	case '[':
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		*a = list
		return nil
	}
	return errClaimType
}

// plainString decodes a JSON string literal made only of printable ASCII without escapes,
// which is every audience in practice; anything else goes through encoding/json.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[len(b)-1] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	for _, ch := range inner {
		if ch < 0x20 || ch > 0x7e || ch == '\\' || ch == '"' {
			return "", false
		}
	}
	return string(inner), true
}

// errDuplicateClaim is returned for a registered claim that appears twice in the payload.
var errDuplicateClaim = errors.New("duplicate claim")

// UnmarshalJSON decodes the payload with exact, case-sensitive claim names (RFC 7519 §4: "EXP" is
// not "exp"; encoding/json would match struct fields case-insensitively, so a later "EXP" could
// override an expired "exp") and refuses a claim we check that appears twice (RFC 7519 §4 lets a
// parser reject duplicates; taking the last one would let a second "aud" or "exp" win). Claims we
// do not know are skipped.
func (c *wireClaims) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errClaimType
	}
	var seen [8]bool
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		var dst any
		i := -1
		switch key {
		case "sub":
			i, dst = 0, &c.Subject
		case "iss":
			i, dst = 1, &c.Issuer
		case "aud":
			i, dst = 2, &c.Audience
		case "exp":
			i, dst = 3, &c.ExpiresAt
		case "nbf":
			i, dst = 4, &c.NotBefore
		case "iat":
			i, dst = 5, &c.IssuedAt
		case "jti":
			i, dst = 6, &c.ID
		case "roles":
			i, dst = 7, &c.Roles
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if seen[i] {
			return errDuplicateClaim
		}
		seen[i] = true
		if err := dec.Decode(dst); err != nil {
			return errClaimType
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return errClaimType
	}
	return nil
}
