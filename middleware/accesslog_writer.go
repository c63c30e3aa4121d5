package middleware

import (
	"io"
	"sync"
	"time"
)

// flushSize is the size at which a LogWriter writes its pending access lines at once: 32 KiB is a
// few hundred lines, one write(2) where there would be hundreds, and half a Linux pipe's buffer.
const flushSize = 32 << 10

// LogWriter is the process's log stream (stderr) with the access lines batched. An access line
// (AccessLog under a LogHandler) is appended to a buffer that is written when it reaches 32 KiB,
// when the flush interval has passed since the oldest pending line was added, on Flush and on
// Close. Everything else (Write: slog's records, such as "listening", warnings, errors, panics)
// is written at once, in the same write as any pending access lines before it, so the stream is
// never reordered. A line is never split across writes.
//
// On a crash (SIGKILL, a fatal runtime error, an OOM kill) the pending access lines are lost: at
// most one flush interval's worth. Close, which serve calls on every way out, writes them.
//
// A LogWriter is safe for concurrent use. Writes to the underlying writer happen one at a time,
// under its lock.
type LogWriter struct {
	mu       sync.Mutex
	w        io.Writer
	interval time.Duration
	limit    int
	buf      []byte
	timer    flushTimer // armed while lines are pending; nil until first needed
	armed    bool
	closed   bool
	err      error // the first write error, reported by Flush and Close

	// afterFunc makes the flush timer (time.AfterFunc; tests replace it).
	afterFunc func(time.Duration, func()) flushTimer
}

// flushTimer is what a LogWriter needs of a *time.Timer.
type flushTimer interface {
	Reset(time.Duration) bool
	Stop() bool
}

// NewLogWriter returns a LogWriter over w that holds access lines for up to interval. With an
// interval of 0 (or less), every line is written at once, as slog's handlers write them.
func NewLogWriter(w io.Writer, interval time.Duration) *LogWriter {
	l := &LogWriter{w: w, interval: interval, limit: flushSize}
	l.afterFunc = func(d time.Duration, f func()) flushTimer { return time.AfterFunc(d, f) }
	return l
}

// Write writes p at once, in one call to the underlying writer together with any pending access
// lines before it. It returns len(p) and nil, or the error of that write.
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) == 0 {
		n, err := l.w.Write(p)
		l.noteErr(err)
		return n, err
	}
	l.buf = append(l.buf, p...)
	if err := l.flushLocked(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeLine appends one whole access line (ending in '\n') to the batch, or writes it at once when
// the LogWriter does not batch or is closed. line is not retained.
func (l *LogWriter) writeLine(line []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.interval <= 0 || l.closed {
		if len(l.buf) > 0 { // not reached in practice: Close flushed, and unbatched never holds any
			l.buf = append(l.buf, line...)
			_ = l.flushLocked()
			return
		}
		_, err := l.w.Write(line)
		l.noteErr(err)
		return
	}
	if l.buf == nil {
		l.buf = make([]byte, 0, l.limit+l.limit/8)
	}
	l.buf = append(l.buf, line...)
	if len(l.buf) >= l.limit {
		_ = l.flushLocked()
		return
	}
	// Arm the timer when none is pending: a line waits at most one interval. A timer armed before
	// a size flush stays armed; when it fires it writes whatever has come since (perhaps nothing).
	if !l.armed {
		l.armed = true
		if l.timer == nil {
			l.timer = l.afterFunc(l.interval, l.tick)
		} else {
			l.timer.Reset(l.interval)
		}
	}
}

// tick is the flush timer's function.
func (l *LogWriter) tick() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.armed = false
	_ = l.flushLocked()
}

// Flush writes the pending access lines. It returns the first error any write of this LogWriter
// has met.
func (l *LogWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.flushLocked()
	return l.err
}

// Close writes the pending access lines and stops the flush timer; access lines that come later
// are written at once. It does not close the underlying writer. It returns the first error any
// write of this LogWriter has met. Close may be called more than once.
func (l *LogWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
		l.armed = false
	}
	_ = l.flushLocked()
	return l.err
}

// flushLocked writes the buffer in one call. On an error the lines are dropped: a retry could
// write part of them twice, and a log stream that fails must not grow the buffer without bound.
func (l *LogWriter) flushLocked() error {
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf)
	l.noteErr(err)
	if cap(l.buf) > 4*l.limit { // one huge line must not pin its buffer
		l.buf = nil
	} else {
		l.buf = l.buf[:0]
	}
	return err
}

func (l *LogWriter) noteErr(err error) {
	if err != nil && l.err == nil {
		l.err = err
	}
}
