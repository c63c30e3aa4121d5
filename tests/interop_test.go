package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Clients nobody on this project wrote verify tokengate's tokens through its discovery document:
// PyJWT's PyJWKClient (Debian python3-jwt, run by Debian's own /usr/bin/python3) and Node's jose
// (createRemoteJWKSet, from npm). Both must accept ES256, EdDSA and RS256 tokens and refuse a token
// re-signed with HS256 keyed with the published key, whether the caller pins the algorithms or
// not.

// debianPython is Debian's interpreter: python3-jwt installs for it, not for others on PATH.
const debianPython = "/usr/bin/python3"

// interopClient is one of the two scripts and how to run it.
type interopClient struct {
	name string
	cmd  func(t *testing.T) *exec.Cmd // nil after a skip
}

func pyjwtClient(t *testing.T) *exec.Cmd {
	t.Helper()
	check := exec.Command(debianPython, "-c", "import jwt, cryptography")
	if out, err := check.CombinedOutput(); err != nil {
		t.Skipf("PyJWT interop skipped: %s cannot import jwt (install the Debian packages python3-jwt and python3-cryptography: apt-get install python3-jwt): %v %s",
			debianPython, err, bytes.TrimSpace(out))
	}
	return exec.Command(debianPython, filepath.Join("interop", "pyjwt_verify.py"))
}

func joseClient(t *testing.T) *exec.Cmd {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("jose interop skipped: node is not on PATH (install Node.js 20.19 or later)")
	}
	if _, err := os.Stat(filepath.Join("..", "node_modules", "jose", "package.json")); err != nil {
		t.Skip("jose interop skipped: node_modules/jose is missing (run npm ci at the repository root)")
	}
	cmd := exec.Command(node, filepath.Join("tests", "interop", "jose_verify.mjs"))
	cmd.Dir = ".." // node resolves jose from the repository's node_modules
	return cmd
}

// interopResult is one line a script writes.
type interopResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Sub   string `json:"sub"`
	Alg   string `json:"alg"`
	Error string `json:"error"`
}

// runInterop feeds the request to the script and returns its answers by token name.
func runInterop(t *testing.T, cmd *exec.Cmd, req map[string]any) map[string]interopResult {
	t.Helper()
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	timer := time.AfterFunc(time.Minute, func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	})
	defer timer.Stop()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	results := map[string]interopResult{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r interopResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s wrote %q: %v", cmd, sc.Text(), err)
		}
		results[r.Name] = r
	}
	return results
}

// TestInteropDiscovery: PyJWT and jose, finding the keys through the discovery document.
func TestInteropDiscovery(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	type token struct{ name, raw string }
	var tokens []token
	var servers []*server
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		key := keygen(t, dir, alg, strings.ToLower(alg)+".pem")
		s := startServer(t, dsConfig(t, alg, key, dsOptions{}))
		servers = append(servers, s)
		raw := s.accessToken(t, "alice", "pyconid")
		tokens = append(tokens, token{alg, raw})
		// The classic confusion: the same header and claims, alg HS256, keyed with what is
		// published: the public key as PEM, and its JWK as JSON.
		set := fetchJWKS(t, s)
		jwk, err := json.Marshal(set.Keys[0])
		if err != nil {
			t.Fatal(err)
		}
		pemBytes := publicPEM(t, readKey(t, key).Public())
		header := headerOf(t, raw)
		header["alg"] = "HS256"
		_, payload, _ := splitJWS(t, raw)
		claims := decodeSegment(t, payload)
		for _, secret := range []struct {
			name string
			key  []byte
		}{{"pem", pemBytes}, {"jwk", jwk}} {
			tokens = append(tokens, token{alg + "-hs256-" + secret.name, jws(sortedObject(header), sortedObject(claims), signHS256(secret.key))})
		}
	}
	clients := []interopClient{{"PyJWT", pyjwtClient}, {"jose", joseClient}}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			for _, pin := range []bool{true, false} {
				for i, s := range servers {
					var list []map[string]string
					for _, tok := range tokens[3*i : 3*i+3] {
						list = append(list, map[string]string{"name": tok.name, "token": tok.raw})
					}
					got := runInterop(t, c.cmd(t), map[string]any{
						"discovery": s.URL + "/.well-known/openid-configuration",
						"issuer":    "tokengate", "audience": "tokengate", "pin": pin, "tokens": list,
					})
					for _, tok := range tokens[3*i : 3*i+3] {
						r, ok := got[tok.name]
						switch {
						case !ok:
							t.Errorf("pin=%v %s: no answer", pin, tok.name)
						case !strings.Contains(tok.name, "hs256") && (!r.OK || r.Sub != "alice" || r.Alg != tok.name):
							t.Errorf("pin=%v %s: %+v, want accepted for alice", pin, tok.name, r)
						case strings.Contains(tok.name, "hs256") && r.OK:
							t.Errorf("pin=%v %s: accepted a token keyed with the published key", pin, tok.name)
						default:
							t.Logf("pin=%v %s: ok=%v %s", pin, tok.name, r.OK, r.Error)
						}
					}
				}
			}
		})
	}
}
