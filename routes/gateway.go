package routes

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/gateway"
	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/token"
)

// Gateway configures /auth, the forward-auth endpoint that reverse proxies ask about the requests
// they are about to pass to other services (DESIGN.md, "Gateway").
type Gateway struct {
	Policy      *gateway.Policy // the rules; nil: every request needs a valid token
	UserHeader  string          // answer header with the token's subject; "" means X-Auth-User
	RolesHeader string          // answer header with the comma-joined roles; "" means X-Auth-Roles
}

// gatewayMethods are the methods /auth is registered for (and documented with); NoMethod hands it
// the others, so that /auth answers any method: nginx's auth subrequest keeps the client's.
var gatewayMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
	http.MethodOptions, http.MethodTrace,
}

// The two families of headers that describe the original request. Proxies pass the client's own
// headers into the auth request too, so a request carrying both is refused: otherwise the client
// could choose which of them is judged.
var (
	forwardedFamily = [3]string{"X-Forwarded-Method", "X-Forwarded-Host", "X-Forwarded-Uri"} // Traefik, Caddy
	originalFamily  = [3]string{"X-Original-Method", "X-Original-Host", "X-Original-Uri"}    // nginx
)

// Why /auth refuses to judge a request (400 invalid_request).
var (
	errNoFamily    = badRequest("no X-Forwarded-Method/-Host/-Uri (Traefik, Caddy) or X-Original-Method/-Host/-URI (nginx) headers: /auth answers a reverse proxy's forward-auth request")
	errTwoFamilies = badRequest("both X-Forwarded-* and X-Original-* headers describe the original request: send one family")
)

// handleAuth answers a reverse proxy's question about an original request, described by one family
// of headers. The first matching rule decides: deny → 403 access_denied; public → 200, with the
// identity headers only when a valid token came along; authenticated → the token (from the
// original request, by the token lookup) must be valid → 200 with the identity headers, else 401
// with an RFC 6750 challenge, and hold one of the rule's roles, else 403 insufficient_scope. An
// unreadable revocation state is 503 on a guarded path. Never a redirect.
func handleAuth(v middleware.Verifier, l middleware.Lookup, g Gateway, o Observer) gin.HandlerFunc {
	policy := g.Policy
	if policy == nil {
		policy, _ = gateway.NewPolicy(nil, gateway.Authenticated)
	}
	userHeader, rolesHeader := g.UserHeader, g.RolesHeader
	if userHeader == "" {
		userHeader = "X-Auth-User"
	}
	if rolesHeader == "" {
		rolesHeader = "X-Auth-Roles"
	}
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		orig, err := originalRequest(c.Request.Header)
		if err != nil {
			o.Gateway("invalid_request")
			middleware.WriteError(c, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
		decision := policy.Decide(orig)
		if decision.Access == gateway.Deny {
			o.Gateway("access_denied")
			middleware.WriteError(c, http.StatusForbidden, "access_denied", "the gateway rules deny this request")
			return
		}
		public := decision.Access == gateway.Public

		// The token is the original request's: its query (not /auth's) and the headers the proxy
		// passed on (Authorization, Cookie).
		raw, err := l.Extract(&http.Request{Header: c.Request.Header, URL: &url.URL{RawQuery: orig.Query}})
		if err != nil {
			switch {
			case public:
				o.Gateway("public")
				c.Status(http.StatusOK)
			case errors.Is(err, middleware.ErrNoToken):
				o.Gateway("missing_token")
				middleware.Unauthorized(c, "missing_token", "no access token in the request")
			default:
				o.Gateway("invalid_request")
				middleware.WriteError(c, http.StatusBadRequest, "invalid_request", err.Error())
			}
			return
		}
		cl, err := v.Verify(c.Request.Context(), raw)
		if err != nil {
			switch {
			case public:
				// A public request goes through whatever its token; it only carries no identity.
				o.Gateway("public")
				c.Status(http.StatusOK)
			case errors.Is(err, token.ErrStateUnavailable):
				o.Gateway("unavailable")
				c.Header("Retry-After", "1")
				middleware.WriteError(c, http.StatusServiceUnavailable, "unavailable", "token state is unavailable, try again")
				_ = c.Error(err)
			default:
				// The token package's error text is a safe error_description.
				o.Gateway("invalid_token")
				middleware.Unauthorized(c, "invalid_token", err.Error())
			}
			return
		}
		if len(decision.Roles) > 0 && !middleware.HasAnyRole(cl.Roles, decision.Roles) { // only authenticated rules have roles
			o.Gateway("insufficient_scope")
			middleware.SetUser(c, cl.Subject)
			middleware.InsufficientScope(c, decision.Roles)
			return
		}
		middleware.SetUser(c, cl.Subject)
		c.Header(userHeader, cl.Subject)
		if len(cl.Roles) > 0 {
			c.Header(rolesHeader, strings.Join(cl.Roles, ","))
		}
		if public {
			o.Gateway("public")
		} else {
			o.Gateway("allowed")
		}
		c.Status(http.StatusOK)
	}
}

// originalRequest reads the original request from the one family of headers present. Each of the
// family's three headers must be there exactly once.
func originalRequest(h http.Header) (gateway.Request, error) {
	family := forwardedFamily
	fwd, orig := anyOf(h, forwardedFamily), anyOf(h, originalFamily)
	switch {
	case fwd && orig:
		return gateway.Request{}, errTwoFamilies
	case orig:
		family = originalFamily
	case !fwd:
		return gateway.Request{}, errNoFamily
	}
	var vals [3]string
	for i, name := range family {
		switch v := h[name]; len(v) {
		case 1:
			vals[i] = v[0]
		case 0:
			return gateway.Request{}, badRequest(name + " is missing")
		default:
			return gateway.Request{}, badRequest(name + " is sent more than once")
		}
	}
	return gateway.NewRequest(vals[0], vals[1], vals[2])
}

func anyOf(h http.Header, family [3]string) bool {
	for _, name := range family {
		if _, ok := h[name]; ok {
			return true
		}
	}
	return false
}
