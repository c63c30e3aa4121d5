package testproc

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The happy path (listening, stop) is exercised by every package that starts a server with Start.

func TestStartReportsAnEarlyExit(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	out := &Output{}
	cmd := exec.Command("/bin/sh", "-c", "echo cannot bind; exit 1")
	cmd.Stdout = out
	_, err = Start(cmd, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 10*time.Second, out.String)
	if err == nil || !strings.Contains(err.Error(), "exited early") || !strings.Contains(err.Error(), "cannot bind") {
		t.Errorf("Start = %v, want an early exit with the output", err)
	}
}
