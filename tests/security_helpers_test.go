package tests

// Helpers of the security suite (security_*_test.go): a server wrapper that checks its logs for
// leaked secrets when the test ends, and a hand-rolled JWS builder. The builder uses only the
// standard library, on purpose: an attack corpus must be able to make tokens no JWT library would
// (duplicate keys, padding, wrong types, broken signatures), and must not share a parser with the
// code under test.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/store"
)

// secTimeBound is the mark past which an answer of the security suite is noted in the log: every
// attack should be refused quickly (a parser that allocates or loops before verifying would show
// here). It is measured, not asserted: timings on a shared machine are noise.
const secTimeBound = 2 * time.Second

// secUser is a user of the security suite's configs.
type secUser struct {
	name, password string
	roles          []string
	disabled       bool
}

// secLongPassword is exactly 72 bytes, bcrypt's limit: the user "long" has it.
var secLongPassword = strings.Repeat("L0ng-pass", 8)

// secUsers are testUsers plus a user whose password is exactly 72 bytes.
func secUsers() []secUser {
	var out []secUser
	for _, u := range testUsers {
		//lint:ignore S1016 testUser is another file's type: a conversion would break when it grows a field
		out = append(out, secUser{name: u.name, password: u.password, roles: u.roles, disabled: u.disabled})
	}
	return append(out, secUser{name: "long", password: secLongPassword})
}

var (
	secHashMu sync.Mutex
	secHashes = map[string]string{} // cost/name/password → hash, made once per run
)

// secUsersYAML renders users as a store.users mapping with bcrypt hashes of the given cost.
func secUsersYAML(t testing.TB, users []secUser, cost int) string {
	t.Helper()
	secHashMu.Lock()
	defer secHashMu.Unlock()
	var b strings.Builder
	for _, u := range users {
		key := fmt.Sprintf("%d/%s/%s", cost, u.name, u.password)
		h, ok := secHashes[key]
		if !ok {
			var err error
			if h, err = store.HashPassword([]byte(u.password), cost); err != nil {
				t.Fatal(err)
			}
			secHashes[key] = h
		}
		fmt.Fprintf(&b, "    %q:\n      password_hash: %q\n", u.name, h)
		if len(u.roles) > 0 {
			fmt.Fprintf(&b, "      roles: [%s]\n", strings.Join(u.roles, ", "))
		}
		if u.disabled {
			b.WriteString("      disabled: true\n")
		}
	}
	return b.String()
}

// secConfig is a complete config: HS256 with testSecret unless tokenExtra changes the algorithm,
// debug logs as JSON (the most a log can say), the users of secUsers at bcrypt cost 4, and the
// extra top-level sections (login:, …). Lines for server: and token: go in serverExtra and
// tokenExtra (indented by two spaces).
func secConfig(t testing.TB, serverExtra, tokenExtra, extra string) string {
	t.Helper()
	return secConfigUsers(secUsersYAML(t, secUsers(), 4), serverExtra, tokenExtra, extra)
}

func secConfigUsers(usersYAML, serverExtra, tokenExtra, extra string) string {
	return fmt.Sprintf(`
server:
  addr: "127.0.0.1:0"
%s
token:
  secret: %q
  ttl: 15m
%s
store:
  kind: memory
  users:
%s
log:
  level: debug
  format: json
%s
`, serverExtra, testSecret, tokenExtra, usersYAML, extra)
}

// secServer is a tokengate process whose log is checked for leaks when the test ends.
type secServer struct {
	*server
	mu    sync.Mutex
	watch map[string]string // string that must never be logged → what it is
}

// startSecServer starts tokengate on cfg and, at the end of the test, stops it and fails the test
// if any log line holds a token, a secret, a password of secUsers or a bcrypt hash (secLogLeaks).
func startSecServer(t *testing.T, cfg string, env ...string) *secServer {
	t.Helper()
	return watchServer(t, startServer(t, cfg, env...))
}

// watchServer adds the end-of-test log-leak check to a started server.
func watchServer(t *testing.T, srv *server) *secServer {
	t.Helper()
	s := &secServer{server: srv, watch: map[string]string{testSecret: "the HMAC secret"}}
	for _, u := range secUsers() {
		s.never(u.password, "the password of "+u.name)
	}
	// Registered after the server's own cleanup, so it runs first: stop, then read the whole log.
	t.Cleanup(func() {
		s.stop(t)
		for _, leak := range s.leaks() {
			t.Errorf("log leak: %s", leak)
		}
	})
	return s
}

