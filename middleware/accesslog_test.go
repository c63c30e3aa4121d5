package middleware

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// accessFields are the inputs of one access line, as the fuzz target takes them.
type accessFields struct {
	method, path, rawQuery string
	status                 int
	duration               time.Duration
	clientIP, requestID    string
	user                   string
	time                   time.Time
}

// slogLine is what slog's own handler (format "text" or "json", default options) writes for f:
// the record AccessLog logged before it had an encoder of its own, built here independently of
// accessRecord.slogRecord.
func slogLine(t testing.TB, format string, f accessFields) []byte {
	t.Helper()
	var buf bytes.Buffer
	var h slog.Handler = slog.NewTextHandler(&buf, nil)
	if format == "json" {
		h = slog.NewJSONHandler(&buf, nil)
	}
	attrs := []slog.Attr{slog.String("method", f.method), slog.String("path", f.path)}
	if f.rawQuery != "" {
		attrs = append(attrs, slog.String("query", RedactQuery(f.rawQuery, "token")))
	}
	attrs = append(attrs,
		slog.Int("status", f.status),
		slog.Duration("duration", f.duration),
		slog.String("client_ip", f.clientIP),
		slog.String("request_id", f.requestID),
	)
	if f.user != "" {
		attrs = append(attrs, slog.String("user", f.user))
	}
	r := slog.NewRecord(f.time, slog.LevelInfo, "request", 0)
	r.AddAttrs(attrs...)
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// encodedLine is what a LogHandler writes for f through AccessLog's path: the query redacted into
// a buffer, the record encoded by writeAccess. With primed, the handler has formatted another
// time of the same second before, so the line's date and zone come from its cache.
func encodedLine(t testing.TB, format string, f accessFields, primed bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	h := NewLogHandler(&buf, format, nil)
	if primed {
		h.stamp(f.time.Truncate(time.Second))
	}
	r := accessRecord{
		time: f.time, method: f.method, path: f.path, status: f.status, duration: f.duration,
		clientIP: f.clientIP, requestID: f.requestID, user: f.user,
	}
	b := h.getBuffers()
	if f.rawQuery != "" {
		b.query = appendRedactedQuery(b.query[:0], f.rawQuery, "token")
		r.hasQuery, r.query = true, b.query
	}
	h.writeAccess(context.Background(), &r, b)
	h.putBuffers(b)
	return buf.Bytes()
}

// checkSameAsSlog fails unless the encoder writes, in both formats, what slog writes for f.
func checkSameAsSlog(t *testing.T, f accessFields) {
	t.Helper()
	for _, format := range []string{"text", "json"} {
		want := slogLine(t, format, f)
		for _, primed := range []bool{false, true} {
			if got := encodedLine(t, format, f, primed); !bytes.Equal(got, want) {
				t.Errorf("%s line (primed %v) differs from slog's for %+v\n got %q\nwant %q", format, primed, f, got, want)
			}
		}
	}
}

// awkwardStrings are values every string field is tried with: what needs quoting or escaping in
// text or JSON, and what the fast paths hand to slog's rule.
var awkwardStrings = []string{
	"", "&", "&&", "a=1&", ";", "plain", "a b", "a=b", `a"b`, `a\b`, "a\nb", "a\rb", "a\tb", "\x00", "\x01\x07\x08\x0b\x0c\x1b\x1f",
	"\x7f", "DEL\x7fin", "é", "naïve", "日本", "\u00a0", "\u2028", "\u2029", "a\u2028b", "\xff", "a\xffb",
	"\xc3", "\xc3(", "\xed\xa0\x80", "\U0001F600", "\u200b", "\ufeff", "µs", "<&>", "'", "=", " ",
	"token=REDACTED", "a=1&token=eyJhbGciOiJIUzI1NiJ9.x.y", strings.Repeat("x", 300),
}

// TestAccessLogMatchesSlog: for awkward values in every field, both formats, times in several
// zones and durations of every unit, the encoder writes byte for byte what slog writes.
func TestAccessLogMatchesSlog(t *testing.T) {
	base := accessFields{
		method: "GET", path: "/protected", rawQuery: "a=1&token=secret", status: 200,
		duration: 1234567 * time.Nanosecond, clientIP: "192.0.2.1", requestID: "9f86d081884c-1a",
		user: "alice", time: time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC),
	}
	checkSameAsSlog(t, base)
	for _, s := range awkwardStrings {
		for _, set := range []func(*accessFields){
			func(f *accessFields) { f.method = s },
			func(f *accessFields) { f.path = s },
			func(f *accessFields) { f.rawQuery = s },
			func(f *accessFields) { f.rawQuery = "q=" + s },
			func(f *accessFields) { f.clientIP = s },
			func(f *accessFields) { f.requestID = s },
			func(f *accessFields) { f.user = s },
		} {
			f := base
			set(&f)
			checkSameAsSlog(t, f)
		}
	}
	for _, d := range []time.Duration{0, 1, 999, 1000, 1001, 1500 * time.Microsecond, time.Second,
		90 * time.Minute, -time.Millisecond, math.MaxInt64, math.MinInt64} {
		f := base
		f.duration = d
		checkSameAsSlog(t, f)
	}
	for _, status := range []int{0, -1, 99, 200, 404, 500, 1 << 40} {
		f := base
		f.status = status
		checkSameAsSlog(t, f)
	}
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("", 7*3600), time.FixedZone("", -(9*3600 + 30*60)),
		time.FixedZone("LMT", 17*60+30)}
	times := []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 1, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 999500000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 100000000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), // outside RFC 3339: slog's JSON adds an error; handed to slog
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Now(),
		{}, // zero: slog omits the time
	}
	for _, tm := range times {
		for _, z := range zones {
			f := base
			f.time = tm
			if !tm.IsZero() {
				f.time = tm.In(z)
			}
			checkSameAsSlog(t, f)
		}
	}
}

