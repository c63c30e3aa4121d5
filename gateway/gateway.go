// Package gateway decides forward-auth questions: for the original request a reverse proxy asks
// about (nginx auth_request, Traefik ForwardAuth, Caddy forward_auth), which access applies —
// public, a valid token (with one of some roles), or deny.
//
// A Policy is an ordered list of rules built once at start (NewPolicy validates every rule and
// names each problem); Decide is called per request and allocates nothing. NewRequest normalises
// the original method, host and URI the proxy described, refusing paths that an upstream could
// read differently from us. Tokens are not this package's business: the caller verifies them.
package gateway

import (
	"errors"
	"fmt"
	"strings"
)

// Access is what a rule grants.
type Access string

// The accesses a rule may grant.
const (
	// Public lets every request through; identity headers are set only when a valid token came along.
	Public Access = "public"
	// Authenticated needs a valid token, and one of the rule's roles when it lists any.
	Authenticated Access = "authenticated"
	// Deny refuses the request, with or without a token.
	Deny Access = "deny"
)

// Rule is one entry of gateway.rules. A request matches when each of Hosts, Paths and Methods
// is empty or holds an entry that matches it:
//   - Hosts: an exact host ("api.example.com") or a wildcard ("*.example.com": any name ending in
//     ".example.com", at any depth, but not example.com itself). Case-insensitive, without port.
//   - Paths: a path ending in '/' is a prefix ("/api/" matches "/api/" and "/api/x", not "/api");
//     any other path matches exactly. Paths are compared with the decoded, merged request path.
//   - Methods: HTTP methods, case-insensitive; GET also matches HEAD.
type Rule struct {
	Hosts   []string
	Paths   []string
	Methods []string
	Access  Access
	Roles   []string // with Authenticated: any one of them is needed
}

// Decision is the outcome of Decide.
type Decision struct {
	Access Access
	Roles  []string // with Authenticated: the token needs any one of them; empty = any valid token
	Rule   int      // index of the deciding rule; -1 when default_access decided
}

// Policy is a validated, ordered rule list and the access for requests no rule matches. It is
// immutable and safe for concurrent use.
type Policy struct {
	rules []rule
	def   Decision
}

// rule is a Rule compiled for matching.
type rule struct {
	exactHosts  []string
	suffixHosts []string // ".example.com" for "*.example.com"
	prefixes    []string
	exactPaths  []string
	methods     []string
	decision    Decision
}

// RuleError is one problem with the rules: Index is the rule's position in gateway.rules (from 0),
// or -1 for default_access; Field is the rule's field, with the entry's index ("paths[1]").
type RuleError struct {
	Index   int
	Field   string
	Problem string
}

func (e *RuleError) Error() string {
	if e.Index < 0 {
		return e.Field + ": " + e.Problem
	}
	return fmt.Sprintf("rule %d: %s: %s", e.Index, e.Field, e.Problem)
}

// NewPolicy validates rules and defaultAccess ("" means Authenticated) and compiles them. Its
// error is every problem at once (errors.Join of *RuleError; see Validate).
func NewPolicy(rules []Rule, defaultAccess Access) (*Policy, error) {
	if problems := Validate(rules, defaultAccess); len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = p
		}
		return nil, errors.Join(errs...)
	}
	if defaultAccess == "" {
		defaultAccess = Authenticated
	}
	p := &Policy{def: Decision{Access: defaultAccess, Rule: -1}}
	for i, r := range rules {
		c := rule{decision: Decision{Access: r.Access, Roles: append([]string(nil), r.Roles...), Rule: i}}
		for _, h := range r.Hosts {
			h, _ = normRuleHost(h)
			if suffix, ok := strings.CutPrefix(h, "*"); ok {
				c.suffixHosts = append(c.suffixHosts, suffix)
			} else {
				c.exactHosts = append(c.exactHosts, h)
			}
		}
		for _, path := range r.Paths {
			if strings.HasSuffix(path, "/") {
				c.prefixes = append(c.prefixes, path)
			} else {
				c.exactPaths = append(c.exactPaths, path)
			}
		}
		for _, m := range r.Methods {
			m = strings.ToUpper(m)
			c.methods = append(c.methods, m)
			if m == "GET" {
				c.methods = append(c.methods, "HEAD")
			}
		}
		p.rules = append(p.rules, c)
	}
	return p, nil
}

// Decide returns the decision of the first rule that matches r, else the default access.
func (p *Policy) Decide(r Request) Decision {
	for i := range p.rules {
		if p.rules[i].matches(r) {
			return p.rules[i].decision
		}
	}
	return p.def
}

func (c *rule) matches(r Request) bool {
	return c.matchHost(r.Host) && c.matchPath(r.Path) && c.matchMethod(r.Method)
}

