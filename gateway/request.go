package gateway

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every error of NewRequest: the original request a proxy described is
// missing, malformed or ambiguous, and /auth answers 400 invalid_request. The error texts name the
// problem, never the URI (it may carry a token).
var ErrInvalid = errors.New("invalid original request")

// requestError is a problem with the original request; its text is safe to send to the client.
type requestError string

func (e requestError) Error() string { return string(e) }
func (e requestError) Unwrap() error { return ErrInvalid }

// The problems NewRequest reports. They are values, so refusing a request allocates nothing.
const (
	errMethod      = requestError("the original method is missing or not an HTTP method token")
	errHost        = requestError("the original host is missing or not a host name")
	errURI         = requestError("the original URI must be a path (origin-form) or an http(s) URL")
	errFragment    = requestError("the original URI holds a fragment")
	errEncoding    = requestError("the original path holds a malformed percent-encoding")
	errDotSegment  = requestError("ambiguous original path: it holds a dot segment")
	errEncodedSep  = requestError("ambiguous original path: it holds an encoded '/', '\\' or '%'")
	errBackslash   = requestError("ambiguous original path: it holds a '\\'")
	errParam       = requestError("ambiguous original path: it holds a ';' (servlet containers drop ';' parameters from segments)")
	errControl     = requestError("the original path holds a control character")
	errInvalidUTF8 = requestError("the original path is not valid UTF-8 once decoded")
)

// Request is the original request a reverse proxy asks about, normalised for rule matching.
type Request struct {
	Method string // upper case, e.g. GET
	Host   string // lower case, without port or trailing dot; IPv6 literals keep their brackets
	Path   string // percent-decoded, duplicate slashes merged; never holds a dot segment
	Query  string // the URI's raw query (after '?'), undecoded: where a token parameter may be
}

// NewRequest builds the Request a proxy described with its X-Forwarded-* or X-Original-* headers.
// Only the path and query of uri count: an absolute http(s) URL has its scheme and authority
// dropped. The host is what the proxy said it was.
//
// Proxies send the upstream the raw path, which the upstream may read differently from us, so an
// ambiguous path is refused rather than cleaned: a dot segment (".", "..", plain or
// percent-encoded in any case), an encoded '/', '\' or '%', a '\' or a ';' of any kind (servlet
// containers read "/admin;x/" as "/admin/" and "/..;/" as "/../"), a control character, malformed
// percent-encoding or a path that is not UTF-8 once decoded. Duplicate slashes are merged, as nginx does. Every error wraps ErrInvalid.
func NewRequest(method, host, uri string) (Request, error) {
	var r Request
	var err error
	if r.Method, err = normMethod(method); err != nil {
		return Request{}, err
	}
	if r.Host, err = NormalizeHost(host); err != nil {
		return Request{}, err
	}
	path, query, err := splitURI(uri)
	if err != nil {
		return Request{}, err
	}
	if r.Path, err = normPath(path); err != nil {
		return Request{}, err
	}
	r.Query = query
	return r, nil
}

// normMethod checks that m is an HTTP token (RFC 9110 §5.6.2) and upper-cases it.
func normMethod(m string) (string, error) {
	if m == "" || len(m) > 64 {
		return "", errMethod
	}
	lower := false
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !isTchar(c) {
			return "", errMethod
		}
		if 'a' <= c && c <= 'z' {
			lower = true
		}
	}
	if lower {
		return strings.ToUpper(m), nil
	}
	return m, nil
}

// isTchar reports whether c may appear in an HTTP token (RFC 9110 §5.6.2).
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// NormalizeHost lower-cases a host and drops its port and one trailing dot, so that
// "API.Example.com.:443" and "api.example.com" are the same host. It refuses anything that is not
// a host name (letters, digits, '-', '_', '.') or a bracketed IPv6 literal. Errors wrap ErrInvalid.
func NormalizeHost(h string) (string, error) {
	if h == "" || len(h) > 255+8 {
		return "", errHost
	}
	var name string
	if h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", errHost
		}
		name = h[:end+1]
		if rest := h[end+1:]; rest != "" && !validPort(rest) {
			return "", errHost
		}
		for i := 1; i < len(name)-1; i++ {
			c := name[i]
			if !(isHex(c) || c == ':' || c == '.') {
				return "", errHost
			}
		}
		if len(name) < 4 {
			return "", errHost
		}
		return strings.ToLower(name), nil
	}
	name = h
	if i := strings.IndexByte(h, ':'); i >= 0 {
		if !validPort(h[i:]) {
			return "", errHost
		}
		name = h[:i]
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" || name[len(name)-1] == '.' {
		return "", errHost
	}
	upper := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.':
			if i == 0 || name[i-1] == '.' {
				return "", errHost // an empty label
			}
		case 'A' <= c && c <= 'Z':
			upper = true
		default:
			return "", errHost
		}
	}
	if upper {
		name = strings.ToLower(name)
	}
	return name, nil
}