// TestAccessLogTimeCache: one handler, lines whose times move within a second, across seconds,
// between zones and back: each matches slog's line for its own time.
func TestAccessLogTimeCache(t *testing.T) {
	t0 := time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)
	east := time.FixedZone("", 5*3600+45*60)
	times := []time.Time{t0, t0.Add(1), t0.Add(999 * time.Millisecond), t0.Add(time.Second), t0.Add(time.Second + 5*time.Millisecond),
		t0.In(east), t0, t0.In(time.Local), t0.Add(-time.Nanosecond), t0.Add(time.Hour).In(east)}
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		h := NewLogHandler(&buf, format, nil)
		for _, tm := range times {
			buf.Reset()
			f := accessFields{method: "GET", path: "/", status: 200, clientIP: "::1", time: tm}
			r := accessRecord{time: tm, method: f.method, path: f.path, status: f.status, clientIP: f.clientIP}
			h.writeAccess(context.Background(), &r, h.getBuffers())
			if want := slogLine(t, format, f); !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s %v:\n got %q\nwant %q", format, tm, buf.Bytes(), want)
			}
		}
	}
}

// TestAccessLogLevel: nothing is written when info is disabled, through either path.
func TestAccessLogLevel(t *testing.T) {
	for _, fast := range []bool{true, false} {
		var buf bytes.Buffer
		opts := &slog.HandlerOptions{Level: slog.LevelWarn}
		var h slog.Handler = NewLogHandler(&buf, "text", opts)
		if !fast {
			h = slog.NewTextHandler(&buf, opts)
		}
		serveAccess(t, slog.New(h), "/x?token=abc")
		if buf.Len() != 0 {
			t.Errorf("fast=%v: wrote %q at level warn, want nothing", fast, buf.String())
		}
	}
}

// serveAccess runs one request for target through RequestID and AccessLog(log).
func serveAccess(t testing.TB, log *slog.Logger, target string, header ...string) {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(RequestID(), AccessLog(log, "token"))
	r.GET("/*any", func(c *gin.Context) {
		if u := c.Query("as"); u != "" {
			SetUser(c, u)
		}
		c.Status(http.StatusTeapot)
	})
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r.ServeHTTP(httptest.NewRecorder(), req)
}

// volatile matches the two fields that differ between two runs of one request.
var volatile = regexp.MustCompile(`time=\S+|duration=\S+|"time":"[^"]*"|"duration":\d+`)

