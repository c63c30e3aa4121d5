package middleware

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// LogHandler is a slog.Handler that writes every record exactly as slog.NewTextHandler (format
// "text") or slog.NewJSONHandler ("json") would, to a *LogWriter. Records logged through it go to
// the LogWriter's Write: at once, after any pending access lines. AccessLog recognises a logger
// whose handler is a *LogHandler and writes its lines itself, byte for byte what slog would have
// written for the same record, without building a slog.Record, and as batched lines of the
// LogWriter (see NewLogWriter).
//
// Loggers derived with With or WithGroup use the plain slog handler (their records go to the same
// LogWriter, at once); AccessLog uses its own encoder only under the LogHandler itself.
type LogHandler struct {
	base   slog.Handler // slog's own handler: every record that is not an access line
	out    *LogWriter
	json   bool
	fast   bool // the options change nothing in an access line: AccessLog may encode it
	lines  sync.Pool
	second atomic.Pointer[secondStamp] // the last second formatted, for the next line's time
}

// NewLogHandler returns a LogHandler in format "json" (slog.NewJSONHandler) or anything else
// ("text", slog.NewTextHandler) with opts (nil means slog's defaults), writing to w. When w is not
// a *LogWriter, it is wrapped in one that batches nothing (NewLogWriter(w, 0)), which also
// serialises AccessLog's writes with slog's.
//
// With opts.ReplaceAttr or opts.AddSource set, AccessLog hands its records to slog instead of
// encoding them itself.
func NewLogHandler(w io.Writer, format string, opts *slog.HandlerOptions) *LogHandler {
	out, ok := w.(*LogWriter)
	if !ok {
		out = NewLogWriter(w, 0)
	}
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	h := &LogHandler{out: out, json: format == "json", fast: opts.ReplaceAttr == nil && !opts.AddSource}
	if h.json {
		h.base = slog.NewJSONHandler(out, opts)
	} else {
		h.base = slog.NewTextHandler(out, opts)
	}
	h.lines.New = func() any { return new(lineBuffers) }
	return h
}

// Enabled reports whether slog's handler handles records at level.
func (h *LogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.base.Enabled(ctx, level)
}

// Handle writes r as slog's handler does, at once (after any pending access lines).
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error { return h.base.Handle(ctx, r) }

// WithAttrs returns slog's handler with attrs; its records go to the same LogWriter.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.base.WithAttrs(attrs) }

// WithGroup returns slog's handler with the group; its records go to the same LogWriter.
func (h *LogHandler) WithGroup(name string) slog.Handler { return h.base.WithGroup(name) }

// lineBuffers are AccessLog's pooled scratch buffers: the redacted query and the encoded line.
type lineBuffers struct {
	query, line []byte
}

// maxPooledLine: buffers grown by a huge request (a 64 KiB query) are dropped, not pooled.
const maxPooledLine = 16 << 10

func (h *LogHandler) getBuffers() *lineBuffers { return h.lines.Get().(*lineBuffers) }

func (h *LogHandler) putBuffers(b *lineBuffers) {
	if cap(b.query) > maxPooledLine || cap(b.line) > maxPooledLine {
		return
	}
	b.query, b.line = b.query[:0], b.line[:0]
	h.lines.Put(b)
}

// accessRecord is one access line: the fields in the order they are logged.
type accessRecord struct {
	time      time.Time
	method    string
	path      string
	hasQuery  bool   // the request has a query: query is logged, even when empty ("&" redacts to "")
	query     []byte // redacted
	status    int
	duration  time.Duration
	clientIP  string
	requestID string
	user      string // omitted when empty
}

// slogRecord returns r as the slog.Record AccessLog logs: level info, message "request", no PC.
// query is r.query as a string (the caller may have it as one already).
func (r *accessRecord) slogRecord(query string) slog.Record {
	var buf [8]slog.Attr // AddAttrs copies them: no heap slice
	attrs := append(buf[:0],
		slog.String("method", r.method),
		slog.String("path", r.path),
	)
	if r.hasQuery {
		attrs = append(attrs, slog.String("query", query))
	}
	attrs = append(attrs,
		slog.Int("status", r.status),
		slog.Duration("duration", r.duration),
		slog.String("client_ip", r.clientIP),
		slog.String("request_id", r.requestID),
	)
	if r.user != "" {
		attrs = append(attrs, slog.String("user", r.user))
	}
	rec := slog.NewRecord(r.time, slog.LevelInfo, "request", 0)
	rec.AddAttrs(attrs...)
	return rec
}

