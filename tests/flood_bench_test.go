package tests

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkProtectedDuringLoginFlood measures /protected (p50, p99, requests/s) on an idle server
// and during a flood of 64 concurrent bad logins against cost-10 bcrypt hashes. bcrypt runs on at
// most login.max_concurrent_hashes goroutines (default half of GOMAXPROCS) and logins beyond that
// wait then get 503, so verification keeps its share of the CPU. The binary is built without the
// race detector (unless TOKENGATE_TEST_RACE is set), as production is:
//
//	go test ./tests -run '^$' -bench LoginFlood -benchtime 2000x
func BenchmarkProtectedDuringLoginFlood(b *testing.B) {
	users := []user{{name: "alice", password: "flood-password"}}
	s := startServer(b, conf{
		store: memoryStore(b, users, 10),
		extra: "login:\n  max_failures: 100000000\n  hash_wait: 200ms\n",
	}.yaml(b))
	tok := s.accessToken(b, "alice", "flood-password")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.Cleanup(client.CloseIdleConnections) // before the server stops (see server.stop)

	for _, flood := range []int{0, 64} {
		b.Run(fmt.Sprintf("flood=%d", flood), func(b *testing.B) {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var logins, overloaded atomic.Int64
			// The flood is up once every flooder has had an answer (and so keeps a request in flight).
			var up sync.WaitGroup
			up.Add(flood)
			for i := 0; i < flood; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answered := false
					for {
						select {
						case <-stop:
							return
						default:
						}
						req, _ := http.NewRequest("GET", s.URL+"/login", nil)
						req.SetBasicAuth("alice", "wrong-password")
						resp, err := client.Do(req)
						if !answered {
							answered = true
							up.Done()
						}
						if err != nil {
							continue
						}
						resp.Body.Close()
						logins.Add(1)
						if resp.StatusCode == 503 {
							overloaded.Add(1)
						}
					}
				}()
			}
			up.Wait()
			lat := make([]time.Duration, 0, b.N)
			var mu sync.Mutex
			start := time.Now()
			b.ResetTimer()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				local := make([]time.Duration, 0, 1024)
				for pb.Next() {
					req, _ := http.NewRequest("GET", s.URL+"/protected", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					resp.Body.Close()
					local = append(local, time.Since(t0))
					if resp.StatusCode != 200 {
						b.Errorf("/protected = %d", resp.StatusCode)
						return
					}
				}
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			close(stop)
			wg.Wait()
			slices.Sort(lat)
			if len(lat) == 0 {
				return
			}
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			if flood > 0 {
				b.ReportMetric(float64(logins.Load())/elapsed.Seconds(), "logins/s")
				b.ReportMetric(float64(overloaded.Load())/elapsed.Seconds(), "503/s")
			}
		})
	}
}
