package verify

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tokengate/tokengate/token"
)

const (
	// maxIntrospectionBytes bounds an introspection answer.
	maxIntrospectionBytes = 64 << 10
	// maxIntrospectionEntries bounds the introspection cache.
	maxIntrospectionEntries = 10000
)

// introspector asks tokengate's introspection endpoint about tokens that verified locally, caches
// the answers (a positive one for at most its ttl, a negative one until the token expires: it can
// never become active again) and makes one request at a time per token.
type introspector struct {
	v      *Verifier
	id     string
	secret string
	ttl    time.Duration

	mu    sync.Mutex
	cache map[[sha256.Size]byte]introEntry
	calls map[[sha256.Size]byte]*introCall
}

type introEntry struct {
	active bool
	until  time.Time
}

type introCall struct {
	done   chan struct{}
	active bool
	err    error
}

func newIntrospector(v *Verifier, o *Introspection) *introspector {
	ttl := o.CacheTTL
	if ttl <= 0 || ttl > MaxIntrospectionCache {
		ttl = MaxIntrospectionCache
	}
	return &introspector{
		v: v, id: o.ClientID, secret: o.ClientSecret, ttl: ttl,
		cache: map[[sha256.Size]byte]introEntry{},
		calls: map[[sha256.Size]byte]*introCall{},
	}
}

// check returns nil when tokengate says (or said, less than ttl ago) that raw, whose verified
// claims are c, is active; ErrInactive when it says not; ErrIntrospectionUnavailable when it
// cannot be asked.
func (in *introspector) check(ctx context.Context, raw string, c token.Claims) error {
	key := sha256.Sum256([]byte(raw)) // the cache keeps no token
	in.mu.Lock()
	if e, ok := in.cache[key]; ok && in.v.now().Before(e.until) {
		in.mu.Unlock()
		in.v.introspectionHits.Add(1)
		if e.active {
			return nil
		}
		return ErrInactive
	}
	call, leader := in.calls[key], false
	if call == nil {
		call, leader = &introCall{done: make(chan struct{})}, true
		in.calls[key] = call
	}
	in.mu.Unlock()

	if leader {
		// The request is made for every waiter: one client going away must not fail the others.
		call.active, call.err = in.ask(context.WithoutCancel(ctx), raw, c)
		in.mu.Lock()
		delete(in.calls, key)
		if call.err == nil {
			in.storeLocked(key, call.active, c)
		}
		in.mu.Unlock()
		close(call.done)
	} else {
		select {
		case <-call.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	switch {
	case call.err != nil:
		return call.err
	case !call.active:
		return ErrInactive
	}
	return nil
}

// storeLocked caches an answer; in.mu is held.
func (in *introspector) storeLocked(key [sha256.Size]byte, active bool, c token.Claims) {
	now := in.v.now()
	until := c.ExpiresAt.Add(in.v.o.Leeway)
	if active {
		until = now.Add(in.ttl)
		if c.ExpiresAt.Before(until) {
			until = c.ExpiresAt
		}
	}
	if len(in.cache) >= maxIntrospectionEntries {
		for k, e := range in.cache {
			if !now.Before(e.until) {
				delete(in.cache, k)
			}
		}
		if len(in.cache) >= maxIntrospectionEntries {
			clear(in.cache) // costs requests, never a wrong answer
		}
	}
	in.cache[key] = introEntry{active: active, until: until}
}

// introspectionAnswer is what is read of an RFC 7662 answer.
type introspectionAnswer struct {
	Active    bool   `json:"active"`
	Subject   string `json:"sub"`
	ID        string `json:"jti"`
	TokenType string `json:"token_type"`
}

// ask makes one introspection request. An answer that is active but names another subject, token
// id or token type than the token's counts as inactive.
func (in *introspector) ask(ctx context.Context, raw string, c token.Claims) (active bool, err error) {
	start := time.Now()
	status := 0
	defer func() {
		in.v.introspections.Add(1)
		if h := in.v.o.Hooks.Introspect; h != nil {
			h(IntrospectEvent{Active: active, Status: status, Err: err, Duration: time.Since(start)})
		}
		if err != nil {
			in.v.introspectionFailures.Add(1)
			in.v.log.Warn("verify: token introspection failed", "status", status, "err", err)
			active, err = false, ErrIntrospectionUnavailable
		}
	}()
	in.v.mu.Lock()
	endpoint := in.v.introURL
	in.v.mu.Unlock()
	if endpoint == "" {
		return false, fmt.Errorf("no introspection endpoint yet (discovery has not succeeded)")
	}
	ctx, cancel := context.WithTimeout(ctx, in.v.o.FetchTimeout)
	defer cancel()
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: the client id and secret are form-encoded before HTTP Basic.
	req.SetBasicAuth(url.QueryEscape(in.id), url.QueryEscape(in.secret))
	resp, err := in.v.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("introspection endpoint %s: status %d", endpoint, resp.StatusCode)
	}
	body, err := readLimited(resp.Body, maxIntrospectionBytes)
	if err != nil {
		return false, err
	}
	var a introspectionAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return false, fmt.Errorf("introspection endpoint %s: answer is not JSON", endpoint)
	}
	return a.Active && a.Subject == c.Subject && (a.ID == "" || a.ID == c.ID) &&
		(a.TokenType == "" || a.TokenType == "access_token"), nil
}