// never adds str to the strings the log must not contain.
func (s *secServer) never(str, what string) {
	if len(str) < 6 { // too short to tell a leak from chance
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watch[str] = what
}

// bcryptRE matches a bcrypt hash; jwtRE a JWT-looking string: base64url of a JSON object, and
// the segments after it.
var (
	bcryptRE = regexp.MustCompile(`\$2[aby]\$[./A-Za-z0-9$]*`)
	jwtRE    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*){0,2}`)
)

// leaks lists every log line that holds something it must not.
func (s *secServer) leaks() []string {
	s.mu.Lock()
	watch := make(map[string]string, len(s.watch))
	for k, v := range s.watch {
		watch[k] = v
	}
	s.mu.Unlock()
	return secLogLeaks(s.Logs(), watch)
}

// secLogLeaks lists the lines that hold a watched string, a bcrypt hash or a JWT, each with the
// line itself masked (the test output must not leak either).
func secLogLeaks(lines []string, watch map[string]string) []string {
	var out []string
	for i, line := range lines {
		var kinds []string
		masked := line
		for str, what := range watch {
			if strings.Contains(line, str) {
				kinds = append(kinds, what)
				masked = strings.ReplaceAll(masked, str, "<"+what+">")
			}
		}
		if bcryptRE.MatchString(line) {
			kinds = append(kinds, "a bcrypt hash")
			masked = bcryptRE.ReplaceAllString(masked, "<bcrypt>")
		}
		if jwtRE.MatchString(line) {
			kinds = append(kinds, "a JWT-looking string (eyJ…)")
			masked = jwtRE.ReplaceAllString(masked, "<JWT>")
		}
		if len(kinds) > 0 {
			if len(masked) > 300 {
				masked = masked[:300] + "…"
			}
			out = append(out, fmt.Sprintf("line %d holds %s: %s", i+1, strings.Join(kinds, ", "), masked))
		}
	}
	return out
}

// tokens logs in and returns the access and refresh tokens, which the log must then never hold.
func (s *secServer) tokens(t testing.TB, user, pass string) (access, refresh string) {
	t.Helper()
	body := s.login(t, user, pass)
	access, _ = body["access_token"].(string)
	refresh, _ = body["refresh_token"].(string)
	s.never(access, "an access token")
	s.never(refresh, "a refresh token")
	return access, refresh
}

// sendToken sends raw to path in the named place: "header" (Authorization: Bearer) or "query"
// (?token=, escaped). It returns the answer and how long it took.
func (s *secServer) sendToken(t testing.TB, path, where, raw string) (response, time.Duration) {
	t.Helper()
	req := newRequest(t, "GET", s.URL+path, nil)
	switch where {
	case "header":
		req.Header.Set("Authorization", "Bearer "+raw)
	case "query":
		req.URL.RawQuery = "token=" + url.QueryEscape(raw)
	default:
		t.Fatalf("unknown token place %q", where)
	}
	start := time.Now()
	r := do(t, req)
	return r, time.Since(start)
}

// --- JWS by hand -------------------------------------------------------------------------------

func secB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// secSigner signs a JWS signing input (header "." payload, both base64url).
type secSigner func(signing string) []byte

// secJWS builds header.payload.signature from raw JSON texts. sign nil leaves the signature empty.
func secJWS(header, payload string, sign secSigner) string {
	signing := secB64([]byte(header)) + "." + secB64([]byte(payload))
	var sig []byte
	if sign != nil {
		sig = sign(signing)
	}
	return signing + "." + secB64(sig)
}

func secHMAC(h func() hash.Hash, key []byte) secSigner {
	return func(signing string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(signing))
		return m.Sum(nil)
	}
}

func secHS256(key []byte) secSigner { return secHMAC(sha256.New, key) }

var newSHA384, newSHA512 = sha512.New384, sha512.New

func secRS256(key *rsa.PrivateKey) secSigner {
	return func(signing string) []byte {
		sum := sha256.Sum256([]byte(signing))
		sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func secRS512(key *rsa.PrivateKey) secSigner {
	return func(signing string) []byte {
		sum := sha512.Sum512([]byte(signing))
		sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA512, sum[:])
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func secPS256(key *rsa.PrivateKey) secSigner {
	return func(signing string) []byte {
		sum := sha256.Sum256([]byte(signing))
		sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			panic(err)
		}
		return sig
	}
}

// secES256 signs as RFC 7518 §3.4 says: r and s as 32-byte big-endian integers, concatenated.
func secES256(key *ecdsa.PrivateKey) secSigner {
	return func(signing string) []byte {
		sum := sha256.Sum256([]byte(signing))
		r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
		if err != nil {
			panic(err)
		}
		return secRS(r, s)
	}
}

// secES256DER signs with the ASN.1 DER signature encoding, which JWS does not allow.
func secES256DER(key *ecdsa.PrivateKey) secSigner {
	return func(signing string) []byte {
		sum := sha256.Sum256([]byte(signing))
		sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func secRS(r, s *big.Int) []byte {
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out
}

func secEd25519(key ed25519.PrivateKey) secSigner {
	return func(signing string) []byte { return ed25519.Sign(key, []byte(signing)) }
}

// secOmitT, as a claim value (secOmit), removes the claim.
type secOmitT struct{}

var secOmit = secOmitT{}

// secClaims returns the JSON payload of a good access token for sub (iss and aud tokengate, iat
// and nbf now, exp in 10 minutes, a fresh jti, roles [admin]) with kv's changes: key, value pairs;
// secOmit deletes a key; a json.RawMessage goes in as is. Keys are sorted.
func secClaims(sub string, kv ...any) string {
	now := time.Now().Unix()
	m := map[string]any{
		"sub": sub, "iss": "tokengate", "aud": "tokengate",
		"iat": now, "nbf": now, "exp": now + 600,
		"jti": secJTI(), "roles": []string{"admin"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if _, omit := kv[i+1].(secOmitT); omit {
			delete(m, k)
			continue
		}
		m[k] = kv[i+1]
	}
	return secObject(m)
}

// secHeader returns a JSON object from key, value pairs, keys in the given order.
func secHeader(kv ...any) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv[i].(string))
		v, err := json.Marshal(kv[i+1])
		if err != nil {
			panic(err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}

func secObject(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		kv = append(kv, k, m[k])
	}
	return secHeader(kv...)
}

func secJTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return secB64(b[:])
}

// secSplit returns the three segments of a compact JWS.
func secSplit(t testing.TB, raw string) (h, p, sig string) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// secHeaderOf decodes the JOSE header of a token tokengate issued.
func secHeaderOf(t testing.TB, raw string) map[string]any {
	t.Helper()
	h, _, _ := secSplit(t, raw)
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// secNonCanonical returns seg with its last character changed to one that decodes to the same
// bytes under a lenient base64 decoder (only the unused low bits differ), or "" when seg has no
// unused bits (its length is a multiple of 4).
func secNonCanonical(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var unused uint
	switch len(seg) % 4 {
	case 2:
		unused = 4
	case 3:
		unused = 2
	default:
		return ""
	}
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	alt := last | (1<<unused - 1) // a canonical encoder leaves the unused bits zero: set them
	if alt == last {
		return ""
	}
	return seg[:len(seg)-1] + string(alphabet[alt])
}

// mustReplace replaces old, which must be in s, once.
func mustReplace(t testing.TB, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not in %q", old, s)
	}
	return strings.Replace(s, old, new, 1)
}

// --- keys --------------------------------------------------------------------------------------

// secKeygen runs `tokengate keygen` and returns the path of the new private key.
func secKeygen(t testing.TB, dir, alg string) string {
	t.Helper()
	path := filepath.Join(dir, strings.ToLower(alg)+".pem")
	out, err := exec.Command(binary, "keygen", "--alg", alg, "--out", path).CombinedOutput()
	if err != nil {
		t.Fatalf("tokengate keygen --alg %s: %v: %s", alg, err, out)
	}
	return path
}

// secReadKey reads a PEM private key file (PKCS#8 or PKCS#1).
func secReadKey(t testing.TB, path string) crypto.Signer {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		t.Fatal(err)
	}
	return key.(crypto.Signer)
}

// secPublicPEM returns the PKIX PEM of pub: what an attacker derives from the JWKS.
func secPublicPEM(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
