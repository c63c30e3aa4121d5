// Package store holds tokengate's credential stores: the users a login is checked against.
//
// Three stores share one contract and one conformance test suite:
//
//   - [Memory] holds users given at construction (the `store.users` config section); it is
//     read-only.
//   - [File] loads a users file — YAML (`.yaml`/`.yml`) or Apache htpasswd (any other
//     extension) — and, when asked, watches it and swaps in every good edit atomically.
//   - [SQL] keeps users in a database: an SQLite file (pure Go, no cgo) or PostgreSQL (pgx). Its
//     schema is migrated at start by goose, from migrations built into the binary. Every login
//     reads the database, so replicas sharing it see every change at once.
//
// All answer Authenticate with [ErrInvalidCredentials] alike for an unknown user, a wrong
// password and a disabled user, and all run one bcrypt compare in every case (against a dummy
// hash of the store's highest cost for an unknown user) so that timing does not tell them apart.
// Every compare goes through a [Hasher], which bounds concurrent bcrypt work and answers
// [ErrOverloaded] when a caller waited too long for a slot. A store that cannot reach its
// database answers with an error wrapping [ErrUnavailable]: a login then fails closed.
//
// Only bcrypt hashes ($2a$, $2b$, $2y$) are accepted; passwords over 72 bytes are refused with
// [ErrPasswordTooLong] rather than silently truncated as bcrypt would. Nothing in this package puts
// a password or a password hash in a log line or an error.
//
// [Admin] is user administration — add, change password, roles or the disabled flag, delete, list
// in pages — for the `tokengate users` command and the admin API; all three stores implement it
// (Memory refusing every change with [ErrReadOnly]). [ValidateName] and [ValidatePassword] are the
// rules for new names and passwords. [AddUser], [SetPassword], [RemoveUser] and [ListUsers] edit a
// users file directly: atomically (temporary file and rename), keeping its format, mode and other
// entries.
package store
