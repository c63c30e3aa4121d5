package config

import (
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// clientsKey is the top-level key of the introspection clients. Like store.users it is decoded
// from the YAML file directly: viper would lower-case the client ids.
const clientsKey = "clients"

// ClientSpec is one caller of POST /introspect: the schema of a clients entry.
type ClientSpec struct {
	// SecretSHA256 is the hex SHA-256 of the client's secret, as it reads once form-decoded (RFC
	// 6749 §2.3.1: clients form-encode the id and secret inside HTTP Basic; tokengate
	// client-secret prints a new secret that needs no encoding, and its hash). The secret itself
	// is never configured.
	SecretSHA256 string `yaml:"secret_sha256" mapstructure:"secret_sha256"`
}

// clientFields are the fields of a clients entry.
var clientFields = []string{"secret_sha256"}

// decodeClients decodes the clients mapping, keeping ids as written; no problem quotes a hash.
func decodeClients(n *yaml.Node) (map[string]ClientSpec, []string) {
	return decodeNamed(clientsKey, "client id", "{secret_sha256}", n, decodeClient)
}

// decodeClient decodes one client entry field by field.
func decodeClient(prefix string, body *yaml.Node, cl *ClientSpec) []string {
	var problems []string
	for j := 0; j+1 < len(body.Content); j += 2 {
		field, val := body.Content[j].Value, resolve(body.Content[j+1])
		switch {
		case field != "secret_sha256":
			problems = append(problems, fmt.Sprintf("%s.%s: unknown field (want one of %s)", prefix, field, strings.Join(clientFields, ", ")))
		case val.Kind != yaml.ScalarNode:
			problems = append(problems, prefix+".secret_sha256: must be a string")
		case !isNull(val):
			cl.SecretSHA256 = val.Value
		}
	}
	return problems
}

// validateClients checks each client's id (it travels in an HTTP Basic header, form-encoded, so
// it must need no encoding: that also keeps the colon out) and its secret hash, which it never
// quotes.
func (c *Config) validateClients(p *problemList) {
	for _, id := range slices.Sorted(maps.Keys(c.Clients)) {
		key := clientsKey + "." + id
		if id == "" || url.QueryEscape(id) != id {
			p.add(clientsKey, "client id %q must be letters, digits, '-', '.', '_' or '~'", id)
			continue
		}
		h := c.Clients[id].SecretSHA256
		switch b, err := hex.DecodeString(h); {
		case h == "":
			p.add(key+".secret_sha256", "required (tokengate client-secret prints a secret and its hash)")
		case err != nil || len(b) != 32:
			p.add(key+".secret_sha256", "must be 64 hex digits, the SHA-256 of the client's secret (got %d characters)", len(h))
		}
	}
}
