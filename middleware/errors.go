package middleware

import (
	"strings"

	"github.com/gin-gonic/gin"
)

// Realm is the realm named in every WWW-Authenticate challenge.
const Realm = "tokengate"

// ErrorBody is tokengate's one error body: {"error": code, "message": message}.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// WriteError aborts the request and writes the error body with status, through encoding/json (so
// any message, even one with invalid UTF-8 or control characters, makes valid JSON). It is the only
// place error bodies are written; routes use it too.
func WriteError(c *gin.Context, status int, code, message string) {
	c.AbortWithStatusJSON(status, ErrorBody{Error: code, Message: message})
}

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

// Unauthorized aborts with a 401, a Bearer challenge (bare for missing_token, else carrying code and
// message) and Cache-Control: no-store.
func Unauthorized(c *gin.Context, code, message string) {
	c.Header("Cache-Control", "no-store")
	if code == "missing_token" {
		c.Header("WWW-Authenticate", bearerChallenge("", ""))
	} else {
		c.Header("WWW-Authenticate", bearerChallenge(code, message))
	}
	WriteError(c, 401, code, message)
}
