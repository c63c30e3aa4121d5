package middleware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/token"
)

// requestInfo is what this package records about one request: its id, the user it acts for and,
// behind Auth, the verified claims. It lives in the request's infoWriter (see infoOf).
type requestInfo struct {
	idHeader [1]string // the request id: the X-Request-Id response header value, in this same allocation
	user     string
	claims   *token.Claims // behind Auth; may be the verified-token cache's own: read only
	finished bool          // took is set (Finish)
	ctx      claimsContext // the request's context.Context carrying claims (ClaimsFromContext)
	start    time.Time     // Arrival
	took     time.Duration // Finish: the request ended at start+took
}

// id returns the request's id ("" when RequestID did not run).
func (ri *requestInfo) id() string { return ri.idHeader[0] }

// Arrival returns the time the request arrived. The first call for a request reads the clock
// (AccessLog makes it as the request comes in); later calls return that same time. The access log,
// the metrics and Auth's expiry check of a cached token share this one reading: on a VM a
// reading can cost 0.1 µs, more than a whole cached verification.
func Arrival(c *gin.Context) time.Time { return infoOf(c).arrival() }

func (ri *requestInfo) arrival() time.Time {
	if ri.start.IsZero() {
		ri.start = time.Now()
	}
	return ri.start
}

// Finish returns the time the request finished and how long it took since Arrival. Call it once
// the handlers have run (after c.Next): the first call reads the clock, later calls return the
// same answer, so that the metrics and the access log report the same duration.
func Finish(c *gin.Context) (time.Time, time.Duration) {
	ri := infoOf(c)
	start := ri.arrival()
	if !ri.finished {
		// One reading of the monotonic clock (time.Now reads two clocks).
		ri.took, ri.finished = time.Since(start), true
	}
	return start.Add(ri.took), ri.took
}

// infoWriter is the request's gin.ResponseWriter wrapped with its requestInfo. Keeping the record
// here rather than in the Gin context (c.Set) saves the Keys map Gin would allocate for every
// request, and the lock around each c.Get: the record is one allocation, found with a type
// assertion. Gin gives each request a fresh Writer, so a record never outlives its request. Every
// method of gin.ResponseWriter passes through unchanged.
type infoWriter struct {
	gin.ResponseWriter
	info requestInfo
}

// infoOf returns the request's *requestInfo, making it when no middleware of this package has yet.
func infoOf(c *gin.Context) *requestInfo {
	if w, ok := c.Writer.(*infoWriter); ok {
		return &w.info
	}
	w := &infoWriter{ResponseWriter: c.Writer}
	c.Writer = w
	return &w.info
}

// peekInfo returns the request's *requestInfo, or nil when none was made.
func peekInfo(c *gin.Context) *requestInfo {
	if w, ok := c.Writer.(*infoWriter); ok {
		return &w.info
	}
	return nil
}

// claimsContext is a request context that also answers ClaimsFromContext. It lives inside the
// requestInfo, so that Auth's context costs no allocation of its own (context.WithValue would).
type claimsContext struct {
	context.Context
	claims *token.Claims
}

func (c *claimsContext) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return c.claims
	}
	return c.Context.Value(key)
}

// idSource makes request ids: a random per-process prefix and a counter. crypto/rand per request
// costs a system call's worth of CPU on a route that should cost next to nothing; ids need to be
// unique, not secret. Two processes share a prefix with probability 2^-48.
type idSource struct {
	prefix [13]byte // 12 hex digits and '-'
	n      atomic.Uint64
}

func newIDSource() *idSource {
	s := &idSource{}
	var b [6]byte
	_, _ = rand.Read(b[:])
	hex.Encode(s.prefix[:12], b[:])
	s.prefix[12] = '-'
	return s
}

// next returns a new id, e.g. "9f86d081884c-1a".
func (s *idSource) next() string {
	var buf [13 + 16]byte
	b := append(buf[:0], s.prefix[:]...)
	b = strconv.AppendUint(b, s.n.Add(1), 16)
	return string(b)
}