// writeAccess writes r as one batched line, encoded as the slog handler would encode
// r.slogRecord; b supplies the line buffer. A time the encoder does not format as slog does (a
// year outside 0–9999, where slog's JSON handler appends an error) goes to slog itself.
func (h *LogHandler) writeAccess(ctx context.Context, r *accessRecord, b *lineBuffers) {
	var s *secondStamp
	if h.fast && !r.time.IsZero() {
		s = h.stamp(r.time)
	}
	if !h.fast || s == nil && !r.time.IsZero() {
		_ = h.base.Handle(ctx, r.slogRecord(string(r.query)))
		return
	}
	if h.json {
		b.line = appendAccessJSON(b.line[:0], r, s)
	} else {
		b.line = appendAccessText(b.line[:0], r, s)
	}
	h.out.writeLine(b.line)
}

// secondStamp is one second of one location formatted as RFC 3339, split around where the
// fraction goes: "2006-01-02T15:04:05" and "Z" or "-07:00". Formatting the date and zone takes
// about a third of an access line; requests arrive many times a second, so it is done once a second.
type secondStamp struct {
	unix   int64
	loc    *time.Location
	prefix string
	zone   string
}

// stamp returns t's second formatted, or nil when t's year is outside 0–9999.
func (h *LogHandler) stamp(t time.Time) *secondStamp {
	unix, loc := t.Unix(), t.Location()
	if s := h.second.Load(); s != nil && s.unix == unix && s.loc == loc {
		return s
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return nil
	}
	const prefixLen = len("2006-01-02T15:04:05")
	str := t.Truncate(time.Second).Format(time.RFC3339)
	s := &secondStamp{unix: unix, loc: loc, prefix: str[:prefixLen], zone: str[prefixLen:]}
	h.second.Store(s)
	return s
}

// appendAccessText appends r as slog.TextHandler writes r.slogRecord; s is r.time's second (nil
// when r.time is zero).
func appendAccessText(b []byte, r *accessRecord, s *secondStamp) []byte {
	if !r.time.IsZero() {
		// slog's appendRFC3339Millis: three digits of milliseconds, truncated.
		b = append(b, "time="...)
		b = append(b, s.prefix...)
		ms := r.time.Nanosecond() / 1e6
		b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
		b = append(b, s.zone...)
		b = append(b, ' ')
	}
	b = append(b, "level=INFO msg=request method="...)
	b = appendSlogTextString(b, r.method)
	b = append(b, " path="...)
	b = appendSlogTextString(b, r.path)
	if r.hasQuery {
		b = append(b, " query="...)
		b = appendSlogTextString(b, r.query)
	}
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(r.status), 10)
	b = append(b, " duration="...)
	b = append(b, r.duration.String()...) // slog writes a Duration's String unquoted
	b = append(b, " client_ip="...)
	b = appendSlogTextString(b, r.clientIP)
	b = append(b, " request_id="...)
	b = appendSlogTextString(b, r.requestID)
	if r.user != "" {
		b = append(b, " user="...)
		b = appendSlogTextString(b, r.user)
	}
	return append(b, '\n')
}

// appendAccessJSON appends r as slog.JSONHandler writes r.slogRecord; s is r.time's second (nil
// when r.time is zero).
func appendAccessJSON(b []byte, r *accessRecord, s *secondStamp) []byte {
	b = append(b, '{')
	if !r.time.IsZero() {
		// time.RFC3339Nano: the fraction without trailing zeros, none at all when it is zero.
		b = append(b, `"time":"`...)
		b = append(b, s.prefix...)
		b = appendNanoFraction(b, r.time.Nanosecond())
		b = append(b, s.zone...)
		b = append(b, `",`...)
	}
	b = append(b, `"level":"INFO","msg":"request","method":`...)
	b = appendSlogJSONString(b, r.method)
	b = append(b, `,"path":`...)
	b = appendSlogJSONString(b, r.path)
	if r.hasQuery {
		b = append(b, `,"query":`...)
		b = appendSlogJSONString(b, r.query)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.status), 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(r.duration), 10) // as json.Marshal writes a Duration
	b = append(b, `,"client_ip":`...)
	b = appendSlogJSONString(b, r.clientIP)
	b = append(b, `,"request_id":`...)
	b = appendSlogJSONString(b, r.requestID)
	if r.user != "" {
		b = append(b, `,"user":`...)
		b = appendSlogJSONString(b, r.user)
	}
	return append(b, "}\n"...)
}

