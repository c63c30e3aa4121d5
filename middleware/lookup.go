package middleware

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
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
	if rest[0] != ' ' {
		return "", false, nil // e.g. "Bearerx": not our scheme
	}
	tok := strings.TrimLeft(rest, " ")
	if tok == "" {
		return "", false, badRequest("empty Bearer credentials")
	}
	// Two IndexByte scans (vectorised) rather than ContainsAny, which walks the token byte by byte:
	// this runs on every protected request.
	if strings.IndexByte(tok, ' ') >= 0 || strings.IndexByte(tok, '\t') >= 0 {
		return "", false, badRequest("malformed Bearer credentials")
	}
	return tok, true, nil
}

// fromQuery scans the raw query for name without building a url.Values map (the hot path).
func fromQuery(raw, name string) (string, bool, error) {
	if raw == "" || name == "" {
		return "", false, nil
	}
	var val string
	var seen bool
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if k != name {
			if !escaped(k) {
				continue
			}
			uk, err := url.QueryUnescape(k)
			if err != nil || uk != name {
				continue
			}
		}
		if seen {
			return "", false, badRequest("more than one " + name + " parameter")
		}
		seen = true
		if escaped(v) {
			uv, err := url.QueryUnescape(v)
			if err != nil {
				return "", false, badRequest("malformed " + name + " parameter")
			}
			v = uv
		}
		val = v
	}
	if !seen {
		return "", false, nil
	}
	if val == "" {
		return "", false, badRequest("empty " + name + " parameter")
	}
	return val, true, nil
}

// escaped reports whether a query component holds '%' or '+', i.e. needs unescaping. Two IndexByte
// scans are vectorised; strings.ContainsAny walks the (token-long) value byte by byte.
func escaped(s string) bool {
	return strings.IndexByte(s, '%') >= 0 || strings.IndexByte(s, '+') >= 0
}

func fromCookie(r *http.Request, name string) (string, bool, error) {
	if name == "" {
		return "", false, nil
	}
	cs := r.CookiesNamed(name)
	switch len(cs) {
	case 0:
		return "", false, nil
	case 1:
		if cs[0].Value == "" {
			return "", false, badRequest("empty " + name + " cookie")
		}
		return cs[0].Value, true, nil
	default:
		return "", false, badRequest("more than one " + name + " cookie")
	}
}
