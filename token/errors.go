package token

import "errors"

// ErrInvalid is wrapped by every verification failure: a token that is malformed, forged,
// expired, revoked or meant for somebody else. Callers answer 401 invalid_token for it.
var ErrInvalid = errors.New("invalid token")

// ErrStateUnavailable is wrapped by the error Verify returns when the revocation store cannot
// answer. It does not wrap ErrInvalid: the token may be fine, the service is not (503). It is
// never turned into "allow".
var ErrStateUnavailable = errors.New("token state unavailable")

// The specific verification failures. Each wraps ErrInvalid; its Error text is a short
// description safe to show a client. Errors returned by Verify may refine them with a more
// precise description (errors.Is still matches).
var (
	// ErrMalformed: not three non-empty base64url segments, bad JSON, a claim of the wrong type,
	// or a required claim (exp, sub, jti when revocation is on) missing.
	ErrMalformed = newSentinel("malformed token")
	// ErrTooLarge: the token is longer than 8 KiB; it was not decoded.
	ErrTooLarge = newSentinel("token too large")
	// ErrSignature: the signature does not match the key.
	ErrSignature = newSentinel("invalid signature")
	// ErrAlgorithm: alg is missing, unknown, "none", or not the algorithm of the chosen key.
	ErrAlgorithm = newSentinel("algorithm not allowed")
	// ErrExpired: exp is in the past (beyond the leeway).
	ErrExpired = newSentinel("token expired")
	// ErrNotYetValid: nbf is in the future (beyond the leeway).
	ErrNotYetValid = newSentinel("token not valid yet")
	// ErrIssuedInFuture: iat is in the future (beyond the leeway).
	ErrIssuedInFuture = newSentinel("token issued in the future")
	// ErrIssuer: iss is missing or not the configured issuer.
	ErrIssuer = newSentinel("invalid issuer")
	// ErrAudience: aud is missing or does not contain the configured audience.
	ErrAudience = newSentinel("invalid audience")
	// ErrUnknownKey: the kid names no configured key (or is not a string).
	ErrUnknownKey = newSentinel("unknown signing key")
	// ErrRevoked: the token's jti has been revoked (logout).
	ErrRevoked = newSentinel("token revoked")
	// ErrCrit: the header has a crit field; tokengate understands no JWS extensions (RFC 7515 §4.1.11).
	ErrCrit = newSentinel("unsupported critical header")
)

// tokenError is the one error type of verification failures. A sentinel has kind nil and
// unwraps to ErrInvalid; a refined error has a sentinel as kind and its own description.
type tokenError struct {
	desc string
	kind error
}

func newSentinel(desc string) error { return &tokenError{desc: desc} }

// refine returns an error matching kind (and so ErrInvalid) whose text is desc.
func refine(kind error, desc string) error { return &tokenError{desc: desc, kind: kind} }

func (e *tokenError) Error() string { return e.desc }

func (e *tokenError) Unwrap() error {
	if e.kind == nil {
		return ErrInvalid
	}
	return e.kind
}