// appendNanoFraction appends ns (0 to 999999999) as time.RFC3339Nano's ".999999999" writes it:
// a point and up to nine digits without trailing zeros; nothing for 0.
func appendNanoFraction(b []byte, ns int) []byte {
	if ns == 0 {
		return b
	}
	var d [10]byte
	d[0] = '.'
	for i := 9; i > 0; i-- {
		d[i] = byte('0' + ns%10)
		ns /= 10
	}
	n := 10
	for d[n-1] == '0' {
		n--
	}
	return append(b, d[:n]...)
}

// textByte classifies an ASCII byte for slog's text handler: textPlain bytes are written as they
// are; a value with a textQuote byte is quoted (slog's needsQuoting: space, '=', '"' and the
// control characters; DEL and '\\' are not); non-ASCII bytes take the exact, slower path.
const (
	textPlain = iota
	textQuote
	textNonASCII
)

var textClass = func() (c [256]uint8) {
	for i := range c {
		switch {
		case i >= utf8.RuneSelf:
			c[i] = textNonASCII
		case i <= ' ' || i == '=' || i == '"':
			c[i] = textQuote
		}
	}
	return c
}()

// appendSlogTextString appends s as slog's text handler writes a string value: as it is, or quoted
// with strconv.Quote when needsQuoting says so. ASCII is handled here without allocating (s may be
// a pooled []byte); anything else goes through slog's own rule.
func appendSlogTextString[S ~string | ~[]byte](b []byte, s S) []byte {
	if len(s) == 0 {
		return append(b, `""`...)
	}
	quote := false
	for i := 0; i < len(s); i++ {
		switch textClass[s[i]] {
		case textQuote:
			quote = true
		case textNonASCII:
			return appendSlogTextStringSlow(b, string(s))
		}
	}
	if !quote {
		return append(b, s...)
	}
	// strconv.AppendQuote of an ASCII string: '"' and '\\' backslashed, printable bytes as they
	// are, the rest escaped.
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= ' ' && c < 0x7f:
			b = append(b, c)
		default:
			b = appendQuotedControl(b, c)
		}
	}
	return append(b, '"')
}

// appendQuotedControl appends strconv's escape of an ASCII control character or DEL.
func appendQuotedControl(b []byte, c byte) []byte {
	switch c {
	case '\a':
		return append(b, `\a`...)
	case '\b':
		return append(b, `\b`...)
	case '\f':
		return append(b, `\f`...)
	case '\n':
		return append(b, `\n`...)
	case '\r':
		return append(b, `\r`...)
	case '\t':
		return append(b, `\t`...)
	case '\v':
		return append(b, `\v`...)
	}
	return append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xF])
}

const hexDigits = "0123456789abcdef"

// appendSlogTextStringSlow is slog's text rule for any string.
func appendSlogTextStringSlow(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuoting is log/slog's (text_handler.go).
func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			// Quote anything except a backslash that would need quoting in a
			// JSON string, as well as space and '='
			if b != '\\' && (b == ' ' || b == '=' || !jsonSafe(b)) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// jsonSafe reports whether the ASCII byte b goes into a JSON string unescaped (encoding/json's
// safeSet: all but the control characters, '"' and '\\').
func jsonSafe(b byte) bool { return b >= ' ' && b != '"' && b != '\\' }

// appendSlogJSONString appends s as slog's JSON handler writes a string: quoted, escaped as
// encoding/json escapes it without HTML escaping. ASCII is handled here without allocating; the
// rest goes through slog's own escaper.
func appendSlogJSONString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			b = appendEscapedJSONString(b, string(s))
			return append(b, '"')
		}
	}
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if jsonSafe(c) {
			continue
		}
		b = append(b, s[start:i]...)
		b = appendJSONEscape(b, c)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONEscape appends encoding/json's escape of the ASCII byte c, one of '"', '\\' or a
// control character.
func appendJSONEscape(b []byte, c byte) []byte {
	switch c {
	case '\\', '"':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}

// appendEscapedJSONString is log/slog's (json_handler.go, from encoding/json's encodeState.string
// without HTML escaping): s escaped for a JSON string, without the quotation marks.
func appendEscapedJSONString(buf []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if jsonSafe(b) {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			buf = appendJSONEscape(buf, b)
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR are valid in JSON strings but not
		// in JavaScript (JSONP); encoding/json and slog escape them unconditionally.
		if c == '\u2028' || c == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(buf, s[start:]...)
}
