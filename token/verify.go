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
	issuer   string
	audience string
	leeway   time.Duration
	now      func() time.Time
	revoked  Revocations
	sessions SessionRevocations // revoked, when it can end sessions too
	cache    *cache             // nil when off
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
		revoked:  o.Revoked,
	}
	v.sessions, _ = o.Revoked.(SessionRevocations)
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
	if o.CacheSize > 0 {
		v.cache = newCache(o.CacheSize)
	}
	return v
}

// Verify checks raw and returns its claims, a copy the caller may modify. Every failure wraps
// ErrInvalid (see the package doc for the specific errors) except a revocation store failure,
// which wraps ErrStateUnavailable. A token served from the verified-token cache has its time
// limits checked again and its jti (and, with SessionRevocations, its subject's sessions) checked
// against the revocation store, like any other.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	if len(raw) > MaxTokenBytes {
		return Claims{}, ErrTooLarge
	}
	if v.cache != nil {
		if c, ok := v.cache.get(raw, v.now()); ok {
			if err := v.checkRevoked(ctx, c); err != nil {
				return Claims{}, err
			}
			return c.Clone(), nil
		}
	}
	c, err := v.parse(raw)
	if err != nil {
		return Claims{}, err
	}
	if err := v.checkRevoked(ctx, c); err != nil {
		return Claims{}, err
	}
	if v.cache != nil {
		validFrom := c.NotBefore
		if c.IssuedAt.After(validFrom) {
			validFrom = c.IssuedAt
		}
		v.cache.put(raw, c.Clone(), validFrom.Add(-v.leeway), v.now())
	}
	return c, nil
}

// parse checks raw's signature and claims with golang-jwt, then the rules it does not know.
func (v *Verifier) parse(raw string) (Claims, error) {
	// Go's base64 decoder skips CR and LF even in strict mode, which would make tokens malleable.
	if strings.IndexByte(raw, '\n') >= 0 || strings.IndexByte(raw, '\r') >= 0 { // vectorised, unlike ContainsAny
		return Claims{}, refine(ErrMalformed, "token is not base64url")
	}
	mc := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(raw, mc, v.selectKey)
	if err != nil {
		return Claims{}, v.translate(err, tok, mc)
	}
	c, err := toClaims(mc)
	if err != nil {
		return Claims{}, err
	}
	// golang-jwt checked iss and aud; checked again so that an empty configured value can never
	// switch the check off.
	if v.issuer == "" || c.Issuer != v.issuer {
		return Claims{}, ErrIssuer
	}
	if v.audience == "" || !slices.Contains(c.Audience, v.audience) {
		return Claims{}, ErrAudience
	}
	if v.revoked != nil && c.ID == "" {
		return Claims{}, refine(ErrMalformed, "missing jti claim")
	}
	return c, nil
}

// sessionStart is when the token's session began, for a cut-off: its login's auth_time when it
// carries one that is earlier than its iat, else its iat.
func (c Claims) sessionStart() time.Time {
	if !c.AuthTime.IsZero() && c.AuthTime.Before(c.IssuedAt) {
		return c.AuthTime
	}
	return c.IssuedAt
}

func (v *Verifier) checkRevoked(ctx context.Context, c Claims) error {
	var revoked bool
	var err error
	switch {
	case v.sessions != nil:
		revoked, err = v.sessions.IsTokenRevoked(ctx, c.ID, c.Subject, c.sessionStart())
	case v.revoked != nil:
		revoked, err = v.revoked.IsRevoked(ctx, c.ID)
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStateUnavailable, err)
	}
	if revoked {
		return ErrRevoked
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
func (v *Verifier) translate(err error, tok *jwt.Token, mc jwt.MapClaims) error {
	var te *tokenError
	if errors.As(err, &te) { // from selectKey
		return te
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		// WithValidMethods reports a refused alg as an invalid signature.
		if tok != nil && tok.Method != nil && !slices.Contains(v.keys.algs, tok.Method.Alg()) {
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
		exp, _ := mc.GetExpirationTime()
		iss, _ := mc.GetIssuer()
		switch {
		case exp == nil:
			return refine(ErrMalformed, "missing exp claim")
		case iss == "":
			return refine(ErrIssuer, "missing iss claim")
		}
		return refine(ErrAudience, "missing aud claim")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ErrIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ErrAudience
	}
	return ErrMalformed
}
