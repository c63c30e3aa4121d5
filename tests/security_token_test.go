package tests

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// secTimeBound is the mark past which an answer of the security suite is noted in the log: every
// attack should be refused quickly (a parser that allocates or loops before verifying would show
// here). It is measured, not asserted: timings on a shared machine are noise.
const secTimeBound = 2 * time.Second

// tokenAttack is one row of a token corpus: a token, where the attack comes from, and the answer
// tokengate must give. status and code apply to both places (Authorization header and ?token=)
// unless header or query overrides them.
type tokenAttack struct {
	name   string
	source string // RFC 8725 §x, OWASP JWT cheat sheet, jwt_tool attack, CVE, …
	raw    string
	status int    // 0: 401
	code   string // "": invalid_token for a 401
	header *secWant
	query  *secWant
}

// secWant overrides a row's answer in one place.
type secWant struct {
	status int
	code   string
}

// want is the answer expected in where, or skip when the token cannot be sent there.
func (a tokenAttack) want(where string) (w secWant, skip bool) {
	w = secWant{status: a.status, code: a.code}
	if o := map[string]*secWant{"header": a.header, "query": a.query}[where]; o != nil {
		w = *o
	}
	if w.status == 0 {
		w.status = 401
	}
	if w.status == 401 && w.code == "" {
		w.code = "invalid_token"
	}
	// An HTTP client cannot put CR, LF or NUL in a header; the query string carries them.
	return w, where == "header" && strings.ContainsAny(a.raw, "\r\n\x00")
}

// runTokenCorpus sends every row's token in the header and in the query string, and checks the
// answer: the documented status and error code, never a 5xx, RFC 6750 headers on a 401, quickly.
func runTokenCorpus(t *testing.T, s *server, corpus []tokenAttack) {
	t.Helper()
	var slowest time.Duration
	var slowestName string
	seen := map[string]bool{}
	for _, a := range corpus {
		if seen[a.name] || a.source == "" {
			t.Fatalf("row %q: duplicate name or no source", a.name)
		}
		seen[a.name] = true
		t.Run(a.name, func(t *testing.T) {
			for _, where := range []string{"header", "query"} {
				w, skip := a.want(where)
				if skip {
					continue
				}
				r, took := s.sendToken(t, "/protected", where, a.raw)
				if took > slowest {
					slowest, slowestName = took, a.name+" ("+where+")"
				}
				if r.Status >= 500 {
					t.Errorf("%s: status %d, a 5xx, for an attack (%s); body %s", where, r.Status, a.source, r.Body)
					continue
				}
				if took > secTimeBound {
					t.Logf("NOTE %s: answered in %v (over %v; measured, not asserted)", where, took, secTimeBound)
				}
				if w.status == 200 {
					if r.Status != 200 {
						t.Errorf("%s: status = %d, want 200 (%s); body %s", where, r.Status, a.source, r.Body)
					} else if got := r.JSON(t)["user"]; got != "alice" {
						t.Errorf("%s: user = %v, want alice", where, got)
					}
					continue
				}
				if !isError(r, w.status, w.code) {
					t.Errorf("%s: got %d %s, want %d %s (%s)", where, r.Status, r.Body, w.status, w.code, a.source)
					continue
				}
				if w.status == 401 {
					if got := r.Header.Get("Cache-Control"); got != "no-store" {
						t.Errorf("%s: Cache-Control = %q, want no-store", where, got)
					}
					wwwAuth := r.Header.Get("WWW-Authenticate")
					if !strings.HasPrefix(wwwAuth, `Bearer realm="tokengate"`) {
						t.Errorf("%s: WWW-Authenticate = %q", where, wwwAuth)
					}
					if w.code == "invalid_token" && !strings.Contains(wwwAuth, `error="invalid_token"`) {
						t.Errorf("%s: WWW-Authenticate = %q, want error=\"invalid_token\"", where, wwwAuth)
					}
					if len(a.raw) > 16 && strings.Contains(wwwAuth+string(r.Body), a.raw) {
						t.Errorf("%s: the answer echoes the token", where)
					}
				}
			}
		})
	}
	t.Logf("%d rows × 2 places; slowest answer %v: %s", len(corpus), slowest, slowestName)
}

// attackerSite is an attacker's web server: it serves a JWKS at any path and counts the requests.
// tokengate must never fetch a key named by a token (jku, x5u).
type attackerSite struct {
	*httptest.Server
	hits atomic.Int64
}

