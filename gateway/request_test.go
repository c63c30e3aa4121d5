package gateway

import (
	"errors"
	"strings"
	"testing"
)

func TestNewRequestNormalises(t *testing.T) {
	tests := []struct {
		name         string
		method, host string
		uri          string
		want         Request
	}{
		{"plain", "GET", "api.example.com", "/api/hello", Request{"GET", "api.example.com", "/api/hello", ""}},
		{"query kept raw", "GET", "h", "/api/x?token=a%2Eb&x=1", Request{"GET", "h", "/api/x", "token=a%2Eb&x=1"}},
		{"empty query", "GET", "h", "/a?", Request{"GET", "h", "/a", ""}},
		{"root", "GET", "h", "/", Request{"GET", "h", "/", ""}},
		{"trailing slash kept", "GET", "h", "/api/", Request{"GET", "h", "/api/", ""}},
		{"method upper-cased", "post", "h", "/", Request{"POST", "h", "/", ""}},
		{"extension method", "PROPFIND", "h", "/", Request{"PROPFIND", "h", "/", ""}},
		{"host lower-cased", "GET", "API.Example.COM", "/", Request{"GET", "api.example.com", "/", ""}},
		{"host port dropped", "GET", "api.example.com:8443", "/", Request{"GET", "api.example.com", "/", ""}},
		{"host trailing dot dropped", "GET", "api.example.com.", "/", Request{"GET", "api.example.com", "/", ""}},
		{"host trailing dot and port", "GET", "Api.Example.com.:443", "/", Request{"GET", "api.example.com", "/", ""}},
		{"ipv4 host", "GET", "127.0.0.1:8000", "/", Request{"GET", "127.0.0.1", "/", ""}},
		{"ipv6 host", "GET", "[::1]:8000", "/", Request{"GET", "[::1]", "/", ""}},
		{"ipv6 host upper", "GET", "[FE80::1]", "/", Request{"GET", "[fe80::1]", "/", ""}},
		{"duplicate slashes merged", "GET", "h", "//admin//x", Request{"GET", "h", "/admin/x", ""}},
		{"many slashes", "GET", "h", "///", Request{"GET", "h", "/", ""}},
		{"trailing double slash", "GET", "h", "/api//", Request{"GET", "h", "/api/", ""}},
		{"percent-decoded", "GET", "h", "/%61dmin/x", Request{"GET", "h", "/admin/x", ""}},
		{"percent-decoded upper hex", "GET", "h", "/caf%C3%A9", Request{"GET", "h", "/café", ""}},
		{"encoded space", "GET", "h", "/a%20b", Request{"GET", "h", "/a b", ""}},
		{"encoded question mark stays in path", "GET", "h", "/a%3Fb?c", Request{"GET", "h", "/a?b", "c"}},
		{"plus is literal", "GET", "h", "/a+b", Request{"GET", "h", "/a+b", ""}},
		{"dots inside a name", "GET", "h", "/a/.well-known/..x/x..", Request{"GET", "h", "/a/.well-known/..x/x..", ""}},
		{"three dots", "GET", "h", "/a/.../b", Request{"GET", "h", "/a/.../b", ""}},
		{"raw utf-8", "GET", "h", "/café", Request{"GET", "h", "/café", ""}},
		{"absolute url", "GET", "h", "http://other.example/api/x?q=1", Request{"GET", "h", "/api/x", "q=1"}},
		{"absolute https url upper scheme", "GET", "h", "HTTPS://other/pub/", Request{"GET", "h", "/pub/", ""}},
		{"absolute url without path", "GET", "h", "http://other", Request{"GET", "h", "/", ""}},
		{"absolute url with query only", "GET", "h", "http://other?q", Request{"GET", "h", "/", "q"}},
		{"query with slashes and dots", "GET", "h", "/a?next=/../admin", Request{"GET", "h", "/a", "next=/../admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewRequest(tt.method, tt.host, tt.uri)
			if err != nil {
				t.Fatalf("NewRequest(%q, %q, %q) error %v, want %+v", tt.method, tt.host, tt.uri, err, tt.want)
			}
			if got != tt.want {
				t.Errorf("NewRequest(%q, %q, %q) = %+v, want %+v", tt.method, tt.host, tt.uri, got, tt.want)
			}
		})
	}
}