// TestAccessLogFastPathMatchesSlogPath: whole requests through AccessLog write the same line
// under a LogHandler (its encoder) as under slog's plain handler, time and duration aside; the
// token is redacted in both.
func TestAccessLogFastPathMatchesSlogPath(t *testing.T) {
	targets := []string{
		"/protected", "/protected?token=eyJhbGciOiJIUzI1NiJ9.e30.sig", "/a%20b?x=1;token=t&as=al%22ice",
		"/p?q=%E2%80%A8&as=%C3%A9", "/p?as=bob", "/%ff?%ff=%00",
	}
	for _, format := range []string{"text", "json"} {
		for _, target := range targets {
			var fast, slow bytes.Buffer
			serveAccess(t, slog.New(NewLogHandler(&fast, format, nil)), target, RequestIDHeader, "req-1")
			var h slog.Handler = slog.NewTextHandler(&slow, nil)
			if format == "json" {
				h = slog.NewJSONHandler(&slow, nil)
			}
			serveAccess(t, slog.New(h), target, RequestIDHeader, "req-1")
			got, want := volatile.ReplaceAll(fast.Bytes(), nil), volatile.ReplaceAll(slow.Bytes(), nil)
			if !bytes.Equal(got, want) {
				t.Errorf("%s %s:\n got %q\nwant %q", format, target, got, want)
			}
			if strings.Contains(fast.String(), "eyJ") || strings.Count(fast.String(), "\n") != 1 {
				t.Errorf("%s %s: want one line with the token redacted, got %q", format, target, fast.String())
			}
		}
	}
}

// TestAccessLogOptionsFallBack: with ReplaceAttr (which can change any field), AccessLog hands the
// record to slog, so the option is honoured.
func TestAccessLogOptionsFallBack(t *testing.T) {
	var buf bytes.Buffer
	opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "path" {
			a.Value = slog.StringValue("replaced")
		}
		return a
	}}
	serveAccess(t, slog.New(NewLogHandler(&buf, "text", opts)), "/x")
	if !strings.Contains(buf.String(), " path=replaced ") {
		t.Errorf("ReplaceAttr not applied: %q", buf.String())
	}
}

// TestAccessLogDoesNotAllocate: an access line with a query to redact costs no allocation in the
// encoder and the batch (the pooled buffers are warm after the first line).
func TestAccessLogDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, format := range []string{"text", "json"} {
		h := NewLogHandler(NewLogWriter(io.Discard, time.Hour), format, nil)
		now := time.Now()
		allocs := testing.AllocsPerRun(100, func() {
			b := h.getBuffers()
			r := accessRecord{time: now, method: "GET", path: "/protected", status: 200, duration: 1500,
				clientIP: "192.0.2.1", requestID: "9f86d081884c-1a", user: "alice"}
			b.query = appendRedactedQuery(b.query[:0], "a=1&token=eyJhbGciOiJIUzI1NiJ9.e30.sig", "token")
			r.hasQuery, r.query = true, b.query
			h.writeAccess(context.Background(), &r, b)
			h.putBuffers(b)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per line, want 0", format, allocs)
		}
	}
}

// FuzzAccessLogMatchesSlog: for any method, path, query, status, duration, client IP, request id,
// user and time (in any fixed zone), the line the access log's encoder writes equals, byte for
// byte, what slog's text and JSON handlers write for the same record; the query is redacted alike.
func FuzzAccessLogMatchesSlog(f *testing.F) {
	const day = 24 * 3600
	ns := time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC).UnixNano()
	f.Add("GET", "/protected", "", 200, int64(1234567), "192.0.2.1", "9f86d081884c-1a", "alice", ns, 0)
	f.Add("POST", "/login", "a=1&token=secret", 401, int64(999), "::1", "", "", ns, 3600)
	f.Add("GET", "/a b", "x=\"y\"", 404, int64(0), "", "id=1", "bob smith", ns, -5*3600-1800)
	f.Add("GE\nT", "/p\x00", "q=\xff", 500, int64(-1), "\u2028", "\\", "é", int64(0), 17*60+30)
	f.Add("GET", "/", "%74oken=eyJ.x.y;a=1", 0, int64(math.MaxInt64), "\x7f", "\t", "日本\u2029", int64(-1), day-1)
	f.Add("", "", "&&;", -7, int64(math.MinInt64), "=", " ", "\"", int64(1), -day+1)
	f.Fuzz(func(t *testing.T, method, path, query string, status int, duration int64,
		clientIP, requestID, user string, unixNano int64, zoneOffset int) {
		zone := time.FixedZone("", zoneOffset%day) // within ±24h, as real zones are
		checkSameAsSlog(t, accessFields{
			method: method, path: path, rawQuery: query, status: status, duration: time.Duration(duration),
			clientIP: clientIP, requestID: requestID, user: user, time: time.Unix(0, unixNano).In(zone),
		})
	})
}
