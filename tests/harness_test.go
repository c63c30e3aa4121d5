// Package tests holds tokengate's black-box tests: they run the real binary, start it on a free
// loopback port with a temporary config and real files, and drive it over HTTP.
//
// The helpers live in three files: harness_test.go (the binary, the server wrapper and its log
// checks, HTTP requests and answers), config_test.go (test users and configs) and jws_test.go
// (base64, the hand-made JWS builder, keys).
package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is the tokengate binary every test runs. scripts/test.sh builds it once and hands it to
// these tests and to newman in TOKENGATE_TEST_BINARY (an absolute path); without it (`go test
// ./tests`), TestMain builds it. It is built without the race detector: under -race bcrypt is
// about 15 times slower, too slow for the production-cost logins some tests need, and the server's
// packages run their own tests with -race. TOKENGATE_TEST_RACE=1 builds it with -race instead: a
// race report in a server's log then fails the test that started the server.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if binary = os.Getenv("TOKENGATE_TEST_BINARY"); binary != "" {
		if !filepath.IsAbs(binary) {
			fmt.Fprintf(os.Stderr, "TOKENGATE_TEST_BINARY=%s: want an absolute path\n", binary)
			return 1
		}
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "tokengate-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "tokengate")
	args := []string{"build", "-o", binary, ".."}
	if os.Getenv("TOKENGATE_TEST_RACE") != "" {
		args = []string{"build", "-race", "-o", binary, ".."}
	}
	build := exec.Command("go", args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building tokengate:", err)
		return 1
	}
	return m.Run()
}

// waitLimit bounds every wait for a server's event (listening, a reload, an exit). It is a guard
// against a hang, not a timed assertion: events come within milliseconds.
const waitLimit = 30 * time.Second

// run runs the binary with args in dir, stdin as its input and a clean environment plus env.
func run(t testing.TB, dir, stdin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("tokengate %s did not exit within %v:\n%s%s", strings.Join(args, " "), waitLimit, out.String(), errb.String())
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	if strings.Contains(errb.String(), raceReport) {
		t.Errorf("tokengate %s: the race detector found a data race:\n%s", strings.Join(args, " "), errb.String())
	}
	return out.String(), errb.String(), code
}

// server is a running tokengate process. Its log (stderr) is collected line by line. When the test
// ends the server is stopped and the test fails if the log holds a data race report, a token or
// secret the test registered with never, a password of testUsers, a bcrypt hash or a JWT.
type server struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and its log is read to the end
	err  error         // the exit status, once done is closed

	mu      sync.Mutex
	logs    []string
	logged  chan struct{}     // closed and replaced on every new log line
	watch   map[string]string // string that must never be logged → what it is
	stopped bool
}

// startServer writes cfg to config.yaml in a temporary directory and starts tokengate on it.
func startServer(t testing.TB, cfg string, env ...string) *server {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, cfg)
	return startIn(t, dir, []string{"serve", "--config", path}, env...)
}

// listenRE matches the "listening" log line in both log formats; its addr is where to connect.
var listenRE = regexp.MustCompile(`"msg":"listening".*"addr":"([^"]+)"|msg=listening addr=(\S+)`)

// raceReport starts the race detector's report of a data race.
const raceReport = "WARNING: DATA RACE"

// startIn starts the binary with args in dir and a clean environment plus env, and waits for its
// "listening" log line.
func startIn(t testing.TB, dir string, args []string, env ...string) *server {
	t.Helper()
	return startProgram(t, binary, dir, args, env...)
}

// startProgram is startIn for another program that logs the same "listening" line, such as
// examples/downstream.
func startProgram(t testing.TB, program, dir string, args []string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(program, args...)
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
	s := &server{cmd: cmd, done: make(chan struct{}), logged: make(chan struct{}), watch: map[string]string{testSecret: "the HMAC secret"}}
	for _, u := range testUsers {
		s.never(u.password, "the password of "+u.name)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.logs = append(s.logs, sc.Text())
			close(s.logged)
			s.logged = make(chan struct{})
			s.mu.Unlock()
		}
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.stop(t)
		logs := s.Logs()
		if text := strings.Join(logs, "\n"); strings.Contains(text, raceReport) {
			t.Errorf("the race detector found a data race in tokengate:\n%s", text[strings.Index(text, raceReport):])
		}
		for _, leak := range s.leaks() {
			t.Errorf("log leak: %s", leak)
		}
	})
	m := listenRE.FindStringSubmatch(s.awaitLog(t, listenRE, 1)[0])
	s.URL = "http://" + m[1] + m[2]
	return s
}

// awaitLog waits until the server's log holds n lines matching re, and returns them. It waits for
// the lines as they are written, without polling, and fails the test if the server exits first or
// nothing comes within waitLimit.
func (s *server) awaitLog(t testing.TB, re *regexp.Regexp, n int) []string {
	t.Helper()
	timeout := time.NewTimer(waitLimit)
	defer timeout.Stop()
	for {
		s.mu.Lock()
		matched := grep(s.logs, re)
		logged := s.logged
		s.mu.Unlock()
		if len(matched) >= n {
			return matched
		}
		select {
		case <-logged:
		case <-s.done:
			if matched = grep(s.Logs(), re); len(matched) >= n {
				return matched
			}
			t.Fatalf("tokengate exited (%v) before its log held %d lines matching %q:\n%s", s.err, n, re, s.logText())
		case <-timeout.C:
			t.Fatalf("tokengate's log did not hold %d lines matching %q within %v:\n%s", n, re, waitLimit, s.logText())
		}
	}
}

