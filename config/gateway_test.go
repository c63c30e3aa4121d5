package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLoadGatewayRules(t *testing.T) {
	t.Parallel()
	want := []GatewayRule{
		{Paths: []string{"/pub/"}, Access: "public"},
		{Hosts: []string{"Admin.Example.com", "*.example.com"}, Paths: []string{"/API/", "/exact"}, Methods: []string{"get", "POST"},
			Access: "authenticated", Roles: []string{"Admin", "ops"}},
		{Access: "deny"},
	}
	path := writeFile(t, "config.yaml", `
gateway:
  default_access: deny
  user_header: Remote-User
  roles_header: Remote-Groups
  rules:
    - paths: [/pub/]
      access: public
    - hosts: [Admin.Example.com, "*.example.com"]
      paths: [/API/, /exact]
      methods: [get, POST]
      access: authenticated
      roles: [Admin, ops]
    - access: deny
`)
	c := mustLoad(t, path, nil, nil)
	if !reflect.DeepEqual(c.Gateway.Rules, want) {
		t.Errorf("rules from the file = %+v\nwant (order, case and values as written) %+v", c.Gateway.Rules, want)
	}
	if c.Gateway.DefaultAccess != "deny" || c.Gateway.UserHeader != "Remote-User" || c.Gateway.RolesHeader != "Remote-Groups" {
		t.Errorf("gateway = %+v", c.Gateway)
	}

	env := []string{`TOKENGATE_GATEWAY_RULES=[{"paths": ["/env/"], "access": "public"}]`, "TOKENGATE_GATEWAY_DEFAULT_ACCESS=public"}
	c = mustLoad(t, path, env, nil)
	if want := []GatewayRule{{Paths: []string{"/env/"}, Access: "public"}}; !reflect.DeepEqual(c.Gateway.Rules, want) {
		t.Errorf("rules from JSON in the environment = %+v, want %+v (the environment replaces the file's list)", c.Gateway.Rules, want)
	}
	if c.Gateway.DefaultAccess != "public" {
		t.Errorf("default_access from the environment = %q, want public", c.Gateway.DefaultAccess)
	}
	c = mustLoad(t, "", []string{"TOKENGATE_GATEWAY_RULES=[{paths: [/a/], access: deny}, {access: public}]"}, nil)
	if want := []GatewayRule{{Paths: []string{"/a/"}, Access: "deny"}, {Access: "public"}}; !reflect.DeepEqual(c.Gateway.Rules, want) {
		t.Errorf("rules from YAML in the environment = %+v, want %+v", c.Gateway.Rules, want)
	}

	over := []GatewayRule{{Access: "public"}}
	c = mustLoad(t, path, nil, map[string]any{"gateway.rules": over})
	over[0].Access = "changed"
	if want := []GatewayRule{{Access: "public"}}; !reflect.DeepEqual(c.Gateway.Rules, want) {
		t.Errorf("rules from an override = %+v, want a copy of %+v", c.Gateway.Rules, want)
	}
}

func TestLoadGatewayRuleProblems(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "config.yaml", `
gateway:
  rules:
    - path: /api/
      access: authenticated
    - paths: /api/
      access: [public]
    - just a string
    - roles: {admin: true}
      access: authenticated
`)
	_, err := Load(path, nil, nil)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Load = %v, want a *ValidationError", err)
	}
	want := []string{
		`gateway.rules[0].path: unknown field (want one of hosts, paths, methods, access, roles) (line 4)`,
		`gateway.rules[1].paths: must be a list, e.g. [/api/, /exact] (line 6)`,
		`gateway.rules[1].access: must be public, authenticated or deny (line 7)`,
		`gateway.rules[2]: must be a mapping {hosts, paths, methods, access, roles} (line 8)`,
		`gateway.rules[3].roles: must be a list, e.g. [admin] (line 9)`,
	}
	if !slices.Equal(ve.Problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(ve.Problems, "\n"), strings.Join(want, "\n"))
	}

	for _, tt := range []struct{ env, want string }{
		{"{paths: [/a/]}", "gateway.rules: must be a list of rules {hosts, paths, methods, access, roles} (from TOKENGATE_GATEWAY_RULES)"},
		{"[{", "gateway.rules: not YAML or JSON: "},
	} {
		_, err := Load("", []string{"TOKENGATE_GATEWAY_RULES=" + tt.env}, nil)
		if !errors.As(err, &ve) || len(ve.Problems) != 1 || !strings.HasPrefix(ve.Problems[0], tt.want) {
			t.Errorf("TOKENGATE_GATEWAY_RULES=%s: Load = %v, want one problem %q…", tt.env, err, tt.want)
		}
	}
}

func TestValidateGateway(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*Gateway)
		want   []string
	}{
		{"defaults", func(*Gateway) {}, nil},
		{"every access", func(g *Gateway) { g.DefaultAccess = "public" }, nil},
		{"bad default_access", func(g *Gateway) { g.DefaultAccess = "open" },
			[]string{`gateway.default_access: "open" is not one of public, authenticated, deny`}},
		{"header names", func(g *Gateway) { g.UserHeader, g.RolesHeader = "X User", "" },
			[]string{`gateway.user_header: "X User" is not an HTTP header name`, `gateway.roles_header: "" is not an HTTP header name`}},
		{"reserved header", func(g *Gateway) { g.UserHeader = "authorization" },
			[]string{`gateway.user_header: Authorization is a header with another purpose`}},
		{"the same header twice", func(g *Gateway) { g.UserHeader, g.RolesHeader = "X-Identity", "x-identity" },
			[]string{`gateway.roles_header: must differ from gateway.user_header (X-Identity)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.modify(&c.Gateway)
			var got []string
			var ve *ValidationError
			if err := c.Validate(); errors.As(err, &ve) {
				got = ve.Problems
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLoadValidRunsChecks: the checks of other packages report with everything else, at once.
func TestLoadValidRunsChecks(t *testing.T) {
	t.Parallel()
	check := func(c *Config) []string {
		var out []string
		for i, r := range c.Gateway.Rules {
			if r.Access == "" {
				out = append(out, "gateway.rules["+string(rune('0'+i))+"].access: missing")
			}
		}
		return out
	}
	path := writeFile(t, "config.yaml", "token:\n  ttl: -1m\ngateway:\n  rules:\n    - paths: [/a/]\n")
	_, err := LoadValid(path, []string{"TOKENGATE_TOKEN_SECRET=" + testSecret}, nil, check)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("LoadValid = %v, want a *ValidationError", err)
	}
	if !slices.Contains(ve.Problems, "gateway.rules[0].access: missing") || !slices.ContainsFunc(ve.Problems, func(p string) bool { return strings.HasPrefix(p, "token.ttl:") }) {
		t.Errorf("problems %q, want token.ttl and the check's gateway.rules[0].access", ve.Problems)
	}
}

func TestRedactedCopiesRules(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.Gateway.Rules = []GatewayRule{{Paths: []string{"/a/"}, Access: "public"}}
	r := c.Redacted()
	r.Gateway.Rules[0].Paths[0] = "/changed/"
	if c.Gateway.Rules[0].Paths[0] != "/a/" {
		t.Errorf("Redacted shares the rules' slices with the original")
	}
}
