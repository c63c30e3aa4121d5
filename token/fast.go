package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// fastHMAC verifies, without golang-jwt's generic parser, the one shape of token that reaches
// Verify almost every time: a token this service issued with its current HMAC key. golang-jwt
// decodes the header into a map, decodes the payload through encoding/json's reflection, and keys
// a new HMAC per token; that is most of a cold verification's cost.
//
// It is a strict subset of the full path, never a second opinion: it handles a token only when
//   - the header segment is byte for byte the header this service's Issuer writes (so alg is the
//     current key's algorithm, kid names the current key, and there is no crit or any other
//     member), and
//   - the payload is compact JSON made only of the registered claims Verify reads (sub, iss, aud,
//     exp, nbf, iat, jti, roles), each at most once and in lower case, with strings of printable
//     ASCII without escapes and times as plain non-negative integers,
//
// and then it answers only "valid, with these claims" (every rule of the full path holds:
// signature, exp, nbf, iat with the leeway, iss, aud, sub, jti) or "the signature is wrong". For
// anything else — another header, whitespace, an unknown or repeated claim, an escape, a
// fraction, an expired token — it answers "not mine", and the full path decides, with its own
// error. FuzzFastPathAgrees checks, on signed inputs, that whenever the fast path answers, the
// full path gives the same answer.
type fastHMAC struct {
	header string // the Issuer's header segment, without the '.'
	size   int    // signature length in bytes
	pool   sync.Pool
}

// fastResult is what the fast path concluded.
type fastResult int

const (
	fastNotMine      fastResult = iota // the full path decides
	fastValid                          // verified; the claims are set
	fastBadSignature                   // the full path would answer ErrSignature
)

// maxFastPayload bounds the decoded payload the fast path handles on the stack.
const maxFastPayload = 1024

// newFastHMAC returns the fast path for keys, or nil when the current key is not an HMAC key.
func newFastHMAC(keys *KeySet) *fastHMAC {
	secret, ok := keys.current.key.([]byte)
	if !ok {
		return nil
	}
	var newHash func() hash.Hash
	switch keys.current.alg {
	case HS256:
		newHash = sha256.New
	case HS384:
		newHash = sha512.New384
	case HS512:
		newHash = sha512.New
	default:
		return nil
	}
	f := &fastHMAC{header: keys.header[:len(keys.header)-1], size: newHash().Size()}
	f.pool.New = func() any { return hmac.New(newHash, secret) }
	return f
}

// verify runs the fast path on raw, which checkShape accepted, at now.
func (f *fastHMAC) verify(v *Verifier, raw string, now time.Time) (Claims, fastResult) {
	h := len(f.header)
	if len(raw) <= h || raw[h] != '.' || raw[:h] != f.header {
		return Claims{}, fastNotMine
	}
	rest := raw[h+1:]
	dot := strings.IndexByte(rest, '.')
	if dot < 0 {
		return Claims{}, fastNotMine
	}
	seg := rest[:dot]
	if base64.RawURLEncoding.DecodedLen(len(seg)) > maxFastPayload {
		return Claims{}, fastNotMine
	}
	var buf [maxFastPayload]byte
	n, err := strictB64.Decode(buf[:], bytesOf(seg))
	if err != nil {
		return Claims{}, fastNotMine
	}
	var wc fastClaims
	if !wc.parse(buf[:n]) {
		return Claims{}, fastNotMine
	}

	// The payload is one the full path decodes to the same claims, and the header pins the key:
	// the signature decides now, as it does there (before any claim is checked).
	var sig [sha512.Size]byte
	sigSeg := rest[dot+1:]
	if base64.RawURLEncoding.DecodedLen(len(sigSeg)) != f.size {
		return Claims{}, fastNotMine
	}
	if _, err := strictB64.Decode(sig[:], bytesOf(sigSeg)); err != nil {
		return Claims{}, fastNotMine
	}
	mac := f.pool.Get().(hash.Hash)
	mac.Reset()
	mac.Write(bytesOf(raw[:h+1+dot]))
	var sum [sha512.Size]byte
	ok := hmac.Equal(mac.Sum(sum[:0]), sig[:f.size])
	f.pool.Put(mac)
	if !ok {
		return Claims{}, fastBadSignature
	}

	// The rules of the full path (golang-jwt's validator, then checkClaims); on any failure the
	// full path runs and names the error.
	if !wc.exp.set || !now.Before(wc.exp.t.Add(v.leeway)) ||
		wc.nbf.set && now.Before(wc.nbf.t.Add(-v.leeway)) ||
		wc.iat.set && now.Before(wc.iat.t.Add(-v.leeway)) ||
		wc.sub == "" || v.issuer == "" || wc.iss != v.issuer ||
		v.audience == "" || !wc.hasAud(v.audience) ||
		v.revoked != nil && wc.jti == "" {
		return Claims{}, fastNotMine
	}
	return wc.claims(), fastValid
}

