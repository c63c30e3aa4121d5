package gateway

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNewRequest: whatever a proxy forwards, an accepted request's path holds no dot segment, no
// encoded or literal separator that decoding could reveal, and agrees with net/url's own decoding
// of the raw path (duplicate slashes merged). The seed corpus (the nasty cases) runs in go test.
func FuzzNewRequest(f *testing.F) {
	for _, uri := range []string{
		"/", "/pub/x", "/api/hello?token=abc", "//admin//x", "/%61dmin/", "/caf%C3%A9",
		"/pub/../admin/x", "/blocked/../pub/x", "/pub/%2e%2e/admin", "/pub/.%2E/admin", "/pub/..;/admin",
		"/pub%2f..%2fadmin", "/pub%5c..%5cadmin", "/pub/%252e%252e/admin", "/pub\\..\\admin",
		"/a%00", "/a%", "/a%zz", "/pub/%c0%ae%c0%ae/", "http://h/pub/../x", "HTTPS://h", "/a#b",
		"/a;b/c", "/./", "/.../", "/a?b/../c", "/%3b..", "/..%3b/", "*", "",
	} {
		f.Add("GET", "Example.COM.:80", uri)
	}
	f.Add("get", "[::1]:8080", "/x")
	f.Add("POST", "a..b", "/x")
	f.Fuzz(func(t *testing.T, method, host, uri string) {
		r, err := NewRequest(method, host, uri)
		if err != nil {
			if r != (Request{}) {
				t.Fatalf("NewRequest(%q, %q, %q) = %+v with error %v, want the zero Request", method, host, uri, r, err)
			}
			return
		}
		p := r.Path
		if !strings.HasPrefix(p, "/") {
			t.Fatalf("path %q of %q does not start with /", p, uri)
		}
		if strings.Contains(p, "//") {
			t.Fatalf("path %q of %q has a duplicate slash", p, uri)
		}
		if strings.ContainsAny(p, "\\%;") {
			t.Fatalf("path %q of %q has a '\\', '%%' (an encoded separator once decoded again) or ';' (a servlet parameter)", p, uri)
		}
		if !utf8.ValidString(p) {
			t.Fatalf("path %q of %q is not UTF-8", p, uri)
		}
		for _, seg := range strings.Split(p, "/") {
			base, _, _ := strings.Cut(seg, ";")
			if base == "." || base == ".." {
				t.Fatalf("path %q of %q has a dot segment", p, uri)
			}
			for i := 0; i < len(seg); i++ {
				if seg[i] < 0x20 || seg[i] == 0x7f {
					t.Fatalf("path %q of %q has a control character", p, uri)
				}
			}
		}
		if again, err := normPath(p); err != nil || again != p {
			t.Fatalf("normalising %q again = %q, %v; want it unchanged", p, again, err)
		}

		// net/url decodes the raw path the way an upstream would; with duplicate slashes merged it
		// must be what we matched, or an upstream sees other segments than the rules did.
		if strings.HasPrefix(uri, "/") {
			raw, _, _ := strings.Cut(uri, "?")
			dec, err := url.PathUnescape(raw)
			if err != nil {
				t.Fatalf("accepted %q, which net/url cannot decode: %v", uri, err)
			}
			for strings.Contains(dec, "//") {
				dec = strings.ReplaceAll(dec, "//", "/")
			}
			if dec != p {
				t.Fatalf("path %q of %q, net/url decodes it to %q", p, uri, dec)
			}
		}

		if r.Method != strings.ToUpper(method) {
			t.Fatalf("method %q of %q is not upper case", r.Method, method)
		}
		if r.Host != strings.ToLower(r.Host) || strings.HasSuffix(r.Host, ".") || r.Host == "" {
			t.Fatalf("host %q of %q is not lower case without trailing dot", r.Host, host)
		}
		if !strings.HasPrefix(r.Host, "[") && strings.Contains(r.Host, ":") {
			t.Fatalf("host %q of %q kept its port", r.Host, host)
		}
	})
}
