package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokengate/tokengate/token"
)

// Defaults of Options.
const (
	DefaultRefreshCooldown = 5 * time.Second
	DefaultMinRefresh      = time.Minute
	DefaultMaxRefresh      = time.Hour
	// DefaultRefresh is how long a key set is kept when its answer names no max-age (clamped too).
	DefaultRefresh      = 5 * time.Minute
	DefaultFetchTimeout = 5 * time.Second
	DefaultUnknownWait  = 2 * time.Second
	DefaultLeeway       = 5 * time.Second
	DefaultCacheSize    = 10000
	// MaxIntrospectionCache bounds how long a positive introspection answer is reused, and so how
	// long a logged-out token may still be accepted.
	MaxIntrospectionCache = 5 * time.Second
)

// maxBackoff bounds the wait between two failed attempts to reach tokengate.
const maxBackoff = 30 * time.Second

// Options configure a Verifier. Issuer (or JWKSURL) and Audience are required; every duration
// that is zero takes its default.
type Options struct {
	// Issuer is tokengate's base URL, e.g. "http://tokengate:8080": the discovery document is read
	// from Issuer + "/.well-known/openid-configuration". Unless TokenIssuer is set, it is also the
	// issuer identifier: the discovery document must name it, and tokens must carry it as iss.
	Issuer string
	// TokenIssuer is the iss that tokens carry and that the discovery document names, when it is
	// not Issuer (tokengate's token.issuer is not its URL, e.g. the default "tokengate").
	TokenIssuer string
	// Audience must be one of each token's aud values (tokengate's token.audience).
	Audience string
	// JWKSURL, when set, is where the key set is read; the discovery document is then read only
	// for an introspection endpoint that Introspection.URL does not name.
	JWKSURL string
	// Algorithms are the algorithms accepted, each pinned to keys of its type; empty means RS256,
	// ES256 and EdDSA. HMAC algorithms are never accepted.
	Algorithms []string
	// Leeway is the clock skew allowed on exp, nbf and iat: zero means DefaultLeeway, a negative
	// value none.
	Leeway time.Duration
	// RefreshCooldown is the least time between two fetches of the key set asked for by unknown
	// kids (DefaultRefreshCooldown).
	RefreshCooldown time.Duration
	// MinRefresh and MaxRefresh clamp the max-age of the key set's answer (DefaultMinRefresh,
	// DefaultMaxRefresh).
	MinRefresh, MaxRefresh time.Duration
	// FetchTimeout bounds each request to tokengate (DefaultFetchTimeout).
	FetchTimeout time.Duration
	// UnknownKeyWait bounds how long a request whose kid is unknown waits for the refresh it asked
	// for (DefaultUnknownWait).
	UnknownKeyWait time.Duration
	// CacheSize bounds the verified-token cache (see token.Options.CacheSize): zero means
	// DefaultCacheSize, a negative value turns it off.
	CacheSize int
	// HTTPClient makes every request; nil means a client of its own without a global timeout
	// (FetchTimeout bounds each request).
	HTTPClient *http.Client
	// Introspection, when not nil, makes Verify ask tokengate about every token it accepts.
	Introspection *Introspection
	// Hooks receive an event per request made to tokengate, e.g. to count them in metrics.
	Hooks Hooks
	// Logger receives failed fetches (warn) and key set changes (info); nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Background refreshes are woken by the runtime's timers
	// but decide by this clock.
	Now func() time.Time
}

// Introspection configures the calls to tokengate's introspection endpoint (RFC 7662), made as a
// client configured in tokengate's clients with HTTP Basic.
type Introspection struct {
	ClientID     string
	ClientSecret string
	// URL of the endpoint; empty means the discovery document's introspection_endpoint.
	URL string
	// CacheTTL is how long a positive answer is reused: zero or more than MaxIntrospectionCache
	// means MaxIntrospectionCache.
	CacheTTL time.Duration
}

// Hooks are called after every request to tokengate; each may be nil. They run on the goroutine
// that made the request and must not block.
type Hooks struct {
	// Fetch follows every request for the discovery document or the key set.
	Fetch func(FetchEvent)
	// Introspect follows every introspection request (cached answers make none).
	Introspect func(IntrospectEvent)
}