// bytesOf views s as bytes without copying it, for the decoders and the hash, which only read
// their input (a copy would be the fast path's largest allocation).
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// strictB64 is the decoding golang-jwt uses under WithStrictDecoding.
var strictB64 = base64.RawURLEncoding.Strict()

// fastClaims is a payload the fast parser accepted. Its strings share one allocation: the payload
// converted to a string once.
type fastClaims struct {
	sub, iss, jti string
	aud           []string
	roles         []string
	exp, nbf, iat fastDate
}

type fastDate struct {
	t   time.Time
	set bool
}

func (c *fastClaims) hasAud(want string) bool {
	for _, a := range c.aud {
		if a == want {
			return true
		}
	}
	return false
}

func (c *fastClaims) claims() Claims {
	out := Claims{
		Subject:   c.sub,
		Issuer:    c.iss,
		Audience:  c.aud,
		ID:        c.jti,
		IssuedAt:  c.iat.utc(),
		NotBefore: c.nbf.utc(),
		ExpiresAt: c.exp.utc(),
	}
	if len(c.roles) > 0 {
		out.Roles = c.roles
	}
	return out
}

func (d fastDate) utc() time.Time {
	if !d.set {
		return time.Time{}
	}
	return d.t.UTC()
}

// parse accepts exactly the payloads described on fastHMAC and fills c; false means "not mine",
// not "invalid".
func (c *fastClaims) parse(b []byte) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	s := string(b) // the one allocation the claims' strings share
	var seen uint8
	i := 1
	for {
		key, j, ok := plainAt(s, i)
		if !ok || j >= len(s) || s[j] != ':' {
			return false
		}
		n := claimIndex(key)
		if n < 0 || seen&(1<<n) != 0 {
			return false
		}
		seen |= 1 << n
		i = j + 1
		switch key {
		case "sub":
			c.sub, i, ok = plainAt(s, i)
		case "iss":
			c.iss, i, ok = plainAt(s, i)
		case "jti":
			c.jti, i, ok = plainAt(s, i)
		case "aud":
			c.aud, i, ok = audienceAt(s, i)
		case "roles":
			c.roles, i, ok = plainList(s, i)
		case "exp":
			c.exp, i, ok = dateAt(s, i)
		case "nbf":
			c.nbf, i, ok = dateAt(s, i)
		case "iat":
			c.iat, i, ok = dateAt(s, i)
		}
		if !ok {
			return false
		}
		if i >= len(s) {
			return false
		}
		switch s[i] {
		case '}':
			return i == len(s)-1
		case ',':
			i++
		default:
			return false
		}
	}
}

// claimIndex is the position of name in claimNames, or -1.
func claimIndex(name string) int {
	for n, c := range claimNames {
		if name == c {
			return n
		}
	}
	return -1
}

// plainAt reads the JSON string at s[i] when it is printable ASCII without escapes, and returns
// it with the index just past it.
func plainAt(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	for j := i + 1; j < len(s); j++ {
		switch ch := s[j]; {
		case ch == '"':
			return s[i+1 : j], j + 1, true
		case ch < 0x20 || ch > 0x7e || ch == '\\':
			return "", i, false
		}
	}
	return "", i, false
}

// audienceAt reads aud: one plain string, or a non-empty array of them.
func audienceAt(s string, i int) ([]string, int, bool) {
	if i < len(s) && s[i] == '[' {
		list, j, ok := plainList(s, i)
		return list, j, ok && len(list) > 0
	}
	v, j, ok := plainAt(s, i)
	if !ok {
		return nil, i, false
	}
	return []string{v}, j, true
}

// plainList reads a JSON array of plain strings (see plainAt) at s[i] == '['.
func plainList(s string, i int) ([]string, int, bool) {
	if i >= len(s) || s[i] != '[' {
		return nil, i, false
	}
	i++
	if i < len(s) && s[i] == ']' {
		return []string{}, i + 1, true
	}
	var list []string
	for {
		v, j, ok := plainAt(s, i)
		if !ok || j >= len(s) {
			return nil, i, false
		}
		list = append(list, v)
		switch s[j] {
		case ']':
			return list, j + 1, true
		case ',':
			i = j + 1
		default:
			return nil, i, false
		}
	}
}

// dateAt reads a NumericDate written as a plain non-negative integer of at most 15 digits (below
// 2^53, so that it means the same as the full path's float reading) without a leading zero.
func dateAt(s string, i int) (fastDate, int, bool) {
	j := i
	var n int64
	for j < len(s) && j-i < 16 && s[j] >= '0' && s[j] <= '9' {
		n = n*10 + int64(s[j]-'0')
		j++
	}
	if d := j - i; d == 0 || d > 15 || d > 1 && s[i] == '0' {
		return fastDate{}, i, false
	}
	return fastDate{t: time.Unix(n, 0), set: true}, j, true
}
