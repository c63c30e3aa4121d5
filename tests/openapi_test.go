package tests

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.yaml.in/yaml/v3"

	"github.com/tokengate/tokengate/metrics"
	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/routes"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/store"
	"github.com/tokengate/tokengate/token"
)

// registeredRoutes builds the real handler the way serve.go does (metrics enabled, as by default)
// and lists the routes Gin registered, as "METHOD /path" with OpenAPI's {param} templating.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	hash, err := store.HashPassword([]byte("openapi-test-password"), 4)
	if err != nil {
		t.Fatal(err)
	}
	users, err := store.NewMemory(map[string]store.Entry{"alice": {PasswordHash: hash, Roles: []string{"admin"}}},
		store.NewHasher(1, time.Second), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewHMACKeys("HS256", []byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	st := state.NewMemory(nil)
	t.Cleanup(func() { _ = st.Close() })
	opts := token.Options{Issuer: "tokengate", Audience: "tokengate", TTL: 15 * time.Minute, Revoked: st}
	m := metrics.New()
	h, err := routes.New(routes.Deps{
		Users:    users,
		Issuer:   token.NewIssuer(keys, opts),
		Verifier: token.NewVerifier(keys, opts),
		JWKS:     keys.JWKS(),
		State:    st,
		Lookup:   middleware.Lookup{Sources: []string{"header", "query"}, QueryParam: "token"},
		Login:    routes.LoginPolicy{MaxFailures: 5, Window: time.Minute, Lockout: 5 * time.Minute},
		Metrics:  m.Handler(),
		Observe:  m,
	})
	if err != nil {
		t.Fatal(err)
	}
	lister, ok := h.(interface{ Routes() gin.RoutesInfo })
	if !ok {
		t.Fatalf("routes.New returned %T, which cannot list its routes", h)
	}
	var out []string
	for _, r := range lister.Routes() {
		out = append(out, r.Method+" "+ginToOpenAPI(r.Path))
	}
	slices.Sort(out)
	if len(out) == 0 {
		t.Fatal("routes.New registered no routes")
	}
	return out
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// ginToOpenAPI turns Gin's /users/:name and /files/*path into OpenAPI's /users/{name}, /files/{path}.
func ginToOpenAPI(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

// httpMethods are the keys of an OpenAPI path item that are operations.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// documentedRoutes lists openapi.yaml's operations as "METHOD /path".
func documentedRoutes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                               `yaml:"openapi"`
		Paths   map[string]map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi.yaml: openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	var out []string
	for path, item := range doc.Paths {
		for key, op := range item {
			if !slices.Contains(httpMethods, key) {
				continue // summary, description, parameters, servers
			}
			route := strings.ToUpper(key) + " " + path
			if _, ok := op["responses"]; !ok {
				t.Errorf("openapi.yaml: %s has no responses", route)
			}
			out = append(out, route)
		}
	}
	slices.Sort(out)
	return out
}

// difference returns the elements of a not in b.
func difference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// TestOpenAPIMatchesRegisteredRoutes fails when a route registered in Gin is missing from
// openapi.yaml, or openapi.yaml describes a route that is not registered.
func TestOpenAPIMatchesRegisteredRoutes(t *testing.T) {
	t.Parallel()
	registered := registeredRoutes(t)
	documented := documentedRoutes(t)
	for _, r := range difference(registered, documented) {
		t.Errorf("route %s is registered in routes.New but missing from openapi.yaml", r)
	}
	for _, r := range difference(documented, registered) {
		t.Errorf("openapi.yaml describes %s, which routes.New does not register", r)
	}
	if !t.Failed() {
		t.Logf("openapi.yaml matches the %d registered routes", len(registered))
	}
}

// TestPostmanCollectionCallsEveryRoute fails when the Postman collection has no request for a
// registered route, or calls a route (other than on purpose, in "Negative cases") that does not exist.
func TestPostmanCollectionCallsEveryRoute(t *testing.T) {
	t.Parallel()
	registered := registeredRoutes(t)
	b, err := os.ReadFile("../postman/tokengate.postman_collection.json")
	if err != nil {
		t.Fatal(err)
	}
	type item struct {
		Name    string `json:"name"`
		Item    []item `json:"item"`
		Request *struct {
			Method string `json:"method"`
			URL    struct {
				Path []string `json:"path"`
			} `json:"url"`
		} `json:"request"`
	}
	var coll struct {
		Info struct {
			Schema string `json:"schema"`
		} `json:"info"`
		Item []item `json:"item"`
	}
	if err := json.Unmarshal(b, &coll); err != nil {
		t.Fatalf("postman collection: %v", err)
	}
	if !strings.Contains(coll.Info.Schema, "/v2.1.0/") {
		t.Errorf("postman collection schema = %q, want v2.1.0", coll.Info.Schema)
	}
	called := map[string]bool{}
	var walk func(items []item, folder string)
	walk = func(items []item, folder string) {
		for _, it := range items {
			if it.Request == nil {
				walk(it.Item, it.Name)
				continue
			}
			// A Postman path variable (:name) is the route's parameter ({name}).
			segs := slices.Clone(it.Request.URL.Path)
			for i, seg := range segs {
				if name, ok := strings.CutPrefix(seg, ":"); ok {
					segs[i] = "{" + name + "}"
				}
			}
			route := it.Request.Method + " /" + strings.Join(segs, "/")
			called[route] = true
			if !slices.Contains(registered, route) && folder != "Negative cases" {
				t.Errorf("postman request %q calls %s, which is not a registered route", it.Name, route)
			}
		}
	}
	walk(coll.Item, "")
	for _, r := range registered {
		if !called[r] {
			t.Errorf("the Postman collection has no request for %s", r)
		}
	}
	if t.Failed() {
		fmt.Fprintln(os.Stderr, "registered routes:", strings.Join(registered, ", "))
	}
}
