package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokengate/tokengate/token"
)

// maxDiscoveryBytes bounds the discovery document read.
const maxDiscoveryBytes = 64 << 10

// run is the refresh loop: it runs every fetch after the first, when one is due by the key set's
// max-age or a failure's backoff, when an unknown kid asked for one (requestRefresh), or when a
// cooldown with unknown kids ends.
func (v *Verifier) run(ctx context.Context) {
	defer close(v.done)
	defer func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.inflight != nil {
			close(v.inflight)
			v.inflight = nil
		}
		v.stopped = true
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		v.mu.Lock()
		if v.inflight == nil {
			now := v.now()
			wake := v.due
			trailing := v.trailing && v.lastStart.Add(v.o.RefreshCooldown).Before(wake)
			if trailing {
				wake = v.lastStart.Add(v.o.RefreshCooldown)
			}
			if now.Before(wake) {
				v.mu.Unlock()
				timer.Reset(wake.Sub(now))
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				case <-v.kick:
				}
				continue
			}
			switch {
			case trailing:
				v.startLocked("unknown_kid")
				v.unknownRefreshes.Add(1)
			case v.failures > 0:
				v.startLocked("retry")
			default:
				v.startLocked("scheduled")
			}
		}
		v.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		_ = v.fetch(ctx)
	}
}

// fetch runs the fetch marked in flight: the discovery document while it is needed, then the key
// set. It schedules the next fetch (max-age, or backoff after a failure), ends the flight and
// returns the error, if any.
func (v *Verifier) fetch(ctx context.Context) error {
	v.mu.Lock()
	reason := v.reason
	needDiscovery := v.discovery != "" && (v.jwksURL == "" || v.introspect != nil && v.introURL == "")
	v.mu.Unlock()

	var (
		errDiscovery, errJWKS error
		events                []FetchEvent
	)
	if needDiscovery {
		ev := FetchEvent{Document: "discovery", Reason: reason}
		errDiscovery = v.fetchDiscovery(ctx, &ev)
		events = append(events, ev)
	}
	v.mu.Lock()
	jwksURL := v.jwksURL
	v.mu.Unlock()
	refresh := v.o.MinRefresh
	if jwksURL != "" {
		ev := FetchEvent{Document: "jwks", Reason: reason}
		refresh, errJWKS = v.fetchJWKS(ctx, jwksURL, &ev)
		events = append(events, ev)
	}
	err := errors.Join(errDiscovery, errJWKS)
	if jwksURL == "" && err == nil {
		err = errors.New("no jwks_uri")
	}
	// The hooks hear of the fetch once the Verifier is in its new state.
	defer func() {
		if h := v.o.Hooks.Fetch; h != nil {
			keys := len(v.KeyIDs())
			for _, ev := range events {
				ev.Keys = keys
				h(ev)
			}
		}
	}()

	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if err != nil {
		v.failures++
		wait := backoff(v.failures, v.o.MinRefresh)
		v.due = now.Add(wait)
		v.log.Warn("verify: cannot refresh tokengate's keys; keeping the last good ones", "err", err, "retry_in", wait.Round(time.Millisecond).String(), "keys", len(v.KeyIDs()))
	} else {
		v.failures = 0
		v.due = now.Add(refresh)
	}
	close(v.inflight)
	v.inflight = nil
	return err
}

// backoff is the wait after the n-th failure in a row: 1 s doubling up to the smaller of
// maxBackoff and ceiling, less up to a tenth at random so that many services do not retry in step.
func backoff(n int, ceiling time.Duration) time.Duration {
	d := min(maxBackoff, ceiling)
	if n < 32 {
		d = min(d, time.Second<<(n-1))
	}
	return d - rand.N(d/10+1)
}

