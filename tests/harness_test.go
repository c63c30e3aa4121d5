// Package tests holds tokengate's black-box tests: they build the real binary, start it on a free
// loopback port with a temporary config and real files, and drive it over HTTP.
package tests

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is the tokengate binary built once by TestMain, with the race detector so that black-box
// traffic also hunts data races in the server. plainBinary is built without it, for the few tests
// that need production-speed bcrypt (the shipped config's cost-12 demo user).
var binary, plainBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tokengate-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tokengate-race")
	plainBinary = filepath.Join(dir, "tokengate")
	builds := [][]string{{"build", "-race", "-o", binary, ".."}, {"build", "-o", plainBinary, ".."}}
	if os.Getenv("TOKENGATE_TEST_NORACE") != "" {
		binary = plainBinary
		builds = builds[1:]
	}
	for _, args := range builds {
		build := exec.Command("go", args...)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building tokengate:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running tokengate process.
type server struct {
	URL  string
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs []string
	done chan struct{}
	err  error
}

// testSecret is the HMAC secret of the test configs (≥ 32 bytes).
const testSecret = "test-secret-0123456789abcdef0123456789abcdef"

// baseConfig is a config with a fixed secret, a fast login policy and the users of users().
func baseConfig(t testing.TB, extra string) string {
	t.Helper()
	return fmt.Sprintf(`
server:
  addr: "127.0.0.1:0"
token:
  secret: %q
  ttl: 15m
store:
  kind: memory
  users:
%s
log:
  level: info
  format: json
%s
`, testSecret, indent(usersYAML(t), "    "), extra)
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}

// startServer writes cfg to a temp file and starts tokengate on it, waiting until it listens.
func startServer(t testing.TB, cfg string, env ...string) *server {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return startWith(t, dir, []string{"serve", "--config", path}, env...)
}

var listenRE = regexp.MustCompile(`"msg":"listening".*"addr":"([^"]+)"|msg=listening addr=(\S+)`)

// startWith starts the binary with args in dir and waits for its "listening" log line.
func startWith(t testing.TB, dir string, args []string, env ...string) *server {
	t.Helper()
	return startBinary(t, binary, dir, args, env...)
}

// startBinary starts the given tokengate build; see startWith.
func startBinary(t testing.TB, bin, dir string, args []string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logs = append(s.logs, line)
			s.mu.Unlock()
			if m := listenRE.FindStringSubmatch(line); m != nil {
				a := m[1]
				if a == "" {
					a = m[2]
				}
				select {
				case addrc <- a:
				default:
				}
			}
		}
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case a := <-addrc:
		s.URL = "http://" + a
	case <-s.done:
		t.Fatalf("tokengate exited before listening: %v\n%s", s.err, s.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("tokengate did not listen within 30s\n%s", s.logText())
	}
	return s
}

// stop sends SIGTERM and waits for a graceful exit.
func (s *server) stop(t testing.TB) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("tokengate did not stop within 15s of SIGINT")
	}
}

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.logs, "\n")
}

// Logs returns every line the server has written so far.
func (s *server) Logs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.logs...)
}

// response is a read HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %q", err, r.Body)
	}
	return m
}

// do sends req and reads the answer.
func do(t testing.TB, req *http.Request) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func newRequest(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func (s *server) get(t testing.TB, path string, header ...string) response {
	t.Helper()
	req := newRequest(t, http.MethodGet, s.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return do(t, req)
}

func (s *server) postJSON(t testing.TB, path, body string, header ...string) response {
	t.Helper()
	req := newRequest(t, http.MethodPost, s.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return do(t, req)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// login logs in with Basic auth and returns the body; it fails the test unless the answer is 200.
func (s *server) login(t testing.TB, user, pass string) map[string]any {
	t.Helper()
	r := s.get(t, "/login", "Authorization", basic(user, pass))
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: status = %d, want 200; body %s", user, r.Status, r.Body)
	}
	return r.JSON(t)
}

func (s *server) accessToken(t testing.TB, user, pass string) string {
	t.Helper()
	return s.login(t, user, pass)["access_token"].(string)
}

// wantError checks an error answer: status, error code and the JSON error shape.
func wantError(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	var body struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("error body is not JSON: %q", r.Body)
	}
	if body.Error != code {
		t.Fatalf("error = %q, want %q; body %s", body.Error, code, r.Body)
	}
	if body.Message == "" {
		t.Fatalf("error body has no message: %s", r.Body)
	}
}

func encodeStd(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
