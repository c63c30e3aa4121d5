package cmd

import (
	"fmt"

	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/gateway"
	"github.com/tokengate/tokengate/routes"
)

// gatewayRules turns gateway.rules into the gateway package's rules.
func gatewayRules(in []config.GatewayRule) []gateway.Rule {
	out := make([]gateway.Rule, len(in))
	for i, r := range in {
		out[i] = gateway.Rule{Hosts: r.Hosts, Paths: r.Paths, Methods: r.Methods, Access: gateway.Access(r.Access), Roles: r.Roles}
	}
	return out
}

// checkGatewayRules reports every problem of gateway.rules, in the gateway package's grammar, as
// configuration problem lines ("gateway.rules[2].paths[0]: …"). gateway.default_access is
// config's to check.
func checkGatewayRules(c *config.Config) []string {
	var lines []string
	for _, e := range gateway.Validate(gatewayRules(c.Gateway.Rules), "") {
		lines = append(lines, fmt.Sprintf("gateway.rules[%d].%s: %s", e.Index, e.Field, e.Problem))
	}
	return lines
}

// newGateway builds /auth's configuration from the (validated) gateway settings.
func newGateway(c config.Gateway) (routes.Gateway, error) {
	p, err := gateway.NewPolicy(gatewayRules(c.Rules), gateway.Access(c.DefaultAccess))
	if err != nil {
		return routes.Gateway{}, fmt.Errorf("gateway.rules: %w", err)
	}
	return routes.Gateway{Policy: p, UserHeader: c.UserHeader, RolesHeader: c.RolesHeader}, nil
}
