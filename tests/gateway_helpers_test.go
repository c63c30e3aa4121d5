package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/nginxtest"
	"github.com/tokengate/tokengate/internal/testproc"
)

// gatewayRulesYAML are the shipped config's gateway rules, plus a deny rule and a method rule.
const gatewayRulesYAML = `
gateway:
  rules:
    - paths: [/pub/]
      access: public
    - paths: [/blocked/]
      access: deny
    - paths: [/api/]
      methods: [DELETE]
      access: authenticated
      roles: [admin]
    - paths: [/api/]
      access: authenticated
    - paths: [/admin/]
      access: authenticated
      roles: [admin]
`

// upstreamBinary builds examples/upstream into the test's temporary directory (a link from the
// build cache: about a second).
func upstreamBinary(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "upstream")
	if out, err := exec.Command("go", "build", "-o", bin, "../examples/upstream").CombinedOutput(); err != nil {
		t.Fatalf("building examples/upstream: %v\n%s", err, out)
	}
	return bin
}

// startUpstream runs examples/upstream on a free loopback port and returns its address.
func startUpstream(t testing.TB) string {
	t.Helper()
	bin := upstreamBinary(t)
	var lastErr error
	for range 3 {
		port, err := testproc.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		out := &testproc.Output{}
		cmd := exec.Command(bin)
		cmd.Env = []string{"ADDR=" + addr}
		cmd.Stdout, cmd.Stderr = out, out
		stop, err := testproc.Start(cmd, addr, 10*time.Second, out.String)
		if err == nil {
			t.Cleanup(stop)
			return addr
		}
		lastErr = err
	}
	t.Fatalf("examples/upstream: %v", lastErr)
	return ""
}

// hostPort strips the scheme of a server URL.
func hostPort(url string) string { return strings.TrimPrefix(url, "http://") }

// replaceOnce replaces old by new in s, failing the test unless old occurs exactly once: the
// shipped configs are tested as they are, only their addresses changed.
func replaceOnce(t testing.TB, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("%q occurs %d times in the shipped config, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// shippedNginxConf is deploy/nginx/gateway.conf with the test's addresses; its access log goes to
// accessLog.
func shippedNginxConf(t testing.TB, tokengate, upstream, accessLog string) func(listen string) string {
	t.Helper()
	b, err := os.ReadFile("../deploy/nginx/gateway.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := replaceOnce(t, string(b), "server tokengate:8080;", "server "+tokengate+";")
	conf = replaceOnce(t, conf, "server upstream:8082;", "server "+upstream+";")
	conf = replaceOnce(t, conf, "access_log /var/log/nginx/access.log gateway;", "access_log "+accessLog+" gateway;")
	return func(listen string) string { return replaceOnce(t, conf, "listen 8000;", "listen "+listen+";") }
}

// gatewayStack is a real tokengate and examples/upstream with a real proxy in front.
type gatewayStack struct {
	tg        *server
	front     string // the proxy's URL
	accessLog string // nginx's access log (the shipped gateway format)
}

func startGatewayStack(t testing.TB, tokengateConfig string) gatewayStack {
	t.Helper()
	tg := startServer(t, tokengateConfig)
	up := startUpstream(t)
	accessLog := filepath.Join(t.TempDir(), "gateway-access.log")
	ngx := nginxtest.Start(t, shippedNginxConf(t, hostPort(tg.URL), up, accessLog))
	return gatewayStack{tg: tg, front: ngx.URL, accessLog: accessLog}
}

// echo is examples/upstream's answer.
type echo struct {
	Method      string              `json:"method"`
	URI         string              `json:"uri"`
	Path        string              `json:"path"`
	Query       string              `json:"query"`
	BodyBytes   int64               `json:"body_bytes"`
	AuthHeaders map[string][]string `json:"auth_headers"`
}

// through sends method target (the raw request target, sent as is) to the proxy with the header
// pairs and the body.
func (g gatewayStack) through(t testing.TB, method, target, body string, header ...string) response {
	t.Helper()
	req := newRequest(t, method, g.front, strings.NewReader(body))
	req.URL.Opaque = target // sent exactly as written: no client-side cleaning or escaping
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return do(t, req)
}

// upstreamSaw decodes the upstream's echo, failing the test unless the proxy answered 200 with it.
func upstreamSaw(t testing.TB, r response) echo {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d, want 200 from the upstream; body %s", r.Status, r.Body)
	}
	var e echo
	if err := json.Unmarshal(r.Body, &e); err != nil || e.AuthHeaders == nil {
		t.Fatalf("body is not the upstream's echo: %v: %s", err, r.Body)
	}
	return e
}

// refused checks an answer that the proxy gave without reaching the upstream.
func refused(t testing.TB, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	if strings.Contains(string(r.Body), "auth_headers") {
		t.Fatalf("the upstream answered a refused request: %s", r.Body)
	}
}

// identity is the upstream's view of who is calling: X-Auth-User and X-Auth-Roles, all values.
func identity(e echo) string {
	return fmt.Sprintf("user=%v roles=%v", e.AuthHeaders["X-Auth-User"], e.AuthHeaders["X-Auth-Roles"])
}
