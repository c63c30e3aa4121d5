// Package store holds tokengate's credential stores: the users a login is checked against.
//
// Two stores share one contract and one conformance test suite:
//
//   - [Memory] holds users given at construction (the `store.users` config section).
//   - [File] loads a users file — YAML (`.yaml`/`.yml`) or Apache htpasswd (any other
//     extension) — and, when asked, watches it and swaps in every good edit atomically.
//
// Both answer Authenticate with [ErrInvalidCredentials] alike for an unknown user, a wrong
// password and a disabled user, and both run one bcrypt compare in every case (against a dummy
// hash of the store's highest cost for an unknown user) so that timing does not tell them apart.
// Every compare goes through a [Hasher], which bounds concurrent bcrypt work and answers
// [ErrOverloaded] when a caller waited too long for a slot.
//
// Only bcrypt hashes ($2a$, $2b$, $2y$) are accepted; passwords over 72 bytes are refused with
// [ErrPasswordTooLong] rather than silently truncated as bcrypt would. Nothing in this package puts
// a password or a password hash in a log line or an error.
//
// [AddUser], [SetPassword], [RemoveUser] and [ListUsers] edit a users file for the
// `tokengate users` command: atomically (temporary file and rename), keeping its format, mode and
// other entries.
package store
