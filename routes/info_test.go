package routes_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/middleware"
	"github.com/tokengate/tokengate/routes"
	"github.com/tokengate/tokengate/state"
	"github.com/tokengate/tokengate/token"
)

// TestJWKSAnswersHEAD: the key set answers HEAD as it answers GET (headers, no body), so caches and
// probes that check it with HEAD get a 200, not a 405.
func TestJWKSAnswersHEAD(t *testing.T) {
	keys, err := token.NewHMACKeys("HS256", []byte(benchSecret))
	if err != nil {
		t.Fatal(err)
	}
	st := state.NewMemory(nil)
	t.Cleanup(func() { _ = st.Close() })
	opts := token.Options{Issuer: "tokengate", Audience: "tokengate", Revoked: st}
	h, err := routes.New(routes.Deps{
		Users: panickingUsers{}, Issuer: token.NewIssuer(keys, opts), Verifier: token.NewVerifier(keys, opts),
		JWKS: keys.JWKS(), State: st, Lookup: middleware.Lookup{Sources: []string{"header"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	get, head := httptest.NewRecorder(), httptest.NewRecorder()
	h.ServeHTTP(get, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	h.ServeHTTP(head, httptest.NewRequest(http.MethodHead, "/.well-known/jwks.json", nil))
	if get.Code != http.StatusOK || head.Code != http.StatusOK {
		t.Fatalf("GET %d, HEAD %d, want 200 and 200", get.Code, head.Code)
	}
	for _, k := range []string{"Content-Type", "Cache-Control"} {
		if g, h := get.Header().Get(k), head.Header().Get(k); g == "" || g != h {
			t.Errorf("%s: GET %q, HEAD %q", k, g, h)
		}
	}
	if get.Body.String() != `{"keys":[]}` {
		t.Errorf("GET body = %q", get.Body)
	}
}
