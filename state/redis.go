package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key layout. Every key is written with a TTL, so Redis forgets expired state
// by itself and no sweeper is needed.
const (
	keyRevoked = "tg:revoked:" // + safeID(jti): revoked-until (unix ms), PXAT until
	keyRefresh = "tg:refresh:" // + safeID(hash): hash {user, uid, family, fid, exp, at, spent}, PXAT exp
	keyFamily  = "tg:family:"  // + safeID(family): revoked-until (unix ms), PXAT until
	keyFamExp  = "tg:famexp:"  // + safeID(family): latest refresh expiry in family (unix ms), PXAT it
	keyFail    = "tg:fail:"    // + loginID(key): failure count, PEXPIRE window from the first failure
	keyLock    = "tg:lock:"    // + loginID(key): "1", PX lock-out
	keyCutOff  = "tg:cutoff:"  // + safeID(user): hash {at, until} (unix ms), PXAT until
)

// Default client timeouts: short, so that an outage answers fast (503)
// instead of holding requests.
const (
	defaultTimeout = time.Second
	defaultRetries = 1
)

// extendSrc sets KEYS[1] to ARGV[1] (unix ms) expiring at that instant,
// unless it already holds a later time: revocations only ever grow.
const extendSrc = `
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
return 1`

// saveRefreshSrc stores a refresh token (KEYS[1]) and raises its family's
// latest expiry (KEYS[2]). ARGV: user, family, family id, exp (unix ms),
// user id, auth time (unix ms: the family's login, else now).
const saveRefreshSrc = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'family', ARGV[2], 'fid', ARGV[3], 'exp', ARGV[4], 'uid', ARGV[5], 'at', ARGV[6], 'spent', '0')
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
local cur = redis.call('GET', KEYS[2])
if not cur or tonumber(ARGV[4]) > tonumber(cur) then
  redis.call('SET', KEYS[2], ARGV[4], 'PXAT', ARGV[4])
end
return 1`

// spendRefreshSrc spends KEYS[1]. Returns {0} not found (or family revoked,
// or its auth time at or before its user's cut-off), {1, user, family, exp,
// auth time} spent now, {2, user, family, exp, auth time} reused: the family
// is then revoked until the latest expiry of its tokens. The family and
// cut-off keys are derived from the record, so this script needs a single
// Redis (not Cluster). A record without an auth time counts as older than
// any cut-off. ARGV: family key
// prefix, family-expiry key prefix, cut-off key prefix.
const spendRefreshSrc = `
local r = redis.call('HMGET', KEYS[1], 'user', 'family', 'fid', 'exp', 'spent', 'uid', 'at')
if not r[1] then return {0} end
local fam = ARGV[1] .. r[3]
if redis.call('EXISTS', fam) == 1 then return {0} end
if r[6] then
  local cut = redis.call('HGET', ARGV[3] .. r[6], 'at')
  if cut and tonumber(r[7] or '0') <= tonumber(cut) then return {0} end
end
if r[5] == '1' then
  local untilms = r[4]
  local latest = redis.call('GET', ARGV[2] .. r[3])
  if latest and tonumber(latest) > tonumber(untilms) then untilms = latest end
  redis.call('SET', fam, untilms, 'PXAT', untilms)
  return {2, r[1], r[2], r[4], r[7] or '0'}