func newAttackerSite(t *testing.T, jwks []byte) *attackerSite {
	t.Helper()
	a := &attackerSite{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(a.Close)
	return a
}

// selfSigned returns a DER certificate for pub signed by key: an x5c an attacker controls.
func selfSigned(t testing.TB, key, pub any) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tokengate"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// sizedToken returns a token of exactly n bytes made by build(pad, extra), filler strings whose
// lengths it tries in turn, or fails.
func sizedToken(t testing.TB, n int, build func(pad, extra string) string) string {
	t.Helper()
	for e := 0; e < 4; e++ {
		for p := max(0, n*3/4-1024); ; p++ {
			raw := build(strings.Repeat("A", p), strings.Repeat("x", e))
			if len(raw) == n {
				return raw
			}
			if len(raw) > n {
				break
			}
		}
	}
	t.Fatalf("cannot make a token of exactly %d bytes", n)
	return ""
}

// stillServes: after a corpus, the valid token and a new login still work in both places.
func stillServes(t *testing.T, s *server, access string) {
	t.Helper()
	fresh, _ := s.tokens(t, "alice", "pyconid")
	for _, tok := range []string{access, fresh} {
		for _, where := range []string{"header", "query"} {
			if r, _ := s.sendToken(t, "/protected", where, tok); r.Status != 200 {
				t.Fatalf("after the corpus, a valid token in the %s: status %d, want 200; body %s", where, r.Status, r.Body)
			}
		}
	}
}

// TestSecurityTokenCorpusHS256 sends the HMAC attack corpus to tokengate configured for HS256, in
// the Authorization header and in the query string.
func TestSecurityTokenCorpusHS256(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	access, refresh := s.tokens(t, "alice", "pyconid")
	bobAccess, _ := s.tokens(t, "bob", "bob-password")
	kid, _ := headerOf(t, access)["kid"].(string)
	if kid == "" {
		t.Fatalf("tokengate's token has no kid: %v", headerOf(t, access))
	}

	secret := []byte(testSecret)
	hs := signHS256(secret)
	attackerSecret := []byte("attacker-secret-attacker-secret-attacker")
	attacker := signHS256(attackerSecret)
	site := newAttackerSite(t, []byte(fmt.Sprintf(`{"keys":[{"kty":"oct","kid":"attacker","alg":"HS256","k":%q}]}`, b64url(attackerSecret))))

	hdr := object("alg", "HS256", "typ", "JWT", "kid", kid)
	now := time.Now().Unix()
	good := claims("alice", "iat", now, "nbf", now, "exp", now+600)
	exp := fmt.Sprintf(`"exp":%d`, now+600)
	valid := jws(hdr, good, hs)
	vh, vp, vs := splitJWS(t, valid)
	// A signature with a URL-only character, so that the standard-alphabet row means something.
	for i := 0; !strings.ContainsAny(vs, "-_"); i++ {
		good = claims("alice", "iat", now, "nbf", now, "exp", now+600, "n", i)
		valid = jws(hdr, good, hs)
		vh, vp, vs = splitJWS(t, valid)
	}
	sigStd := strings.NewReplacer("-", "+", "_", "/").Replace(vs)

	// A payload whose base64 has unused bits, for the padding and canonical-encoding rows.
	var odd string
	for i := 1; odd == "" || len(odd)%3 == 0; i++ {
		odd = claims("alice", "x", strings.Repeat("y", i))
	}
	oddPayload := b64url([]byte(odd))
	signSegs := func(h, p string) string { return h + "." + p + "." + b64url(hs(h+"."+p)) }
	padded := func(seg string) string { return seg + strings.Repeat("=", (4-len(seg)%4)%4) }
	if nonCanonicalB64(oddPayload) == "" || nonCanonicalB64(vs) == "" {
		t.Fatal("cannot make non-canonical segments")
	}

	// Tampering with real tokens.
	bh, bp, bsig := splitJWS(t, bobAccess)
	bobClaims := decodeSegment(t, bp)
	bobClaims["sub"], bobClaims["roles"] = "alice", []string{"admin"}
	escalated := bh + "." + b64url([]byte(sortedObject(bobClaims))) + "." + bsig
	spliced := vh + "." + b64url([]byte(claims("alice", "roles", []string{"admin", "root"}))) + "." + bsig

	// Properly signed tokens on both sides of the 8 KiB cap.
	sized := func(n int) string {
		return sizedToken(t, n, func(pad, extra string) string {
			return jws(object("alg", "HS256", "typ", "JWT", "kid", kid, "x", extra), claims("alice", "pad", pad), hs)
		})
	}
	deep := strings.Repeat("[", 2500) + strings.Repeat("]", 2500)
	ok := &secWant{status: 200}
	badRequest := &secWant{status: 400, code: "invalid_request"}

	corpus := []tokenAttack{
		// Controls: each attack below is one change away from these. They must pass, or the
		// refusals below would prove nothing.
		{name: "control: forged with the configured secret and kid", source: "baseline", raw: valid, status: 200},
		{name: "control: token from /login", source: "baseline", raw: access, status: 200},
		{name: "control: no kid (another library)", source: "DESIGN.md interoperability", raw: jws(object("alg", "HS256", "typ", "JWT"), good, hs), status: 200},
		{name: "control: no typ", source: "RFC 7519 §5.1 (typ is optional)", raw: jws(object("alg", "HS256"), good, hs), status: 200},
		{name: "typ at+jwt: typ is no boundary, only tokengate's key signs", source: "RFC 8725 §3.11; RFC 9068", raw: jws(object("alg", "HS256", "typ", "at+jwt"), good, hs), status: 200},
		{name: "aud array holding ours among others", source: "RFC 7519 §4.1.3", raw: jws(hdr, claims("alice", "aud", []string{"other", "tokengate"}), hs), status: 200},
		{name: "exp a fractional NumericDate", source: "RFC 7519 §2 NumericDate", raw: jws(hdr, claims("alice", "exp", float64(now+600)+0.5), hs), status: 200},
		{name: "duplicate alg none then HS256, signed: lexically last wins", source: "RFC 7515 §5.2", raw: jws(`{"alg":"none","alg":"HS256","typ":"JWT"}`, good, hs), status: 200},
		{name: "exactly 8 KiB, signed", source: "DESIGN.md size cap (boundary)", raw: sized(8 << 10), status: 200},

		// alg: none and friends.
		{name: "alg none, empty signature", source: "RFC 8725 §2.1; OWASP JWT; jwt_tool -X a; CVE-2015-9235", raw: jws(object("alg", "none", "typ", "JWT"), good, nil)},
		{name: "alg None", source: "jwt_tool -X a (case variants)", raw: jws(object("alg", "None"), good, nil)},
		{name: "alg NONE", source: "jwt_tool -X a (case variants)", raw: jws(object("alg", "NONE"), good, nil)},
		{name: "alg nOnE", source: "jwt_tool -X a (case variants)", raw: jws(object("alg", "nOnE"), good, nil)},
		{name: "alg none with our kid", source: "RFC 8725 §3.1", raw: jws(object("alg", "none", "kid", kid), good, nil)},
		{name: "alg none keeping a valid signature", source: "jwt_tool -X a", raw: jws(object("alg", "none"), good, nil) + vs},
		{name: "alg missing", source: "RFC 7515 §4.1.1", raw: jws(object("typ", "JWT", "kid", kid), good, hs)},
		{name: "alg empty", source: "RFC 7515 §4.1.1", raw: jws(object("alg", "", "kid", kid), good, hs)},
		{name: "alg null", source: "RFC 7515 §4.1.1", raw: jws(object("alg", nil, "kid", kid), good, hs)},
		{name: "alg an array", source: "type confusion", raw: jws(object("alg", []string{"HS256"}, "kid", kid), good, hs)},
		{name: "alg hs256 in lower case", source: "RFC 7515 §4.1.1 (case-sensitive)", raw: jws(object("alg", "hs256", "kid", kid), good, hs)},
		{name: "alg with a trailing space", source: "parser differential", raw: jws(object("alg", "HS256 ", "kid", kid), good, hs)},
		{name: "alg with a Greek capital eta", source: "unicode lookalike", raw: jws(object("alg", "\u0397S256", "kid", kid), good, hs)},
		{name: "alg key with a Cyrillic a", source: "unicode lookalike", raw: jws(`{"\u0430lg":"HS256","kid":"`+kid+`"}`, good, hs)},
		{name: "alg HS384 with the same secret", source: "RFC 8725 §3.1 (algorithm pinning)", raw: jws(object("alg", "HS384", "kid", kid), good, signHMAC(newSHA384, secret))},
		{name: "alg HS512 with the same secret", source: "RFC 8725 §3.1 (algorithm pinning)", raw: jws(object("alg", "HS512"), good, signHMAC(newSHA512, secret))},
		{name: "alg RS256 on an HMAC signature", source: "RFC 8725 §2.1 (algorithm confusion)", raw: jws(object("alg", "RS256", "kid", kid), good, hs)},
		{name: "alg ES256 on an HMAC signature", source: "RFC 8725 §2.1 (algorithm confusion)", raw: jws(object("alg", "ES256"), good, hs)},
		{name: "alg PS256 on an HMAC signature", source: "RFC 8725 §3.1", raw: jws(object("alg", "PS256"), good, hs)},
		{name: "duplicate alg HS256 then none, unsigned", source: "RFC 7515 §5.2; parser differential", raw: jws(`{"alg":"HS256","alg":"none"}`, good, nil)},

		// kid: injection and unknown keys (keys come from configuration only).
		{name: "kid path traversal to /dev/null, empty HMAC key", source: `jwt_tool -I -hc kid -hv "../../dev/null" -S hs256 -p ""`, raw: jws(object("alg", "HS256", "kid", "../../../../../../../dev/null"), good, signHS256(nil))},
		{name: "kid /dev/null, empty HMAC key", source: "OWASP JWT cheat sheet (kid)", raw: jws(object("alg", "HS256", "kid", "/dev/null"), good, signHS256(nil))},
		{name: "kid /proc/self/environ", source: "jwt_tool kid file injection", raw: jws(object("alg", "HS256", "kid", "/proc/self/environ"), good, attacker)},
		{name: "kid SQL injection", source: "jwt_tool kid SQLi: ' UNION SELECT 'key';--", raw: jws(object("alg", "HS256", "kid", "x' UNION SELECT 'attacker';--"), good, signHS256([]byte("attacker")))},
		{name: "kid shell injection", source: "jwt_tool kid command injection", raw: jws(object("alg", "HS256", "kid", "key|sleep 5;`sleep 5`"), good, attacker)},
		{name: "kid a URL", source: "RFC 8725 §3.10", raw: jws(object("alg", "HS256", "kid", site.URL+"/key"), good, attacker)},
		{name: "unknown kid, signed with our secret", source: "RFC 7515 §4.1.4", raw: jws(object("alg", "HS256", "kid", "no-such-key"), good, hs)},
		{name: "kid empty, signed with our secret", source: "RFC 7515 §4.1.4", raw: jws(object("alg", "HS256", "kid", ""), good, hs)},
		{name: "kid a number", source: "type confusion", raw: jws(object("alg", "HS256", "kid", 1), good, hs)},
		{name: "kid an object", source: "type confusion (NoSQL injection)", raw: jws(object("alg", "HS256", "kid", map[string]any{"$ne": ""}), good, hs)},

		// Keys named by the token itself: never followed.
		{name: "jwk header with an attacker oct key", source: "CVE-2018-0114 (node-jose); jwt_tool -X i; RFC 8725 §3.10", raw: jws(object("alg", "HS256", "jwk", map[string]any{"kty": "oct", "k": b64url(attackerSecret)}), good, attacker)},
		{name: "jwk header with an attacker key and our kid", source: "CVE-2018-0114", raw: jws(object("alg", "HS256", "kid", kid, "jwk", map[string]any{"kty": "oct", "kid": kid, "k": b64url(attackerSecret)}), good, attacker)},
		{name: "jku pointing at the attacker's JWKS", source: "jwt_tool -X s; RFC 8725 §3.10", raw: jws(object("alg", "HS256", "kid", "attacker", "jku", site.URL+"/jwks.json"), good, attacker)},
		{name: "jku with our kid", source: "jwt_tool -X s", raw: jws(object("alg", "HS256", "kid", kid, "jku", site.URL+"/jwks.json"), good, attacker)},
		{name: "x5u pointing at the attacker", source: "RFC 7515 §4.1.5; RFC 8725 §3.10", raw: jws(object("alg", "HS256", "x5u", site.URL+"/cert.pem"), good, attacker)},
		{name: "x5c with a made-up certificate", source: "RFC 7515 §4.1.6", raw: jws(object("alg", "HS256", "x5c", []string{"MIIBszCCAVmgAwIBAgIBATAKBggqhkjOPQQDAjA"}), good, attacker)},

		// crit, cty, nested JWTs, JWE, JSON serialization.
		{name: "crit [exp], signed with our secret", source: "RFC 7515 §4.1.11", raw: jws(object("alg", "HS256", "kid", kid, "crit", []string{"exp"}, "exp", now+600), good, hs)},
		{name: "crit an empty list, signed with our secret", source: "RFC 7515 §4.1.11 (MUST NOT be empty)", raw: jws(object("alg", "HS256", "kid", kid, "crit", []string{}), good, hs)},
		{name: "crit b64 false (unencoded payload)", source: "RFC 7797 §6", raw: jws(object("alg", "HS256", "kid", kid, "b64", false, "crit", []string{"b64"}), good, hs)},
		{name: "nested JWT: unsigned outer, valid inner", source: "RFC 7519 §5.2 cty JWT; RFC 8725 §2.8", raw: jws(object("alg", "none", "cty", "JWT"), valid, nil)},
		{name: "nested JWT: attacker outer, valid inner", source: "RFC 7519 §5.2 cty JWT", raw: jws(object("alg", "HS256", "cty", "JWT"), valid, attacker)},
		{name: "JWE compact (5 segments)", source: "RFC 7516 §7.1", raw: b64url([]byte(`{"alg":"dir","enc":"A128GCM"}`)) + "..AAAAAAAAAAAAAAAA." + vp + ".AAAAAAAAAAAAAAAAAAAAAA"},
		{name: "JWS JSON serialization", source: "RFC 7515 §7.2", raw: fmt.Sprintf(`{"payload":%q,"protected":%q,"signature":%q}`, vp, vh, vs)},

		// Signatures.
		{name: "signature stripped (header.payload.)", source: "jwt_tool signature stripping; OWASP JWT", raw: vh + "." + vp + "."},
		{name: "two segments (header.payload)", source: "jwt_tool signature stripping", raw: vh + "." + vp},
		{name: "signature of 32 NUL bytes", source: "null signature", raw: vh + "." + vp + "." + b64url(make([]byte, 32))},
		{name: "signature of one NUL byte", source: "null signature", raw: vh + "." + vp + "." + b64url([]byte{0})},
		{name: "signature one bit off", source: "tampering", raw: vh + "." + vp + "." + flipBit(vs)},
		{name: "signature truncated", source: "tampering", raw: valid[:len(valid)-4]},
		{name: "payload tampered: bob becomes admin alice", source: "OWASP JWT (claims tampering)", raw: escalated},
		{name: "signature spliced from another real token", source: "jwt_tool tamper", raw: spliced},
		{name: "signed with another secret", source: "OWASP JWT (weak secret)", raw: jws(hdr, good, attacker)},
		{name: "signed with a common weak secret", source: "jwt_tool -C (dictionary attack)", raw: jws(hdr, good, signHS256([]byte("secret")))},
		{name: "signed with the empty key", source: "jwt_tool -X b (blank password)", raw: jws(hdr, good, signHS256(nil))},
		{name: "signed with the secret plus a newline", source: "secret-file misread", raw: jws(hdr, good, signHS256(append([]byte(testSecret), '\n')))},
		{name: "signed with the secret cut to 31 bytes", source: "key truncation", raw: jws(hdr, good, signHS256(secret[:31]))},

		// Encodings: only canonical base64url without padding (RFC 7515 §2, strict decoding).
		{name: "signature with a non-canonical last character", source: "RFC 4648 §3.5; jwt.WithStrictDecoding", raw: vh + "." + vp + "." + nonCanonicalB64(vs)},
		{name: "payload with a non-canonical last character, signed", source: "RFC 4648 §3.5; jwt.WithStrictDecoding", raw: signSegs(vh, nonCanonicalB64(oddPayload))},
		{name: "payload with = padding, signed", source: "RFC 7515 §2 (no padding)", raw: signSegs(vh, padded(oddPayload))},
		{name: "signature with = padding", source: "RFC 7515 §2 (no padding)", raw: vh + "." + vp + "." + padded(vs)},
		{name: "signature in the standard alphabet (+/)", source: "RFC 7515 §2 (base64url)", raw: vh + "." + vp + "." + sigStd},
		{name: "payload in standard base64, signed", source: "RFC 7515 §2", raw: signSegs(vh, base64.StdEncoding.EncodeToString([]byte(odd)))},
		{name: "UTF-8 BOM before the token", source: "encoding", raw: "\ufeff" + valid},
		{name: "zero-width space inside", source: "unicode", raw: vh + "\u200b." + vp + "." + vs},
		{name: "fullwidth dot as a separator", source: "unicode lookalike", raw: vh + "\uff0e" + vp + "." + vs},
		{name: "newline inside the payload", source: "Go's base64 skips CR and LF (malleability)", raw: vh + "." + vp[:10] + "\n" + vp[10:] + "." + vs},
		{name: "CRLF inside the signature", source: "Go's base64 skips CR and LF (malleability)", raw: vh + "." + vp + "." + vs[:5] + "\r\n" + vs[5:]},
		{name: "trailing newline", source: "Go's base64 skips CR and LF (malleability)", raw: valid + "\n"},
		{name: "NUL after the token", source: "C-string truncation", raw: valid + "\x00"},
		{name: "NUL inside the header", source: "C-string truncation", raw: vh[:4] + "\x00" + vh[4:] + "." + vp + "." + vs},
		{name: "space inside the token", source: "RFC 6750 §2.1 b64token", raw: vh + "." + vp + " ." + vs, header: badRequest},
		{name: "tab inside the token", source: "RFC 6750 §2.1 b64token", raw: vh + "." + vp + "\t." + vs, header: badRequest},
		// "Bearer  <token>": spaces after the scheme are skipped; ?token=%20… is not a token.
		{name: "leading space", source: "RFC 6750 §2.1", raw: " " + valid, header: ok},
		// net/http trims a header value's trailing whitespace; ?token=…%20 is not a token.
		{name: "trailing space", source: "RFC 9110 §5.5 (field values are trimmed)", raw: valid + " ", header: ok},
		{name: "extra trailing dot (4 segments)", source: "shape", raw: valid + "."},
		{name: "leading dot (4 segments)", source: "shape", raw: "." + valid},
		{name: "empty header segment", source: "shape", raw: "." + vp + "." + vs},
		{name: "empty payload segment", source: "shape", raw: vh + ".." + vs},
		{name: "only dots", source: "shape", raw: ".."},

		// JSON of header and payload.
		{name: "header not JSON", source: "RFC 7515 §5.2", raw: jws("alg=HS256", good, hs)},
		{name: "header a JSON array", source: "RFC 7515 §5.2", raw: jws(`["HS256"]`, good, hs)},
		{name: "header null", source: "RFC 7515 §5.2", raw: jws(`null`, good, hs)},
		{name: "header with trailing data", source: "RFC 7515 §5.2", raw: jws(hdr+`{}`, good, hs)},
		{name: "payload not JSON, signed", source: "RFC 7519 §7.2", raw: jws(hdr, "sub=alice", hs)},
		{name: "payload a JSON array, signed", source: "RFC 7519 §7.2", raw: jws(hdr, `["alice"]`, hs)},
		{name: "payload null, signed", source: "RFC 7519 §7.2", raw: jws(hdr, `null`, hs)},
		{name: "payload a JSON string, signed", source: "RFC 7519 §7.2", raw: jws(hdr, `"alice"`, hs)},
		{name: "payload with a BOM, signed", source: "RFC 8259 §8.1", raw: jws(hdr, "\ufeff"+good, hs)},
		{name: "payload with trailing data, signed", source: "RFC 7519 §7.2 step 10 (a valid JSON object)", raw: jws(hdr, good+`x`, hs)},
		{name: "payload of two objects, signed", source: "RFC 7519 §7.2 step 10", raw: jws(hdr, good+good, hs)},
		{name: "payload deeply nested, bad signature", source: "parser DoS before verification", raw: jws(hdr, `{"x":`+deep+`}`, attacker)},

		// exp, nbf, iat.
		{name: "expired (own secret)", source: "RFC 7519 §4.1.4", raw: jws(hdr, claims("alice", "exp", now-60, "iat", now-960, "nbf", now-960), hs)},
		{name: "exp 0", source: "RFC 7519 §4.1.4", raw: jws(hdr, claims("alice", "exp", 0), hs)},
		{name: "exp negative", source: "RFC 7519 §4.1.4", raw: jws(hdr, claims("alice", "exp", -1), hs)},
		{name: "exp missing", source: "DESIGN.md: exp required (jwt.WithExpirationRequired)", raw: jws(hdr, claims("alice", "exp", omit), hs)},
		{name: "exp null", source: "type confusion", raw: jws(hdr, claims("alice", "exp", json.RawMessage("null")), hs)},
		{name: "exp a numeric string", source: "RFC 7519 §2 (NumericDate is a number)", raw: jws(hdr, claims("alice", "exp", fmt.Sprint(now+600)), hs)},
		{name: "exp true", source: "type confusion", raw: jws(hdr, claims("alice", "exp", true), hs)},
		{name: "exp an array", source: "type confusion", raw: jws(hdr, claims("alice", "exp", []int64{now + 600}), hs)},
		{name: "exp an object", source: "type confusion", raw: jws(hdr, claims("alice", "exp", map[string]any{"$gt": 0}), hs)},
		{name: "exp 1e300", source: "huge number", raw: jws(hdr, claims("alice", "exp", json.RawMessage("1e300")), hs)},
		{name: "exp 1e999 (overflows float64)", source: "huge number", raw: jws(hdr, claims("alice", "exp", json.RawMessage("1e999")), hs)},
		{name: "exp 2^63 (overflows int64)", source: "integer overflow", raw: jws(hdr, claims("alice", "exp", json.RawMessage("9223372036854775808")), hs)},
		{name: "exp -2^63", source: "integer overflow", raw: jws(hdr, claims("alice", "exp", json.RawMessage("-9223372036854775808")), hs)},
		{name: "duplicate exp: future then past, signed", source: "RFC 7519 §4 (lexically last)", raw: jws(hdr, mustReplace(t, good, exp, exp+fmt.Sprintf(`,"exp":%d`, now-600)), hs)},
		{name: "nbf an hour ahead", source: "RFC 7519 §4.1.5", raw: jws(hdr, claims("alice", "nbf", now+3600), hs)},
		{name: "nbf a string", source: "type confusion", raw: jws(hdr, claims("alice", "nbf", "0"), hs)},
		{name: "iat an hour ahead", source: "DESIGN.md: iat in the future", raw: jws(hdr, claims("alice", "iat", now+3600), hs)},
		{name: "iat a string", source: "type confusion", raw: jws(hdr, claims("alice", "iat", fmt.Sprint(now)), hs)},
		{name: "iat 1e300", source: "huge number", raw: jws(hdr, claims("alice", "iat", json.RawMessage("1e300")), hs)},

		// sub, iss, aud, jti, roles.
		{name: "sub missing", source: "DESIGN.md: sub required", raw: jws(hdr, claims("alice", "sub", omit), hs)},
		{name: "sub empty", source: "DESIGN.md: sub required", raw: jws(hdr, claims(""), hs)},
		{name: "sub a number", source: "RFC 7519 §4.1.2 (StringOrURI)", raw: jws(hdr, claims("alice", "sub", 1), hs)},
		{name: "sub an object", source: "RFC 7519 §4.1.2", raw: jws(hdr, claims("alice", "sub", map[string]any{"$ne": ""}), hs)},
		{name: "sub an array", source: "RFC 7519 §4.1.2", raw: jws(hdr, claims("alice", "sub", []string{"alice"}), hs)},
		{name: "sub true", source: "RFC 7519 §4.1.2", raw: jws(hdr, claims("alice", "sub", true), hs)},
		{name: "iss missing", source: "RFC 8725 §3.8; DESIGN.md", raw: jws(hdr, claims("alice", "iss", omit), hs)},
		{name: "another issuer with the same secret", source: "RFC 8725 §3.8 (issuer validation)", raw: jws(hdr, claims("alice", "iss", "other-service"), hs)},
		{name: "iss in another case", source: "RFC 7519 §4.1.1 (case-sensitive)", raw: jws(hdr, claims("alice", "iss", "TokenGate"), hs)},
		{name: "iss with a Cyrillic a", source: "unicode lookalike", raw: jws(hdr, claims("alice", "iss", "tokeng\u0430te"), hs)},
		{name: "iss with a trailing space", source: "parser differential", raw: jws(hdr, claims("alice", "iss", "tokengate "), hs)},
		{name: "iss an array", source: "type confusion", raw: jws(hdr, claims("alice", "iss", []string{"tokengate"}), hs)},
		{name: "aud missing", source: "RFC 8725 §3.9; DESIGN.md", raw: jws(hdr, claims("alice", "aud", omit), hs)},
		{name: "another audience with the same secret", source: "RFC 8725 §3.9 (audience validation)", raw: jws(hdr, claims("alice", "aud", "other-service"), hs)},
		{name: "aud array without ours", source: "RFC 7519 §4.1.3", raw: jws(hdr, claims("alice", "aud", []string{"a", "b"}), hs)},
		{name: "aud an empty array", source: "CVE-2020-26160 (jwt-go aud [] bypass)", raw: jws(hdr, claims("alice", "aud", []string{}), hs)},
		{name: "aud an array of the empty string", source: "CVE-2020-26160", raw: jws(hdr, claims("alice", "aud", []string{""}), hs)},
		{name: "aud the empty string", source: "CVE-2020-26160", raw: jws(hdr, claims("alice", "aud", ""), hs)},
		{name: "aud array with a number", source: "type confusion", raw: jws(hdr, claims("alice", "aud", []any{"tokengate", 1}), hs)},
		{name: "aud an object", source: "type confusion", raw: jws(hdr, claims("alice", "aud", map[string]any{"tokengate": true}), hs)},
		{name: "aud a fullwidth lookalike", source: "unicode lookalike", raw: jws(hdr, claims("alice", "aud", "\uff54okengate"), hs)},
		{name: "duplicate aud: ours then another, signed", source: "RFC 7519 §4 (lexically last)", raw: jws(hdr, mustReplace(t, good, `"aud":"tokengate"`, `"aud":"tokengate","aud":"other"`), hs)},
		{name: "jti missing (revocation needs it)", source: "DESIGN.md: revocation by jti", raw: jws(hdr, claims("alice", "jti", omit), hs)},
		{name: "jti a number", source: "type confusion", raw: jws(hdr, claims("alice", "jti", 7), hs)},
		{name: "roles a string", source: "type confusion", raw: jws(hdr, claims("alice", "roles", "admin"), hs)},

		// Size and shape: parsers that allocate before they verify.
		{name: "8 KiB + 1, signed", source: "DESIGN.md: over 8 KiB refused before decoding", raw: sized(8<<10 + 1)},
		{name: "40 KiB token", source: "DESIGN.md size cap; MaxHeaderBytes 64 KiB", raw: valid + strings.Repeat("A", 40<<10)},
		{name: "8000 dots", source: "CVE-2025-30204 (golang-jwt excessive allocation)", raw: strings.Repeat(".", 8000)},
		{name: "50000 dots", source: "CVE-2025-30204", raw: strings.Repeat(".", 50000)},
		{name: "a storm of short segments", source: "CVE-2025-30204", raw: strings.Repeat("e30.", 2000)},

		// Not an access token at all.
		{name: "a refresh token", source: "RFC 9700 §2.2.2 (token confusion)", raw: refresh},
		{name: "Basic credentials as a bearer token", source: "scheme confusion", raw: b64std("alice:pyconid")},
		{name: "markup and escapes", source: "injection", raw: "%00%ff<script>alert(1)</script>"},
	}
	runTokenCorpus(t, s, corpus)

	if n := site.hits.Load(); n != 0 {
		t.Errorf("tokengate fetched a key named by a token: %d requests to the attacker's site", n)
	}
	stillServes(t, s, access)
}

// TestSecurityClaimNamesAreCaseSensitive: RFC 7519 §4 claim names are case-sensitive, so "EXP" is
// not "exp". A verifier that matches JSON keys case-insensitively (encoding/json does) lets a later
// "EXP" override an expired "exp", and a custom "Sub" or "Roles" claim stand in for the real one.
// The tokens are signed with the configured secret: this is a parser differential with every other
// JWT library that shares the key, not a forgery.
func TestSecurityClaimNamesAreCaseSensitive(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	access, _ := s.tokens(t, "alice", "pyconid")
	hs := signHS256([]byte(testSecret))
	hdr := object("alg", "HS256", "typ", "JWT")
	now := time.Now().Unix()
	good := claims("alice", "iat", now, "nbf", now, "exp", now+600)
	exp := fmt.Sprintf(`"exp":%d`, now+600)
	corpus := []tokenAttack{
		{name: "EXP after an expired exp", source: "RFC 7519 §4 (names are case-sensitive)", raw: jws(hdr, mustReplace(t, good, exp, fmt.Sprintf(`"exp":%d,"EXP":%d`, now-600, now+600)), hs)},
		{name: "Exp instead of exp", source: "RFC 7519 §4", raw: jws(hdr, mustReplace(t, good, exp, `"Exp":`+fmt.Sprint(now+600)), hs)},
		{name: "SUB instead of sub", source: "RFC 7519 §4", raw: jws(hdr, mustReplace(t, good, `"sub":"alice"`, `"SUB":"alice"`), hs)},
		{name: "AUD after a foreign aud", source: "RFC 7519 §4", raw: jws(hdr, mustReplace(t, good, `"aud":"tokengate"`, `"aud":"other","AUD":"tokengate"`), hs)},
	}
	runTokenCorpus(t, s, corpus)
	stillServes(t, s, access)
}

// asymSetup is a tokengate configured with one asymmetric key, and what the test can do with it.
type asymSetup struct {
	alg      string
	key      any    // the server's private key: the test made it, so it can sign genuine tokens
	sign     signer // signs with key
	pub      any
	atkKey   any
	atkPub   any
	attacker signer // signs with atkKey
	atkJWK   map[string]any
}

// TestSecurityTokenCorpusAsymmetric sends the key-confusion and signature corpus to tokengate
// configured for RS256, ES256 and EdDSA (keys from `tokengate keygen`, and a PKCS#1 RSA key).
func TestSecurityTokenCorpusAsymmetric(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			var keyFile string
			su := asymSetup{alg: alg}
			switch alg {
			case "RS256":
				// RSA generation is slow under -race: a 2048-bit key written as PKCS#1 (which
				// LoadKeys also accepts) rather than keygen's 3072 bits.
				k, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					t.Fatal(err)
				}
				keyFile = filepath.Join(dir, "rsa.pem")
				writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})))
				atk, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					t.Fatal(err)
				}
				su.key, su.pub, su.sign = k, &k.PublicKey, signRS256(k)
				su.atkKey, su.atkPub, su.attacker = atk, &atk.PublicKey, signRS256(atk)
				su.atkJWK = map[string]any{"kty": "RSA", "kid": "attacker", "n": b64url(atk.N.Bytes()), "e": "AQAB"}
			case "ES256":
				keyFile = keygen(t, dir, alg, strings.ToLower(alg)+".pem")
				k := readKey(t, keyFile).(*ecdsa.PrivateKey)
				atk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				point, err := atk.PublicKey.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				su.key, su.pub, su.sign = k, &k.PublicKey, signES256(k)
				su.atkKey, su.atkPub, su.attacker = atk, &atk.PublicKey, signES256(atk)
				su.atkJWK = map[string]any{"kty": "EC", "kid": "attacker", "crv": "P-256", "x": b64url(point[1:33]), "y": b64url(point[33:])}
			case "EdDSA":
				keyFile = keygen(t, dir, alg, strings.ToLower(alg)+".pem")
				k := readKey(t, keyFile).(ed25519.PrivateKey)
				atkPub, atk, err := ed25519.GenerateKey(rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				su.key, su.pub, su.sign = k, k.Public(), signEd25519(k)
				su.atkKey, su.atkPub, su.attacker = atk, atkPub, signEd25519(atk)
				su.atkJWK = map[string]any{"kty": "OKP", "kid": "attacker", "crv": "Ed25519", "x": b64url(atkPub)}
			}
			cfg := conf{token: fmt.Sprintf("  algorithm: %s\n  private_key_file: %q\n", alg, keyFile)}.yaml(t)
			s := startServer(t, cfg)
			keyPEM, err := os.ReadFile(keyFile)
			if err != nil {
				t.Fatal(err)
			}
			s.never(strings.Split(string(keyPEM), "\n")[1], "private key material")
			asymCorpus(t, s, su)
		})
	}
}

