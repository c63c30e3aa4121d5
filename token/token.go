package token

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenBytes is the longest token Verify decodes; longer ones fail with ErrTooLarge.
const MaxTokenBytes = 8 << 10

// DefaultTTL is the access-token lifetime an Issuer uses when Options.TTL is not positive.
const DefaultTTL = 15 * time.Minute

// jtiBytes is the size of a token id: 128 random bits.
const jtiBytes = 16

// Claims are the verified contents of an access token. Times have second precision, in UTC;
// a time the token does not carry is the zero time. Slices belong to the caller.
type Claims struct {
	Subject  string   // sub: the user name
	Roles    []string // roles, nil when the token has none
	Issuer   string   // iss
	Audience []string // aud (tokengate issues exactly one)
	ID       string   // jti: the key for revocation
	IssuedAt time.Time
	// AuthTime is when the login this token comes from checked the user's password (auth_time,
	// OpenID Connect Core §2), when the issuer set it; tokens a refresh issues keep their login's.
	// A user's sessions that end at a cut-off end by it.
	AuthTime  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
}

// Options configure an Issuer and a Verifier; the same value serves both.
type Options struct {
	Issuer   string        // iss of issued tokens; the only iss a Verifier accepts (must not be empty)
	Audience string        // aud of issued tokens; the audience a Verifier requires (must not be empty)
	TTL      time.Duration // access-token lifetime; not positive → DefaultTTL
	Leeway   time.Duration // clock skew allowed on exp, nbf and iat; negative → 0
	Now      func() time.Time
	// CacheSize bounds the Verifier's verified-token cache, in entries; 0 (or less) turns it off.
	CacheSize int
	// Revoked, when not nil, is asked about every token's jti on every Verify, cached or not;
	// tokens without a jti are then refused, since they could not be revoked. When it is also a
	// SessionRevocations, it is asked IsTokenRevoked instead, so that ending a user's sessions
	// refuses their older tokens too.
	Revoked Revocations
}

// Revocations reports whether a token id has been revoked. An error means "cannot tell" and
// makes Verify fail with ErrStateUnavailable.
type Revocations interface {
	IsRevoked(ctx context.Context, jti string) (bool, error)
}

// SessionRevocations is Revocations that can also end every session of a user at once.
// IsTokenRevoked reports whether the token jti of subject, issued at issuedAt (whole seconds; the
// zero time when the token has no iat), is refused: its jti is revoked, or its subject's sessions
// were ended at or after issuedAt. It answers both in one call, on every Verify. An error means
// "cannot tell" and makes Verify fail with ErrStateUnavailable.
type SessionRevocations interface {
	Revocations
	IsTokenRevoked(ctx context.Context, jti, subject string, issuedAt time.Time) (bool, error)
}

func (o Options) now() func() time.Time {
	if o.Now == nil {
		return time.Now
	}
	return o.Now
}

// Issuer signs access tokens with a KeySet's current key. It is safe for concurrent use.
type Issuer struct {
	keys     *KeySet
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

// NewIssuer returns an Issuer signing with keys and stamping tokens with o.Issuer, o.Audience and
// a lifetime of o.TTL.
func NewIssuer(keys *KeySet, o Options) *Issuer {
	ttl := o.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Issuer{keys: keys, issuer: o.Issuer, audience: o.Audience, ttl: ttl, now: o.now()}
}

// Issue returns a signed access token for subject with roles, and its claims. The header has
// alg, kid and typ "JWT"; the payload sub, iss, aud (a single string), iat, nbf (= iat),
// exp (= iat + TTL), a random 128-bit jti, and roles when there are any. It fails for an empty
// subject or when signing fails.
func (i *Issuer) Issue(subject string, roles []string) (raw string, c Claims, err error) {
	return i.IssueSession(subject, roles, time.Time{})
}

// IssueSession is Issue for a session whose login checked the password at authTime: the token
// also carries auth_time (whole seconds, not after iat), so that ending the user's sessions at a
// cut-off after authTime refuses it even when it was issued after the cut-off. auth_time is left
// out when it is iat's second (the common login, and the same answer: a missing auth_time is
// iat) or when authTime is zero.
func (i *Issuer) IssueSession(subject string, roles []string, authTime time.Time) (raw string, c Claims, err error) {
	if subject == "" {
		return "", Claims{}, errors.New("token: empty subject")
	}
	var id [jtiBytes]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails (Go 1.24+)
	now := i.now().Truncate(time.Second).UTC()
	c = Claims{
		Subject:   subject,
		Issuer:    i.issuer,
		Audience:  []string{i.audience},
		ID:        b64(id[:]),
		IssuedAt:  now,
		NotBefore: now,
		ExpiresAt: now.Add(i.ttl).Truncate(time.Second),
	}
	payload := jwt.MapClaims{
		"sub": c.Subject,
		"iss": c.Issuer,
		"aud": i.audience,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": c.ExpiresAt.Unix(),
		"jti": c.ID,
	}
	if len(roles) > 0 {
		c.Roles = slices.Clone(roles)
		payload["roles"] = c.Roles
	}
	if at := authTime.Truncate(time.Second).UTC(); !authTime.IsZero() && at.Before(now) {
		c.AuthTime = at
		payload["auth_time"] = at.Unix()
	}
	t := jwt.NewWithClaims(i.keys.method, payload)
	t.Header["kid"] = i.keys.current.kid
	raw, err = t.SignedString(i.keys.signKey)
	if err != nil {
		// jwt's error text stays inside this package.
		return "", Claims{}, errors.New("token: signing failed")
	}
	return raw, c, nil
}
