package token

import (
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The fast path (fast.go) must be a strict subset of the full path: whenever it answers, the full
// path (verifyJWT) answers the same. These tests hold it to that, and make sure it keeps taking
// the tokens the Issuer makes, so that the speed cannot silently go away.

// fastSign signs header and payload (both JSON text) with keys' current HMAC key.
func fastSign(tb testing.TB, keys *KeySet, headerSeg, payload string) string {
	tb.Helper()
	signing := headerSeg + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	sig, err := keys.method.Sign(signing, keys.signKey)
	if err != nil {
		tb.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// fastCheck runs raw through the fast path and the full path and fails when they disagree; it
// returns the fast path's result.
func fastCheck(tb testing.TB, v *Verifier, raw string, now time.Time) fastResult {
	tb.Helper()
	if checkShape(raw) != nil || len(raw) > MaxTokenBytes {
		return fastNotMine // Verify never gets as far
	}
	fc, res := v.fast.verify(v, raw, now)
	full, err := v.verifyJWT(raw)
	switch res {
	case fastValid:
		if err != nil {
			tb.Fatalf("fast path accepted a token the full path refuses (%v):\n%s", err, raw)
		}
		if !reflect.DeepEqual(fc, full) {
			tb.Fatalf("fast path claims differ from the full path's:\nfast %#v\nfull %#v", fc, full)
		}
	case fastBadSignature:
		if !errors.Is(err, ErrSignature) {
			tb.Fatalf("fast path said bad signature, full path says %v", err)
		}
	}
	return res
}

func TestFastPathTakesIssuedTokens(t *testing.T) {
	for _, alg := range []string{HS256, HS384, HS512} {
		for _, roles := range [][]string{nil, {"admin"}, {"admin", "ops"}} {
			t.Run(alg+"/"+strings.Join(roles, ","), func(t *testing.T) {
				clk := newClock()
				keys := mustHMAC(t, alg, testSecret)
				o := testOptions(clk)
				o.Revoked = &revocations{}
				v := NewVerifier(keys, o)
				raw, issued, err := NewIssuer(keys, o).Issue("alice", roles)
				if err != nil {
					t.Fatal(err)
				}
				if res := fastCheck(t, v, raw, clk.Now()); res != fastValid {
					t.Fatalf("an issued token did not take the fast path (%d)", res)
				}
				got, err := v.Verify(context.Background(), raw)
				if err != nil || !reflect.DeepEqual(got, issued) {
					t.Fatalf("Verify = %#v, %v; want %#v", got, err, issued)
				}
				// A wrong signature is answered on the fast path too, as the full path would.
				forged := raw[:len(raw)-3] + flipB64(raw[len(raw)-3]) + raw[len(raw)-2:]
				if res := fastCheck(t, v, forged, clk.Now()); res != fastBadSignature {
					t.Fatalf("forged signature: fast path result %d", res)
				}
				if _, err := v.Verify(context.Background(), forged); !errors.Is(err, ErrSignature) {
					t.Fatalf("Verify(forged) = %v, want ErrSignature", err)
				}
				// The right signature with a byte more or less is not the signature.
				dot := strings.LastIndexByte(raw, '.')
				sig, err := base64.RawURLEncoding.DecodeString(raw[dot+1:])
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range [][]byte{append(sig, 0), sig[:len(sig)-1], append(sig, sig...)} {
					bad := raw[:dot+1] + base64.RawURLEncoding.EncodeToString(s)
					if res := fastCheck(t, v, bad, clk.Now()); res == fastValid {
						t.Fatalf("a %d-byte signature was accepted", len(s))
					}
					if _, err := v.Verify(context.Background(), bad); !errors.Is(err, ErrInvalid) {
						t.Fatalf("Verify(%d-byte signature) = %v", len(s), err)
					}
				}
			})
		}
	}
}

func flipB64(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestFastPathOnlyForHMAC(t *testing.T) {
	k := sharedKeys()
	keys := mustLoad(t, ES256, writePKCS8(t, t.TempDir(), "ec.pem", k.ec))
	if v := NewVerifier(keys, testOptions(nil)); v.fast != nil {
		t.Fatal("an ES256 key set got the HMAC fast path")
	}
}

// TestFastPathDefers: every token outside the fast path's narrow shape goes to the full path,
// which gives its own answer (accepting or refusing), so that Verify's result is the full path's.
func TestFastPathDefers(t *testing.T) {
	clk := newClock()
	keys := mustHMAC(t, HS256, testSecret[:32])
	o := testOptions(clk)
	o.Revoked = &revocations{}
	v := NewVerifier(keys, o)
	hdr := keys.header[:len(keys.header)-1]
	now := clk.Now().Unix()
	n := func(d int64) string { return strconv.FormatInt(now+d, 10) }
	good := `{"sub":"alice","iss":"tokengate","aud":"tokengate","iat":` + n(0) + `,"nbf":` + n(0) +
		`,"exp":` + n(900) + `,"jti":"abc","roles":["admin"]}`
	edit := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("%q not in the payload", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	otherHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"` + keys.KeyID() + `"}`))
	for _, tt := range []struct {
		name, header, payload string
		valid                 bool // what the full path (and so Verify) answers
		fast                  bool // the fast path answers (else it defers)
	}{
		{"other header order", otherHeader, good, true, false},
		{"no kid", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256"}`)), good, true, false},
		{"whitespace", hdr, edit(`"sub":`, `"sub": `), true, false},
		{"unknown claim", hdr, edit(`{`, `{"x":1,`), true, false},
		{"escaped string", hdr, edit(`"alice"`, `"al\u0069ce"`), true, false},
		{"non-ASCII subject", hdr, edit(`"alice"`, `"alicé"`), true, false},
		{"fractional exp", hdr, edit(`"exp":`+n(900), `"exp":`+n(900)+`.5`), true, false},
		{"exponent exp", hdr, edit(`"exp":`+n(900), `"exp":1e12`), true, false},
		{"null roles", hdr, edit(`["admin"]`, `null`), true, false},
		{"aud list", hdr, edit(`"aud":"tokengate"`, `"aud":["x","tokengate"]`), true, true},
		{"trailing data", hdr, good + `{}`, false, false},
		{"expired", hdr, edit(`"exp":`+n(900), `"exp":`+n(-10)), false, false},
		{"exp within leeway", hdr, edit(`"exp":`+n(900), `"exp":`+n(-1)), true, true},
		{"nbf in the future", hdr, edit(`"nbf":`+n(0), `"nbf":`+n(60)), false, false},
		{"iat in the future", hdr, edit(`"iat":`+n(0), `"iat":`+n(60)), false, false},
		{"no exp", hdr, edit(`,"exp":`+n(900), ``), false, false},
		{"wrong iss", hdr, edit(`"iss":"tokengate"`, `"iss":"other"`), false, false},
		{"wrong aud", hdr, edit(`"aud":"tokengate"`, `"aud":"other"`), false, false},
		{"empty aud list", hdr, edit(`"aud":"tokengate"`, `"aud":[]`), false, false},
		{"empty sub", hdr, edit(`"alice"`, `""`), false, false},
		{"no jti", hdr, edit(`,"jti":"abc"`, ``), false, false},
		{"duplicate exp", hdr, edit(`"exp":`+n(900), `"exp":`+n(-900)+`,"exp":`+n(900)), false, false},
		{"miscased EXP", hdr, edit(`"exp":`+n(900), `"exp":`+n(-900)+`,"EXP":`+n(900)), false, false},
		{"string exp", hdr, edit(`"exp":`+n(900), `"exp":"`+n(900)+`"`), false, false},
		{"leading zero exp", hdr, edit(`"exp":`+n(900), `"exp":0`+n(900)), false, false},
		{"negative exp", hdr, edit(`"exp":`+n(900), `"exp":-1`), false, false},
		{"missing colon", hdr, edit(`"sub":`, `"sub"=`), false, false},
		{"exp of 16 digits", hdr, edit(`"exp":`+n(900), `"exp":9999999999999999`), false, false},
		{"roles string", hdr, edit(`["admin"]`, `"admin"`), false, false},
		{"not an object", hdr, `["alice"]`, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw := fastSign(t, keys, tt.header, tt.payload)
			if res := fastCheck(t, v, raw, clk.Now()); (res != fastNotMine) != tt.fast {
				t.Fatalf("fast path result %d, want it to answer: %v", res, tt.fast)
			}
			_, err := v.Verify(context.Background(), raw)
			if (err == nil) != tt.valid {
				t.Fatalf("Verify: %v, want valid=%v", err, tt.valid)
			}
		})
	}
}

