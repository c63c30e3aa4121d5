package token

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func TestNewRefreshToken(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		raw, hash, err := NewRefreshToken()
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
		if err != nil || len(b) != 32 {
			t.Fatalf("raw %q is not 32 bytes of base64url", raw)
		}
		sum := sha256.Sum256([]byte(raw))
		if want := hex.EncodeToString(sum[:]); hash != want || HashRefreshToken(raw) != want {
			t.Fatalf("hash = %s, want %s", hash, want)
		}
		if seen[raw] {
			t.Fatal("refresh token repeated")
		}
		seen[raw] = true
	}
}

// TestAccessTokenIsNoRefreshToken: a refresh token is not a JWT, so no access token hashes to a
// stored refresh token hash, and a refresh token never verifies as an access token.
func TestAccessTokenIsNoRefreshToken(t *testing.T) {
	raw, hash, err := NewRefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	keys := mustHMAC(t, HS256, testSecret)
	access, _, err := NewIssuer(keys, testOptions(newClock())).Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if HashRefreshToken(access) == hash {
		t.Fatal("access token hashes to the refresh token's hash")
	}
	_, err = NewVerifier(keys, testOptions(newClock())).Verify(t.Context(), raw)
	wantErr(t, err, ErrMalformed, raw)
}
