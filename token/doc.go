// Package token issues and verifies tokengate's access tokens (signed JWTs), holds the signing
// and verification keys, publishes the public ones as a JWKS, and makes opaque refresh tokens.
//
// It is the only package that imports github.com/golang-jwt/jwt/v5; no jwt type or jwt error text
// crosses its API. Every verification failure is an error wrapping [ErrInvalid] (more precisely one
// of ErrMalformed, ErrTooLarge, ErrSignature, ErrAlgorithm, ErrExpired, ErrNotYetValid,
// ErrIssuedInFuture, ErrIssuer, ErrAudience, ErrUnknownKey, ErrRevoked or ErrCrit) whose Error text
// is a short description that is safe to show a client (RFC 6750 error_description): it never
// contains the token, a claim value or key material. A revocation store that cannot answer gives an
// error wrapping [ErrStateUnavailable] instead, which is never treated as "allow".
//
// Verification follows RFC 8725: the algorithm is pinned to the key chosen by the token's kid, and
// keys come from configuration only (the jwk, jku, x5u and x5c header fields are ignored);
// alg "none" is never accepted; exp, sub, iss and aud are required; iat in the future is refused;
// base64url is decoded strictly; a crit header is refused; tokens over 8 KiB are refused before
// any decoding.
package token
