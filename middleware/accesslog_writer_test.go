package middleware

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter counts the writes that reach a real file and checks that each ends a line.
type countingWriter struct {
	t      testing.TB
	mu     sync.Mutex
	f      *os.File
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if len(p) == 0 || p[len(p)-1] != '\n' {
		w.t.Errorf("write %d does not end a line: %q", w.writes, p)
	}
	return w.f.Write(p)
}

func (w *countingWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

// newLogFile returns a counting writer over a new file in a temporary directory, and a function
// that reads the file.
func newLogFile(t *testing.T) (*countingWriter, func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &countingWriter{t: t, f: f}, func() string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

// fakeTimer is a flush timer the test fires by hand.
type fakeTimer struct {
	mu      sync.Mutex
	f       func()
	d       time.Duration
	armed   bool
	resets  int
	stopped bool
}

func (ft *fakeTimer) Reset(d time.Duration) bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	was := ft.armed
	ft.d, ft.armed = d, true
	ft.resets++
	return was
}

func (ft *fakeTimer) Stop() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	was := ft.armed
	ft.armed, ft.stopped = false, true
	return was
}

// fire runs the timer's function, as time.AfterFunc would when it expires.
func (ft *fakeTimer) fire(t *testing.T) {
	t.Helper()
	ft.mu.Lock()
	armed := ft.armed
	ft.armed = false
	ft.mu.Unlock()
	if !armed {
		t.Fatal("flush timer fired while not armed")
	}
	ft.f()
}

// withFakeTimer makes l's flush timer a fakeTimer.
func withFakeTimer(l *LogWriter) *fakeTimer {
	ft := &fakeTimer{}
	l.afterFunc = func(d time.Duration, f func()) flushTimer {
		ft.f = f
		ft.Reset(d)
		return ft
	}
	return ft
}

