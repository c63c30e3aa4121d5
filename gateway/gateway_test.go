package gateway

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// demoRules are the shipped config's rules plus a few that exercise hosts, methods and order.
var demoRules = []Rule{
	{Paths: []string{"/internal/"}, Access: Deny},                                                                                     // 0
	{Hosts: []string{"status.example.com"}, Access: Public},                                                                           // 1
	{Hosts: []string{"*.admin.example.com"}, Access: Authenticated, Roles: []string{"admin"}},                                         // 2
	{Paths: []string{"/pub/", "/favicon.ico"}, Access: Public},                                                                        // 3
	{Paths: []string{"/api/"}, Methods: []string{"get"}, Access: Authenticated},                                                       // 4
	{Paths: []string{"/api/"}, Methods: []string{"POST", "PUT", "DELETE"}, Access: Authenticated, Roles: []string{"writer", "admin"}}, // 5
	{Paths: []string{"/admin/"}, Access: Authenticated, Roles: []string{"admin"}},                                                     // 6
	{Paths: []string{"/blocked/"}, Access: Deny},                                                                                      // 7
}

func TestDecide(t *testing.T) {
	p, err := NewPolicy(demoRules, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, host, uri string
		access                  Access
		roles                   []string
		rule                    int
	}{
		{"public prefix", "GET", "app.example.com", "/pub/x", Public, nil, 3},
		{"public prefix itself", "GET", "app", "/pub/", Public, nil, 3},
		{"prefix rule matches the path without its slash", "GET", "app", "/pub", Public, nil, 3},
		{"admin rule covers /admin itself", "GET", "app", "/admin", Authenticated, []string{"admin"}, 6},
		{"prefix is not a name prefix", "GET", "app", "/public/x", Authenticated, nil, -1},
		{"exact path", "GET", "app", "/favicon.ico", Public, nil, 3},
		{"exact path is exact", "GET", "app", "/favicon.ico/x", Authenticated, nil, -1},
		{"exact rule matches the path with a trailing slash", "GET", "app", "/favicon.ico/", Public, nil, 3},
		{"exact rule does not match a longer path", "GET", "app", "/favicon.ico/x", Authenticated, nil, -1},
		{"prefix rule does not match a sibling", "GET", "app", "/pubx", Authenticated, nil, -1},
		{"merged slashes match the prefix", "GET", "app", "//pub//x", Public, nil, 3},
		{"decoded path matches", "GET", "app", "/%70ub/x", Public, nil, 3},
		{"decoded admin path is admin", "GET", "app", "/%61dmin/x", Authenticated, []string{"admin"}, 6},
		{"paths are case-sensitive", "GET", "app", "/PUB/x", Authenticated, nil, -1},
		{"api GET", "GET", "app", "/api/hello", Authenticated, nil, 4},
		{"api HEAD matches GET", "HEAD", "app", "/api/hello", Authenticated, nil, 4},
		{"api lower-case method", "get", "app", "/api/hello", Authenticated, nil, 4},
		{"api POST needs a writer", "POST", "app", "/api/hello", Authenticated, []string{"writer", "admin"}, 5},
		{"api DELETE needs a writer", "DELETE", "app", "/api/x", Authenticated, []string{"writer", "admin"}, 5},
		{"api PATCH falls to the default", "PATCH", "app", "/api/x", Authenticated, nil, -1},
		{"admin", "GET", "app", "/admin/users", Authenticated, []string{"admin"}, 6},
		{"deny", "GET", "app", "/blocked/x", Deny, nil, 7},
		{"deny comes first, whatever the host", "GET", "status.example.com", "/internal/x", Deny, nil, 0},
		{"exact host", "GET", "status.example.com", "/anything", Public, nil, 1},
		{"exact host with port and case", "POST", "Status.Example.COM:8443", "/x", Public, nil, 1},
		{"exact host with trailing dot", "GET", "status.example.com.", "/x", Public, nil, 1},
		{"exact host is exact", "GET", "a.status.example.com", "/x", Authenticated, nil, -1},
		{"wildcard host", "GET", "eu.admin.example.com", "/x", Authenticated, []string{"admin"}, 2},
		{"wildcard host at depth", "GET", "a.b.admin.example.com", "/pub/x", Authenticated, []string{"admin"}, 2},
		{"wildcard does not match the bare domain", "GET", "admin.example.com", "/pub/x", Public, nil, 3},
		{"wildcard is not a name suffix", "GET", "eviladmin.example.com", "/pub/x", Public, nil, 3},
		{"no rule: default", "GET", "app", "/other", Authenticated, nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRequest(tt.method, tt.host, tt.uri)
			if err != nil {
				t.Fatalf("NewRequest: %v", err)
			}
			got := p.Decide(r)
			if got.Access != tt.access || got.Rule != tt.rule || !slices.Equal(got.Roles, tt.roles) {
				t.Errorf("Decide(%s %s %s) = %+v, want {Access:%s Roles:%v Rule:%d}", tt.method, tt.host, tt.uri, got, tt.access, tt.roles, tt.rule)
			}
		})
	}
}