func asymCorpus(t *testing.T, s *server, su asymSetup) {
	access, _ := s.tokens(t, "alice", "pyconid")
	kid, _ := headerOf(t, access)["kid"].(string)
	if kid == "" {
		t.Fatal("no kid in tokengate's token")
	}

	// The JWKS holds public keys only; the attacker reads it.
	jr := s.get(t, "/.well-known/jwks.json")
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(jr.Body, &set); jr.Status != 200 || err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks = %d %s (%v)", jr.Status, jr.Body, err)
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
		if _, ok := set.Keys[0][private]; ok {
			t.Errorf("the JWKS publishes the private member %q", private)
		}
	}
	ourJWK, err := json.Marshal(set.Keys[0])
	if err != nil {
		t.Fatal(err)
	}
	atkJWK, err := json.Marshal(su.atkJWK)
	if err != nil {
		t.Fatal(err)
	}
	site := newAttackerSite(t, []byte(`{"keys":[`+string(atkJWK)+`]}`))
	pubPEM := publicPEM(t, su.pub)
	pubDER, err := x509.MarshalPKIXPublicKey(su.pub)
	if err != nil {
		t.Fatal(err)
	}
	atkCert := selfSigned(t, su.atkKey, su.atkPub)

	alg := su.alg
	hdr := object("alg", alg, "typ", "JWT", "kid", kid)
	good := claims("alice")
	valid := jws(hdr, good, su.sign)
	vh, vp, vs := splitJWS(t, valid)
	sig, err := base64.RawURLEncoding.DecodeString(vs)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	pemNoNL := []byte(strings.TrimRight(string(pubPEM), "\n"))
	nonCanonical := nonCanonicalB64(vs)
	if nonCanonical == "" { // RSA-2048: 256 bytes have no unused bits; padding is refused too
		nonCanonical = vs + "="
	}

	corpus := []tokenAttack{
		{name: "control: forged with the configured key", source: "baseline", raw: valid, status: 200},
		{name: "control: token from /login", source: "baseline", raw: access, status: 200},
		{name: "control: no kid (another library)", source: "DESIGN.md interoperability", raw: jws(object("alg", alg), good, su.sign), status: 200},

		{name: "alg none with our kid", source: "RFC 8725 §2.1; CVE-2015-9235", raw: jws(object("alg", "none", "kid", kid), good, nil)},
		{name: "alg none keeping the signature", source: "jwt_tool -X a", raw: jws(object("alg", "none", "kid", kid), good, nil) + vs},
		{name: "alg None without kid", source: "jwt_tool -X a", raw: jws(object("alg", "None"), good, nil)},

		// Algorithm confusion: the public key as an HMAC secret (CVE-2016-10555, CVE-2016-5431 class).
		{name: "HS256 keyed with the public key PEM, our kid", source: "RFC 8725 §2.1; jwt_tool -X k; CVE-2016-10555", raw: jws(object("alg", "HS256", "kid", kid), good, signHS256(pubPEM))},
		{name: "HS256 keyed with the public key PEM, no kid", source: "jwt_tool -X k", raw: jws(object("alg", "HS256"), good, signHS256(pubPEM))},
		{name: "HS256 keyed with the PEM without its newline", source: "jwt_tool -X k (variants)", raw: jws(object("alg", "HS256", "kid", kid), good, signHS256(pemNoNL))},
		{name: "HS256 keyed with the public key DER", source: "jwt_tool -X k (variants)", raw: jws(object("alg", "HS256", "kid", kid), good, signHS256(pubDER))},
		{name: "HS256 keyed with our JWK from the JWKS", source: "key confusion via JWKS", raw: jws(object("alg", "HS256", "kid", kid), good, signHS256(ourJWK))},
		{name: "HS256 keyed with the whole JWKS document", source: "key confusion via JWKS", raw: jws(object("alg", "HS256", "kid", kid), good, signHS256(jr.Body))},
		{name: "HS512 keyed with the public key PEM", source: "jwt_tool -X k", raw: jws(object("alg", "HS512", "kid", kid), good, signHMAC(newSHA512, pubPEM))},

		// The genuine key under another algorithm name: the alg is pinned to the key's.
		{name: "alg of another family, genuine signature", source: "RFC 8725 §3.1", raw: jws(object("alg", otherAlg(alg), "kid", kid), good, su.sign)},
		{name: "alg in lower case, genuine signature", source: "RFC 7515 §4.1.1 (case-sensitive)", raw: jws(object("alg", strings.ToLower(alg), "kid", kid), good, su.sign)},

		// Attacker keys.
		{name: "attacker key with our kid", source: "OWASP JWT", raw: jws(hdr, good, su.attacker)},
		{name: "attacker key with its own kid", source: "RFC 7515 §4.1.4", raw: jws(object("alg", alg, "kid", "attacker"), good, su.attacker)},
		{name: "attacker key, no kid", source: "OWASP JWT", raw: jws(object("alg", alg), good, su.attacker)},
		{name: "jwk header: attacker key embedded", source: "CVE-2018-0114 (node-jose); jwt_tool -X i", raw: jws(object("alg", alg, "jwk", su.atkJWK), good, su.attacker)},
		{name: "jwk header with our kid", source: "CVE-2018-0114", raw: jws(object("alg", alg, "kid", kid, "jwk", su.atkJWK), good, su.attacker)},
		{name: "jku to the attacker's JWKS", source: "jwt_tool -X s; RFC 8725 §3.10", raw: jws(object("alg", alg, "kid", "attacker", "jku", site.URL+"/.well-known/jwks.json"), good, su.attacker)},
		{name: "jku with our kid", source: "jwt_tool -X s", raw: jws(object("alg", alg, "kid", kid, "jku", site.URL+"/jwks.json"), good, su.attacker)},
		{name: "x5u to the attacker", source: "RFC 7515 §4.1.5", raw: jws(object("alg", alg, "x5u", site.URL+"/cert.pem"), good, su.attacker)},
		{name: "x5c: attacker self-signed certificate", source: "RFC 7515 §4.1.6; jwt_tool x5c", raw: jws(object("alg", alg, "x5c", []string{base64.StdEncoding.EncodeToString(atkCert)}), good, su.attacker)},
		{name: "kid path traversal, empty HMAC key", source: "jwt_tool kid injection", raw: jws(object("alg", "HS256", "kid", "../../../../../../dev/null"), good, signHS256(nil))},
		{name: "crit header, genuine signature", source: "RFC 7515 §4.1.11", raw: jws(object("alg", alg, "kid", kid, "crit", []string{"exp"}), good, su.sign)},

		// Signatures and claims.
		{name: "signature stripped", source: "jwt_tool signature stripping", raw: vh + "." + vp + "."},
		{name: "signature all zero bytes", source: "null signature; CVE-2022-21449 (psychic signatures)", raw: vh + "." + vp + "." + b64url(make([]byte, len(sig)))},
		{name: "signature one bit off", source: "tampering", raw: vh + "." + vp + "." + flipBit(vs)},
		{name: "signature one byte longer", source: "RFC 7518 §3", raw: vh + "." + vp + "." + b64url(append(append([]byte{}, sig...), 0))},
		{name: "payload tampered", source: "OWASP JWT", raw: vh + "." + b64url([]byte(claims("admin"))) + "." + vs},
		{name: "signature encoded non-canonically", source: "RFC 4648 §3.5; strict decoding", raw: vh + "." + vp + "." + nonCanonical},
		{name: "expired, genuine signature", source: "RFC 7519 §4.1.4", raw: jws(hdr, claims("alice", "exp", now-60, "iat", now-960, "nbf", now-960), su.sign)},
		{name: "another issuer, genuine signature", source: "RFC 8725 §3.8", raw: jws(hdr, claims("alice", "iss", "other"), su.sign)},
		{name: "another audience, genuine signature", source: "RFC 8725 §3.9", raw: jws(hdr, claims("alice", "aud", "other"), su.sign)},
		{name: "8 KiB + 1, genuine signature", source: "DESIGN.md size cap", raw: sizedToken(t, 8<<10+1, func(pad, extra string) string {
			return jws(object("alg", alg, "kid", kid, "x", extra), claims("alice", "pad", pad), su.sign)
		})},
	}
	corpus = append(corpus, algSpecific(su, vh+"."+vp, sig)...)
	runTokenCorpus(t, s, corpus)
	if n := site.hits.Load(); n != 0 {
		t.Errorf("tokengate fetched a key named by a token: %d requests to the attacker's site", n)
	}
	stillServes(t, s, access)
}

