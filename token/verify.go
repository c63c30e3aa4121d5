package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Verifier checks access tokens against a KeySet and Options. It is safe for concurrent use.
type Verifier struct {
	keys     *KeySet
	parser   *jwt.Parser
	keyFunc  jwt.Keyfunc
	issuer   string
	audience string
	leeway   time.Duration
	now      func() time.Time
	ownClock bool // Options.Now was set: VerifyRequest reads it rather than trusting arrived
	revoked  Revocations
	cache    *cache    // nil when off
	fast     *fastHMAC // nil unless the current key is an HMAC key
}

// NewVerifier returns a Verifier accepting tokens signed by any key of keys, issued by o.Issuer for
// o.Audience, with o.Leeway of clock skew, checking o.Revoked and caching up to o.CacheSize
// verified tokens. An empty o.Issuer or o.Audience makes every token fail (ErrIssuer, ErrAudience).
func NewVerifier(keys *KeySet, o Options) *Verifier {
	v := &Verifier{
		keys:     keys,
		issuer:   o.Issuer,
		audience: o.Audience,
		leeway:   max(o.Leeway, 0),
		now:      o.now(),
		ownClock: o.Now != nil,
		revoked:  o.Revoked,
	}
	opts := []jwt.ParserOption{
		// The algorithms of the configured keys; selectKey then pins the token's alg to the
		// algorithm of the one key its kid names.
		jwt.WithValidMethods(slices.Clone(keys.algs)),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(v.now),
	}
	if o.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(o.Issuer))
	}
	if o.Audience != "" {
		opts = append(opts, jwt.WithAudience(o.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	v.keyFunc = v.selectKey
	if o.CacheSize > 0 {
		v.cache = newCache(o.CacheSize)
	}
	v.fast = newFastHMAC(keys)
	return v
}

// Verify checks raw and returns its claims. Every failure wraps ErrInvalid (see the package
// doc for the specific errors) except a revocation store failure, which wraps
// ErrStateUnavailable. A token served from the verified-token cache has its time limits checked
// again and its jti checked against the revocation store, like any other.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	cached, c, err := v.verify(ctx, raw, time.Time{})
	if cached != nil {
		return cached.Clone(), nil
	}
	return c, err
}

// VerifyRequest is Verify for a request that arrived at arrived: a reading of the real clock that
// the caller took already, moments ago (the Auth middleware passes the time the access log read
// when the request came in, microseconds earlier). It spares the two costs that Verify adds to a
// cached token:
//   - a cached token's time limits are checked at arrived rather than at a fresh reading of the
//     clock, except in the token's last second, when the clock is read again: an arrival less than
//     a second old never keeps a token past its exp. A zero arrived, or a Verifier made with
//     Options.Now, reads the Verifier's own clock; full verification always does;
//   - a cached token's claims are not copied: the *Claims is the cache entry's own, and the caller
//     must not modify it or its Roles and Audience (Claims.Clone makes a copy that it may modify).
func (v *Verifier) VerifyRequest(ctx context.Context, raw string, arrived time.Time) (*Claims, error) {
	cached, c, err := v.verify(ctx, raw, arrived)
	if cached != nil || err != nil {
		return cached, err
	}
	full := c // on the heap only here: &c would put c there on every call
	return &full, nil
}

// verify is VerifyRequest: it returns a cached token's claims as the cache entry's own (shared,
// read only), and the claims of a token it verified in full as full.
func (v *Verifier) verify(ctx context.Context, raw string, arrived time.Time) (cached *Claims, full Claims, _ error) {
	if len(raw) > MaxTokenBytes {
		return nil, Claims{}, ErrTooLarge
	}
	var now time.Time // a fresh reading of the Verifier's clock, once one is taken
	if v.cache != nil {
		at := arrived
		if at.IsZero() || v.ownClock {
			now = v.now()
			at = now
		}
		c := v.cache.get(raw, at)
		if c != nil && now.IsZero() && c.ExpiresAt.Sub(at) < time.Second {
			now = v.now() // the token's last second: the arrival time is not trusted to the end
			if !now.Before(c.ExpiresAt) {
				c = nil
			}
		}
		if c != nil {
			if err := v.checkRevoked(ctx, c.ID); err != nil {
				return nil, Claims{}, err
			}
			return c, Claims{}, nil
		}
	}
	if err := checkShape(raw); err != nil {
		return nil, Claims{}, err
	}
	if now.IsZero() && (v.cache != nil || v.fast != nil) {
		now = v.now()
	}
	c, err := v.verifyFull(raw, now)
	if err != nil {
		return nil, Claims{}, err
	}
	if err := v.checkRevoked(ctx, c.ID); err != nil {
		return nil, Claims{}, err
	}
	if v.cache != nil {
		validFrom := c.NotBefore
		if c.IssuedAt.After(validFrom) {
			validFrom = c.IssuedAt
		}
		v.cache.put(raw, c, validFrom.Add(-v.leeway), now)
	}
	return nil, c, nil
}

// verifyFull checks raw's signature and claims, on the fast path when it applies (see fastHMAC),
// else through golang-jwt.
func (v *Verifier) verifyFull(raw string, now time.Time) (Claims, error) {
	if v.fast != nil {
		switch c, res := v.fast.verify(v, raw, now); res {
		case fastValid:
			return c, nil
		case fastBadSignature:
			return Claims{}, ErrSignature
		}
	}
	return v.verifyJWT(raw)
}

// verifyJWT is the full path: golang-jwt's parser and validator, then checkClaims.
func (v *Verifier) verifyJWT(raw string) (Claims, error) {
	var wc wireClaims
	tok, err := v.parser.ParseWithClaims(raw, &wc, v.keyFunc)
	if err != nil {
		return Claims{}, v.translate(err, tok, &wc)
	}
	return v.checkClaims(&wc)
}

func (v *Verifier) checkRevoked(ctx context.Context, jti string) error {
	if v.revoked == nil {
		return nil
	}
	revoked, err := v.revoked.IsRevoked(ctx, jti)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStateUnavailable, err)
	}
	if revoked {
		return ErrRevoked
	}
	return nil
}

