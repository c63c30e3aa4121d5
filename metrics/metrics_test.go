package metrics

import (
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// series returns every sample of the metric family name as "label=value,…" → value (counters)
// or sample count (histograms).
func series(t *testing.T, m *Metrics, name string) map[string]float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			v := s.GetCounter().GetValue()
			if h := s.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[strings.Join(labels, ",")] = v
		}
	}
	return out
}

// TestRequestCounts: the cached label children count into the same series WithLabelValues
// names, from many goroutines at once; unknown methods and unmatched routes are folded.
func TestRequestCounts(t *testing.T) {
	m := New()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				m.Request("/protected", "GET", 200, time.Millisecond)
				m.Request("/protected", "GET", 401, time.Millisecond)
				m.Request("", "BREW", 404, time.Millisecond)
				m.Verify("valid")
				m.Verify("something new")
			}
		}()
	}
	wg.Wait()
	want := map[string]float64{
		"method=GET,route=/protected,status=200":  800,
		"method=GET,route=/protected,status=401":  800,
		"method=other,route=unmatched,status=404": 800,
	}
	assertSeries(t, series(t, m, "tokengate_http_requests_total"), want)
	assertSeries(t, series(t, m, "tokengate_http_request_duration_seconds"), map[string]float64{
		"route=/protected,status=200": 800, "route=/protected,status=401": 800, "route=unmatched,status=404": 800,
	})
	// Every known outcome is exported from the start (at 0 until it happens); an unknown one is
	// counted as "other", so the label space stays fixed.
	assertSeries(t, series(t, m, "tokengate_token_verifications_total"), map[string]float64{
		"outcome=valid": 800, "outcome=other": 800, "outcome=invalid": 0, "outcome=revoked": 0,
		"outcome=expired": 0, "outcome=unavailable": 0,
	})
}

func assertSeries(t *testing.T, got, want map[string]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("series = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func BenchmarkRequest(b *testing.B) {
	m := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Request("/protected", "GET", 200, time.Millisecond)
			m.Verify("valid")
		}
	})
}

// TestGatewayDecisions: every known outcome has its series from the start (a dashboard shows 0,
// not nothing); an unknown outcome is folded into "other".
func TestGatewayDecisions(t *testing.T) {
	m := New()
	m.Gateway("allowed")
	m.Gateway("allowed")
	m.Gateway("access_denied")
	m.Gateway("no such outcome")
	want := map[string]float64{"outcome=other": 1}
	for _, o := range GatewayOutcomes {
		want["outcome="+o] = 0
	}
	want["outcome=allowed"] = 2
	want["outcome=access_denied"] = 1
	assertSeries(t, series(t, m, "tokengate_gateway_decisions_total"), want)
}