func TestDefaultAccess(t *testing.T) {
	for _, def := range []Access{"", Public, Authenticated, Deny} {
		p, err := NewPolicy(nil, def)
		if err != nil {
			t.Fatalf("NewPolicy(nil, %q): %v", def, err)
		}
		want := def
		if want == "" {
			want = Authenticated
		}
		got := p.Decide(Request{Method: "GET", Host: "h", Path: "/"})
		if got.Access != want || got.Rule != -1 {
			t.Errorf("default %q: Decide = %+v, want access %s from rule -1", def, got, want)
		}
	}
}

// TestNewPolicyCopiesRoles: the caller's slice may change after NewPolicy; decisions must not.
func TestNewPolicyCopiesRoles(t *testing.T) {
	roles := []string{"admin"}
	p, err := NewPolicy([]Rule{{Access: Authenticated, Roles: roles}}, "")
	if err != nil {
		t.Fatal(err)
	}
	roles[0] = "anyone"
	if got := p.Decide(Request{Method: "GET", Host: "h", Path: "/"}).Roles; !slices.Equal(got, []string{"admin"}) {
		t.Errorf("roles = %v after the caller changed its slice, want [admin]", got)
	}
}

// TestValidateNamesEveryProblem: one bad config, every problem reported with its rule and field.
func TestValidateNamesEveryProblem(t *testing.T) {
	rules := []Rule{
		{Paths: []string{"/ok/"}, Access: Public},              // 0: fine
		{Paths: []string{"/x/"}},                               // 1
		{Access: "allow"},                                      // 2
		{Access: Public, Roles: []string{"admin"}},             // 3
		{Access: Authenticated, Roles: []string{"admin", " "}}, // 4
		{Access: Deny, Hosts: []string{"ok.example.com", "", "a.example.com:80", "*.*.example.com", "http://a.example.com", "a b", "*.[::1]"}}, // 5
		{Access: Public, Paths: []string{"", "api/", "/a/*", "/a?x", "/%61", "/a//b", "/a/../b", "/a\\b", "/a/./"}},                            // 6
		{Access: Public, Methods: []string{"GET", "", "GE T"}},                                                                                 // 7
		{Access: Deny, Hosts: []string{"Upper.Example.COM.", "*.example.com", "[::1]"}, Methods: []string{"propfind"}},                         // 8: fine
	}
	got := Validate(rules, "open")
	want := []string{
		`default_access: "open" is not public, authenticated or deny`,
		`rule 1: access: missing: say public, authenticated or deny`,
		`rule 2: access: "allow" is not public, authenticated or deny`,
		`rule 3: roles: only an authenticated rule can require roles (this one is public)`,
		`rule 4: roles[1]: empty role`,
		`rule 5: hosts[1]: "" is not a host name`,
		`rule 5: hosts[2]: "a.example.com:80" has a port: hosts match without one`,
		`rule 5: hosts[3]: "*.*.example.com" has a '*' that is not a leading "*."`,
		`rule 5: hosts[4]: "http://a.example.com" is not a host name (no scheme or path)`,
		`rule 5: hosts[5]: "a b" is not a host name`,
		`rule 5: hosts[6]: "*.[::1]" is an IP literal: it cannot take a wildcard`,
		`rule 6: paths[0]: "" is empty`,
		`rule 6: paths[1]: "api/" must start with /`,
		`rule 6: paths[2]: "/a/*" has a '*': end a path with / to match every path below it`,
		`rule 6: paths[3]: "/a?x" must be a path without query or fragment`,
		`rule 6: paths[4]: "/%61" has a '%': write the path decoded, as requests are matched decoded`,
		`rule 6: paths[5]: "/a//b" has a duplicate slash: request paths are matched with duplicate slashes merged`,
		`rule 6: paths[6]: "/a/../b" is not a plain path: no dot segments, '\', control characters or invalid UTF-8`,
		`rule 6: paths[7]: "/a\\b" is not a plain path: no dot segments, '\', control characters or invalid UTF-8`,
		`rule 6: paths[8]: "/a/./" is not a plain path: no dot segments, '\', control characters or invalid UTF-8`,
		`rule 7: methods[1]: "" is not an HTTP method`,
		`rule 7: methods[2]: "GE T" is not an HTTP method`,
	}
	var gotText []string
	for _, e := range got {
		gotText = append(gotText, e.Error())
	}
	if !slices.Equal(gotText, want) {
		t.Errorf("Validate problems:\n%s\nwant:\n%s", strings.Join(gotText, "\n"), strings.Join(want, "\n"))
	}

	_, err := NewPolicy(rules, "open")
	if err == nil {
		t.Fatal("NewPolicy accepted bad rules")
	}
	var re *RuleError
	if !errors.As(err, &re) || re.Field != "default_access" {
		t.Errorf("NewPolicy error %v: want *RuleError for default_access first", err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(want) {
		t.Errorf("NewPolicy error has %d lines, want %d", n, len(want))
	}
}

func TestValidateAcceptsGoodRules(t *testing.T) {
	if problems := Validate(demoRules, Deny); problems != nil {
		t.Errorf("Validate(demoRules) = %v, want none", problems)
	}
}

func BenchmarkDecide(b *testing.B) {
	p, err := NewPolicy(demoRules, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewRequest("GET", "app.example.com:8000", "/admin/users/42?token=abc")
		if err != nil {
			b.Fatal(err)
		}
		_ = p.Decide(r)
	}
}