// validPort reports whether s is ":" followed by 1 to 5 digits.
func validPort(s string) bool {
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// splitURI returns the raw path and query of an origin-form URI or an absolute http(s) URL.
func splitURI(uri string) (path, query string, err error) {
	if uri == "" {
		return "", "", errURI
	}
	if uri[0] != '/' {
		rest, ok := cutSchemePrefix(uri)
		if !ok {
			return "", "", errURI
		}
		// The authority runs to the first '/' or '?'; an empty path is "/".
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			return "/", "", nil
		}
		if rest[end] == '/' {
			uri = rest[end:]
		} else {
			uri = "/" + rest[end:]
		}
	}
	if strings.IndexByte(uri, '#') >= 0 {
		return "", "", errFragment
	}
	path, query, _ = strings.Cut(uri, "?")
	return path, query, nil
}

// cutSchemePrefix strips a case-insensitive "http://" or "https://".
func cutSchemePrefix(s string) (string, bool) {
	for _, p := range [...]string{"http://", "https://"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return s[len(p):], true
		}
	}
	return "", false
}

// normPath checks and normalises a raw path that starts with '/'. It works segment by segment:
// each is checked raw ('\', control characters), percent-decoded (an encoded '/', '\' or '%'
// would change the segments an upstream sees), and checked decoded (dot segments, also before a
// ';', UTF-8). Empty segments (duplicate slashes) are dropped; a trailing slash is kept.
func normPath(p string) (string, error) {
	if p == "" || p[0] != '/' {
		return "", errURI
	}
	if clean, err := plainPath(p); clean || err != nil {
		return p, err
	}
	var b strings.Builder
	b.Grow(len(p))
	rest := p[1:]
	for rest != "" {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		if seg == "" {
			continue
		}
		dec, err := decodeSegment(seg)
		if err != nil {
			return "", err
		}
		if err := checkSegment(dec); err != nil {
			return "", err
		}
		b.WriteByte('/')
		b.WriteString(dec)
	}
	if b.Len() == 0 || p[len(p)-1] == '/' {
		b.WriteByte('/')
	}
	return b.String(), nil
}

// plainPath is the fast path for the common request: it reports clean when p needs no decoding
// and no merging and holds no dot segment, so p is its own normal form. It returns the error for
// problems it is sure of, and clean false with a nil error when the slow path must look.
func plainPath(p string) (clean bool, err error) {
	segStart := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) {
			c := p[i]
			switch {
			case c == '%', c >= utf8.RuneSelf:
				return false, nil
			case c == '\\':
				return false, errBackslash
			case c == ';':
				return false, errParam
			case c < 0x20 || c == 0x7f:
				return false, errControl
			case c != '/':
				continue
			}
		}
		seg := p[segStart:i]
		if seg == "" && i < len(p) {
			return false, nil // a duplicate slash
		}
		if isDotSegment(seg) {
			return false, errDotSegment
		}
		segStart = i + 1
	}
	return true, nil
}

// decodeSegment percent-decodes one raw path segment, refusing '\', ';', control characters,
// malformed escapes and escapes of '/', '\', '%' or ';'.
func decodeSegment(seg string) (string, error) {
	n := 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c == '\\':
			return "", errBackslash
		case c == ';':
			return "", errParam
		case c < 0x20 || c == 0x7f:
			return "", errControl
		case c == '%':
			n++
		}
	}
	if n == 0 {
		if !utf8.ValidString(seg) {
			return "", errInvalidUTF8
		}
		return seg, nil
	}
	buf := make([]byte, 0, len(seg))
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c != '%' {
			buf = append(buf, c)
			continue
		}
		if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
			return "", errEncoding
		}
		d := unhex(seg[i+1])<<4 | unhex(seg[i+2])
		switch {
		case d == '/' || d == '\\' || d == '%':
			return "", errEncodedSep
		case d == ';':
			return "", errParam
		case d < 0x20 || d == 0x7f:
			return "", errControl
		}
		buf = append(buf, d)
		i += 2
	}
	if !utf8.Valid(buf) {
		return "", errInvalidUTF8
	}
	return string(buf), nil
}

// checkSegment refuses a decoded segment that some reader takes for "." or "..".
func checkSegment(dec string) error {
	if isDotSegment(dec) {
		return errDotSegment
	}
	return nil
}

// isDotSegment reports whether seg is "." or "..".
func isDotSegment(seg string) bool {
	return seg == "." || seg == ".."
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
