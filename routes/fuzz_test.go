package routes

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// FuzzCredentials drives credentials (Basic, JSON and form logins) with any method, content type,
// Authorization headers and body. It never panics; it answers credentials, errNoCredentials or a
// *requestError; credentials it returns are non-empty, within bcrypt's 72 bytes and a clean user
// name; and it agrees with the standard library's base64 and JSON on what was sent.
func FuzzCredentials(f *testing.F) {
	gin.SetMode(gin.ReleaseMode)
	b := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	js, form := "application/json", "application/x-www-form-urlencoded"
	for _, seed := range []struct {
		post            bool
		ct, authz, body string
	}{
		{false, "", b("alice:pyconid"), ""},
		{false, "", "basic " + base64.StdEncoding.EncodeToString([]byte("alice:pyconid")), ""},
		{false, "", b("alice"), ""},
		{false, "", b(":"), ""},
		{false, "", b("al:ice:pw"), ""},
		{false, "", b("alice\x00:pw"), ""},
		{false, "", b("caf\xe9:pw"), ""},
		{false, "", b("long:" + strings.Repeat("p", 73)), ""},
		{false, "", "Basic !!!", ""},
		{false, "", "Basic YWxpY2U6cHljb25pZA", ""},
		{false, "", b("a:b") + "\n" + b("c:d"), ""},
		{true, js, "", `{"username":"alice","password":"pyconid"}`},
		{true, js, "", `{"username":"alice","password":"pyconid","username":"bob"}`},
		{true, js, "", `{"user\u006eame":"alice","password":"pyconid"}`},
		{true, js, "", `{"Username":"alice","password":"pyconid"}`},
		{true, js, "", `{"username":1,"password":{"$ne":null}}`},
		{true, js, "", `{"username":"alice","password":"pyconid"} {}`},
		{true, js, "", `["alice","pyconid"]`},
		{true, js, "", `{"x":[[[{}]]],"username":"a\u0000","password":"p"}`},
		{true, "application/json; charset=utf-8", "", `{"username":"alice","password":"pyconid"}`},
		{true, form, "", "username=alice&password=pyconid"},
		{true, form, "", "username=alice&username=bob&password=x"},
		{true, form, "", "username=%zz&password=x"},
		{true, form, "", "username=alice;password=x"},
		{true, "text/plain", "", "alice:pyconid"},
		{true, "", "", `{"username":"alice","password":"pyconid"}`},
		{true, js, b("alice:pyconid"), `{"username":"alice","password":"pyconid"}`},
	} {
		f.Add(seed.post, seed.ct, seed.authz, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, post bool, contentType, authz string, body []byte) {
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(method, "/login", bytes.NewReader(body))
		if contentType != "" {
			c.Request.Header.Set("Content-Type", contentType)
		}
		var auths []string
		if authz != "" {
			auths = strings.Split(authz, "\n")
			c.Request.Header["Authorization"] = auths
		}
		user, pass, err := credentials(c)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) && !errors.Is(err, errNoCredentials) {
				t.Fatalf("err = %v (%T), want a *requestError or errNoCredentials", err, err)
			}
			if user != "" || pass != "" {
				t.Fatalf("credentials returned with an error")
			}
			return
		}
		if user == "" || pass == "" {
			t.Fatalf("empty credentials without an error: %q, %q", user, pass)
		}
		if len(pass) > maxPasswordBytes {
			t.Fatalf("password of %d bytes accepted", len(pass))
		}
		if cerr := checkUsername(user); cerr != nil || !utf8.ValidString(user) {
			t.Fatalf("user name %q accepted: %v", user, cerr)
		}
		// The credentials come from exactly one place, and match what the standard library reads there.
		if len(auths) == 1 && isBasic(auths[0]) {
			if len(bytes.TrimSpace(body)) > 0 {
				t.Fatalf("Basic credentials and a body were both accepted")
			}
			raw, derr := base64.StdEncoding.Strict().DecodeString(strings.TrimLeft(auths[0][6:], " "))
			if derr != nil || string(raw) != user+":"+pass || strings.Contains(user, ":") {
				t.Fatalf("Basic %q gave %q:%q", auths[0], user, pass)
			}
			return
		}
		if !post || len(auths) > 1 {
			t.Fatalf("credentials %q:%q from a %s request with %d Authorization headers", user, pass, method, len(auths))
		}
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), js) {
			var m map[string]any
			if jerr := json.Unmarshal(body, &m); jerr != nil {
				t.Fatalf("accepted a body that is not one JSON object: %v", jerr)
			}
			if m["username"] != user || m["password"] != pass {
				t.Fatalf("JSON %q gave %q:%q", body, user, pass)
			}
		}
	})
}

// FuzzStringFields: stringFields accepts only one JSON object, with each known field at most once
// and a string, and then returns exactly what encoding/json (case-sensitive keys) reads.
func FuzzStringFields(f *testing.F) {
	for _, seed := range []string{
		`{"username":"alice","password":"pyconid"}`, `{}`, `{"username":"a","username":"b"}`,
		`{"user\u006eame":"a"}`, `{"USERNAME":"a"}`, `{"password":null}`, `{"username":"a"}x`,
		`{"a":{"b":[1,2,{"c":"d"}]},"password":"p"}`, `[]`, `"s"`, ``, `{"username":"\ud800"}`,
		`{"username":"a\u0000b"}`, "\ufeff{}", `{"username":"a",}`, `{"refresh_token":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := stringFields(body, "username", "password")
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v (%T), want a *requestError", err, err)
			}
			return
		}
		var m map[string]any
		if jerr := json.Unmarshal(body, &m); jerr != nil || m == nil {
			t.Fatalf("accepted %q, which encoding/json refuses as an object: %v", body, jerr)
		}
		for _, k := range []string{"username", "password"} {
			v, inJSON := m[k]
			got, inOut := out[k]
			if inJSON != inOut || (inJSON && v != got) {
				t.Fatalf("%s: stringFields %q (%v), encoding/json %#v (%v)", k, got, inOut, v, inJSON)
			}
		}
	})
}
