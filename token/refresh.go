package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// refreshBytes is the size of a refresh token: 256 random bits.
const refreshBytes = 32

// NewRefreshToken returns a new opaque refresh token (32 random bytes, base64url without
// padding) and its hash (HashRefreshToken), the only form in which it should be stored. A
// refresh token is never a JWT, so an access token can never pass for one: its hash is not stored.
func NewRefreshToken() (raw string, hash string, err error) {
	var b [refreshBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("token: random refresh token: %w", err)
	}
	raw = b64(b[:])
	return raw, HashRefreshToken(raw), nil
}

// HashRefreshToken returns the lower-case hex SHA-256 of raw, the key a refresh token is stored
// under. A fast hash is enough: the token has 256 random bits, nothing to guess.
func HashRefreshToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}