func otherAlg(alg string) string {
	switch alg {
	case "RS256":
		return "PS256"
	case "ES256":
		return "ES384"
	}
	return "Ed25519" // RFC 9864's fully-specified name, not the configured "EdDSA"
}

// algSpecific are the attacks on one signature scheme; signing is the genuine token's signing
// input and sig its genuine signature.
func algSpecific(su asymSetup, signing string, sig []byte) []tokenAttack {
	with := func(s []byte) string { return signing + "." + b64url(s) }
	switch su.alg {
	case "ES256":
		n := elliptic.P256().Params().N
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return []tokenAttack{
			{name: "ES256 r=s=0", source: "CVE-2022-21449 (psychic signatures)", raw: with(make([]byte, 64))},
			{name: "ES256 r=s=n", source: "CVE-2022-21449 variant (range check)", raw: with(ecdsaSig(n, n))},
			{name: "ES256 r=0, genuine s", source: "CVE-2022-21449 variant", raw: with(ecdsaSig(big.NewInt(0), s))},
			{name: "ES256 genuine r, s=0", source: "CVE-2022-21449 variant", raw: with(ecdsaSig(r, big.NewInt(0)))},
			{name: "ES256 ASN.1 DER signature, genuine", source: "RFC 7518 §3.4 (raw r||s only)", raw: with(signES256DER(su.key.(*ecdsa.PrivateKey))(signing))},
			{name: "ES256 signature of 63 bytes", source: "RFC 7518 §3.4", raw: with(sig[:63])},
		}
	case "EdDSA":
		// S + L: the same signature with a non-canonical scalar (RFC 8032 §5.1.7 requires S < L).
		l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
		le := append([]byte{}, sig[32:]...)
		slices.Reverse(le)
		sPlusL := new(big.Int).Add(new(big.Int).SetBytes(le), l)
		out := make([]byte, 32)
		sPlusL.FillBytes(out)
		slices.Reverse(out)
		return []tokenAttack{
			{name: "EdDSA S+L (non-canonical scalar)", source: "RFC 8032 §5.1.7 (malleability)", raw: with(append(append([]byte{}, sig[:32]...), out...))},
			{name: "EdDSA R all zero", source: "small-order point", raw: with(append(make([]byte, 32), sig[32:]...))},
			{name: "EdDSA identity R, S=0", source: "small-order point", raw: with(append(append([]byte{1}, make([]byte, 31)...), make([]byte, 32)...))},
		}
	case "RS256":
		key := su.key.(*rsa.PrivateKey)
		return []tokenAttack{
			{name: "RS256 signature = modulus", source: "RSA range check (RFC 8017 §5.2.2)", raw: with(key.N.Bytes())},
			{name: "RS256 signature = 1", source: "RSA edge value", raw: with(append(make([]byte, len(sig)-1), 1))},
			{name: "RS512 signature with our key", source: "RFC 8725 §3.1", raw: with(signRS512(key)(signing))},
			{name: "PS256 signature with our key", source: "RFC 8725 §3.1", raw: with(signPS256(key)(signing))},
		}
	}
	return nil
}

