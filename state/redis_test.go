package state

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/redistest"
)

// calls exercises every Store method once; each must fail closed when the
// backend is down.
var calls = []struct {
	name string
	call func(ctx context.Context, s Store) error
}{
	{"Revoke", func(ctx context.Context, s Store) error { return s.Revoke(ctx, "j", time.Now().Add(time.Hour)) }},
	{"IsRevoked", func(ctx context.Context, s Store) error { _, err := s.IsRevoked(ctx, "j"); return err }},
	{"SaveRefresh", func(ctx context.Context, s Store) error {
		return s.SaveRefresh(ctx, "h2", Refresh{User: "u", Family: "f", ExpiresAt: time.Now().Add(time.Hour)})
	}},
	{"SpendRefresh", func(ctx context.Context, s Store) error { _, err := s.SpendRefresh(ctx, "h"); return err }},
	{"RevokeFamily", func(ctx context.Context, s Store) error { return s.RevokeFamily(ctx, "f", time.Now().Add(time.Hour)) }},
	{"Fail", func(ctx context.Context, s Store) error { _, err := s.Fail(ctx, "k", time.Minute); return err }},
	{"Lock", func(ctx context.Context, s Store) error { return s.Lock(ctx, "k", time.Minute) }},
	{"Locked", func(ctx context.Context, s Store) error { _, err := s.Locked(ctx, "k"); return err }},
	{"Reset", func(ctx context.Context, s Store) error { return s.Reset(ctx, "k") }},
	{"Ping", func(ctx context.Context, s Store) error { return s.Ping(ctx) }},
	{"CutOff", func(ctx context.Context, s Store) error {
		return s.CutOff(ctx, "u", time.Now(), time.Now().Add(time.Hour))
	}},
	{"UserCutOff", func(ctx context.Context, s Store) error { _, err := s.UserCutOff(ctx, "u"); return err }},
	{"IsTokenRevoked", func(ctx context.Context, s Store) error {
		_, err := s.IsTokenRevoked(ctx, "j", "u", time.Now())
		return err
	}},
}

// maxOutageAnswer bounds how long a call may take to report an outage.
const maxOutageAnswer = 3 * time.Second

func wantUnavailable(t *testing.T, s Store) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			err := c.call(t.Context(), s)
			took := time.Since(start)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("%s error = %v, want ErrUnavailable", c.name, err)
			}
			if errors.Is(err, ErrNotFound) || errors.Is(err, ErrReused) {
				t.Fatalf("%s error = %v, must not also be ErrNotFound/ErrReused", c.name, err)
			}
			if took > maxOutageAnswer {
				t.Fatalf("%s took %v to fail, want under %v", c.name, took, maxOutageAnswer)
			}
		})
	}
}

func TestRedisClosedPortIsUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := NewRedis("redis://" + addr + "/0")
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	defer s.Close()
	wantUnavailable(t, s)
}

func TestRedisOutageMidway(t *testing.T) {
	url, stop := redistest.StartProcess(t)
	s, err := NewRedis(url)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	defer s.Close()
	ctx := t.Context()
	if err := s.SaveRefresh(ctx, "h", Refresh{User: "u", Family: "f", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("SaveRefresh before the outage: %v", err)
	}
	if err := s.Revoke(ctx, "j", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Revoke before the outage: %v", err)
	}
	stop()
	// Pooled connections to the dead server must fail closed too: a revoked
	// token never reads as "not revoked".
	wantUnavailable(t, s)
}

func TestRedisSilentServerIsUnavailable(t *testing.T) {
	// A server that accepts connections but never answers: the read timeout
	// or the caller's deadline, whichever comes first, must end the call.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	s, err := NewRedis("redis://" + l.Addr().String() + "/0")
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	defer s.Close()
	for _, tc := range []struct {
		name     string
		deadline time.Duration // 0: none, the client's timeouts apply
	}{
		{"caller deadline", 300 * time.Millisecond},
		{"client timeouts", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			start := time.Now()
			_, err := s.IsRevoked(ctx, "j")
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("IsRevoked error = %v, want ErrUnavailable", err)
			}
			if took := time.Since(start); took > maxOutageAnswer {
				t.Fatalf("IsRevoked took %v against a silent server, want under %v", took, maxOutageAnswer)
			}
		})
	}
}

func TestNewRedisBadURL(t *testing.T) {
	for _, url := range []string{"", "http://localhost:6379", "redis://:s3cret@host:notaport/0", "redis://host/notadb"} {
		_, err := NewRedis(url)
		if err == nil {
			t.Errorf("NewRedis(%q) = nil error, want one", url)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("NewRedis(%q) error %q shows the password", url, err)
		}
	}
}

// TestRedisKeysAllExpire checks the promise that makes a sweeper needless:
// every key written has a TTL, and keys have a bounded length whatever the
// caller passes.
func TestRedisKeysAllExpire(t *testing.T) {
	url := redistest.Start(t)
	s, err := NewRedis(url)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	defer s.Close()
	ctx := t.Context()
	long := strings.Repeat("ü", 5000)
	exp := time.Now().Add(time.Hour)
	steps := []error{
		s.Revoke(ctx, long, exp),
		s.Revoke(ctx, "jti", exp),
		s.SaveRefresh(ctx, "h1", Refresh{User: long, Family: long, ExpiresAt: exp}),
		s.SaveRefresh(ctx, "h2", Refresh{User: "u", Family: "f", ExpiresAt: exp}),
		s.RevokeFamily(ctx, "f3", exp),
		s.Lock(ctx, long+"|192.0.2.1", time.Hour),
		s.CutOff(ctx, long, time.Now(), exp),
	}
	_, err1 := s.SpendRefresh(ctx, "h2")
	_, err2 := s.SpendRefresh(ctx, "h2") // reuse: revokes family f
	_, err3 := s.Fail(ctx, long+"|192.0.2.1", time.Hour)
	steps = append(steps, err1, err3)
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if !errors.Is(err2, ErrReused) {
		t.Fatalf("second spend = %v, want ErrReused", err2)
	}

	keys, err := s.c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	prefixes := map[string]bool{}
	for _, k := range keys {
		if !strings.HasPrefix(k, "tg:") {
			t.Errorf("key %q lacks the tg: prefix", k)
		}
		if len(k) > 80 {
			t.Errorf("key %.40q… is %d bytes, want at most 80", k, len(k))
		}
		d, err := s.c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatalf("PTTL %q: %v", k, err)
		}
		if d <= 0 {
			t.Errorf("key %q has TTL %v, want a positive one", k, d)
		}
		prefixes[k[:strings.Index(k[3:], ":")+4]] = true
	}
	for _, p := range []string{keyRevoked, keyRefresh, keyFamily, keyFamExp, keyFail, keyLock, keyCutOff} {
		if !prefixes[p] {
			t.Errorf("no key with prefix %q was written; keys: %q", p, keys)
		}
	}
}
