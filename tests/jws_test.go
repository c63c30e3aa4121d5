package tests

// base64, a JWS builder and keys. The builder uses only the standard library, on purpose: the
// attack corpus must be able to make tokens no JWT library would (duplicate keys, padding, wrong
// types, broken signatures), and must not share a parser with the code under test.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// b64url is unpadded base64url (RFC 7515 §2), the encoding of JWS segments.
func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// b64std is padded standard base64 (RFC 4648 §4), the encoding of Basic credentials.
func b64std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// signer signs a JWS signing input (header "." payload, both base64url).
type signer func(signing string) []byte

// jws builds header.payload.signature from raw JSON texts. sign nil leaves the signature empty.
func jws(header, payload string, sign signer) string {
	signing := b64url([]byte(header)) + "." + b64url([]byte(payload))
	var sig []byte
	if sign != nil {
		sig = sign(signing)
	}
	return signing + "." + b64url(sig)
}

func signHMAC(h func() hash.Hash, key []byte) signer {
	return func(signing string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(signing))
		return m.Sum(nil)
	}
}

func signHS256(key []byte) signer { return signHMAC(sha256.New, key) }

var newSHA384, newSHA512 = sha512.New384, sha512.New

func signRSA(key *rsa.PrivateKey, h crypto.Hash, pss bool) signer {
	return func(signing string) []byte {
		d := h.New()
		d.Write([]byte(signing))
		var sig []byte
		var err error
		if pss {
			sig, err = rsa.SignPSS(rand.Reader, key, h, d.Sum(nil), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(nil, key, h, d.Sum(nil))
		}
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func signRS256(key *rsa.PrivateKey) signer { return signRSA(key, crypto.SHA256, false) }
func signRS512(key *rsa.PrivateKey) signer { return signRSA(key, crypto.SHA512, false) }
func signPS256(key *rsa.PrivateKey) signer { return signRSA(key, crypto.SHA256, true) }

// signES256 signs as RFC 7518 §3.4 says: r and s as 32-byte big-endian integers, concatenated.
func signES256(key *ecdsa.PrivateKey) signer {
	return func(signing string) []byte {
		sum := sha256.Sum256([]byte(signing))
		r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
		if err != nil {
			panic(err)
		}
		return ecdsaSig(r, s)
	}
}

// signES256DER signs with the ASN.1 DER signature encoding, which JWS does not allow.
func signES256DER(key *ecdsa.PrivateKey) signer {
	return func(signing string) []byte {
		sum := sha256.Sum256([]byte(signing))
		sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
		if err != nil {
			panic(err)
		}
		return sig
	}
}

// ecdsaSig is the JWS form of a P-256 signature (r, s).
func ecdsaSig(r, s *big.Int) []byte {
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out
}

func signEd25519(key ed25519.PrivateKey) signer {
	return func(signing string) []byte { return ed25519.Sign(key, []byte(signing)) }
}

// omitT, as a claim value (omit), removes the claim.
type omitT struct{}

var omit = omitT{}

// claims returns the JSON payload of a good access token for sub (iss and aud tokengate, iat and
// nbf now, exp in 10 minutes, a fresh jti, roles [admin]) with kv's changes: key, value pairs;
// omit deletes a key; a json.RawMessage goes in as is. Keys are sorted.
func claims(sub string, kv ...any) string {
	now := time.Now().Unix()
	m := map[string]any{
		"sub": sub, "iss": "tokengate", "aud": "tokengate",
		"iat": now, "nbf": now, "exp": now + 600,
		"jti": newJTI(), "roles": []string{"admin"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if _, o := kv[i+1].(omitT); o {
			delete(m, k)
			continue
		}
		m[k] = kv[i+1]
	}
	return sortedObject(m)
}

// object returns a JSON object from key, value pairs, keys in the given order (repeats kept).
func object(kv ...any) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv[i].(string))
		v, err := json.Marshal(kv[i+1])
		if err != nil {
			panic(err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}

// sortedObject is the JSON object of m with its keys sorted.
func sortedObject(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		kv = append(kv, k, m[k])
	}
	return object(kv...)
}

func newJTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return b64url(b[:])
}

// splitJWS returns the three segments of a compact JWS.
func splitJWS(t testing.TB, raw string) (h, p, sig string) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// headerOf decodes the JOSE header of a token tokengate issued.
func headerOf(t testing.TB, raw string) map[string]any {
	t.Helper()
	h, _, _ := splitJWS(t, raw)
	return decodeSegment(t, h)
}

// decodeSegment decodes a header or payload segment of a token tokengate issued.
func decodeSegment(t testing.TB, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const b64urlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// nonCanonicalB64 returns seg with its last character changed to one that decodes to the same
// bytes under a lenient base64 decoder (only the unused low bits differ), or "" when seg has no
// unused bits (its length is a multiple of 4).
func nonCanonicalB64(seg string) string {
	var unused uint
	switch len(seg) % 4 {
	case 2:
		unused = 4
	case 3:
		unused = 2
	default:
		return ""
	}
	last := strings.IndexByte(b64urlAlphabet, seg[len(seg)-1])
	alt := last | (1<<unused - 1) // a canonical encoder leaves the unused bits zero: set them
	if alt == last {
		return ""
	}
	return seg[:len(seg)-1] + string(b64urlAlphabet[alt])
}

// flipBit flips the lowest data bit of a base64url segment's first character.
func flipBit(seg string) string {
	i := strings.IndexByte(b64urlAlphabet, seg[0])
	return string(b64urlAlphabet[i^1]) + seg[1:]
}

// mustReplace replaces old, which must be in s, once.
func mustReplace(t testing.TB, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not in %q", old, s)
	}
	return strings.Replace(s, old, new, 1)
}

// --- keys --------------------------------------------------------------------------------------

// keygen runs `tokengate keygen` to write a private key to dir/name, checks that only its owner
// can read it, and returns its path.
func keygen(t testing.TB, dir, alg, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if out, errOut, code := run(t, dir, "", nil, "keygen", "--alg", alg, "--out", path); code != 0 {
		t.Fatalf("tokengate keygen --alg %s: exit %d: %s%s", alg, code, out, errOut)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
	}
	return path
}

// readKey reads a PEM private key file (PKCS#8 or PKCS#1).
func readKey(t testing.TB, path string) crypto.Signer {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		t.Fatal(err)
	}
	return key.(crypto.Signer)
}

// publicPEM returns the PKIX PEM of pub: what an attacker derives from the JWKS.
func publicPEM(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// writePublicPEM writes the public half of the private key file privPath (x.pem) to x.pub.pem, as
// previous_public_key_files wants it, and returns that path.
func writePublicPEM(t testing.TB, privPath string) string {
	t.Helper()
	path := strings.TrimSuffix(privPath, ".pem") + ".pub.pem"
	writeFile(t, path, string(publicPEM(t, readKey(t, privPath).Public())))
	return path
}