// checkShape accepts exactly three non-empty segments without CR or LF. Go's base64 decoder
// skips CR and LF, which would make tokens malleable; every other character outside base64url
// (padding included) is refused by the strict decoding that follows.
func checkShape(raw string) error {
	if strings.IndexByte(raw, '\n') >= 0 || strings.IndexByte(raw, '\r') >= 0 {
		return refine(ErrMalformed, "token is not base64url")
	}
	i := strings.IndexByte(raw, '.')
	if i < 0 {
		return refine(ErrMalformed, "token must have three segments")
	}
	j := strings.IndexByte(raw[i+1:], '.')
	if j < 0 {
		return refine(ErrMalformed, "token must have three segments")
	}
	j += i + 1
	if strings.IndexByte(raw[j+1:], '.') >= 0 {
		return refine(ErrMalformed, "token must have three segments")
	}
	if i == 0 || j == i+1 || j == len(raw)-1 {
		return refine(ErrMalformed, "empty token segment")
	}
	return nil
}

// selectKey is the jwt.Keyfunc: it picks the verification key by kid (keys come from
// configuration only: jwk, jku, x5u and x5c are never looked at) and pins alg to that key's.
func (v *Verifier) selectKey(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, ErrCrit
	}
	vk := v.keys.current // no kid: only the current key, e.g. a token made by another library
	if kid, ok := t.Header["kid"]; ok {
		s, isString := kid.(string)
		if !isString {
			return nil, refine(ErrUnknownKey, "kid is not a string")
		}
		if vk = v.keys.byKID[s]; vk == nil {
			return nil, ErrUnknownKey
		}
	}
	if t.Method == nil || t.Method.Alg() != vk.alg {
		return nil, ErrAlgorithm
	}
	return vk.key, nil
}

// translate maps a jwt error to this package's errors; jwt's texts never leave the package.
func (v *Verifier) translate(err error, tok *jwt.Token, wc *wireClaims) error {
	var te *tokenError
	if errors.As(err, &te) { // from selectKey
		return te
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		// WithValidMethods reports a refused alg as an invalid signature.
		if tok != nil && tok.Method != nil && !contains(v.keys.algs, tok.Method.Alg()) {
			return ErrAlgorithm
		}
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return ErrAlgorithm // alg missing or unknown
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ErrIssuedInFuture
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		switch {
		case !wc.ExpiresAt.set:
			return refine(ErrMalformed, "missing exp claim")
		case wc.Issuer == "":
			return refine(ErrIssuer, "missing iss claim")
		case len(wc.Audience) == 0 || len(wc.Audience) == 1 && wc.Audience[0] == "":
			return refine(ErrAudience, "missing aud claim")
		}
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ErrIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ErrAudience
	}
	return ErrMalformed
}

// checkClaims applies the rules jwt's validator does not know, re-checks iss and aud (so an
// empty configured value can never switch the check off) and converts to Claims.
func (v *Verifier) checkClaims(wc *wireClaims) (Claims, error) {
	if wc.Subject == "" {
		return Claims{}, refine(ErrMalformed, "missing sub claim")
	}
	if v.issuer == "" || wc.Issuer != v.issuer {
		return Claims{}, ErrIssuer
	}
	if v.audience == "" || !contains(wc.Audience, v.audience) {
		return Claims{}, ErrAudience
	}
	if v.revoked != nil && wc.ID == "" {
		return Claims{}, refine(ErrMalformed, "missing jti claim")
	}
	c := Claims{
		Subject:   wc.Subject,
		Issuer:    wc.Issuer,
		Audience:  []string(wc.Audience),
		ID:        wc.ID,
		IssuedAt:  wc.IssuedAt.time(),
		NotBefore: wc.NotBefore.time(),
		ExpiresAt: wc.ExpiresAt.time(),
	}
	if len(wc.Roles) > 0 {
		c.Roles = wc.Roles
	}
	return c, nil
}