// countLog is how many lines of the server's log match re so far.
func (s *server) countLog(re *regexp.Regexp) int { return len(grep(s.Logs(), re)) }

func grep(lines []string, re *regexp.Regexp) []string {
	var out []string
	for _, l := range lines {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// stop sends SIGINT and waits for a graceful exit; it is idempotent.
func (s *server) stop(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	stopped := s.stopped
	s.stopped = true
	s.mu.Unlock()
	if stopped {
		<-s.done
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	// A connection the client dialed but never sent a request on is new, not idle, to the server,
	// and http.Server.Shutdown waits 5 s before it counts such a connection as idle: close them.
	http.DefaultClient.CloseIdleConnections()
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(waitLimit):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("tokengate did not stop within %v of SIGINT", waitLimit)
	}
}

// kill kills the server with SIGKILL, as a crash would, and waits until its log is read to the end.
func (s *server) kill(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.done
}

func (s *server) logText() string { return strings.Join(s.Logs(), "\n") }

// Logs returns every line the server has written so far.
func (s *server) Logs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.logs...)
}

// never adds str to the strings the log must not contain.
func (s *server) never(str, what string) {
	if len(str) < 6 { // too short to tell a leak from chance
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watch[str] = what
}

// leaks lists every log line that holds something it must not.
func (s *server) leaks() []string {
	s.mu.Lock()
	watch := make(map[string]string, len(s.watch))
	for k, v := range s.watch {
		watch[k] = v
	}
	s.mu.Unlock()
	return logLeaks(s.Logs(), watch)
}

// bcryptRE matches a bcrypt hash (or the start of one: its prefix and cost), not an error message
// that names the prefixes; jwtRE a JWT-looking string: base64url of a JSON object, and the
// segments after it.
var (
	bcryptRE = regexp.MustCompile(`\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]*`)
	jwtRE    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*){0,2}`)
)

// logLeaks lists the lines that hold a watched string, a bcrypt hash or a JWT, each with the line
// itself masked (the test output must not leak either).
func logLeaks(lines []string, watch map[string]string) []string {
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

// --- HTTP ------------------------------------------------------------------------------------

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
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
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

// get sends GET path with the header's name, value pairs.
func (s *server) get(t testing.TB, path string, header ...string) response {
	t.Helper()
	req := newRequest(t, http.MethodGet, s.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return do(t, req)
}

// postJSON sends POST path with a JSON body and the header's name, value pairs.
func (s *server) postJSON(t testing.TB, path, body string, header ...string) response {
	t.Helper()
	req := newRequest(t, http.MethodPost, s.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return do(t, req)
}

// sendToken sends raw to path in the named place: "header" (Authorization: Bearer) or "query"
// (?token=, escaped). It returns the answer and how long it took.
func (s *server) sendToken(t testing.TB, path, where, raw string) (response, time.Duration) {
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

func (s *server) refresh(t testing.TB, refreshToken string) response {
	t.Helper()
	return s.postJSON(t, "/refresh", fmt.Sprintf(`{"refresh_token":%q}`, refreshToken))
}

// basic is the Authorization header value of HTTP Basic authentication.
func basic(user, pass string) string { return "Basic " + b64std(user+":"+pass) }

// login logs in with Basic auth and returns the body; it fails the test unless the answer is 200.
// The tokens it got must then never be logged.
func (s *server) login(t testing.TB, user, pass string) map[string]any {
	t.Helper()
	r := s.get(t, "/login", "Authorization", basic(user, pass))
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: status = %d, want 200; body %s", user, r.Status, r.Body)
	}
	body := r.JSON(t)
	access, _ := body["access_token"].(string)
	refresh, _ := body["refresh_token"].(string)
	s.never(access, "an access token")
	s.never(refresh, "a refresh token")
	return body
}

// tokens logs in and returns the access and refresh tokens.
func (s *server) tokens(t testing.TB, user, pass string) (access, refresh string) {
	t.Helper()
	body := s.login(t, user, pass)
	access, _ = body["access_token"].(string)
	refresh, _ = body["refresh_token"].(string)
	return access, refresh
}

func (s *server) accessToken(t testing.TB, user, pass string) string {
	t.Helper()
	access, _ := s.tokens(t, user, pass)
	return access
}

// isError reports whether r is tokengate's JSON error with this status and code (and a message).
func isError(r response, status int, code string) bool {
	var body struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	return r.Status == status && json.Unmarshal(r.Body, &body) == nil && body.Error == code && body.Message != ""
}

// wantError fails the test unless r is tokengate's JSON error with this status and code.
func wantError(t testing.TB, r response, status int, code string) {
	t.Helper()
	if !isError(r, status, code) {
		t.Fatalf("got %d %s, want %d {\"error\": %q, \"message\": …}", r.Status, r.Body, status, code)
	}
}

// sameAnswer describes how b differs from a in status, body and headers (but the ignored ones),
// or returns "".
func sameAnswer(a, b response, ignore ...string) string {
	if a.Status != b.Status || string(a.Body) != string(b.Body) {
		return fmt.Sprintf("answer %d %s, want %d %s", b.Status, b.Body, a.Status, a.Body)
	}
	names := map[string]bool{}
	for k := range a.Header {
		names[k] = true
	}
	for k := range b.Header {
		names[k] = true
	}
	for k := range names {
		if slices.Contains(ignore, k) {
			continue
		}
		if !slices.Equal(a.Header[k], b.Header[k]) {
			return fmt.Sprintf("header %s = %q, want %q", k, b.Header[k], a.Header[k])
		}
	}
	return ""
}
