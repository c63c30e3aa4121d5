package tests

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shBlock is a fenced block marked `sh` in the docs: a command block that must run as written on a
// fresh clone, from the repository root.
type shBlock struct {
	file string
	line int
	body string
}

// shBlocks returns the `sh` blocks of the README and docs/*.md.
func shBlocks(t *testing.T, root string) []shBlock {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	var blocks []shBlock
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		var cur *shBlock
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			switch {
			case cur == nil && strings.TrimSpace(line) == "```sh":
				cur = &shBlock{file: rel, line: n}
			case cur != nil && strings.TrimSpace(line) == "```":
				blocks = append(blocks, *cur)
				cur = nil
			case cur != nil:
				cur.body += line + "\n"
			}
		}
	}
	return blocks
}

// TestDocsCommandsRun runs every `sh` block of the README and docs/ as written, from the root of
// the checkout, with no TOKENGATE_* variable set: each must exit 0. Blocks that need a running
// server, Docker or placeholders are marked `console` instead and are not run.
func TestDocsCommandsRun(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	blocks := shBlocks(t, root)
	if len(blocks) < 3 {
		t.Fatalf("found %d sh blocks in the docs, want the README's and docs/' runnable examples", len(blocks))
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOKENGATE_") {
			env = append(env, kv)
		}
	}
	for _, b := range blocks {
		t.Run(fmt.Sprintf("%s:%d", b.file, b.line), func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", b.body)
			cmd.Dir = root
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n--- block\n%s--- output\n%s", err, b.body, out)
			}
		})
	}
}
