package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// ErrUnavailable is wrapped by every error caused by an unreachable or failing
// backend (connection refused, timeout, server error). Callers answer 503 and
// never treat it as permission.
var ErrUnavailable = errors.New("state backend unavailable")

// ErrNotFound is returned by [Store.SpendRefresh] for a refresh token that is
// unknown, expired, or whose family has been revoked.
var ErrNotFound = errors.New("not found")

// ErrReused is returned by [Store.SpendRefresh] for a refresh token that was
// already spent; its whole family has been revoked as a consequence.
var ErrReused = errors.New("refresh token reused")

// Refresh is what a backend keeps about one refresh token. The token itself is
// never stored, only its hash (the key).
type Refresh struct {
	// User is the subject the token was issued to.
	User string
	// Family identifies the chain of refresh tokens rotated from one login;
	// reuse of any spent member revokes the whole family.
	Family string
	// ExpiresAt is when the token stops being usable. Backends keep it with
	// millisecond precision.
	ExpiresAt time.Time
	// AuthTime is when the family's login checked the user's password (a
	// refresh passes it on to the token it saves): a cut-off at or after it
	// ends the family, even when the token was saved after the cut-off (a
	// login that checked the old password while it was being changed). Zero
	// means the time the token is saved. Backends keep it with millisecond
	// precision.
	AuthTime time.Time
}

// Store is the contract both backends meet; the conformance suite in this
// package holds them to it. Every method is safe for concurrent use. Errors
// other than ErrNotFound and ErrReused wrap ErrUnavailable (Redis) or report
// invalid arguments.
type Store interface {
	// Revoke records jti as revoked until the given time (the token's exp).
	// A time in the past records nothing. A later until extends, an earlier
	// one never shortens, an existing revocation.
	Revoke(ctx context.Context, jti string, until time.Time) error
	// IsRevoked reports whether jti is revoked now.
	IsRevoked(ctx context.Context, jti string) (bool, error)

	// CutOff ends every session user has at at: from then on, access
	// tokens of user issued (or whose login was) at or before at are refused
	// (see IsTokenRevoked), and refresh tokens of user whose AuthTime is at
	// or before at are spent in vain (ErrNotFound). It is kept until until, which
	// callers set past the expiry of any token issued before at. A later
	// cut-off moves at forward; an earlier one never moves it back, and
	// until never shortens.
	CutOff(ctx context.Context, user string, at, until time.Time) error
	// UserCutOff returns user's cut-off in force now, or the zero Time.
	// Backends keep it with millisecond precision.
	UserCutOff(ctx context.Context, user string) (time.Time, error)
	// IsTokenRevoked reports whether the access token jti of user, whose
	// session started at issuedAt (its iat, or the earlier auth_time of the
	// login it comes from), is refused: jti is revoked, or user has a cut-off
	// at or after issuedAt. A token's iat has whole seconds, so a cut-off refuses
	// every token of its own second, even one issued just after it. It asks
	// the backend once (one round trip), for every verification.
	IsTokenRevoked(ctx context.Context, jti, user string, issuedAt time.Time) (bool, error)

	// SaveRefresh stores a refresh token by its hash, unspent, until
	// r.ExpiresAt. A token that has already expired is not stored.
	SaveRefresh(ctx context.Context, hash string, r Refresh) error
	// SpendRefresh atomically marks hash spent and returns its record. A
	// second spend returns ErrReused (with the record) and revokes the whole
	// family until the latest expiry of any of its tokens; unknown or expired
	// tokens, tokens of a revoked family and tokens saved at or before their
	// user's cut-off return ErrNotFound.
	SpendRefresh(ctx context.Context, hash string) (Refresh, error)
	// RevokeFamily revokes every refresh token of family until the later of
	// until and the latest expiry of any token saved in that family.
	RevokeFamily(ctx context.Context, family string, until time.Time) error

	// Fail counts one login failure for key and returns the number of
	// failures in the current window. The window is fixed: it starts at the
	// first failure and lasts window; the next failure after it starts a new
	// window at 1.
	Fail(ctx context.Context, key string, window time.Duration) (int, error)
	// Lock locks key out for d (replacing any current lock-out).
	Lock(ctx context.Context, key string, d time.Duration) error
	// Locked returns the remaining lock-out of key, 0 when it is not locked.
	Locked(ctx context.Context, key string) (time.Duration, error)
	// Reset clears both the failure count and any lock-out of key.
	Reset(ctx context.Context, key string) error

	// Ping reports whether the backend answers (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// maxRawID is the longest identifier (jti, refresh hash, family) used as-is
// in a key; longer ones, or ones with other bytes than [A-Za-z0-9._-], are
// hashed.
const maxRawID = 128

// safeID returns id when it is short and made of harmless bytes, else "~"
// followed by its SHA-256 in hex. "~" cannot occur in a raw id, so the two
// forms never collide.
func safeID(id string) string {
	if id != "" && len(id) <= maxRawID && plain(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "~" + hex.EncodeToString(sum[:])
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// cutOffRefuses reports whether a cut-off at refuses an access token
// issued at issuedAt: iat has whole seconds, so every token of the
// cut-off's own second is refused.
func cutOffRefuses(at, issuedAt time.Time) bool {
	return !at.IsZero() && issuedAt.Unix() <= at.Unix()
}

// loginID turns a login-failure key, which callers build from a user name
// and a client IP, into a fixed-length hex SHA-256: user names are
// user-controlled and may be long or hold odd bytes, and hashing also keeps
// them out of plain sight in Redis.
func loginID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}
