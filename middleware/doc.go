// Package middleware is tokengate's Gin glue: it finds a bearer token in the configured places
// (Authorization header, query string, cookie), verifies it, places the claims in the Gin and
// request contexts, checks roles, and provides the request id, access log, recovery and body-limit
// middleware that every route runs behind.
//
// The auth middleware writes its own RFC 6750 responses (401/400/403 with WWW-Authenticate and
// Cache-Control: no-store) so that it fails closed even if no error renderer runs after it.
package middleware
