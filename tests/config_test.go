package tests

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// testSecret is the HMAC secret of the test configs (≥ 32 bytes).
const testSecret = "test-secret-0123456789abcdef0123456789abcdef"

// user is one user of the test configs.
type user struct {
	name, password string
	roles          []string
	disabled       bool
}

// longPassword is exactly 72 bytes, bcrypt's limit: the user "long" has it.
var longPassword = strings.Repeat("L0ng-pass", 8)

// testUsers are the users of every test config unless a test says otherwise. Their passwords must
// never be logged (the server wrapper checks).
var testUsers = []user{
	{name: "alice", password: "pyconid", roles: []string{"admin"}},
	{name: "bob", password: "bob-password", roles: nil},
	{name: "carol", password: "carol-password", disabled: true},
	{name: "Alice", password: "capital-alice"}, // user names are case-sensitive
	{name: "long", password: longPassword},
}

var (
	hashMu sync.Mutex
	hashes = map[string]string{} // cost/password → hash, made once per run
)

// hashOf hashes password at cost with tokengate's own hash-password, once per run.
func hashOf(t testing.TB, password string, cost int) string {
	t.Helper()
	hashMu.Lock()
	defer hashMu.Unlock()
	key := fmt.Sprintf("%d/%s", cost, password)
	if h, ok := hashes[key]; ok {
		return h
	}
	out, errOut, code := run(t, t.TempDir(), password+"\n", nil, "hash-password", "--cost", strconv.Itoa(cost))
	h := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(h, "$2") {
		t.Fatalf("tokengate hash-password --cost %d: exit %d: %s", cost, code, errOut)
	}
	hashes[key] = h
	return h
}

// usersYAML renders users as a store.users / users-file mapping with bcrypt hashes of cost.
func usersYAML(t testing.TB, users []user, cost int) string {
	t.Helper()
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "%q:\n  password_hash: %q\n", u.name, hashOf(t, u.password, cost))
		if len(u.roles) > 0 {
			fmt.Fprintf(&b, "  roles: [%s]\n", strings.Join(u.roles, ", "))
		}
		if u.disabled {
			b.WriteString("  disabled: true\n")
		}
	}
	return b.String()
}

// conf is a test config. The zero value is HS256 with testSecret and a 15-minute TTL, the
// testUsers at bcrypt cost 4 in store.users, debug logs (the most a log can say) as JSON.
type conf struct {
	server string // more lines of server: (indented by two spaces)
	token  string // more lines of token:
	store  string // the lines of store:; "" is memoryStore(testUsers, 4)
	extra  string // more top-level sections: login:, state:, …
}

func (c conf) yaml(t testing.TB) string {
	t.Helper()
	st := c.store
	if st == "" {
		st = memoryStore(t, testUsers, 4)
	}
	return fmt.Sprintf(`
server:
  addr: "127.0.0.1:0"
%s
token:
  secret: %q
  ttl: 15m
%s
store:
%s
log:
  level: debug
  format: json
%s
`, c.server, testSecret, c.token, st, c.extra)
}

// config is the default conf with the extra top-level sections.
func config(t testing.TB, extra string) string {
	t.Helper()
	return conf{extra: extra}.yaml(t)
}

// memoryStore is the store: section of users in store.users, hashed at cost.
func memoryStore(t testing.TB, users []user, cost int) string {
	t.Helper()
	return "  kind: memory\n  users:\n" + indent(usersYAML(t, users, cost), "    ")
}

// fileStore is the store: section of a watched users file.
func fileStore(path string) string {
	return fmt.Sprintf("  kind: file\n  path: %q\n  watch: true\n", path)
}

// usersFile is a users file (YAML) of users, hashed at cost.
func usersFile(t testing.TB, users []user, cost int) string {
	t.Helper()
	return "users:\n" + indent(usersYAML(t, users, cost), "  ")
}

// indent puts prefix before every line of s.
func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceFile writes content next to path and renames it over path, as editors and Kubernetes do.
func replaceFile(t testing.TB, path, content string) {
	t.Helper()
	writeFile(t, path+".tmp", content)
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}
