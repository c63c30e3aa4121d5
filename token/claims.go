package token

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
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

// errDuplicateClaim is returned for a registered claim that appears twice in the payload, or under
// another spelling.
var errDuplicateClaim = errors.New("duplicate or miscased claim")

// wireFields is wireClaims without its UnmarshalJSON, for encoding/json's fast struct decoding.
type wireFields wireClaims

// claimNames are the names wireClaims decodes, in checkNames' bit order.
var claimNames = [...]string{"sub", "iss", "aud", "exp", "nbf", "iat", "jti", "roles"}

// UnmarshalJSON decodes the payload, then makes sure encoding/json's leniency cannot be abused:
// it matches struct fields case-insensitively and keeps the last of duplicated keys, so a payload
// with an expired "exp" followed by a future "EXP" (or a second "aud") would otherwise pass. RFC
// 7519 §4 makes claim names case-sensitive and lets a parser reject duplicates; we refuse a
// registered claim given twice, or spelt in another case (which encoding/json would have taken for
// it). Unknown claims are ignored.
func (c *wireClaims) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, (*wireFields)(c)); err != nil {
		return err
	}
	return checkNames(b)
}

// checkNames walks the top level of a JSON object that encoding/json has already accepted as valid
// and fails when a registered claim name appears twice or in another case. It allocates only for a
// key with escapes.
func checkNames(b []byte) error {
	var seen uint8
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errClaimType
	}
	i++
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] == '}' {
			return nil
		}
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
		end := skipString(b, i)
		key := b[i+1 : end-1]
		if bytesContains(key, '\\') {
			var k string
			if err := json.Unmarshal(b[i:end], &k); err != nil {
				return errClaimType
			}
			key = []byte(k)
		}
		for n, name := range claimNames {
			if len(key) == len(name) && strings.EqualFold(string(key), name) {
				if seen&(1<<n) != 0 || string(key) != name {
					return errDuplicateClaim
				}
				seen |= 1 << n
			}
		}
		i = skipSpace(b, end)
		i = skipValue(b, skipSpace(b, i+1)) // past ':' and the value
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the JSON string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}

func bytesContains(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}