// FetchEvent describes one request for the discovery document or the key set.
type FetchEvent struct {
	Document string // "discovery" or "jwks"
	Reason   string // "start", "scheduled", "retry", "unknown_kid" or "no_keys"
	Status   int    // HTTP status; 0 when there was no answer
	Changed  bool   // a new key set is in use
	Keys     int    // keys in use after the request
	Err      error  // nil on success (200 or 304)
	Duration time.Duration
}

// IntrospectEvent describes one introspection request.
type IntrospectEvent struct {
	Active   bool
	Status   int   // HTTP status; 0 when there was no answer
	Err      error // nil when tokengate gave an answer
	Duration time.Duration
}

// Stats are a Verifier's counters since New.
type Stats struct {
	Keys                   int   // keys in use
	DiscoveryFetches       int64 // requests for the discovery document
	DiscoveryFailures      int64
	JWKSFetches            int64 // requests for the key set, whatever their outcome
	JWKSNotModified        int64 // of which answered 304
	JWKSFailures           int64 // of which failed (no answer, not 200/304, or no usable key)
	UnknownKeyRefreshes    int64 // of which asked for by unknown kids (or by requests finding no key)
	Introspections         int64 // introspection requests
	IntrospectionFailures  int64 // of which got no usable answer
	IntrospectionCacheHits int64 // Verify calls answered from the introspection cache
}

// Errors of Verify besides the token package's (which all wrap token.ErrInvalid).
var (
	// ErrNoKeys: no key set has been loaded yet. It wraps token.ErrStateUnavailable (503).
	ErrNoKeys error = &unavailableError{"no signing keys from tokengate yet"}
	// ErrIntrospectionUnavailable: tokengate could not be asked about the token and no cached
	// answer is left. It wraps token.ErrStateUnavailable (503).
	ErrIntrospectionUnavailable error = &unavailableError{"token introspection unavailable"}
	// ErrInactive: tokengate answered that the token is not active (logged out, or its user
	// disabled). It wraps token.ErrRevoked and so token.ErrInvalid (401).
	ErrInactive error = &inactiveError{}
	// ErrIssuerMismatch is returned by New when the discovery document names another issuer than
	// the one expected (RFC 8414 §3.3): set TokenIssuer, or tokengate's token.issuer.
	ErrIssuerMismatch = errors.New("verify: the discovery document names another issuer")
)

type unavailableError struct{ msg string }

func (e *unavailableError) Error() string { return e.msg }
func (e *unavailableError) Unwrap() error { return token.ErrStateUnavailable }

type inactiveError struct{}

func (*inactiveError) Error() string { return "token is not active" }
func (*inactiveError) Unwrap() error { return token.ErrRevoked }

// keyState is one loaded key set and the token.Verifier over it.
type keyState struct {
	keys     *token.KeySet
	verifier *token.Verifier
	body     []byte // the JWKS as fetched
	etag     string
}

// Verifier verifies tokengate's access tokens with keys it fetches and refreshes itself. It
// implements middleware.Verifier and is safe for concurrent use. Close stops its refreshes.
type Verifier struct {
	o          Options // defaults applied
	issuer     string  // the iss tokens must carry
	discovery  string  // discovery document URL, "" when not needed
	client     *http.Client
	log        *slog.Logger
	now        func() time.Time
	tokenOpts  token.Options
	introspect *introspector // nil when off

	state atomic.Pointer[keyState]

	mu        sync.Mutex
	jwksURL   string
	introURL  string
	inflight  chan struct{} // closed when the fetch in flight ends; nil when none is
	reason    string        // why the fetch in flight, or the next one, runs
	lastStart time.Time     // start of the latest fetch, by now()
	trailing  bool          // an unknown kid came during a fetch or a cooldown: fetch once more after it
	due       time.Time     // the next scheduled fetch
	failures  int           // consecutive failed fetches
	stopped   bool          // the loop has ended: no fetch starts again

	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	closed sync.Once

	discoveryFetches, discoveryFailures                          atomic.Int64
	jwksFetches, jwksNotModified, jwksFailures, unknownRefreshes atomic.Int64
	introspections, introspectionFailures, introspectionHits     atomic.Int64
}

