// Package verify lets other Go services trust tokengate's access tokens without sharing a secret
// with it: a Verifier finds tokengate's key set through its discovery document (RFC 8414,
// /.well-known/openid-configuration), keeps the keys cached and fresh, and verifies tokens locally
// with package token (golang-jwt underneath). It plugs into tokengate's own Gin middleware:
//
//	v, err := verify.New(ctx, verify.Options{Issuer: "http://tokengate:8080", Audience: "tokengate"})
//	if err != nil { … }
//	defer v.Close()
//	r.Use(middleware.Auth(v, middleware.Lookup{Sources: []string{"header", "query"}, QueryParam: "token"}))
//	r.GET("/admin", middleware.RequireRole("admin"), handler)
//
// How the key set is kept:
//   - it is fetched at New (tokengate being unreachable then is not an error: the Verifier starts
//     without keys and keeps trying, with backoff) and again in the background when the JWKS
//     answer's Cache-Control max-age runs out, clamped to [MinRefresh, MaxRefresh]; requests send
//     the ETag back (If-None-Match) so an unchanged set costs a 304;
//   - a token whose kid is unknown asks for a refresh, but refreshes happen at most once per
//     RefreshCooldown whatever the traffic, one at a time; such a request waits for a refresh in
//     flight at most UnknownKeyWait, and requests whose kid is known never wait at all;
//   - a refresh that fails keeps the last good set; with no set at all Verify fails closed with an
//     error wrapping token.ErrStateUnavailable (ErrNoKeys), which middleware.Auth answers with 503.
//
// What is pinned: the algorithm of each key (its JWK "alg", else the one its type allows; never an
// HMAC algorithm, and only those in Options.Algorithms), the issuer (iss must equal the issuer
// named by the discovery document, which must in turn equal Options.TokenIssuer or Options.Issuer),
// the audience (aud must contain Options.Audience); exp is required.
//
// A locally verified token stays valid until it expires, even after a logout. With
// Options.Introspection set, Verify also asks tokengate's introspection endpoint (RFC 7662) about
// each token and caches a positive answer for at most MaxIntrospectionCache, so a logout is
// honoured within that time; when tokengate cannot be asked and no cached answer is left, Verify
// fails closed (ErrIntrospectionUnavailable, 503).
package verify