func (c *rule) matchHost(h string) bool {
	if len(c.exactHosts) == 0 && len(c.suffixHosts) == 0 {
		return true
	}
	for _, e := range c.exactHosts {
		if h == e {
			return true
		}
	}
	for _, s := range c.suffixHosts {
		if len(h) > len(s) && strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}

func (c *rule) matchPath(p string) bool {
	if len(c.prefixes) == 0 && len(c.exactPaths) == 0 {
		return true
	}
	// Upstreams differ on a trailing slash (Express serves a mount "/x" at "/x/", Spring 5 an
	// "/x" mapping at "/x/"), so "/x" and "/x/" are one path here: an exact rule matches both, and
	// a prefix rule "/x/" matches "/x" itself too.
	for _, e := range c.exactPaths {
		if p == e || len(p) == len(e)+1 && p[len(p)-1] == '/' && strings.HasPrefix(p, e) {
			return true
		}
	}
	for _, pre := range c.prefixes {
		if strings.HasPrefix(p, pre) || p == pre[:len(pre)-1] {
			return true
		}
	}
	return false
}

func (c *rule) matchMethod(m string) bool {
	if len(c.methods) == 0 {
		return true
	}
	for _, e := range c.methods {
		if m == e {
			return true
		}
	}
	return false
}

// Validate returns every problem with rules and defaultAccess, in order; nil when there is none.
// Each problem names its rule and field, so that a configuration loader can report
// "gateway.rules[2].paths[0]: …".
func Validate(rules []Rule, defaultAccess Access) []*RuleError {
	var out []*RuleError
	add := func(i int, field, format string, args ...any) {
		out = append(out, &RuleError{Index: i, Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	switch defaultAccess {
	case "", Public, Authenticated, Deny:
	default:
		add(-1, "default_access", "%q is not public, authenticated or deny", string(defaultAccess))
	}
	for i, r := range rules {
		switch r.Access {
		case Public, Authenticated, Deny:
		case "":
			add(i, "access", "missing: say public, authenticated or deny")
		default:
			add(i, "access", "%q is not public, authenticated or deny", string(r.Access))
		}
		if len(r.Roles) > 0 && r.Access != Authenticated && r.Access != "" {
			add(i, "roles", "only an authenticated rule can require roles (this one is %s)", r.Access)
		}
		for j, role := range r.Roles {
			if strings.TrimSpace(role) == "" {
				add(i, fmt.Sprintf("roles[%d]", j), "empty role")
			}
		}
		for j, h := range r.Hosts {
			if _, err := normRuleHost(h); err != "" {
				add(i, fmt.Sprintf("hosts[%d]", j), "%q %s", h, err)
			}
		}
		for j, p := range r.Paths {
			if err := checkRulePath(p); err != "" {
				add(i, fmt.Sprintf("paths[%d]", j), "%q %s", p, err)
			}
		}
		for j, m := range r.Methods {
			if _, err := normMethod(m); err != nil {
				add(i, fmt.Sprintf("methods[%d]", j), "%q is not an HTTP method", m)
			}
		}
	}
	return out
}

// normRuleHost normalises a rule's host like NormalizeHost, keeping a leading "*." wildcard; it
// returns a description of the problem, or "".
func normRuleHost(h string) (string, string) {
	name, wild := strings.CutPrefix(h, "*.")
	if strings.Contains(name, "*") {
		return "", "has a '*' that is not a leading \"*.\""
	}
	if strings.Contains(name, "/") {
		return "", "is not a host name (no scheme or path)"
	}
	if strings.Contains(name, ":") && !strings.HasPrefix(name, "[") {
		return "", "has a port: hosts match without one"
	}
	n, err := NormalizeHost(name)
	if err != nil {
		return "", "is not a host name"
	}
	if wild {
		if strings.HasPrefix(n, "[") {
			return "", "is an IP literal: it cannot take a wildcard"
		}
		return "*." + n, ""
	}
	return n, ""
}

// checkRulePath describes what is wrong with a rule's path, or returns "". Rule paths are
// compared with decoded, normalised request paths, so they must be in that form themselves.
func checkRulePath(p string) string {
	switch {
	case p == "":
		return "is empty"
	case p[0] != '/':
		return "must start with /"
	case strings.ContainsAny(p, "?#"):
		return "must be a path without query or fragment"
	case strings.Contains(p, "*"):
		return "has a '*': end a path with / to match every path below it"
	case strings.Contains(p, "%"):
		return "has a '%': write the path decoded, as requests are matched decoded"
	case strings.Contains(p, "//"):
		return "has a duplicate slash: request paths are matched with duplicate slashes merged"
	}
	n, err := normPath(p)
	if err != nil {
		return "is not a plain path: no dot segments, '\\', control characters or invalid UTF-8"
	}
	if n != p {
		return "is not in normal form"
	}
	return ""
}
