package tests

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestAccessLogSurvivesSIGKILL: every request answered before the process is killed with SIGKILL
// (no chance to flush anything) has its access line in the log: lines are written as each request
// ends, never held back.
func TestAccessLogSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	s := startServer(t, config(t, ""))
	const n = 50
	for i := range n {
		if r := s.get(t, fmt.Sprintf("/unprotected?i=%d", i)); r.Status != 200 {
			t.Fatalf("/unprotected = %d", r.Status)
		}
	}
	s.kill(t) // and read the log to its end
	seen := map[string]bool{}
	queryRE := regexp.MustCompile(`"query":"i=(\d+)"`)
	for _, l := range s.Logs() {
		if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, `"path":"/unprotected"`) {
			if m := queryRE.FindStringSubmatch(l); m != nil {
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
