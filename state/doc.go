// Package state holds tokengate's shared, short-lived state: revoked access
// tokens (by jti), per-user cut-offs that end every session of a user at
// once, refresh tokens (by hash) with their families, and login-failure
// counters and lock-outs.
//
// Two backends implement [Store]. [Memory] serves a single process and keeps
// everything in maps guarded by one mutex; expired entries are dropped lazily
// when read and swept opportunistically on writes, so memory stays bounded by
// the live entries. [Redis] lets any number of replicas share the same state:
// every key it writes carries a TTL, so nothing ever needs a sweeper, and
// refresh-token spending runs as a Lua script so it is atomic across
// processes.
//
// A backend that cannot answer returns an error wrapping [ErrUnavailable].
// Callers must treat it as "cannot decide" (HTTP 503), never as "allow".
package state
