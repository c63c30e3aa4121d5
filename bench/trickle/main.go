// Command trickle is the login side of bench/run.sh's "logins under API load" measurement: it logs
// in at a steady rate (open loop: a login is sent on every tick, whether or not the ones before it
// have been answered, as independent users would), and reports which fraction answered 200 within
// a deadline and the distribution of the latencies.
//
//	trickle -url http://127.0.0.1:8080/login -user alice -password PW [-rate 4] [-duration 10s]
//	        [-within 2s] [-timeout 10s] [-out FILE]
//
// The logins are GET requests with HTTP Basic credentials (the seed's /login). It prints one line:
//
//	trickle: sent=40 ok=39 fraction=0.975 within=2s p50_ms=… p90_ms=… p99_ms=… max_ms=… statuses=200:40
//
// where ok counts the 200s answered within the deadline, and the latencies are those of every login
// (a transport error or timeout counts as status 0 with the time it took). -out writes one line
// "status latency_ms" per login, so that runs can be pooled.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// result is one login: its HTTP status (0 when no answer came) and how long it took.
type result struct {
	status  int
	latency time.Duration
}

func main() {
	url := flag.String("url", "", "login URL (required)")
	user := flag.String("user", "", "user name (required)")
	password := flag.String("password", "", "password (required)")
	rate := flag.Float64("rate", 4, "logins per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send logins")
	within := flag.Duration("within", 2*time.Second, "a 200 counts as ok when answered within this")
	timeout := flag.Duration("timeout", 10*time.Second, "give up on a login after this")
	out := flag.String("out", "", "write \"status latency_ms\" per login to this file")
	flag.Parse()
	if err := run(*url, *user, *password, *rate, *duration, *within, *timeout, *out); err != nil {
		fmt.Fprintln(os.Stderr, "trickle:", err)
		os.Exit(1)
	}
}

func run(url, user, password string, rate float64, duration, within, timeout time.Duration, out string) error {
	if url == "" || user == "" || password == "" {
		return errors.New("-url, -user and -password are required")
	}
	if rate <= 0 || rate > 1000 {
		return errors.New("-rate must be in (0, 1000]")
	}
	if duration <= 0 || duration > time.Hour {
		return errors.New("-duration must be in (0, 1h]")
	}
	client := &http.Client{Timeout: timeout}
	results := send(client, url, user, password, rate, duration)
	if out != "" {
		if err := write(out, results); err != nil {
			return err
		}
	}
	fmt.Println(summarize(results, within))
	return nil
}

// send logs in once per tick for duration and waits for every login to end.
func send(client *http.Client, url, user, password string, rate float64, duration time.Duration) []result {
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return results
		case <-tick.C:
			wg.Go(func() {
				r := login(client, url, user, password)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			})
		}
	}
}

// login sends one login and reads the whole answer.
func login(client *http.Client, url, user, password string) result {
	start := time.Now()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return result{latency: time.Since(start)}
	}
	req.SetBasicAuth(user, password)
	resp, err := client.Do(req)
	if err != nil {
		return result{latency: time.Since(start)}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return result{latency: time.Since(start)}
	}
	return result{status: resp.StatusCode, latency: time.Since(start)}
}

func write(path string, results []result) error {
	var b strings.Builder
	for _, r := range results {
		fmt.Fprintf(&b, "%d %.3f\n", r.status, ms(r.latency))
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// summarize renders the one-line report described in the package comment.
func summarize(results []result, within time.Duration) string {
	ok := 0
	statuses := map[int]int{}
	latencies := make([]time.Duration, 0, len(results))
	for _, r := range results {
		if r.status == http.StatusOK && r.latency <= within {
			ok++
		}
		statuses[r.status]++
		latencies = append(latencies, r.latency)
	}
	slices.Sort(latencies)
	fraction := 0.0
	if len(results) > 0 {
		fraction = float64(ok) / float64(len(results))
	}
	codes := make([]int, 0, len(statuses))
	for c := range statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d:%d", c, statuses[c])
	}
	return fmt.Sprintf("trickle: sent=%d ok=%d fraction=%.3f within=%s p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f statuses=%s",
		len(results), ok, fraction, within,
		ms(percentile(latencies, 50)), ms(percentile(latencies, 90)), ms(percentile(latencies, 99)), ms(percentile(latencies, 100)),
		strings.Join(parts, ","))
}

// percentile is the nearest-rank p-th percentile of sorted (0 when it is empty).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n)
	return sorted[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