// TestSecurityTokenPlacement: where a token may be, and what tokengate does with a token in a
// place it does not read or in more than one place (RFC 6750 §2: one method per request).
func TestSecurityTokenPlacement(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	access, _ := s.tokens(t, "alice", "pyconid")
	forged := jws(object("alg", "HS256"), claims("alice"), signHS256([]byte("attacker-secret-attacker-secret-attacker")))
	q, fq := url.QueryEscape(access), url.QueryEscape(forged)
	cases := []struct {
		name, source string
		query        string
		header       []string
		status       int
		code         string
	}{
		{"valid in the header", "RFC 6750 §2.1", "", []string{"Authorization", "Bearer " + access}, 200, ""},
		{"valid in the query", "RFC 6750 §2.3", "token=" + q, nil, 200, ""},
		{"bearer in lower case", "RFC 9110 §11.1 (the scheme is case-insensitive)", "", []string{"Authorization", "bearer " + access}, 200, ""},
		{"parameter name percent-encoded", "RFC 3986 §2.1", "%74oken=" + q, nil, 200, ""},
		{"valid in the header, forged in the query", "RFC 6750 §2 (one method); never pick the good one", "token=" + fq, []string{"Authorization", "Bearer " + access}, 400, "invalid_request"},
		{"forged in the header, valid in the query", "RFC 6750 §2", "token=" + q, []string{"Authorization", "Bearer " + forged}, 400, "invalid_request"},
		{"valid then forged query parameter", "HTTP parameter pollution (OWASP)", "token=" + q + "&token=" + fq, nil, 400, "invalid_request"},
		{"forged then valid query parameter", "HTTP parameter pollution (OWASP)", "token=" + fq + "&token=" + q, nil, 400, "invalid_request"},
		{"percent-encoded duplicate parameter", "HTTP parameter pollution", "token=" + q + "&t%6Fken=" + fq, nil, 400, "invalid_request"},
		{"two Authorization headers", "RFC 6750 §2", "", []string{"Authorization", "Bearer " + access, "Authorization", "Bearer " + forged}, 400, "invalid_request"},
		{"two tokens in one header", "RFC 6750 §2.1", "", []string{"Authorization", "Bearer " + access + ", Bearer " + forged}, 400, "invalid_request"},
		{"empty Bearer", "RFC 6750 §3.1", "", []string{"Authorization", "Bearer"}, 400, "invalid_request"},
		{"empty token parameter", "RFC 6750 §3.1", "token=", nil, 400, "invalid_request"},
		{"access_token parameter is not read", "RFC 6750 §2.3 calls it access_token; tokengate reads token", "access_token=" + q, nil, 401, "missing_token"},
		{"TOKEN in upper case is not read", "query names are case-sensitive", "TOKEN=" + q, nil, 401, "missing_token"},
		{"cookie is not configured", "DESIGN.md token.lookup", "", []string{"Cookie", "token=" + access}, 401, "missing_token"},
		{"Basic scheme", "RFC 7617", "", []string{"Authorization", basic("alice", "pyconid")}, 401, "missing_token"},
		{"Token scheme", "scheme confusion", "", []string{"Authorization", "Token " + access}, 401, "missing_token"},
		{"JWT scheme", "scheme confusion", "", []string{"Authorization", "JWT " + access}, 401, "missing_token"},
		{"Bearer joined to the token", "RFC 6750 §2.1", "", []string{"Authorization", "Bearer" + access}, 401, "missing_token"},
		{"Bearer then a tab", "RFC 9110 §11.4: only SP follows the scheme; a lenient reader sees a token", "", []string{"Authorization", "Bearer\t" + access}, 400, "invalid_request"},
		{"Bearer then NBSP", "unicode space: a lenient reader sees a token", "", []string{"Authorization", "Bearer\u00a0" + access}, 400, "invalid_request"},
		{"Bearer then a tab beside a query token", "one token per request (RFC 6750 §2)", "token=" + q, []string{"Authorization", "Bearer\t" + access}, 400, "invalid_request"},
		{"token in X-Access-Token", "non-standard header", "", []string{"X-Access-Token", access}, 401, "missing_token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := "/protected"
			if c.query != "" {
				path += "?" + c.query
			}
			start := time.Now()
			r := s.get(t, path, c.header...)
			if took := time.Since(start); took > secTimeBound {
				t.Logf("NOTE: answered in %v (measured, not asserted)", took)
			}
			if c.status == 200 {
				if r.Status != 200 {
					t.Fatalf("status = %d, want 200 (%s); body %s", r.Status, c.source, r.Body)
				}
				return
			}
			wantError(t, r, c.status, c.code)
		})
	}
	stillServes(t, s, access)
}

