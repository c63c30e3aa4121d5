package token

import (
	"context"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// benchOptions use the real clock, as in production (time.Now is part of the cost).
func benchOptions() Options {
	o := testOptions(nil)
	o.Now = nil
	return o
}

func benchSetup(b *testing.B, cacheSize int) (*Verifier, string) {
	b.Helper()
	keys := mustHMAC(b, HS256, testSecret[:32])
	o := benchOptions()
	o.CacheSize = cacheSize
	raw, _, err := NewIssuer(keys, o).Issue("alice", []string{"admin"})
	if err != nil {
		b.Fatal(err)
	}
	return NewVerifier(keys, o), raw
}

// BenchmarkVerifyCold is full HS256 verification (cache off), as on a cache miss.
func BenchmarkVerifyCold(b *testing.B) {
	v, raw := benchSetup(b, 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyColdAsymmetric is full verification with the asymmetric algorithms.
func BenchmarkVerifyColdAsymmetric(b *testing.B) {
	k := sharedKeys()
	dir := b.TempDir()
	for _, tt := range []struct {
		alg string
		key any
	}{{RS256, k.rsa}, {ES256, k.ec}, {EdDSA, k.ed}} {
		b.Run(tt.alg, func(b *testing.B) {
			keys := mustLoad(b, tt.alg, writePKCS8(b, dir, tt.alg+".pem", tt.key))
			o := benchOptions()
			raw, _, err := NewIssuer(keys, o).Issue("alice", []string{"admin"})
			if err != nil {
				b.Fatal(err)
			}
			v := NewVerifier(keys, o)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyCached is a cache hit (HS256, no revocation store).
func BenchmarkVerifyCached(b *testing.B) {
	v, raw := benchSetup(b, 10000)
	ctx := context.Background()
	if _, err := v.Verify(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCachedParallel is cache hits from every P at once.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	v, raw := benchSetup(b, 10000)
	ctx := context.Background()
	if _, err := v.Verify(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(ctx, raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyRefused is the cost of refusing a forged token (a flood of bad tokens).
func BenchmarkVerifyRefused(b *testing.B) {
	v, raw := benchSetup(b, 10000)
	bad := raw[:len(raw)-2] + "AA"
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, bad); err == nil {
			b.Fatal("forged token accepted")
		}
	}
}

// BenchmarkIssue is HS256 issuance.
func BenchmarkIssue(b *testing.B) {
	keys := mustHMAC(b, HS256, testSecret[:32])
	is := NewIssuer(keys, benchOptions())
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := is.Issue("alice", []string{"admin"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareJWT is golang-jwt on its own (RegisteredClaims, HS256, pinned method): the floor
// that BenchmarkVerifyCold builds on, for comparing figures across machines.
func BenchmarkBareJWT(b *testing.B) {
	_, raw := benchSetup(b, 0)
	p := jwt.NewParser(jwt.WithValidMethods([]string{HS256}))
	key := testSecret[:32]
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }
	b.ReportAllocs()
	for b.Loop() {
		var c jwt.RegisteredClaims
		if _, err := p.ParseWithClaims(raw, &c, keyFunc); err != nil {
			b.Fatal(err)
		}
	}
}
