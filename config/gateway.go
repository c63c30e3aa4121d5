package config

import (
	"fmt"
	"net/textproto"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ruleFields are the fields of a gateway.rules entry, in message order.
var ruleFields = []string{"hosts", "paths", "methods", "access", "roles"}

// accessValues are the accepted gateway.default_access and rule access values.
var accessValues = []string{"public", "authenticated", "deny"}

// reservedHeaders may not carry the identity: the proxy or the client set them for other purposes.
var reservedHeaders = []string{
	"Authorization", "Cookie", "Set-Cookie", "Host", "Connection", "Content-Length", "Content-Type",
	"Transfer-Encoding", "Www-Authenticate", "Cache-Control", "Location",
}

// decodeRules decodes the gateway.rules list field by field, so that each problem names its rule
// and field. where says where the list came from, for messages (" (from TOKENGATE_…)"); problems
// in a file carry their line instead.
func decodeRules(n *yaml.Node, where string) ([]GatewayRule, []string) {
	rules := []GatewayRule{}
	if isNull(n) {
		return rules, nil
	}
	at := func(node *yaml.Node) string {
		if where != "" {
			return where
		}
		return fmt.Sprintf(" (line %d)", node.Line)
	}
	if n.Kind != yaml.SequenceNode {
		return rules, []string{rulesKey + ": must be a list of rules {hosts, paths, methods, access, roles}" + at(n)}
	}
	var problems []string
	for i, item := range n.Content {
		item = resolve(item)
		prefix := fmt.Sprintf("%s[%d]", rulesKey, i)
		var r GatewayRule
		if item.Kind != yaml.MappingNode {
			problems = append(problems, prefix+": must be a mapping {hosts, paths, methods, access, roles}"+at(item))
			rules = append(rules, r)
			continue
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			field := item.Content[j].Value
			val := resolve(item.Content[j+1])
			key := prefix + "." + field
			var list *[]string
			switch field {
			case "hosts":
				list = &r.Hosts
			case "paths":
				list = &r.Paths
			case "methods":
				list = &r.Methods
			case "roles":
				list = &r.Roles
			case "access":
				if val.Kind != yaml.ScalarNode || isNull(val) {
					problems = append(problems, key+": must be public, authenticated or deny"+at(val))
				} else {
					r.Access = val.Value
				}
				continue
			default:
				problems = append(problems, fmt.Sprintf("%s: unknown field (want one of %s)%s", key, strings.Join(ruleFields, ", "), at(item.Content[j])))
				continue
			}
			if isNull(val) {
				continue
			}
			if val.Kind != yaml.SequenceNode || val.Decode(list) != nil {
				problems = append(problems, key+": must be a list, e.g. ["+exampleFor(field)+"]"+at(val))
			}
		}
		rules = append(rules, r)
	}
	return rules, problems
}

func exampleFor(field string) string {
	switch field {
	case "hosts":
		return "api.example.com, \"*.example.com\""
	case "paths":
		return "/api/, /exact"
	case "methods":
		return "GET, POST"
	}
	return "admin"
}

// rulesFromEnv parses TOKENGATE_GATEWAY_RULES: YAML text, so JSON too, e.g.
// [{"paths": ["/pub/"], "access": "public"}].
func rulesFromEnv(raw string) ([]GatewayRule, []string) {
	where := " (from " + envName(rulesKey) + ")"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
		return []GatewayRule{}, []string{rulesKey + ": not YAML or JSON: " + err.Error() + where}
	}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = resolve(doc.Content[0])
	}
	return decodeRules(root, where)
}

func cloneRules(in []GatewayRule) []GatewayRule {
	if in == nil {
		return nil
	}
	out := make([]GatewayRule, len(in))
	for i, r := range in {
		out[i] = GatewayRule{
			Hosts: slices.Clone(r.Hosts), Paths: slices.Clone(r.Paths), Methods: slices.Clone(r.Methods),
			Access: r.Access, Roles: slices.Clone(r.Roles),
		}
	}
	return out
}

// validateGateway checks the gateway keys other than the rules' grammar (see LoadValid's checks).
func (c *Config) validateGateway(p *problemList) {
	g := c.Gateway
	p.oneOf("gateway.default_access", g.DefaultAccess, accessValues...)
	for _, h := range []struct{ key, name string }{
		{"gateway.user_header", g.UserHeader}, {"gateway.roles_header", g.RolesHeader},
	} {
		switch {
		case !headerName(h.name):
			p.add(h.key, "%q is not an HTTP header name", h.name)
		case slices.Contains(reservedHeaders, textproto.CanonicalMIMEHeaderKey(h.name)):
			p.add(h.key, "%s is a header with another purpose", textproto.CanonicalMIMEHeaderKey(h.name))
		}
	}
	if strings.EqualFold(g.UserHeader, g.RolesHeader) && g.UserHeader != "" {
		p.add("gateway.roles_header", "must differ from gateway.user_header (%s)", g.UserHeader)
	}
}

// headerName reports whether s is an HTTP field name (RFC 9110 §5.1: a token).
func headerName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
