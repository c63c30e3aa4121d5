package store

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// secCheckLoaded: parse and check of a users file either fail without quoting a hash or a
// misplaced password, or give users that each pass the store's own rules.
// names are the strings errors may quote (user names, keys); a secret inside one is not checked.
func secCheckLoaded(t *testing.T, source string, data []byte, secrets, names []string) {
	t.Helper()
	entries, err := parseUsers(source, data)
	if err == nil {
		var c checked
		c, err = checkEntries(entries, source)
		if err == nil {
			for name, r := range c.users {
				if validName(name) != nil {
					t.Fatalf("loaded user %q with an invalid name", name)
				}
				if _, herr := checkHash(r.hash); herr != nil {
					t.Fatalf("loaded user %q with hash error %v", name, herr)
				}
			}
			return
		}
	}
	msg := err.Error()
	// Names are quoted with %q, whose escapes ("\x00" then digits) can spell a secret that is in
	// the file only once; the name itself is fine to quote, so take it out before looking.
	for _, n := range names {
		msg = strings.ReplaceAll(msg, strconv.Quote(n), `""`)
	}
	for _, s := range secrets {
		// A string that is also somewhere else in the file, or part of a name, may be quoted there;
		// one that %q would escape cannot appear verbatim in an error anyway.
		// Nor can one that is part of the key names the errors list ("password" in password_hash).
		if len(s) < 8 || bytes.Count(data, []byte(s)) != 1 || strconv.Quote(s) != `"`+s+`"` ||
			strings.Contains("users password_hash roles disabled", s) ||
			slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, s) }) {
			continue
		}
		if strings.Contains(msg, s) {
			t.Fatalf("error quotes %q: %s", s, msg)
		}
	}
}

// FuzzParseYAML: a YAML users file of any content never panics the parser, and errors never quote
// a value of a user's mapping (a hash, or a password typed in the wrong place, stays out of logs).
func FuzzParseYAML(f *testing.F) {
	h := "$2a$04$abcdefghijklmnopqrstuuYV8mk3CkM3Ih1mS1xd1AxQeI5dqV3Gq"
	for _, seed := range []string{
		"users:\n  alice:\n    password_hash: \"" + h + "\"\n    roles: [admin]\n",
		"users:\n  alice: {password_hash: '" + h + "', disabled: true}\n  bob: {password_hash: pyconid}\n",
		"users:\n  alice:\n    password_hash: " + h + "\n  alice:\n    password_hash: " + h + "\n",
		"users: {}\n", "", "users:\n", "- a\n- b\n", "users: [1, 2]\n", "other: 1\n",
		"users:\n  a: &x {password_hash: '" + h + "'}\n  b: *x\n",
		"users:\n  \"al:ice\": {password_hash: '" + h + "'}\n",
		"users:\n  alice: {password_hash: '" + h + "', roles: [\"a b\", null]}\n",
		"users:\n  alice: {password_hash: '" + h + "', extra: 'pyconid'}\n",
		"users:\n  alice: {password_hash: !!binary aGVsbG8=}\n",
		"users: {alice: {password_hash: '" + h + "'}}\n---\nusers: {}\n",
		"\xef\xbb\xbfusers:\n  alice:\n    password_hash: \"" + h + "\"\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Every value in a user's mapping may be a hash or a password (under password_hash or a
		// misspelt key); names and keys are quoted in errors on purpose, values never.
		var secrets, names []string
		var doc struct {
			Users map[string]map[string]any `yaml:"users"`
		}
		if yaml.Unmarshal(data, &doc) == nil {
			for name, u := range doc.Users {
				names = append(names, name)
				for k, v := range u {
					names = append(names, k)
					if s, ok := v.(string); ok {
						secrets = append(secrets, s)
					}
				}
			}
		}
		var top map[string]any
		if yaml.Unmarshal(data, &top) == nil {
			for k := range top {
				names = append(names, k)
			}
		}
		secCheckLoaded(t, "users.yaml", data, secrets, names)
	})
}

