package middleware

import (
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// Realm is the realm named in every WWW-Authenticate challenge.
const Realm = "tokengate"

// WriteError aborts the request and writes tokengate's one error body,
// {"error": code, "message": message}, with the given status. It is the only place error bodies are
// built; routes use it too.
func WriteError(c *gin.Context, status int, code, message string) {
	c.Abort()
	body := make([]byte, 0, 48+len(code)+len(message))
	body = append(body, `{"error":`...)
	body = strconv.AppendQuote(body, code)
	body = append(body, `,"message":`...)
	body = appendJSONString(body, message)
	body = append(body, '}')
	c.Data(status, "application/json; charset=utf-8", body)
}

// appendJSONString appends s as a JSON string. strconv.Quote is not JSON (it emits \x escapes), so
// anything outside printable ASCII is escaped as \u00XX or passed through as UTF-8.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b == '"' || b == '\\':
			dst = append(dst, '\\', b)
		case b < 0x20 || b == '<' || b == '>' || b == '&':
			dst = append(dst, '\\', 'u', '0', '0', hexDigit(b>>4), hexDigit(b&0xF))
		default:
			dst = append(dst, b)
		}
	}
	return append(dst, '"')
}

func hexDigit(b byte) byte { return "0123456789abcdef"[b] }

// bearerChallenge builds the WWW-Authenticate value of RFC 6750 §3. errCode and description may be
// empty; description is sanitised so it cannot break out of the quoted string.
func bearerChallenge(errCode, description string) string {
	var b strings.Builder
	b.WriteString(`Bearer realm="` + Realm + `"`)
	if errCode != "" {
		b.WriteString(`, error="` + errCode + `"`)
	}
	if description != "" {
		b.WriteString(`, error_description="`)
		for _, r := range description {
			// RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E.
			if r >= 0x20 && r <= 0x7e && r != '"' && r != '\\' {
				b.WriteRune(r)
			}
		}
		b.WriteString(`"`)
	}
	return b.String()
}

// Unauthorized writes a 401 with a Bearer challenge and Cache-Control: no-store.
func Unauthorized(c *gin.Context, code, message string) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	if code == "missing_token" {
		h.Set("WWW-Authenticate", bearerChallenge("", ""))
	} else {
		h.Set("WWW-Authenticate", bearerChallenge(code, message))
	}
	WriteError(c, 401, code, message)
}
