package middleware

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// TestRequestClock: a request's arrival and finish are each read once, so the access log's time
// and duration are exactly what an inner middleware (the metrics, in routes) sees.
func TestRequestClock(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	var buf bytes.Buffer
	var arrived, inHandler, end, end2 time.Time
	var took, took2 time.Duration
	r := gin.New()
	r.Use(RequestID(), AccessLog(slog.New(slog.NewJSONHandler(&buf, nil)), "token"), func(c *gin.Context) {
		arrived = Arrival(c)
		c.Next()
		end, took = Finish(c)
		end2, took2 = Finish(c)
	})
	r.GET("/p", func(c *gin.Context) {
		inHandler = Arrival(c)
		c.Status(http.StatusNoContent)
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/p", nil))

	if arrived.IsZero() || !inHandler.Equal(arrived) {
		t.Fatalf("arrival %v, in the handler %v: want one reading", arrived, inHandler)
	}
	if !end.Equal(end2) || took != took2 || took < 0 || end.Sub(arrived) != took {
		t.Fatalf("finish %v %v, again %v %v, arrival %v", end, took, end2, took2, arrived)
	}
	var line struct {
		Time     time.Time `json:"time"`
		Duration int64     `json:"duration"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %q", err, buf.String())
	}
	if !line.Time.Equal(end) || time.Duration(line.Duration) != took {
		t.Errorf("access log time %v duration %d, want %v %d", line.Time, line.Duration, end, took)
	}
}

// TestRequestClockWithoutAccessLog: without AccessLog, the first Arrival reads the clock.
func TestRequestClockWithoutAccessLog(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	var first, second time.Time
	var took time.Duration
	r := gin.New()
	r.GET("/p", func(c *gin.Context) {
		first = Arrival(c)
		second = Arrival(c)
		_, took = Finish(c)
		c.Status(http.StatusNoContent)
	})
	before := time.Now()
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/p", nil))
	if first.Before(before) || !second.Equal(first) || took < 0 {
		t.Fatalf("arrival %v then %v (request sent at %v), took %v", first, second, before, took)
	}
}
