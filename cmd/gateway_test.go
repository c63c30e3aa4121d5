package cmd

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckConfigNamesEveryBadRule: the rules' grammar problems (the gateway package's) come with
// the other configuration problems, at once, each naming its rule and field.
func TestCheckConfigNamesEveryBadRule(t *testing.T) {
	bad := writeFile(t, "bad.yaml", `
token:
  ttl: soon
gateway:
  default_access: open
  rules:
    - paths: [/ok/]
      access: public
    - paths: [api/, "/a/*"]
      access: authenticated
    - hosts: ["api.example.com:443"]
      access: allow
    - access: deny
      roles: [admin]
    - paht: [/x/]
      access: deny
`)
	_, stderr, err := runCmd(t, "", nil, "check-config", "--config", bad)
	if !errors.Is(err, ErrReported) {
		t.Fatalf("err = %v, want ErrReported", err)
	}
	for _, want := range []string{
		"tokengate: config: token.ttl: ",
		`tokengate: config: gateway.default_access: "open" is not one of public, authenticated, deny`,
		`tokengate: config: gateway.rules[1].paths[0]: "api/" must start with /`,
		`tokengate: config: gateway.rules[1].paths[1]: "/a/*" has a '*'`,
		`tokengate: config: gateway.rules[2].access: "allow" is not public, authenticated or deny`,
		`tokengate: config: gateway.rules[2].hosts[0]: "api.example.com:443" has a port`,
		`tokengate: config: gateway.rules[3].roles: only an authenticated rule can require roles`,
		`tokengate: config: gateway.rules[4].paht: unknown field`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("no line %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "gateway.rules[0]") {
		t.Errorf("a line about the good rule 0:\n%s", stderr)
	}
}

func TestCheckConfigSummarisesTheGateway(t *testing.T) {
	good := writeFile(t, "good.yaml", `
token:
  secret: test-secret-0123456789abcdef0123456789abcdef
gateway:
  default_access: deny
  rules:
    - paths: [/pub/]
      access: public
    - paths: [/api/]
      access: authenticated
`)
	out, stderr, err := runCmd(t, "", nil, "check-config", "--config", good)
	if err != nil {
		t.Fatalf("check-config: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "gateway: 2 rules, default_access deny") {
		t.Errorf("output lacks the gateway summary:\n%s", out)
	}
}
