package middleware

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors returned by Lookup.Extract.
var (
	// ErrNoToken means no configured source carried a token: 401 missing_token.
	ErrNoToken = errors.New("no token in the request")
	// ErrBadRequest means the request's token placement is malformed (RFC 6750 §3.1 invalid_request):
	// a token in more than one place, a repeated header or parameter, or an empty Bearer value.
	ErrBadRequest = errors.New("malformed token request")
)

// Source names accepted in Lookup.Sources.
const (
	SourceHeader = "header"
	SourceQuery  = "query"
	SourceCookie = "cookie"
)

// Lookup says where a request's bearer token may be: Sources in order (header, query, cookie),
// the query parameter name and the cookie name.
type Lookup struct {
	Sources    []string
	QueryParam string
	CookieName string
}

// lookupError carries a safe description for ErrBadRequest.
type lookupError struct {
	kind error
	msg  string
}

func (e *lookupError) Error() string { return e.msg }
func (e *lookupError) Unwrap() error { return e.kind }

func badRequest(msg string) error { return &lookupError{kind: ErrBadRequest, msg: msg} }

// Extract returns the one token the request carries. It reads every configured source: a token in
// more than one of them, two Authorization headers, two query parameters or two cookies of that
// name is ErrBadRequest (RFC 6750 §2: one method per request); none at all is ErrNoToken. The
// Bearer scheme is matched case-insensitively; an Authorization header with another scheme (Basic)
// carries no bearer token.
func (l Lookup) Extract(r *http.Request) (string, error) {
	var found string
	var n int
	for _, src := range l.Sources {
		var tok string
		var ok bool
		var err error
		switch src {
		case SourceHeader:
			tok, ok, err = fromHeader(r.Header)
		case SourceQuery:
			tok, ok, err = fromQuery(r.URL.RawQuery, l.QueryParam)
		case SourceCookie:
			tok, ok, err = fromCookie(r, l.CookieName)
		}
		if err != nil {
			return "", err
		}
		if ok {
			n++
			found = tok
		}
	}
	switch n {
	case 0:
		return "", ErrNoToken
	case 1:
		return found, nil
	default:
		return "", badRequest("token sent in more than one place")
	}
}

func fromHeader(h http.Header) (string, bool, error) {
	vals := h["Authorization"]
	switch len(vals) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", false, badRequest("more than one Authorization header")
	}
	v := vals[0]
	const scheme = "bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false, nil // another scheme, e.g. Basic: not a bearer token
	}
	rest := v[len(scheme):]
	if rest == "" {
		return "", false, badRequest("empty Bearer credentials")
	}
	switch r, _ := utf8.DecodeRuneInString(rest); {
	case r == ' ':
	case unicode.IsSpace(r):
		// Only spaces may follow the scheme (RFC 9110 §11.4), but a reader that splits on any
		// whitespace (a tab, a no-break space) would find a bearer token here: refused, never
		// passed over in favour of a token elsewhere.
		return "", false, badRequest("malformed Bearer credentials")
	default:
		return "", false, nil // e.g. "Bearerx": not our scheme
	}
	tok := strings.TrimLeft(rest, " ")
	if tok == "" {
		return "", false, badRequest("empty Bearer credentials")
	}
	// Two IndexByte calls (vectorised) rather than ContainsAny, which walks the token a byte at a
	// time: this runs on every guarded request.
	if strings.IndexByte(tok, ' ') >= 0 || strings.IndexByte(tok, '\t') >= 0 {
		return "", false, badRequest("malformed Bearer credentials")
	}
	return tok, true, nil
}

// fromQuery reads the name parameter of the raw query. A part of the query that net/url cannot
// parse (a bad escape, a ';' that some servers split on) is refused when it could carry the
// parameter, rather than read one way here and another way elsewhere; any other such part is
// ignored, as net/url ignores it.
func fromQuery(raw, name string) (string, bool, error) {
	if raw == "" || name == "" {
		return "", false, nil
	}
	vals, err := url.ParseQuery(raw)
	if err != nil && ambiguousQuery(raw, name) {
		return "", false, badRequest("malformed query string")
	}
	v, ok := vals[name]
	switch {
	case !ok:
		return "", false, nil
	case len(v) > 1:
		return "", false, badRequest("more than one " + name + " parameter")
	case v[0] == "":
		return "", false, badRequest("empty " + name + " parameter")
	}
	return v[0], true, nil
}

// ambiguousQuery reports whether a part of raw that net/url refuses could name the parameter
// name: a ';'-separated piece of it does, or its name does not unescape.
func ambiguousQuery(raw, name string) bool {
	for _, part := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(part, "=")
		_, kerr := url.QueryUnescape(k)
		_, verr := url.QueryUnescape(v)
		if kerr == nil && verr == nil && !strings.Contains(part, ";") {
			continue // net/url read this part
		}
		for _, piece := range strings.Split(part, ";") {
			pk, _, _ := strings.Cut(piece, "=")
			if u, err := url.QueryUnescape(pk); err != nil || u == name {
				return true
			}
		}
	}
	return false
}

func fromCookie(r *http.Request, name string) (string, bool, error) {
	if name == "" {
		return "", false, nil
	}
	if cookieCount(r.Header["Cookie"], name) > 1 {
		return "", false, badRequest("more than one " + name + " cookie")
	}
	cs := r.CookiesNamed(name) // at most one: cookieCount counted every cookie net/http reads
	switch {
	case len(cs) == 0:
		return "", false, nil
	case cs[0].Value == "":
		return "", false, badRequest("empty " + name + " cookie")
	}
	return cs[0].Value, true, nil
}

// cookieCount counts the cookies called name in the Cookie header lines as net/http splits them
// (on ';', names trimmed), whether or not it can read their values: it drops a cookie whose value
// it refuses (one with a backslash, say), and a second cookie must never be overlooked in favour
// of the first.
func cookieCount(lines []string, name string) int {
	n := 0
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			if k, _, _ := strings.Cut(part, "="); strings.TrimSpace(k) == name {
				n++
			}
		}
	}
	return n
}