// New checks o, reads the discovery document and the key set once (bounded by o.FetchTimeout
// each; failing to reach tokengate is not an error) and starts refreshing the keys in the
// background until ctx ends or Close is called. It fails for invalid options, and with
// ErrIssuerMismatch when tokengate answers with a discovery document for another issuer.
func New(ctx context.Context, o Options) (*Verifier, error) {
	o, err := withDefaults(o)
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		o:      o,
		issuer: o.TokenIssuer,
		client: o.HTTPClient,
		log:    o.Logger,
		now:    o.Now,
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	if v.issuer == "" {
		v.issuer = o.Issuer
	}
	v.jwksURL = o.JWKSURL
	if o.Introspection != nil {
		v.introURL = o.Introspection.URL
		v.introspect = newIntrospector(v, o.Introspection)
	}
	if o.Issuer != "" && (v.jwksURL == "" || o.Introspection != nil && v.introURL == "") {
		v.discovery = strings.TrimSuffix(o.Issuer, "/") + "/.well-known/openid-configuration"
	}
	cacheSize := o.CacheSize
	if cacheSize < 0 {
		cacheSize = 0
	}
	v.tokenOpts = token.Options{Issuer: v.issuer, Audience: o.Audience, Leeway: o.Leeway, Now: o.Now, CacheSize: cacheSize}

	v.lastStart = v.now()
	v.reason = "start"
	v.inflight = make(chan struct{})
	if err := v.fetch(ctx); errors.Is(err, ErrIssuerMismatch) {
		return nil, err
	}
	loopCtx, cancel := context.WithCancel(ctx)
	v.cancel = cancel
	go v.run(loopCtx)
	return v, nil
}