// discoveryDoc is what is read of the discovery document.
type discoveryDoc struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// fetchDiscovery reads the discovery document and takes the URLs it needs from it; ev receives
// the outcome.
func (v *Verifier) fetchDiscovery(ctx context.Context, ev *FetchEvent) (err error) {
	start := time.Now()
	defer func() {
		v.discoveryFetches.Add(1)
		if err != nil {
			v.discoveryFailures.Add(1)
		}
		ev.Err, ev.Duration = err, time.Since(start)
	}()
	resp, err := v.get(ctx, v.discovery, nil)
	if err != nil {
		return fmt.Errorf("discovery document: %w", err)
	}
	defer resp.Body.Close()
	ev.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("discovery document %s: status %d", v.discovery, resp.StatusCode)
	}
	body, err := readLimited(resp.Body, maxDiscoveryBytes)
	if err != nil {
		return fmt.Errorf("discovery document %s: %w", v.discovery, err)
	}
	var doc discoveryDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("discovery document %s is not JSON", v.discovery)
	}
	if doc.Issuer != v.issuer {
		return fmt.Errorf("%w: %q, want %q (set TokenIssuer to the issuer tokengate names)", ErrIssuerMismatch, doc.Issuer, v.issuer)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.jwksURL == "" {
		if !httpURL(doc.JWKSURI) {
			return fmt.Errorf("discovery document %s: jwks_uri %q is not an absolute http(s) URL", v.discovery, doc.JWKSURI)
		}
		v.jwksURL = doc.JWKSURI
	}
	if v.introspect != nil && v.introURL == "" {
		if !httpURL(doc.IntrospectionEndpoint) {
			return fmt.Errorf("discovery document %s: introspection_endpoint %q is not an absolute http(s) URL", v.discovery, doc.IntrospectionEndpoint)
		}
		v.introURL = doc.IntrospectionEndpoint
	}
	return nil
}

// fetchJWKS reads the key set, conditionally on the ETag of the one in use, and installs a new one.
// It returns how long the answer may be kept, clamped; ev receives the outcome.
func (v *Verifier) fetchJWKS(ctx context.Context, u string, ev *FetchEvent) (refresh time.Duration, err error) {
	start := time.Now()
	defer func() {
		v.jwksFetches.Add(1)
		if err != nil {
			v.jwksFailures.Add(1)
		}
		ev.Err, ev.Duration = err, time.Since(start)
	}()
	old := v.state.Load()
	header := http.Header{}
	if old != nil && old.etag != "" {
		header.Set("If-None-Match", old.etag)
	}
	resp, err := v.get(ctx, u, header)
	if err != nil {
		return 0, fmt.Errorf("key set: %w", err)
	}
	defer resp.Body.Close()
	ev.Status = resp.StatusCode
	refresh = v.clampRefresh(resp.Header)
	switch {
	case resp.StatusCode == http.StatusNotModified && old != nil:
		v.jwksNotModified.Add(1)
		return refresh, nil
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("key set %s: status %d", u, resp.StatusCode)
	}
	body, err := readLimited(resp.Body, token.MaxJWKSBytes)
	if err != nil {
		return 0, fmt.Errorf("key set %s: %w", u, err)
	}
	etag := resp.Header.Get("ETag")
	if old != nil && bytes.Equal(body, old.body) {
		if etag != old.etag {
			v.state.Store(&keyState{keys: old.keys, verifier: old.verifier, body: old.body, etag: etag})
		}
		return refresh, nil
	}
	keys, err := token.ParseJWKS(body, v.o.Algorithms)
	if err != nil {
		return 0, fmt.Errorf("key set %s: %w", u, err)
	}
	v.state.Store(&keyState{keys: keys, verifier: token.NewVerifier(keys, v.tokenOpts), body: body, etag: etag})
	ev.Changed = true
	v.log.Info("verify: tokengate's keys loaded", "kids", strings.Join(keys.KeyIDs(), ","), "refresh_in", refresh.String())
	return refresh, nil
}

// get makes one GET bounded by FetchTimeout.
func (v *Verifier) get(ctx context.Context, u string, header http.Header) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, v.o.FetchTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose releases a request's timeout when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// readLimited reads all of r, failing when it holds more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("answer larger than %d bytes", limit)
	}
	return b, nil
}

// clampRefresh is the max-age of h's Cache-Control (no-cache and no-store count as 0, none as
// DefaultRefresh) clamped to [MinRefresh, MaxRefresh].
func (v *Verifier) clampRefresh(h http.Header) time.Duration {
	d, ok := maxAge(h)
	if !ok {
		d = DefaultRefresh
	}
	return min(max(d, v.o.MinRefresh), v.o.MaxRefresh)
}

// maxAge reads the max-age directive of the Cache-Control header fields (RFC 9111 §5.2.2.1).
func maxAge(h http.Header) (time.Duration, bool) {
	for _, field := range h.Values("Cache-Control") {
		for _, dir := range strings.Split(field, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0, true
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
				if err != nil || n < 0 {
					return 0, true // RFC 9111 §4.2.1: an invalid max-age means stale
				}
				return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second, true
			}
		}
	}
	return 0, false
}