// TestNewRequestRefusesAmbiguous is the list of paths an upstream could read differently from us:
// each must be refused, never cleaned into something a rule then lets through.
func TestNewRequestRefusesAmbiguous(t *testing.T) {
	tests := []struct {
		name string
		uri  string
		want error
	}{
		{"dot-dot climbs out of a public prefix", "/pub/../admin/x", errDotSegment},
		{"dot-dot climbs into a public prefix", "/blocked/../pub/x", errDotSegment},
		{"dot-dot at the end", "/pub/..", errDotSegment},
		{"dot-dot at the start", "/../admin", errDotSegment},
		{"single dot", "/pub/./x", errDotSegment},
		{"single dot at the end", "/pub/.", errDotSegment},
		{"dot-dot behind duplicate slashes", "/pub//..//admin", errDotSegment},
		{"dot-dot with trailing slash", "/pub/../", errDotSegment},
		{"encoded dot-dot lower", "/pub/%2e%2e/admin", errDotSegment},
		{"encoded dot-dot upper", "/pub/%2E%2E/admin", errDotSegment},
		{"encoded dot-dot mixed case", "/pub/%2e%2E/admin", errDotSegment},
		{"half-encoded dot-dot", "/pub/.%2e/admin", errDotSegment},
		{"half-encoded dot-dot other half", "/pub/%2E./admin", errDotSegment},
		{"encoded single dot", "/pub/%2e/admin", errDotSegment},
		{"dot-dot with servlet parameter", "/pub/..;/admin", errParam},
		{"dot-dot with parameter value", "/pub/..;x=1/admin", errParam},
		{"dot with parameter", "/pub/.;/admin", errParam},
		{"dot-dot with encoded semicolon", "/pub/..%3b/admin", errParam},
		{"parameter on a guarded segment", "/admin;x/users", errParam},
		{"empty parameter on a guarded segment", "/admin;/users", errParam},
		{"encoded parameter", "/admin%3bx/users", errParam},
		{"encoded parameter, lower case", "/admin%3Bx/users", errParam},
		{"parameter on the last segment", "/secret;", errParam},
		{"parameter after an escape", "/a%20b;c", errParam},
		{"encoded slash lower", "/pub%2f..%2fadmin", errEncodedSep},
		{"encoded slash upper", "/pub%2F..%2Fadmin", errEncodedSep},
		{"encoded slash alone", "/api%2Fx", errEncodedSep},
		{"encoded backslash", "/pub%5c..%5cadmin", errEncodedSep},
		{"encoded backslash upper", "/pub%5C..%5Cadmin", errEncodedSep},
		{"encoded percent (double encoding)", "/pub/%252e%252e/admin", errEncodedSep},
		{"encoded percent upper", "/a%25", errEncodedSep},
		{"raw backslash", "/pub\\..\\admin", errBackslash},
		{"raw backslash alone", "/a\\b", errBackslash},
		{"raw backslash in an encoded segment", "/a%20\\b", errBackslash},
		{"nul byte", "/a%00b", errControl},
		{"raw control character", "/a\x01b", errControl},
		{"raw delete", "/a\x7f", errControl},
		{"encoded newline", "/a%0a", errControl},
		{"encoded tab in a clean segment", "/a%09", errControl},
		{"percent at the end", "/a%", errEncoding},
		{"percent with one hex digit", "/a%2", errEncoding},
		{"percent with non-hex", "/a%zz", errEncoding},
		{"iis unicode escape", "/pub/%u002e%u002e/admin", errEncoding},
		{"overlong utf-8 dot", "/pub/%c0%ae%c0%ae/admin", errInvalidUTF8},
		{"raw invalid utf-8", "/a\xff", errInvalidUTF8},
		{"fragment", "/pub/x#frag", errFragment},
		{"fragment in the query", "/pub/x?a#b", errFragment},
		{"empty", "", errURI},
		{"relative", "pub/x", errURI},
		{"asterisk form", "*", errURI},
		{"query only", "?token=x", errURI},
		{"other scheme", "ftp://h/pub/", errURI},
		{"absolute url with dot-dot", "http://h/pub/../admin", errDotSegment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewRequest("GET", "h", tt.uri)
			if err == nil {
				t.Fatalf("NewRequest(GET, h, %q) = %+v, want error %v", tt.uri, got, tt.want)
			}
			if err != tt.want {
				t.Errorf("NewRequest(GET, h, %q) error %q, want %q", tt.uri, err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestNewRequestRefusesBadMethodAndHost(t *testing.T) {
	tests := []struct {
		name, method, host string
		want               error
	}{
		{"empty method", "", "h", errMethod},
		{"method with space", "GE T", "h", errMethod},
		{"method with slash", "GET/", "h", errMethod},
		{"overlong method", strings.Repeat("A", 65), "h", errMethod},
		{"empty host", "GET", "", errHost},
		{"port only", "GET", ":80", errHost},
		{"dot only", "GET", ".", errHost},
		{"empty label", "GET", "a..b", errHost},
		{"leading dot", "GET", ".a", errHost},
		{"two trailing dots", "GET", "a..", errHost},
		{"bad port", "GET", "a:http", errHost},
		{"port too long", "GET", "a:123456", errHost},
		{"empty port", "GET", "a:", errHost},
		{"two ports", "GET", "a:1:2", errHost},
		{"userinfo", "GET", "user@a", errHost},
		{"slash", "GET", "a/b", errHost},
		{"space", "GET", "a b", errHost},
		{"unclosed ipv6", "GET", "[::1", errHost},
		{"empty ipv6", "GET", "[]", errHost},
		{"ipv6 junk", "GET", "[::g]", errHost},
		{"ipv6 junk after", "GET", "[::1]x", errHost},
		{"overlong host", "GET", strings.Repeat("a", 300), errHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewRequest(tt.method, tt.host, "/")
			if err != tt.want {
				t.Errorf("NewRequest(%q, %q, /) = %+v, %v; want error %v", tt.method, tt.host, got, err, tt.want)
			}
		})
	}
}

// TestNewRequestErrorsHideTheURI: the error texts go into 400 bodies and logs; a URI can carry a
// token, so none of them may echo it.
func TestNewRequestErrorsHideTheURI(t *testing.T) {
	const secret = "eyJsecretsecret"
	for _, uri := range []string{"/pub/../" + secret, "/" + secret + "%2f", "/a%zz?token=" + secret, "/" + secret + "#x"} {
		_, err := NewRequest("GET", "h", uri)
		if err == nil {
			t.Fatalf("NewRequest(%q) accepted", uri)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q holds the URI", err)
		}
	}
}

func TestNewRequestCleanPathAllocatesNothing(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = NewRequest("GET", "api.example.com", "/api/v1/things/42?token=abc")
	})
	if allocs != 0 {
		t.Errorf("NewRequest on a clean request: %v allocations, want 0", allocs)
	}
}