// TestLogWriterKeepsOrder: access lines wait; an error record written after them goes out in the
// same write, after them, in the order they were logged.
func TestLogWriterKeepsOrder(t *testing.T) {
	w, read := newLogFile(t)
	l := NewLogWriter(w, time.Hour)
	log := slog.New(NewLogHandler(l, "text", nil))
	l.writeLine([]byte("access 1\n"))
	l.writeLine([]byte("access 2\n"))
	if got := read(); got != "" {
		t.Fatalf("access lines written before a flush: %q", got)
	}
	log.Error("boom")
	l.writeLine([]byte("access 3\n"))
	got := read()
	if !strings.HasPrefix(got, "access 1\naccess 2\ntime=") || !strings.HasSuffix(got, " level=ERROR msg=boom\n") {
		t.Fatalf("file = %q, want the two access lines, then the error line", got)
	}
	if w.count() != 1 {
		t.Errorf("writes = %d, want 1 (pending lines and the error together)", w.count())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := read(); !strings.HasSuffix(got, "msg=boom\naccess 3\n") {
		t.Errorf("after Close, file = %q, want access 3 last", got)
	}
}

// TestLogWriterFlushesOnInterval: the first pending line arms the timer with the interval; when it
// fires, the pending lines are written; the next line arms it again.
func TestLogWriterFlushesOnInterval(t *testing.T) {
	w, read := newLogFile(t)
	l := NewLogWriter(w, 250*time.Millisecond)
	ft := withFakeTimer(l)
	l.writeLine([]byte("a\n"))
	l.writeLine([]byte("b\n"))
	if ft.d != 250*time.Millisecond || ft.resets != 1 {
		t.Fatalf("timer armed %d times for %v, want once for 250ms", ft.resets, ft.d)
	}
	if got := read(); got != "" {
		t.Fatalf("written before the interval: %q", got)
	}
	ft.fire(t)
	if got := read(); got != "a\nb\n" {
		t.Fatalf("after the interval, file = %q, want a, b", got)
	}
	l.writeLine([]byte("c\n"))
	if ft.resets != 2 {
		t.Errorf("timer armed %d times, want again for the next line", ft.resets)
	}
	ft.fire(t)
	if got := read(); got != "a\nb\nc\n" || w.count() != 2 {
		t.Errorf("file = %q in %d writes, want a, b, c in 2", got, w.count())
	}
	_ = l.Close()
	if !ft.stopped {
		t.Error("Close did not stop the timer")
	}
}

// TestLogWriterFlushesOnRealTimer: with a real timer and a short interval, a lone line reaches the
// file without any other write (polled with a generous bound; no timing is asserted).
func TestLogWriterFlushesOnRealTimer(t *testing.T) {
	w, read := newLogFile(t)
	l := NewLogWriter(w, 10*time.Millisecond)
	defer l.Close()
	for i := range 3 {
		line := fmt.Sprintf("line %d\n", i)
		l.writeLine([]byte(line))
		deadline := time.Now().Add(10 * time.Second)
		for !strings.HasSuffix(read(), line) {
			if time.Now().After(deadline) {
				t.Fatalf("%q not written within 10s; file %q", line, read())
			}
			time.Sleep(5 * time.Millisecond) // polling, not an assertion on time
		}
	}
}

// TestLogWriterFlushesOnClose: Close writes what is pending; later lines are written at once.
func TestLogWriterFlushesOnClose(t *testing.T) {
	w, read := newLogFile(t)
	l := NewLogWriter(w, time.Hour)
	l.writeLine([]byte("a\n"))
	l.writeLine([]byte("b\n"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "a\nb\n" {
		t.Fatalf("after Close, file = %q, want a, b", got)
	}
	l.writeLine([]byte("late\n"))
	if got := read(); got != "a\nb\nlate\n" {
		t.Errorf("a line after Close: file = %q, want it written at once", got)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestLogWriterFlushesAtSize: lines are written together once 32 KiB are pending, whole lines
// only, without waiting for the interval.
func TestLogWriterFlushesAtSize(t *testing.T) {
	w, read := newLogFile(t)
	l := NewLogWriter(w, time.Hour)
	line := []byte(strings.Repeat("x", 99) + "\n")
	n := 0
	for ; n*len(line) < flushSize; n++ {
		if got := w.count(); got != 0 {
			t.Fatalf("written after %d bytes, before 32 KiB", n*len(line))
		}
		l.writeLine(line)
	}
	if got := w.count(); got != 1 {
		t.Fatalf("writes = %d after %d bytes, want 1", got, n*len(line))
	}
	if got := len(read()); got != n*len(line) {
		t.Errorf("file has %d bytes, want %d", got, n*len(line))
	}
	big := []byte(strings.Repeat("y", 3*flushSize) + "\n") // larger than the batch: one write
	l.writeLine(big)
	if got := w.count(); got != 2 {
		t.Errorf("writes = %d after a huge line, want 2", got)
	}
	_ = l.Close()
}

// TestLogWriterUnbatched: with interval 0, every line is written at once, by itself.
func TestLogWriterUnbatched(t *testing.T) {
	w, read := newLogFile(t)
	l := NewLogWriter(w, 0)
	l.writeLine([]byte("a\n"))
	l.writeLine([]byte("b\n"))
	if got := read(); got != "a\nb\n" || w.count() != 2 {
		t.Errorf("file = %q in %d writes, want a, b in 2", got, w.count())
	}
}

// TestLogWriterConcurrent: goroutines logging access lines and other records at once, through a
// pipe, under -race: every line arrives whole, exactly once, and each goroutine's lines in order.
func TestLogWriterConcurrent(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	l := NewLogWriter(pw, 5*time.Millisecond)
	l.limit = 4 << 10 // flush often, at sizes that do not divide the lines
	h := NewLogHandler(l, "json", nil)
	log := slog.New(h)

	lines := make(chan string, 1<<10)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()

	const goroutines, perG = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				if i%50 == 49 {
					log.Warn("other", "g", g, "i", i)
					continue
				}
				r := accessRecord{time: time.Now(), method: "GET", path: fmt.Sprintf("/g%d/i%d", g, i),
					status: 200, clientIP: "192.0.2.1", requestID: strings.Repeat("r", i%97)}
				b := h.getBuffers()
				h.writeAccess(context.Background(), &r, b)
				h.putBuffers(b)
			}
		}()
	}
	var got []string
	collected := make(chan struct{})
	go func() {
		for line := range lines {
			got = append(got, line)
		}
		close(collected)
	}()
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	<-readDone
	<-collected

	if len(got) != goroutines*perG {
		t.Fatalf("read %d lines, want %d", len(got), goroutines*perG)
	}
	next := make([]int, goroutines)
	for _, line := range got {
		var g, i int
		switch {
		case strings.Contains(line, `"msg":"request"`) && strings.HasSuffix(line, `}`):
			if _, err := fmt.Sscanf(line[strings.Index(line, `"path":"/g`):], `"path":"/g%d/i%d"`, &g, &i); err != nil {
				t.Fatalf("torn access line %q: %v", line, err)
			}
		case strings.Contains(line, `"msg":"other"`) && strings.HasSuffix(line, `}`):
			if _, err := fmt.Sscanf(line[strings.Index(line, `"g":`):], `"g":%d,"i":%d}`, &g, &i); err != nil {
				t.Fatalf("torn line %q: %v", line, err)
			}
		default:
			t.Fatalf("torn line %q", line)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: line %d read after line %d", g, i, next[g]-1)
		}
		next[g]++
	}
}

// failingWriter fails every write.
type failingWriter struct{ writes int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	return 0, errors.New("disk on fire")
}

// TestLogWriterReportsErrors: a failed write drops the batch (it is not retried and does not
// grow) and Flush and Close report the first error.
func TestLogWriterReportsErrors(t *testing.T) {
	w := &failingWriter{}
	l := NewLogWriter(w, time.Hour)
	l.writeLine([]byte("a\n"))
	if err := l.Flush(); err == nil {
		t.Fatal("Flush = nil after a failed write")
	}
	if len(l.buf) != 0 {
		t.Errorf("%d bytes still pending after a failed write", len(l.buf))
	}
	if _, err := l.Write([]byte("b\n")); err == nil {
		t.Error("Write = nil error from a failing writer")
	}
	if err := l.Close(); err == nil {
		t.Error("Close = nil after failed writes")
	}
	if w.writes != 2 {
		t.Errorf("writes = %d, want 2 (nothing retried)", w.writes)
	}
}

// TestLogHandlerWrapsPlainWriter: a LogHandler over a plain writer writes access lines at once,
// and its other records as slog would.
func TestLogHandlerWrapsPlainWriter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(&buf, "json", nil))
	serveAccess(t, log, "/x")
	log.Info("after", "k", 1)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"msg":"request"`) || !strings.HasSuffix(lines[1], `"msg":"after","k":1}`) {
		t.Errorf("log = %q, want the access line, then the record", buf.String())
	}
}

// BenchmarkLogWriter is one 200-byte access line into a LogWriter over /dev/null and over a pipe
// (drained by a goroutine), written at once (interval 0: one write(2) per line, as slog does) or
// batched: the system-call cost the batching saves.
func BenchmarkLogWriter(b *testing.B) {
	line := []byte(strings.Repeat("x", 199) + "\n")
	for _, sink := range []string{"devnull", "pipe"} {
		for _, interval := range []time.Duration{0, 100 * time.Millisecond} {
			name := sink + "/each"
			if interval > 0 {
				name = sink + "/batched"
			}
			b.Run(name, func(b *testing.B) {
				var w *os.File
				if sink == "devnull" {
					f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
					if err != nil {
						b.Fatal(err)
					}
					w = f
				} else {
					pr, pw, err := os.Pipe()
					if err != nil {
						b.Fatal(err)
					}
					go func() { _, _ = io.Copy(io.Discard, pr); pr.Close() }()
					w = pw
				}
				defer w.Close()
				l := NewLogWriter(w, interval)
				defer l.Close()
				b.SetBytes(int64(len(line)))
				b.ReportAllocs()
				for b.Loop() {
					l.writeLine(line)
				}
			})
		}
	}
}