// TestSecurityOversizedTokens: a token over net/http's 64 KiB header cap never reaches tokengate
// (431 from net/http); one between the 8 KiB token cap and the header cap is a quick 401.
func TestSecurityOversizedTokens(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	access, _ := s.tokens(t, "alice", "pyconid")
	for _, size := range []int{9 << 10, 32 << 10, 60 << 10} {
		raw := access + strings.Repeat("A", size-len(access))
		for _, where := range []string{"header", "query"} {
			r, took := s.sendToken(t, "/protected", where, raw)
			wantError(t, r, 401, "invalid_token")
			if took > secTimeBound {
				t.Errorf("%d bytes in the %s: answered in %v", size, where, took)
			}
		}
	}
	// net/http reads a little past MaxHeaderBytes (bufio slack) before it answers 431.
	huge := strings.Repeat("A", 128<<10)
	for _, where := range []string{"header", "query"} {
		if r, _ := s.sendToken(t, "/protected", where, huge); r.Status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("128 KiB token in the %s: status = %d, want 431", where, r.Status)
		}
	}
	stillServes(t, s, access)
}

// TestSecurityRevokedTokens: a token revoked by logout is refused in both places, also when the
// verified-token cache holds it; so is its ECDSA twin (r, n−s), which carries the same claims
// under another signature string: revocation is keyed on jti, not on the token's bytes.
func TestSecurityRevokedTokens(t *testing.T) {
	t.Parallel()
	keyFile := keygen(t, t.TempDir(), "ES256", "es256.pem")
	s := startServer(t, conf{token: fmt.Sprintf("  algorithm: ES256\n  private_key_file: %q\n", keyFile)}.yaml(t))
	access, refresh := s.tokens(t, "alice", "pyconid")
	h, p, sig := splitJWS(t, access)
	b, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		t.Fatal(err)
	}
	n := elliptic.P256().Params().N
	twin := h + "." + p + "." + b64url(ecdsaSig(new(big.Int).SetBytes(b[:32]), new(big.Int).Sub(n, new(big.Int).SetBytes(b[32:]))))
	s.never(twin, "an access token (its ECDSA twin)")

	// Warm the cache with both strings; whatever tokengate says of the twin, it names alice.
	for _, tok := range []string{access, twin} {
		for _, where := range []string{"header", "query"} {
			r, _ := s.sendToken(t, "/protected", where, tok)
			if r.Status >= 500 || r.Status == 200 && r.JSON(t)["user"] != "alice" {
				t.Fatalf("before logout (%s): %d %s", where, r.Status, r.Body)
			}
		}
	}
	if r := s.postJSON(t, "/logout", fmt.Sprintf(`{"refresh_token":%q}`, refresh), "Authorization", "Bearer "+access); r.Status != 204 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	for name, tok := range map[string]string{"the revoked token": access, "its ECDSA twin": twin} {
		for _, where := range []string{"header", "query"} {
			r, _ := s.sendToken(t, "/protected", where, tok)
			if !isError(r, 401, "invalid_token") {
				t.Errorf("%s in the %s after logout: %d %s, want 401 invalid_token", name, where, r.Status, r.Body)
			}
		}
	}
	wantError(t, s.postJSON(t, "/refresh", fmt.Sprintf(`{"refresh_token":%q}`, refresh)), 401, "invalid_token")
}

