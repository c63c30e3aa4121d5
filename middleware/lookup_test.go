package middleware

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLookupExtract(t *testing.T) {
	all := Lookup{Sources: []string{SourceHeader, SourceQuery, SourceCookie}, QueryParam: "token", CookieName: "tg"}
	headerOnly := Lookup{Sources: []string{SourceHeader}, QueryParam: "token"}
	cases := []struct {
		name    string
		lookup  Lookup
		target  string
		headers []string // name, value pairs
		want    string
		wantErr error
	}{
		{"header", all, "/", []string{"Authorization", "Bearer abc"}, "abc", nil},
		{"header lower-case scheme", all, "/", []string{"Authorization", "bearer abc"}, "abc", nil},
		{"header upper-case scheme", all, "/", []string{"Authorization", "BEARER abc"}, "abc", nil},
		{"header extra spaces", all, "/", []string{"Authorization", "Bearer   abc"}, "abc", nil},
		{"query", all, "/?token=abc", nil, "abc", nil},
		{"query among others", all, "/?a=1&token=abc&b=2", nil, "abc", nil},
		{"query escaped", all, "/?token=a%2Eb", nil, "a.b", nil},
		{"query escaped name", all, "/?%74oken=abc", nil, "abc", nil},
		{"cookie", all, "/", []string{"Cookie", "tg=abc"}, "abc", nil},
		{"none", all, "/", nil, "", ErrNoToken},
		{"basic scheme is not bearer", all, "/", []string{"Authorization", "Basic YTpi"}, "", ErrNoToken},
		{"scheme prefix only", all, "/", []string{"Authorization", "Bearerabc"}, "", ErrNoToken},
		{"query ignored when not configured", headerOnly, "/?token=abc", nil, "", ErrNoToken},
		{"cookie ignored when not configured", headerOnly, "/", []string{"Cookie", "tg=abc"}, "", ErrNoToken},
		{"other param name", all, "/?tokens=abc&xtoken=1", nil, "", ErrNoToken},
		{"header and query", all, "/?token=abc", []string{"Authorization", "Bearer abc"}, "", ErrBadRequest},
		{"query and cookie", all, "/?token=abc", []string{"Cookie", "tg=abc"}, "", ErrBadRequest},
		{"two headers", all, "/", []string{"Authorization", "Bearer a", "Authorization", "Bearer b"}, "", ErrBadRequest},
		{"two query params", all, "/?token=a&token=b", nil, "", ErrBadRequest},
		{"two query params, one escaped", all, "/?token=a&%74oken=b", nil, "", ErrBadRequest},
		{"two cookies", all, "/", []string{"Cookie", "tg=a; tg=b"}, "", ErrBadRequest},
		{"two cookies, one net/http drops", all, "/", []string{"Cookie", "tg=a; tg=b\\"}, "", ErrBadRequest},
		{"two cookies, one with a quote inside", all, "/", []string{"Cookie", "tg=a; tg=b\"x"}, "", ErrBadRequest},
		{"two cookies in two headers", all, "/", []string{"Cookie", "tg=a", "Cookie", "tg=b"}, "", ErrBadRequest},
		{"two cookies, one name spaced before '='", all, "/", []string{"Cookie", "tg=a; tg =b"}, "", ErrBadRequest},
		{"cookie among others", all, "/", []string{"Cookie", "x=1; tg=abc; tgx=2"}, "abc", nil},
		{"empty bearer", all, "/", []string{"Authorization", "Bearer "}, "", ErrBadRequest},
		{"bare bearer", all, "/", []string{"Authorization", "Bearer"}, "", ErrBadRequest},
		{"bearer with two parts", all, "/", []string{"Authorization", "Bearer a b"}, "", ErrBadRequest},
		{"tab after the scheme", all, "/", []string{"Authorization", "Bearer\tabc"}, "", ErrBadRequest},
		{"tab after the scheme, token in the query", all, "/?token=abc", []string{"Authorization", "Bearer\tabc"}, "", ErrBadRequest},
		{"no-break space after the scheme", all, "/", []string{"Authorization", "Bearer\u00a0abc"}, "", ErrBadRequest},
		{"empty query", all, "/?token=", nil, "", ErrBadRequest},
		{"bad escape", all, "/?token=%zz", nil, "", ErrBadRequest},
		{"semicolon before the token", all, "/?page=1;token=abc", nil, "", ErrBadRequest},
		{"semicolon after the token", all, "/?token=abc;page=1", nil, "", ErrBadRequest},
		{"bad escape in a name", all, "/?%zz=abc", nil, "", ErrBadRequest},
		{"semicolon elsewhere, token in the header", all, "/?q=a;b", []string{"Authorization", "Bearer abc"}, "abc", nil},
		{"bad escape elsewhere, token in the header", all, "/?q=100%", []string{"Authorization", "Bearer abc"}, "abc", nil},
		{"bad escape elsewhere, token in the query", all, "/?q=100%&token=abc", nil, "abc", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, c.target, nil)
			for i := 0; i+1 < len(c.headers); i += 2 {
				r.Header.Add(c.headers[i], c.headers[i+1])
			}
			got, err := c.lookup.Extract(r)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if got != c.want {
				t.Fatalf("token = %q, want %q", got, c.want)
			}
		})
	}
}

func TestRedactQuery(t *testing.T) {
	cases := []struct{ in, want string }{
		{"token=abc", "token=REDACTED"},
		{"a=1&token=abc&b=2", "a=1&token=REDACTED&b=2"},
		{"%74oken=abc", "%74oken=REDACTED"},
		{"access_token=x&refresh_token=y&password=z", "access_token=REDACTED&refresh_token=REDACTED&password=REDACTED"},
		{"jwt=abc", "jwt=REDACTED"}, // the configured name
		{"page=2", "page=2"},
		{"page=1;token=abc", "page=1;token=REDACTED"},
		{"token[]=abc&id_token=x&Authorization=Bearer+x&api_key=k", "token[]=REDACTED&id_token=REDACTED&Authorization=REDACTED&api_key=REDACTED"},
		{"q=eyJhbGciOi.x.y&page=3", "q=REDACTED&page=3"},
		{"token=;x&page=1", "token=REDACTED&page=1"},
		{"page=1;token=abc;more=1&x=2", "page=1;token=REDACTED&x=2"},
		{"q=%65yJhbGciOi.x.y", "q=REDACTED"},
		{"flag&page=", "flag&page="},
		{"a=1&&b=2;", "a=1&&b=2;"},
	}
	for _, c := range cases {
		param := "token"
		if c.in == "jwt=abc" {
			param = "jwt"
		}
		if got := RedactQuery(c.in, param); got != c.want {
			t.Errorf("RedactQuery(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func BenchmarkLookupHeader(b *testing.B) {
	l := Lookup{Sources: []string{SourceHeader, SourceQuery}, QueryParam: "token"}
	r := httptest.NewRequest(http.MethodGet, "/protected", nil)
	r.Header.Set("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Extract(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookupQuery(b *testing.B) {
	l := Lookup{Sources: []string{SourceHeader, SourceQuery}, QueryParam: "token"}
	r := httptest.NewRequest(http.MethodGet, "/protected?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Extract(r); err != nil {
			b.Fatal(err)
		}
	}
}