// FuzzParseHtpasswd: an htpasswd file of any content never panics the parser, and errors never
// quote what follows a name's colon or a line without a colon (a password typed where a name:hash
// line should be).
func FuzzParseHtpasswd(f *testing.F) {
	h := "$2y$04$abcdefghijklmnopqrstuuYV8mk3CkM3Ih1mS1xd1AxQeI5dqV3Gq"
	for _, seed := range []string{
		"alice:" + h + "\n", "# comment\n\nalice:" + h + "\r\nbob:" + h,
		"alice:" + h + "\nalice:" + h + "\n", "pyconid\n", "alice pyconid\n", "alice:pyconid\n",
		":" + h + "\n", "al ice:" + h + "\n", "alice:" + h + ":extra\n", "alice:{SHA}abc=\n",
		"alice:$apr1$abc$def\n", "\xef\xbb\xbfalice:" + h + "\n", strings.Repeat("a", 5000) + "\n",
		"alice:" + h[:40] + "\n", "alice:$2y$99$" + h[7:] + "\n", "\x00:" + h + "\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var secrets, names []string
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
			if line == "" || line[0] == '#' {
				continue
			}
			if name, hash, ok := strings.Cut(line, ":"); ok {
				names = append(names, name)
				secrets = append(secrets, hash)
			} else {
				secrets = append(secrets, line)
			}
		}
		secCheckLoaded(t, "htpasswd", data, secrets, names)
	})
}

// FuzzUsersFileAdd: adding a user to a YAML or htpasswd users file (what `tokengate users add`
// does) either refuses the name, or writes a file that loads with exactly the old users plus the
// new one: no user name can inject a line, a key or a second user.
func FuzzUsersFileAdd(f *testing.F) {
	hash, err := HashPassword([]byte("new-password"), 4)
	if err != nil {
		f.Fatal(err)
	}
	old, err := HashPassword([]byte("old-password"), 4)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []struct {
		yaml     bool
		name     string
		role     string
		disabled bool
	}{
		{true, "carol", "admin", false}, {false, "carol", "", false},
		{false, "eve:" + old + "\nroot", "", false}, {true, "eve\nroot: {password_hash: x}", "", false},
		{true, "null", "", false}, {true, "~", "x", true}, {true, "<<", "", false}, {true, "- a", "", false},
		{true, "'q'", "", false}, {true, "&a", "*a", false}, {true, "true", "false", false},
		{false, "#root", "", false}, {true, "#root", "", false}, {true, "users", "", false},
		{true, "alice", "", false}, {false, "ali\u200bce", "", false}, {true, "é", "ü", false},
	} {
		f.Add(seed.yaml, seed.name, seed.role, seed.disabled)
	}
	f.Fuzz(func(t *testing.T, isYAML bool, name, role string, disabled bool) {
		e := Entry{PasswordHash: hash, Disabled: disabled}
		if role != "" {
			e.Roles = []string{role}
		}
		source, base := "htpasswd", []byte("# users\nalice:"+old+"\nbob:"+old+"\n")
		var d usersDoc
		if isYAML {
			source, base = "users.yaml", []byte("# users\nusers:\n  alice:\n    password_hash: \""+old+"\"\n  bob: {password_hash: '"+old+"', roles: [dev]}\n")
			d, err = newYAMLDoc(source, base)
		} else {
			d, err = newHtpasswdDoc(source, base)
		}
		if err != nil {
			t.Fatal(err)
		}
		// AddUser's checks, in its order.
		if validName(name) != nil || name == "alice" || name == "bob" {
			return
		}
		if _, err := checkRoles(e.Roles); err != nil {
			return
		}
		if err := d.add(name, e); err != nil {
			if isYAML {
				t.Fatalf("YAML add %q: %v", name, err)
			}
			return // htpasswd: roles, disabled, or a name starting with #
		}
		out, err := d.bytes()
		if err != nil {
			t.Fatal(err)
		}
		entries, err := parseUsers(source, out)
		if err != nil {
			t.Fatalf("adding %q wrote a file that does not parse: %v\n%s", name, err, out)
		}
		c, err := checkEntries(entries, source)
		if err != nil {
			t.Fatalf("adding %q wrote a file that does not load: %v\n%s", name, err, out)
		}
		var names []string
		for n := range c.users {
			names = append(names, n)
		}
		slices.Sort(names)
		want := []string{"alice", "bob", name}
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Fatalf("adding %q: the file now has users %q\n%s", name, names, out)
		}
		got := c.users[name]
		if got.hash != hash || got.user.Disabled != disabled || !slices.Equal(got.user.Roles, e.Roles) {
			t.Fatalf("adding %q: read back %+v", name, got.user)
		}
		if c.users["alice"].hash != old || c.users["bob"].hash != old {
			t.Fatalf("adding %q changed another user\n%s", name, out)
		}
	})
}