// withDefaults validates o and fills in its defaults.
func withDefaults(o Options) (Options, error) {
	var problems []string
	if o.Issuer == "" && o.JWKSURL == "" {
		problems = append(problems, "Issuer or JWKSURL is required")
	}
	if o.Issuer == "" && o.TokenIssuer == "" {
		problems = append(problems, "TokenIssuer is required when Issuer is not set")
	}
	if o.Audience == "" {
		problems = append(problems, "Audience is required")
	}
	for name, u := range map[string]string{"Issuer": o.Issuer, "JWKSURL": o.JWKSURL} {
		if u != "" && !httpURL(u) {
			problems = append(problems, name+" must be an absolute http or https URL")
		}
	}
	for _, alg := range o.Algorithms {
		if !slices.Contains([]string{token.RS256, token.ES256, token.EdDSA}, alg) {
			problems = append(problems, fmt.Sprintf("algorithm %q is not RS256, ES256 or EdDSA", alg))
		}
	}
	if in := o.Introspection; in != nil {
		if in.ClientID == "" || in.ClientSecret == "" {
			problems = append(problems, "Introspection needs ClientID and ClientSecret")
		}
		if in.URL != "" && !httpURL(in.URL) {
			problems = append(problems, "Introspection.URL must be an absolute http or https URL")
		}
		if in.URL == "" && o.Issuer == "" {
			problems = append(problems, "Introspection needs URL when Issuer is not set")
		}
	}
	for name, d := range map[string]time.Duration{
		"RefreshCooldown": o.RefreshCooldown, "MinRefresh": o.MinRefresh, "MaxRefresh": o.MaxRefresh,
		"FetchTimeout": o.FetchTimeout, "UnknownKeyWait": o.UnknownKeyWait,
	} {
		if d < 0 {
			problems = append(problems, name+" must not be negative")
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return o, errors.New("verify: " + strings.Join(problems, "; "))
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.RefreshCooldown, DefaultRefreshCooldown)
	def(&o.MinRefresh, DefaultMinRefresh)
	def(&o.MaxRefresh, DefaultMaxRefresh)
	def(&o.FetchTimeout, DefaultFetchTimeout)
	def(&o.UnknownKeyWait, DefaultUnknownWait)
	def(&o.Leeway, DefaultLeeway)
	o.Leeway = max(o.Leeway, 0)
	if o.MaxRefresh < o.MinRefresh {
		return o, errors.New("verify: MaxRefresh is less than MinRefresh")
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Algorithms = slices.Clone(o.Algorithms)
	return o, nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Verify checks raw with the cached keys and, when introspection is on, asks tokengate whether it
// is still active. It returns token errors (wrapping token.ErrInvalid: 401), ErrInactive (401),
// ErrNoKeys or ErrIntrospectionUnavailable (wrapping token.ErrStateUnavailable: 503), or a
// context error.
func (v *Verifier) Verify(ctx context.Context, raw string) (token.Claims, error) {
	if len(raw) > token.MaxTokenBytes {
		return token.Claims{}, token.ErrTooLarge
	}
	st := v.state.Load()
	if st == nil {
		v.awaitRefresh(ctx, "no_keys")
		if st = v.state.Load(); st == nil {
			return token.Claims{}, ErrNoKeys
		}
	}
	c, err := st.verifier.Verify(ctx, raw)
	if errors.Is(err, token.ErrUnknownKey) {
		v.awaitRefresh(ctx, "unknown_kid")
		if now := v.state.Load(); now != st {
			c, err = now.verifier.Verify(ctx, raw)
		}
	}
	if err != nil {
		return token.Claims{}, err
	}
	if v.introspect != nil {
		if err := v.introspect.check(ctx, raw, c); err != nil {
			return token.Claims{}, err
		}
	}
	return c, nil
}

// awaitRefresh asks for a refresh of the key set and waits, at most UnknownKeyWait, for the fetch
// in flight to end; in a cooldown it does not wait, but makes sure one fetch follows it.
func (v *Verifier) awaitRefresh(ctx context.Context, reason string) {
	done := v.requestRefresh(reason)
	if done == nil {
		return
	}
	t := time.NewTimer(v.o.UnknownKeyWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
	}
}

// requestRefresh starts a fetch unless one is in flight or the cooldown since the last one has not
// passed; it returns the channel closed when the fetch in flight ends, or nil in a cooldown.
// Either way, an unknown kid that the fetch in flight may not know of yet, or that came in a
// cooldown, leaves one more fetch due at the cooldown's end.
func (v *Verifier) requestRefresh(reason string) <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.stopped {
		return nil
	}
	if v.inflight != nil {
		v.trailing = true
		return v.inflight
	}
	if now := v.now(); now.Sub(v.lastStart) < v.o.RefreshCooldown {
		if !v.trailing {
			v.trailing = true
			v.poke()
		}
		return nil
	}
	v.startLocked(reason)
	v.unknownRefreshes.Add(1)
	v.poke()
	return v.inflight
}

// startLocked marks a fetch as in flight; v.mu is held.
func (v *Verifier) startLocked(reason string) {
	v.inflight = make(chan struct{})
	v.lastStart = v.now()
	v.reason = reason
	v.trailing = false
}

// poke wakes the refresh loop.
func (v *Verifier) poke() {
	select {
	case v.kick <- struct{}{}:
	default:
	}
}

// Close stops the background refreshes and waits for the loop to end. Verify keeps working on
// the keys it has.
func (v *Verifier) Close() error {
	v.closed.Do(func() {
		v.cancel()
		<-v.done
	})
	return nil
}

// Ready reports whether a key set is loaded.
func (v *Verifier) Ready() bool { return v.state.Load() != nil }

// KeyIDs returns the kids of the keys in use, nil when none is loaded.
func (v *Verifier) KeyIDs() []string {
	if st := v.state.Load(); st != nil {
		return st.keys.KeyIDs()
	}
	return nil
}

// Stats returns the Verifier's counters.
func (v *Verifier) Stats() Stats {
	s := Stats{
		DiscoveryFetches:       v.discoveryFetches.Load(),
		DiscoveryFailures:      v.discoveryFailures.Load(),
		JWKSFetches:            v.jwksFetches.Load(),
		JWKSNotModified:        v.jwksNotModified.Load(),
		JWKSFailures:           v.jwksFailures.Load(),
		UnknownKeyRefreshes:    v.unknownRefreshes.Load(),
		Introspections:         v.introspections.Load(),
		IntrospectionFailures:  v.introspectionFailures.Load(),
		IntrospectionCacheHits: v.introspectionHits.Load(),
	}
	if st := v.state.Load(); st != nil {
		s.Keys = len(st.keys.KeyIDs())
	}
	return s
}