// FuzzFastPathAgrees signs arbitrary payloads (under the Issuer's own header, so that the fast
// path is reached) and checks that the fast path never answers differently from the full path.
func FuzzFastPathAgrees(f *testing.F) {
	keys := mustHMAC(f, HS256, testSecret[:32])
	hdr := keys.header[:len(keys.header)-1]
	start := testStart.Unix()
	n := func(d int64) string { return strconv.FormatInt(start+d, 10) }
	good := `{"sub":"alice","iss":"tokengate","aud":"tokengate","iat":` + n(0) + `,"nbf":` + n(0) +
		`,"exp":` + n(900) + `,"jti":"abc","roles":["admin"]}`
	for _, seed := range []string{
		good,
		strings.Replace(good, `,"roles":["admin"]`, ``, 1),
		strings.Replace(good, `"roles":["admin"]`, `"roles":[]`, 1),
		strings.Replace(good, `"aud":"tokengate"`, `"aud":["a","tokengate"]`, 1),
		strings.Replace(good, `"exp":`+n(900), `"exp":`+n(4), 1),
		strings.Replace(good, `"exp":`+n(900), `"exp":`+n(5), 1),
		strings.Replace(good, `"nbf":`+n(0), `"nbf":`+n(5), 1),
		strings.Replace(good, `"nbf":`+n(0), `"nbf":`+n(6), 1),
		strings.Replace(good, `"iat":`+n(0), `"iat":999999999999999`, 1),
		strings.Replace(good, `"jti":"abc"`, `"jti":""`, 1),
		strings.Replace(good, `"sub":"alice"`, `"sub":"a\"b"`, 1),
		`{}`,
	} {
		f.Add(seed, int64(0), true, false)
	}
	f.Fuzz(func(t *testing.T, payload string, skew int64, revocation, forge bool) {
		o := testOptions(nil)
		now := testStart.Add(time.Duration(skew%3600) * time.Second)
		o.Now = func() time.Time { return now }
		if revocation {
			o.Revoked = &revocations{}
		}
		v := NewVerifier(keys, o)
		raw := fastSign(t, keys, hdr, payload)
		if forge {
			raw = raw[:len(raw)-2] + "AA"
		}
		res := fastCheck(t, v, raw, now)
		if payload == good && skew == 0 && !forge && res != fastValid {
			t.Fatalf("the Issuer's shape did not take the fast path (%d)", res)
		}
	})
}
