package tests

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestAccessLogSurvivesSIGKILL: every request answered before the process is killed with SIGKILL
// (no chance to flush anything) has its access line in the log: lines are written as each request
// ends, never held back.
func TestAccessLogSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(baseConfig(t, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--config", cfg)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	addrRE := regexp.MustCompile(`"msg":"listening".*?"addr":"([^"]+)"`)
	var addr string
	for l := range lines {
		if m := addrRE.FindStringSubmatch(l); m != nil {
			addr = m[1]
			break
		}
	}
	if addr == "" {
		t.Fatal("tokengate exited before listening")
	}

	const n = 50
	for i := range n {
		resp, err := http.Get(fmt.Sprintf("http://%s/unprotected?i=%d", addr, i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for l := range lines { // until the pipe closes with the process
		if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, `"path":"/unprotected"`) {
			if m := regexp.MustCompile(`"query":"i=(\d+)"`).FindStringSubmatch(l); m != nil {
				seen[m[1]] = true
			}
		}
	}
	for i := range n {
		if !seen[fmt.Sprint(i)] {
			t.Errorf("the access line of request %d is lost after SIGKILL (%d of %d lines)", i, len(seen), n)
		}
	}
}
