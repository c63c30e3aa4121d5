package routes

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// Limits on login fields. bcrypt reads only 72 bytes of a password, so a longer one is refused
// rather than silently truncated.
const (
	maxUsernameBytes = 256
	maxPasswordBytes = 72
)

// credentials reads the user name and password of a login from exactly one of: an HTTP Basic
// Authorization header, a JSON body {"username","password"}, or a form body. It returns
// errNoCredentials when there are none, and a *requestError for anything malformed or ambiguous.
func credentials(c *gin.Context) (user, pass string, err error) {
	auths := c.Request.Header.Values("Authorization")
	if len(auths) > 1 {
		return "", "", badRequest("more than one Authorization header")
	}
	body, err := readBody(c)
	if err != nil {
		return "", "", err
	}
	hasBody := len(bytes.TrimSpace(body)) > 0
	switch {
	case len(auths) == 1 && isBasic(auths[0]):
		if hasBody {
			return "", "", badRequest("credentials sent both in the Authorization header and in the body")
		}
		user, pass, err = parseBasic(auths[0])
	case hasBody && c.Request.Method == http.MethodPost:
		user, pass, err = parseBody(c.GetHeader("Content-Type"), body)
	default:
		return "", "", errNoCredentials
	}
	if err != nil {
		return "", "", err
	}
	if user == "" || pass == "" {
		return "", "", errNoCredentials
	}
	if err := checkUsername(user); err != nil {
		return "", "", err
	}
	if len(pass) > maxPasswordBytes {
		return "", "", badRequest("password longer than 72 bytes")
	}
	return user, pass, nil
}

func readBody(c *gin.Context) ([]byte, error) {
	if c.Request.Body == nil || c.Request.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, err // *http.MaxBytesError → 413
	}
	return b, nil
}

func isBasic(h string) bool {
	return len(h) >= 6 && strings.EqualFold(h[:6], "basic ")
}

// parseBasic decodes "Basic base64(user:pass)" strictly (RFC 7617).
func parseBasic(h string) (string, string, error) {
	enc := strings.TrimLeft(h[6:], " ")
	raw, err := base64.StdEncoding.Strict().DecodeString(enc)
	if err != nil {
		return "", "", badRequest("malformed Basic credentials: bad base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", badRequest("malformed Basic credentials: no colon")
	}
	return user, pass, nil
}

func parseBody(contentType string, body []byte) (string, string, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return "", "", badRequest("malformed Content-Type")
	}
	switch mt {
	case "application/json":
		f, err := stringFields(body, "username", "password")
		if err != nil {
			return "", "", err
		}
		return f["username"], f["password"], nil
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return "", "", badRequest("malformed form body")
		}
		for _, k := range []string{"username", "password"} {
			if len(vals[k]) > 1 {
				return "", "", badRequest("field " + k + " given more than once")
			}
		}
		return vals.Get("username"), vals.Get("password"), nil
	default:
		return "", "", badRequest("unsupported Content-Type: use application/json or application/x-www-form-urlencoded")
	}
}

// stringFields decodes a JSON object whose known fields must be strings, given at most once.
// Unknown fields are ignored; duplicated known fields, non-string values, trailing data and
// anything but an object are a *requestError.
func stringFields(body []byte, known ...string) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, badRequest("body must be a JSON object")
	}
	out := make(map[string]string, len(known))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, badRequest("malformed JSON body")
		}
		key, _ := tok.(string)
		isKnown := false
		for _, k := range known {
			if k == key {
				isKnown = true
			}
		}
		if !isKnown {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, badRequest("malformed JSON body")
			}
			continue
		}
		if _, dup := out[key]; dup {
			return nil, badRequest("field " + key + " given more than once")
		}
		v, err := dec.Token()
		if err != nil {
			return nil, badRequest("malformed JSON body")
		}
		s, ok := v.(string)
		if !ok {
			return nil, badRequest("field " + key + " must be a string")
		}
		out[key] = s
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, badRequest("malformed JSON body")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("trailing data after the JSON object")
	}
	return out, nil
}

// checkUsername refuses names that cannot be real: too long, not UTF-8, or with control characters
// (NUL, CR, LF …) that could forge log lines or confuse a file format.
func checkUsername(u string) error {
	if len(u) > maxUsernameBytes {
		return badRequest("username longer than 256 bytes")
	}
	if !utf8.ValidString(u) {
		return badRequest("username is not valid UTF-8")
	}
	for _, r := range u {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return badRequest("username contains control characters")
		}
	}
	return nil
}
