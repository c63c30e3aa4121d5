package middleware

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzLookupExtract: for any Authorization headers, query string and cookie, Extract never panics,
// answers a token or ErrNoToken or ErrBadRequest, agrees with net/url on the query string, never
// returns a token with whitespace from the header, and the access log's RedactQuery hides every
// token Extract would read from the query.
func FuzzLookupExtract(f *testing.F) {
	tok := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
	for _, seed := range [][3]string{
		{"Bearer " + tok, "", ""},
		{"bearer " + tok, "", ""},
		{"Bearer  " + tok, "", ""},
		{"Bearer", "", ""},
		{"Bearer ", "", ""},
		{"Bearer a b", "", ""},
		{"Bearer\t" + tok, "", ""},
		{"Basic YWxpY2U6cHljb25pZA==", "", ""},
		{"Bearer a\nBearer b", "", ""}, // two headers
		{"", "token=" + tok, ""},
		{"", "a=1&token=" + tok + "&b=2", ""},
		{"", "%74oken=" + tok, ""},
		{"", "token=a&%74oken=b", ""},
		{"", "token=a&token=b", ""},
		{"", "token=", ""},
		{"", "token=%zz", ""},
		{"", "token=a+b%20c", ""},
		{"", "x=1;token=" + tok, ""},
		{"", "TOKEN=" + tok, ""},
		{"", "to+ken=" + tok, ""},
		{"", "token", ""},
		{"", "", "tg=" + tok},
		{"", "", "tg=a; tg=b"},
		{"", "", "tg="},
		{"Bearer " + tok, "token=" + tok, ""},
		{"", "token=" + tok, "tg=" + tok},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	all := Lookup{Sources: []string{SourceHeader, SourceQuery, SourceCookie}, QueryParam: "token", CookieName: "tg"}
	queryOnly := Lookup{Sources: []string{SourceQuery}, QueryParam: "token"}
	headerOnly := Lookup{Sources: []string{SourceHeader}}
	f.Fuzz(func(t *testing.T, authz, rawQuery, cookie string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{Path: "/", RawQuery: rawQuery}}
		if authz != "" {
			r.Header["Authorization"] = strings.Split(authz, "\n")
		}
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		got, err := all.Extract(r)
		checkExtract(t, got, err)

		hgot, herr := headerOnly.Extract(r)
		checkExtract(t, hgot, herr)
		if herr == nil && strings.ContainsAny(hgot, " \t") {
			t.Fatalf("header token %q holds whitespace", hgot)
		}

		qgot, qerr := queryOnly.Extract(r)
		checkExtract(t, qgot, qerr)
		if !strings.Contains(rawQuery, ";") {
			if vals, perr := url.ParseQuery(rawQuery); perr == nil {
				switch v := vals["token"]; {
				case len(v) == 0 && !errors.Is(qerr, ErrNoToken):
					t.Fatalf("net/url finds no token in %q; Extract: %q, %v", rawQuery, qgot, qerr)
				case len(v) == 1 && v[0] != "" && (qerr != nil || qgot != v[0]):
					t.Fatalf("net/url finds token %q in %q; Extract: %q, %v", v[0], rawQuery, qgot, qerr)
				case len(v) == 1 && v[0] == "" && !errors.Is(qerr, ErrBadRequest):
					t.Fatalf("empty token in %q; Extract: %q, %v", rawQuery, qgot, qerr)
				case len(v) > 1 && !errors.Is(qerr, ErrBadRequest):
					t.Fatalf("%d tokens in %q; Extract: %q, %v", len(v), rawQuery, qgot, qerr)
				}
			}
		}

		// Whatever Extract reads from the query, the access log must not show.
		redacted := RedactQuery(rawQuery, "token")
		rr := &http.Request{Header: http.Header{}, URL: &url.URL{Path: "/", RawQuery: redacted}}
		again, aerr := queryOnly.Extract(rr)
		if qerr == nil && qgot != "REDACTED" && (aerr != nil || again != "REDACTED") {
			t.Fatalf("query %q: Extract reads %q, but the redacted %q still gives %q, %v", rawQuery, qgot, redacted, again, aerr)
		}
		if aerr == nil && again != "REDACTED" {
			t.Fatalf("redacted query %q still carries a token %q", redacted, again)
		}
	})
}

func checkExtract(t *testing.T, got string, err error) {
	t.Helper()
	switch {
	case err == nil && got == "":
		t.Fatalf("Extract returned an empty token without an error")
	case err != nil && got != "":
		t.Fatalf("Extract returned token %q with error %v", got, err)
	case err != nil && !errors.Is(err, ErrNoToken) && !errors.Is(err, ErrBadRequest):
		t.Fatalf("Extract error %v is neither ErrNoToken nor ErrBadRequest", err)
	}
}