end
redis.call('HSET', KEYS[1], 'spent', '1')
return {1, r[1], r[2], r[4], r[7] or '0'}`

// revokeFamilySrc revokes family KEYS[1] until the later of ARGV[1] (unix ms)
// and the family's latest expiry KEYS[2]; never shortens a revocation. A time
// that has passed records nothing: SET with a past PXAT leaves no key.
const revokeFamilySrc = `
local untilms = ARGV[1]
local latest = redis.call('GET', KEYS[2])
if latest and tonumber(latest) > tonumber(untilms) then untilms = latest end
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(untilms) then return 0 end
redis.call('SET', KEYS[1], untilms, 'PXAT', untilms)
return 1`

// cutOffSrc sets the cut-off KEYS[1] to the later of its at and ARGV[1],
// kept until the later of its until and ARGV[2] (unix ms). The numbers are
// stored as given, never as Lua formats them.
const cutOffSrc = `
local at, untilms = ARGV[1], ARGV[2]
local cur = redis.call('HMGET', KEYS[1], 'at', 'until')
if cur[1] and tonumber(cur[1]) > tonumber(at) then at = cur[1] end
if cur[2] and tonumber(cur[2]) > tonumber(untilms) then untilms = cur[2] end
redis.call('HSET', KEYS[1], 'at', at, 'until', untilms)
redis.call('PEXPIREAT', KEYS[1], untilms)
return 1`

// failSrc counts a failure in KEYS[1]; the window (ARGV[1] ms) starts at the
// first failure. The PTTL check repairs a counter that somehow lost its TTL.
const failSrc = `
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n`

// Redis is a [Store] on a Redis server, shared by every replica that uses
// the same server. Each multi-step operation is one Lua script, so it is
// atomic across processes. It needs a single Redis server (or a primary with
// replicas), not Redis Cluster: SpendRefresh touches keys it derives from the
// record it reads. Every failure to reach the server wraps ErrUnavailable.
type Redis struct {
	c            *redis.Client
	extend       *redis.Script
	saveRefresh  *redis.Script
	spendRefresh *redis.Script
	revokeFamily *redis.Script
	cutOff       *redis.Script
	fail         *redis.Script
}

// NewRedis returns a store for the server at url (redis://[user:pass@]host:port/db
// or rediss:// for TLS, as accepted by redis.ParseURL). It does not connect:
// use [Redis.Ping] to check the server. Dial, read, write and pool timeouts
// default to one second and failed commands are retried once, so an outage
// answers fast; query parameters such as dial_timeout override them.
func NewRedis(url string) (*Redis, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		// The URL may hold a password: do not echo it.
		return nil, errors.New("state: invalid redis url (want redis://host:port/db)")
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = defaultTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = defaultTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = defaultTimeout
	}
	if o.PoolTimeout == 0 {
		o.PoolTimeout = defaultTimeout
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = defaultRetries
	}
	// go-redis retries a refused dial 5 times by default; one attempt per
	// command retry is enough to tell an outage.
	o.DialerRetries = 1
	o.ContextTimeoutEnabled = true
	return &Redis{
		c:            redis.NewClient(o),
		extend:       redis.NewScript(extendSrc),
		saveRefresh:  redis.NewScript(saveRefreshSrc),
		spendRefresh: redis.NewScript(spendRefreshSrc),
		revokeFamily: redis.NewScript(revokeFamilySrc),
		cutOff:       redis.NewScript(cutOffSrc),
		fail:         redis.NewScript(failSrc),
	}, nil
}

// unavailable wraps a client error so that errors.Is(err, ErrUnavailable)
// holds, keeping the cause for logs.
func unavailable(op string, err error) error {
	return fmt.Errorf("state: redis %s: %w: %w", op, ErrUnavailable, err)
}

func unixMS(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Revoke implements [Store.Revoke].
func (s *Redis) Revoke(ctx context.Context, jti string, until time.Time) error {
	if !until.After(time.Now()) {
		return nil
	}
	if err := s.extend.Run(ctx, s.c, []string{keyRevoked + safeID(jti)}, unixMS(until)).Err(); err != nil {
		return unavailable("revoke", err)
	}
	return nil
}

// IsRevoked implements [Store.IsRevoked].
func (s *Redis) IsRevoked(ctx context.Context, jti string) (bool, error) {
	n, err := s.c.Exists(ctx, keyRevoked+safeID(jti)).Result()
	if err != nil {
		return false, unavailable("is-revoked", err)
	}
	return n == 1, nil
}

// SaveRefresh implements [Store.SaveRefresh].
func (s *Redis) SaveRefresh(ctx context.Context, hash string, r Refresh) error {
	if hash == "" || r.Family == "" {
		return errors.New("state: refresh token hash and family must not be empty")
	}
	if r.ExpiresAt.UnixMilli() <= time.Now().UnixMilli() {
		return nil
	}
	fid := safeID(r.Family)
	keys := []string{keyRefresh + safeID(hash), keyFamExp + fid}
	auth := r.AuthTime
	if auth.IsZero() {
		auth = time.Now()
	}
	args := []any{r.User, r.Family, fid, unixMS(r.ExpiresAt), safeID(r.User), unixMS(auth)}
	if err := s.saveRefresh.Run(ctx, s.c, keys, args...).Err(); err != nil {
		return unavailable("save-refresh", err)
	}
	return nil
}

// SpendRefresh implements [Store.SpendRefresh].
func (s *Redis) SpendRefresh(ctx context.Context, hash string) (Refresh, error) {
	res, err := s.spendRefresh.Run(ctx, s.c, []string{keyRefresh + safeID(hash)}, keyFamily, keyFamExp, keyCutOff).Slice()
	if err != nil {
		return Refresh{}, unavailable("spend-refresh", err)
	}
	if len(res) == 0 {
		return Refresh{}, unavailable("spend-refresh", errors.New("empty script reply"))
	}
	code, _ := res[0].(int64)
	if code == 0 {
		return Refresh{}, ErrNotFound
	}
	if len(res) != 5 {
		return Refresh{}, unavailable("spend-refresh", fmt.Errorf("script reply has %d elements", len(res)))
	}
	user, _ := res[1].(string)
	family, _ := res[2].(string)
	expStr, _ := res[3].(string)
	exp, err := strconv.ParseInt(expStr, 10, 64)
	if err != nil {
		return Refresh{}, unavailable("spend-refresh", fmt.Errorf("bad expiry %q", expStr))
	}
	authStr, _ := res[4].(string)
	auth, err := strconv.ParseInt(authStr, 10, 64)
	if err != nil {
		return Refresh{}, unavailable("spend-refresh", fmt.Errorf("bad auth time %q", authStr))
	}
	r := Refresh{User: user, Family: family, ExpiresAt: time.UnixMilli(exp), AuthTime: time.UnixMilli(auth)}
	if code == 2 {
		return r, ErrReused
	}
	return r, nil
}

// RevokeFamily implements [Store.RevokeFamily].
func (s *Redis) RevokeFamily(ctx context.Context, family string, until time.Time) error {
	fid := safeID(family)
	keys := []string{keyFamily + fid, keyFamExp + fid}
	if err := s.revokeFamily.Run(ctx, s.c, keys, unixMS(until)).Err(); err != nil {
		return unavailable("revoke-family", err)
	}
	return nil
}

// CutOff implements [Store.CutOff].
func (s *Redis) CutOff(ctx context.Context, user string, at, until time.Time) error {
	if !until.After(time.Now()) {
		return nil
	}
	if err := s.cutOff.Run(ctx, s.c, []string{keyCutOff + safeID(user)}, unixMS(at), unixMS(until)).Err(); err != nil {
		return unavailable("cut-off", err)
	}
	return nil
}

// UserCutOff implements [Store.UserCutOff].
func (s *Redis) UserCutOff(ctx context.Context, user string) (time.Time, error) {
	v, err := s.c.HGet(ctx, keyCutOff+safeID(user), "at").Result()
	return cutOffTime(v, err)
}

// cutOffTime reads a cut-off's at as Redis answered it.
func cutOffTime(v string, err error) (time.Time, error) {
	switch {
	case errors.Is(err, redis.Nil):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, unavailable("user-cut-off", err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, unavailable("user-cut-off", fmt.Errorf("bad cut-off %q", v))
	}
	return time.UnixMilli(ms), nil
}

// IsTokenRevoked implements [Store.IsTokenRevoked]: both questions go in one
// pipeline, one round trip.
func (s *Redis) IsTokenRevoked(ctx context.Context, jti, user string, issuedAt time.Time) (bool, error) {
	var revoked *redis.IntCmd
	var cut *redis.StringCmd
	_, err := s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		revoked = p.Exists(ctx, keyRevoked+safeID(jti))
		cut = p.HGet(ctx, keyCutOff+safeID(user), "at")
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, unavailable("is-token-revoked", err)
	}
	if err := revoked.Err(); err != nil {
		return false, unavailable("is-token-revoked", err)
	}
	if revoked.Val() == 1 {
		return true, nil
	}
	at, err := cutOffTime(cut.Result())
	if err != nil {
		return false, err
	}
	return cutOffRefuses(at, issuedAt), nil
}

// Fail implements [Store.Fail]. The window is fixed from the first failure:
// the counter key gets its TTL when created and later failures do not extend
// it.
func (s *Redis) Fail(ctx context.Context, key string, window time.Duration) (int, error) {
	if window <= 0 {
		return 0, errors.New("state: failure window must be positive")
	}
	wms := max(window.Milliseconds(), 1)
	n, err := s.fail.Run(ctx, s.c, []string{keyFail + loginID(key)}, wms).Int()
	if err != nil {
		return 0, unavailable("fail", err)
	}
	return n, nil
}

// Lock implements [Store.Lock]. A non-positive d locks nothing.
func (s *Redis) Lock(ctx context.Context, key string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if err := s.c.Set(ctx, keyLock+loginID(key), "1", max(d, time.Millisecond)).Err(); err != nil {
		return unavailable("lock", err)
	}
	return nil
}

// Locked implements [Store.Locked].
func (s *Redis) Locked(ctx context.Context, key string) (time.Duration, error) {
	d, err := s.c.PTTL(ctx, keyLock+loginID(key)).Result()
	if err != nil {
		return 0, unavailable("locked", err)
	}
	if d <= 0 { // -2: no key; -1: no TTL, which this package never writes
		return 0, nil
	}
	return d, nil
}

// Reset implements [Store.Reset].
func (s *Redis) Reset(ctx context.Context, key string) error {
	id := loginID(key)
	if err := s.c.Del(ctx, keyFail+id, keyLock+id).Err(); err != nil {
		return unavailable("reset", err)
	}
	return nil
}

// Ping implements [Store.Ping]: nil when the server answers PING.
func (s *Redis) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// Close implements [Store.Close]: it closes the connection pool.
func (s *Redis) Close() error { return s.c.Close() }

var _ Store = (*Redis)(nil)
