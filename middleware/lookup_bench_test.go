package middleware

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// A token of a typical size (HS256, sub, iss, aud, iat, nbf, exp, jti, roles, kid): ~300 bytes.
var benchToken = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxMjM0NTY3ODkiLCJ0eXAiOiJKV1QifQ." +
	strings.Repeat("eyJzdWIiOiJhbGljZSJ9", 10) + ".c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmUtc2ln"

// BenchmarkExtract is Lookup.Extract on the default sources (header, query) for each placement.
func BenchmarkExtract(b *testing.B) {
	l := Lookup{Sources: []string{SourceHeader, SourceQuery}, QueryParam: "token"}
	header := httptest.NewRequest("GET", "/protected", nil)
	header.Header.Set("Authorization", "Bearer "+benchToken)
	query := httptest.NewRequest("GET", "/protected?a=1&token="+benchToken, nil)
	b.Run("header", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Extract(header); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("query", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Extract(query); err != nil {
				b.Fatal(err)
			}
		}
	})
}
