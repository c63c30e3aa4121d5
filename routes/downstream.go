package routes

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/token"
)

// Discovery is what the discovery document publishes besides the routes' paths.
type Discovery struct {
	Issuer     string        // token.issuer: the iss of every token
	PublicURL  string        // server.public_url; "" means the request's own scheme and host
	Algorithms []string      // the algorithms of the published keys
	MaxAge     time.Duration // token.jwks_max_age: Cache-Control max-age of the document and the JWKS
}

// Client is a caller of POST /introspect: the SHA-256 of its secret.
type Client struct {
	SecretSHA256 [sha256.Size]byte
}

// errInvalidClient: introspection without valid client credentials (RFC 7662 §2.3: 401).
var errInvalidClient = errors.New("invalid client credentials")

// discoveryDoc is the RFC 8414 / OpenID Connect discovery document.
type discoveryDoc struct {
	Issuer                   string   `json:"issuer"`
	JWKSURI                  string   `json:"jwks_uri"`
	TokenEndpoint            string   `json:"token_endpoint"`
	IntrospectionEndpoint    string   `json:"introspection_endpoint"`
	IntrospectionAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	// The algorithms of the published keys: where OIDC clients read which algorithms to expect.
	// tokengate issues no ID tokens; its access tokens are signed the same way.
	IDTokenSigningAlgValues []string `json:"id_token_signing_alg_values_supported"`
}

// handleDiscovery serves the discovery document at both well-known paths. Its URLs start with
// d.PublicURL, or with the request's scheme and Host when that is not set.
func handleDiscovery(d Discovery) gin.HandlerFunc {
	cacheControl := publicCache(d.MaxAge)
	algs := d.Algorithms
	if algs == nil {
		algs = []string{}
	}
	base := strings.TrimSuffix(d.PublicURL, "/")
	return func(c *gin.Context) {
		b := base
		if b == "" {
			scheme := "http"
			if c.Request.TLS != nil {
				scheme = "https"
			}
			b = scheme + "://" + c.Request.Host
			// The document depends on the Host header: a shared cache must not hand one client's
			// answer (say, with a Host an attacker chose) to another.
			c.Header("Vary", "Host")
		}
		c.Header("Cache-Control", cacheControl)
		c.Header("Access-Control-Allow-Origin", "*")
		c.JSON(http.StatusOK, discoveryDoc{
			Issuer:                   d.Issuer,
			JWKSURI:                  b + "/.well-known/jwks.json",
			TokenEndpoint:            b + "/login",
			IntrospectionEndpoint:    b + "/introspect",
			IntrospectionAuthMethods: []string{"client_secret_basic"},
			IDTokenSigningAlgValues:  algs,
		})
	}
}

// handleJWKS serves the public key set (empty for HMAC algorithms) for GET and HEAD: cacheable
// for maxAge, with an ETag (304 on a matching If-None-Match), readable from any origin.
func handleJWKS(jwks []byte, maxAge time.Duration) gin.HandlerFunc {
	sum := sha256.Sum256(jwks)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	cacheControl := publicCache(maxAge)
	return func(c *gin.Context) {
		c.Header("Cache-Control", cacheControl)
		c.Header("ETag", etag)
		c.Header("Access-Control-Allow-Origin", "*")
		if etagMatches(c.Request.Header.Values("If-None-Match"), etag) {
			c.Status(http.StatusNotModified)
			return
		}
		c.Data(http.StatusOK, "application/jwk-set+json", jwks)
	}
}

func publicCache(maxAge time.Duration) string {
	return "public, max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
}