// TestSecurityAlgorithmPinning: the algorithm is checked first, before any other header field is
// interpreted (jwt.WithValidMethods), and then pinned to the algorithm of the one key the kid
// names, even when the key set holds keys of several algorithms (a retired key after a switch from
// ES256 to EdDSA). Both layers answer "algorithm not allowed", so a test sees either one go.
func TestSecurityAlgorithmPinning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	edFile := keygen(t, dir, "EdDSA", "eddsa.pem")
	esFile := keygen(t, dir, "ES256", "es256.pem")
	esKey := readKey(t, esFile).(*ecdsa.PrivateKey)
	edKey := readKey(t, edFile).(ed25519.PrivateKey)
	esPub := writePublicPEM(t, esFile)
	s := startServer(t, conf{token: fmt.Sprintf("  algorithm: EdDSA\n  private_key_file: %q\n  previous_public_key_files: [%q]\n", edFile, esPub)}.yaml(t))
	access, _ := s.tokens(t, "alice", "pyconid")
	edKID, _ := headerOf(t, access)["kid"].(string)
	var set struct {
		Keys []struct{ Kid, Alg string } `json:"keys"`
	}
	if err := json.Unmarshal(s.get(t, "/.well-known/jwks.json").Body, &set); err != nil {
		t.Fatal(err)
	}
	var esKID string
	for _, k := range set.Keys {
		if k.Alg == "ES256" {
			esKID = k.Kid
		}
	}
	if esKID == "" || edKID == "" {
		t.Fatalf("kids: EdDSA %q, ES256 %q", edKID, esKID)
	}
	good := claims("alice")
	hs := signHS256([]byte(testSecret))
	corpus := []tokenAttack{
		{name: "control: signed by the retired ES256 key", source: "DESIGN.md previous_public_key_files", raw: jws(object("alg", "ES256", "kid", esKID), good, signES256(esKey)), status: 200},
		{name: "control: signed by the current EdDSA key", source: "baseline", raw: jws(object("alg", "EdDSA", "kid", edKID), good, signEd25519(edKey)), status: 200},
		{name: "EdDSA kid, ES256 alg and signature", source: "RFC 8725 §3.1 (alg pinned to the key)", raw: jws(object("alg", "ES256", "kid", edKID), good, signES256(esKey))},
		{name: "ES256 kid, EdDSA alg and signature", source: "RFC 8725 §3.1 (alg pinned to the key)", raw: jws(object("alg", "EdDSA", "kid", esKID), good, signEd25519(edKey))},
		{name: "HS256 with a crit header", source: "RFC 8725 §3.1 (alg checked before the header is read)", raw: jws(object("alg", "HS256", "kid", edKID, "crit", []string{"exp"}, "exp", 1), good, hs)},
		{name: "none with a crit header", source: "RFC 8725 §3.1", raw: jws(object("alg", "none", "crit", []string{"exp"}, "exp", 1), good, nil) + "AAAA"},
		{name: "HS256 with a jku header", source: "RFC 8725 §3.1, §3.10", raw: jws(object("alg", "HS256", "kid", "x", "jku", "http://127.0.0.1:1/jwks"), good, hs)},
	}
	runTokenCorpus(t, s, corpus)
	for _, a := range corpus[2:] {
		for _, where := range []string{"header", "query"} {
			r, _ := s.sendToken(t, "/protected", where, a.raw)
			if got := r.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error_description="algorithm not allowed"`) {
				t.Errorf("%s (%s): WWW-Authenticate = %q, want the algorithm refused first", a.name, where, got)
			}
		}
	}
}