// etagMatches applies If-None-Match (RFC 9110 §13.1.2): "*" or a list of entity tags compared
// weakly.
func etagMatches(fields []string, etag string) bool {
	for _, f := range fields {
		for t := range strings.SplitSeq(f, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
	}
	return false
}

// inactive is the whole answer about a token that is not active (RFC 7662 §2.2): nothing else,
// so the answer tells nothing about why.
type inactive struct {
	Active bool `json:"active"`
}

// activeToken is the answer about an active access token.
type activeToken struct {
	Active    bool     `json:"active"`
	Subject   string   `json:"sub"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  *int64   `json:"iat,omitempty"` // absent when the token has no iat (one made by another library)
	Issuer    string   `json:"iss"`
	Audience  any      `json:"aud"` // a string when there is one, as in the token
	ID        string   `json:"jti"`
	Roles     []string `json:"roles"`
	TokenType string   `json:"token_type"`
}

// handleIntrospect answers RFC 7662 introspection requests of configured clients: HTTP Basic with
// the client id and secret (form-encoded first, RFC 6749 §2.3.1), the token in a form field.
// Wrong or missing client credentials → 401 with a Basic challenge, counted for the lock-out like
// failed logins (429 once locked); an active access token → its claims; anything else →
// exactly {"active": false}; the state backend down → 503.
func handleIntrospect(clients map[string]Client, v middleware.Verifier, guard *loginGuard, o Observer) gin.HandlerFunc {
	// A client id that is not configured is compared with this hash, so that unknown and known
	// ids take the same time.
	var dummy [sha256.Size]byte
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		ctx := c.Request.Context()
		id, secret, err := clientCredentials(c)
		if err != nil {
			o.Introspect(introspectOutcome(err))
			_ = c.Error(err)
			return
		}
		ip := c.ClientIP()
		if err := guard.check(ctx, id, ip); err != nil {
			o.Introspect(introspectOutcome(err))
			_ = c.Error(err)
			return
		}
		want, known := clients[id]
		if !known {
			want.SecretSHA256 = dummy
		}
		got := sha256.Sum256([]byte(secret))
		if subtle.ConstantTimeCompare(got[:], want.SecretSHA256[:]) != 1 || !known {
			err := error(errInvalidClient)
			if ferr := guard.fail(ctx, id, ip); ferr != nil {
				err = ferr
			}
			o.Introspect(introspectOutcome(err))
			_ = c.Error(err)
			return
		}
		raw, err := introspectedToken(c)
		if err != nil {
			o.Introspect(introspectOutcome(err))
			_ = c.Error(err)
			return
		}
		if raw == "" {
			o.Introspect("inactive")
			c.JSON(http.StatusOK, inactive{})
			return
		}
		cl, err := v.Verify(ctx, raw)
		if errors.Is(err, token.ErrStateUnavailable) {
			o.Introspect("unavailable")
			_ = c.Error(err)
			return
		}
		if err != nil {
			o.Introspect("inactive")
			c.JSON(http.StatusOK, inactive{})
			return
		}
		o.Introspect("active")
		roles := cl.Roles
		if roles == nil {
			roles = []string{}
		}
		var aud any = cl.Audience
		if len(cl.Audience) == 1 {
			aud = cl.Audience[0]
		}
		body := activeToken{
			Active: true, Subject: cl.Subject, ExpiresAt: cl.ExpiresAt.Unix(),
			Issuer: cl.Issuer, Audience: aud, ID: cl.ID, Roles: roles, TokenType: "access_token",
		}
		if !cl.IssuedAt.IsZero() {
			iat := cl.IssuedAt.Unix()
			body.IssuedAt = &iat
		}
		c.JSON(http.StatusOK, body)
	}
}

// clientCredentials reads the client id and secret of the one Authorization: Basic header.
// None, another scheme, or empty parts are errInvalidClient; a malformed header is a 400.
func clientCredentials(c *gin.Context) (id, secret string, err error) {
	auths := c.Request.Header.Values("Authorization")
	switch {
	case len(auths) > 1:
		return "", "", badRequest("more than one Authorization header")
	case len(auths) == 0 || !isBasic(auths[0]):
		return "", "", errInvalidClient
	}
	id, secret, err = parseBasic(auths[0])
	if err != nil {
		return "", "", err
	}
	// RFC 6749 §2.3.1: both are form-encoded before Basic encoding.
	if id, err = url.QueryUnescape(id); err != nil {
		return "", "", badRequest("malformed Basic credentials: bad form encoding")
	}
	if secret, err = url.QueryUnescape(secret); err != nil {
		return "", "", badRequest("malformed Basic credentials: bad form encoding")
	}
	if id == "" || secret == "" || len(id) > maxUsernameBytes {
		return "", "", errInvalidClient
	}
	return id, secret, nil
}

// introspectedToken reads the token form field of the body ("" when there is none).
func introspectedToken(c *gin.Context) (string, error) {
	body, err := readBody(c)
	if err != nil {
		return "", err
	}
	if len(body) == 0 {
		return "", nil
	}
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return "", badRequest("the body must be a form (application/x-www-form-urlencoded) with a token field")
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return "", badRequest("malformed form body")
	}
	if len(vals["token"]) > 1 {
		return "", badRequest("field token given more than once")
	}
	return vals.Get("token"), nil
}

func introspectOutcome(err error) string {
	var locked *lockedError
	switch {
	case errors.Is(err, errInvalidClient):
		return "invalid_client"
	case errors.As(err, &locked):
		return "locked"
	case errors.Is(err, errBadRequest), middleware.IsTooLarge(err):
		return "invalid_request"
	default:
		return "error"
	}
}
