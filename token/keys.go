package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithm names accepted by NewHMACKeys, LoadKeys and GenerateKey.
const (
	HS256 = "HS256"
	HS384 = "HS384"
	HS512 = "HS512"
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

const (
	// MinHMACSecret is the shortest HMAC secret NewHMACKeys accepts (for HS256; HS384 and HS512 need 48 and 64 bytes), in bytes.
	MinHMACSecret = 32
	// MinRSABits is the smallest RSA modulus LoadKeys accepts.
	MinRSABits = 2048
	// maxRSABits bounds the cost of one verification with a configured key.
	maxRSABits = 16384
	// generatedRSABits is the modulus size GenerateKey uses for RS256.
	generatedRSABits = 3072
	// maxPEMFile bounds how much of a key file is read.
	maxPEMFile = 1 << 20
	// hmacKIDDomain separates the HMAC key id hash from any other use of the secret.
	hmacKIDDomain = "tokengate/v1/hmac-kid\x00"
)

// verificationKey is one key that verifies tokens: the current one or a retired one.
type verificationKey struct {
	kid     string
	alg     string
	method  jwt.SigningMethod
	key     any           // []byte, *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	members publicMembers // the public key's JWK members; empty for an HMAC key
}

// publicMembers are a public key's JWK members (RFC 7518 §6, RFC 8037), in lexicographic order
// with the empty ones left out: encoding/json writes them as RFC 7638 §3 hashes them for the
// thumbprint (base64url values need no escaping).
type publicMembers struct {
	Crv string `json:"crv,omitempty"`
	E   string `json:"e,omitempty"`
	Kty string `json:"kty"`
	N   string `json:"n,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// KeySet holds the key that signs new tokens and every key that verifies them, by kid. It is
// immutable after construction and safe for concurrent use. Build one with NewHMACKeys, LoadKeys
// (and WithNextKeys) or ParseJWKS.
type KeySet struct {
	alg     string
	method  jwt.SigningMethod
	signKey any // []byte, *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey
	current *verificationKey
	byKID   map[string]*verificationKey
	keys    []*verificationKey // byKID's keys in published order, current first
	algs    []string           // distinct algorithms of all verification keys, current first
	jwks    []byte
}

// minHMACSecret is the shortest secret for alg: the hash output size, as RFC 7518 §3.2 requires
// (32 bytes for HS256, 48 for HS384, 64 for HS512).
func minHMACSecret(alg string) int {
	switch alg {
	case HS384:
		return 48
	case HS512:
		return 64
	}
	return MinHMACSecret
}

// NewHMACKeys returns a key set that signs and verifies with one HMAC secret. alg must be HS256,
// HS384 or HS512 and the secret at least as long as the hash output (RFC 7518 §3.2: 32, 48 or 64
// bytes); the secret is copied. Tokens
// carry a kid derived from the secret by a one-way, domain-separated hash (it tells nothing an
// HMAC-signed token does not already tell). JWKS is empty: an HMAC secret is never published.
func NewHMACKeys(alg string, secret []byte) (*KeySet, error) {
	method, ok := hmacMethod(alg)
	if !ok {
		return nil, fmt.Errorf("token: algorithm %q is not an HMAC algorithm (HS256, HS384, HS512)", alg)
	}
	if min := minHMACSecret(alg); len(secret) < min {
		return nil, fmt.Errorf("token: HMAC secret is %d bytes, %s needs at least %d", len(secret), alg, min)
	}
	key := bytes.Clone(secret)
	sum := sha256.Sum256(append([]byte(hmacKIDDomain+alg+"\x00"), key...))
	vk := &verificationKey{kid: b64(sum[:16]), alg: alg, method: method, key: key}
	jwks, err := buildJWKS(nil) // an HMAC secret is never published
	if err != nil {
		return nil, err
	}
	return newKeySet(method, key, vk, nil, jwks)
}

// LoadKeys reads the PEM private key that signs new tokens and the PEM public keys of retired
// signing keys that still verify tokens until those expire. alg is RS256 (RSA, at least 2048
// bits), ES256 (ECDSA P-256) or EdDSA (Ed25519) and must match the private key. The private key
// may be PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"); a retired
// key file may hold a PKIX "PUBLIC KEY", a PKCS#1 "RSA PUBLIC KEY" or any of those private keys
// (only its public part is kept). A retired key's algorithm follows from its type. Every key's kid
// is its RFC 7638 JWK thumbprint. Errors name the file, never the key material.
func LoadKeys(alg, privateKeyPEMFile string, previousPublicPEMFiles []string) (*KeySet, error) {
	method, ok := asymmetricMethod(alg)
	if !ok {
		return nil, fmt.Errorf("token: algorithm %q needs no key file or is unknown (RS256, ES256, EdDSA)", alg)
	}
	data, err := readPEMFile(privateKeyPEMFile)
	if err != nil {
		return nil, err
	}
	signer, err := parsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("token: private key %s: %w", privateKeyPEMFile, err)
	}
	current, err := newPublicKey(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("token: private key %s: %w", privateKeyPEMFile, err)
	}
	if current.alg != alg {
		return nil, fmt.Errorf("token: private key %s is a %s key, algorithm %s needs another key type", privateKeyPEMFile, current.alg, alg)
	}
	previous, err := loadPublicKeys("previous", previousPublicPEMFiles)
	if err != nil {
		return nil, err
	}
	jwks, err := buildJWKS(append([]*verificationKey{current}, previous...))
	if err != nil {
		return nil, err
	}
	return newKeySet(method, signer, current, previous, jwks)
}

// WithNextKeys returns a copy of k that also publishes, and verifies with, the public keys in the
// PEM files named (any format LoadKeys takes for a retired key): keys that will sign tokens later
// (token.next_public_key_files). Publishing a key before it signs lets verifiers that cache the
// JWKS have it before they meet its first token; verifying with it lets a replica accept tokens
// from another replica that already signs with it. The JWKS lists them after k's keys. Errors
// name the file.
func (k *KeySet) WithNextKeys(files []string) (*KeySet, error) {
	if len(files) == 0 {
		return k, nil
	}
	if _, ok := k.current.key.([]byte); ok {
		return nil, errors.New("token: an HMAC key set publishes no keys")
	}
	next, err := loadPublicKeys("next", files)
	if err != nil {
		return nil, err
	}
	all := append(slices.Clone(k.keys[1:]), next...)
	jwks, err := buildJWKS(append([]*verificationKey{k.current}, all...))
	if err != nil {
		return nil, err
	}
	return newKeySet(k.method, k.signKey, k.current, all, jwks)
}

// loadPublicKeys reads one public key from each PEM file; errors name the file as a "what" key.
func loadPublicKeys(what string, files []string) ([]*verificationKey, error) {
	var keys []*verificationKey
	for _, file := range files {
		data, err := readPEMFile(file)
		if err != nil {
			return nil, err
		}
		pub, err := parsePublicKeyPEM(data)
		if err != nil {
			return nil, fmt.Errorf("token: %s key %s: %w", what, file, err)
		}
		vk, err := newPublicKey(pub)
		if err != nil {
			return nil, fmt.Errorf("token: %s key %s: %w", what, file, err)
		}
		keys = append(keys, vk)
	}
	return keys, nil
}

func newKeySet(method jwt.SigningMethod, signKey any, current *verificationKey, previous []*verificationKey, jwks []byte) (*KeySet, error) {
	k := &KeySet{
		alg:     current.alg,
		method:  method,
		signKey: signKey,
		current: current,
		byKID:   map[string]*verificationKey{current.kid: current},
		keys:    []*verificationKey{current},
		algs:    []string{current.alg},
		jwks:    jwks,
	}
	for _, vk := range previous {
		if _, dup := k.byKID[vk.kid]; dup {
			continue // the same key listed twice, or the current key listed as retired
		}
		k.byKID[vk.kid] = vk
		k.keys = append(k.keys, vk)
		if !contains(k.algs, vk.alg) {
			k.algs = append(k.algs, vk.alg)
		}
	}
	return k, nil
}

// Algorithm returns the algorithm that signs new tokens (HS256, …, EdDSA).
func (k *KeySet) Algorithm() string { return k.alg }

// Algorithms returns the algorithms a Verifier over k admits: those of its keys, the signing key's
// first (for a set from ParseJWKS, every algorithm asked for).
func (k *KeySet) Algorithms() []string { return slices.Clone(k.algs) }

// KeyID returns the kid of the key that signs new tokens.
func (k *KeySet) KeyID() string { return k.current.kid }

// JWKS returns the public verification keys as a JSON Web Key Set (RFC 7517):
// {"keys":[…]} with kty, kid, use "sig", alg and the public key members only, the current key
// first. For an HMAC key set it is {"keys":[]}. It is computed once; each call returns a copy.
func (k *KeySet) JWKS() []byte { return bytes.Clone(k.jwks) }

// GenerateKey returns a new private key for alg as a PKCS#8 PEM block ("PRIVATE KEY"): RSA 3072
// bits for RS256, P-256 for ES256, Ed25519 for EdDSA. HMAC algorithms have no PEM key: it
// returns an error for them.
func GenerateKey(alg string) (pemBytes []byte, err error) {
	var key any
	switch alg {
	case RS256:
		key, err = rsa.GenerateKey(rand.Reader, generatedRSABits)
	case ES256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("token: cannot generate a key for algorithm %q (RS256, ES256, EdDSA)", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("token: generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("token: encode %s key: %w", alg, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func hmacMethod(alg string) (jwt.SigningMethod, bool) {
	switch alg {
	case HS256:
		return jwt.SigningMethodHS256, true
	case HS384:
		return jwt.SigningMethodHS384, true
	case HS512:
		return jwt.SigningMethodHS512, true
	}
	return nil, false
}

func asymmetricMethod(alg string) (jwt.SigningMethod, bool) {
	switch alg {
	case RS256:
		return jwt.SigningMethodRS256, true
	case ES256:
		return jwt.SigningMethodES256, true
	case EdDSA:
		return jwt.SigningMethodEdDSA, true
	}
	return nil, false
}

func readPEMFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("token: key file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, fmt.Errorf("token: key file: %w", err)
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("token: key file %s is larger than %d bytes", name, maxPEMFile)
	}
	return data, nil
}

// parsePrivateKeyPEM returns the one private key in data. "EC PARAMETERS" blocks (written by
// `openssl ecparam -genkey`) are skipped; encrypted keys and several keys are refused.
func parsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	var found crypto.Signer
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		data = rest
		if block.Type == "EC PARAMETERS" {
			continue
		}
		key, err := parsePrivateBlock(block)
		if err != nil {
			return nil, err
		}
		if found != nil {
			return nil, errors.New("more than one private key in the file")
		}
		found = key
	}
	if found == nil {
		return nil, errors.New("no PEM private key found")
	}
	return found, nil
}

func parsePrivateBlock(block *pem.Block) (crypto.Signer, error) {
	if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, errors.New("encrypted private keys are not supported")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot parse %s: %w", block.Type, err)
	}
	switch key := key.(type) {
	case *rsa.PrivateKey:
		return key, nil
	case *ecdsa.PrivateKey:
		return key, nil
	case ed25519.PrivateKey:
		return key, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T", key)
}

// parsePublicKeyPEM returns the one public key in data, or the public part of its private key.
func parsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	var found crypto.PublicKey
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		data = rest
		var (
			pub crypto.PublicKey
			err error
		)
		switch block.Type {
		case "EC PARAMETERS":
			continue
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		default:
			var signer crypto.Signer
			signer, err = parsePrivateBlock(block)
			if err == nil {
				pub = signer.Public()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("cannot parse %s: %w", block.Type, err)
		}
		if found != nil {
			return nil, errors.New("more than one key in the file")
		}
		found = pub
	}
	if found == nil {
		return nil, errors.New("no PEM key found")
	}
	return found, nil
}

// newPublicKey checks pub against the key rules and returns it with its algorithm and kid.
func newPublicKey(pub crypto.PublicKey) (*verificationKey, error) {
	vk := &verificationKey{key: pub}
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		bits := pub.N.BitLen()
		if bits < MinRSABits {
			return nil, fmt.Errorf("RSA key has %d bits, need at least %d", bits, MinRSABits)
		}
		if bits > maxRSABits {
			return nil, fmt.Errorf("RSA key has %d bits, at most %d are supported", bits, maxRSABits)
		}
		vk.alg, vk.method = RS256, jwt.SigningMethodRS256
		vk.members = publicMembers{Kty: "RSA", N: b64(pub.N.Bytes()), E: b64(big.NewInt(int64(pub.E)).Bytes())}
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ECDSA key on curve %s, only P-256 (ES256) is supported", pub.Curve.Params().Name)
		}
		point, err := pub.Bytes() // 0x04 || X || Y, each 32 bytes
		if err != nil || len(point) != 65 {
			return nil, errors.New("invalid P-256 public key")
		}
		vk.alg, vk.method = ES256, jwt.SigningMethodES256
		vk.members = publicMembers{Kty: "EC", Crv: "P-256", X: b64(point[1:33]), Y: b64(point[33:])}
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return nil, errors.New("invalid Ed25519 public key")
		}
		vk.alg, vk.method = EdDSA, jwt.SigningMethodEdDSA
		vk.members = publicMembers{Kty: "OKP", Crv: "Ed25519", X: b64(pub)}
	default:
		return nil, fmt.Errorf("unsupported public key type %T", pub)
	}
	tp, err := json.Marshal(vk.members) // RFC 7638 §3: required members, sorted, no whitespace
	if err != nil {
		return nil, fmt.Errorf("encode the key's thumbprint input: %w", err)
	}
	sum := sha256.Sum256(tp)
	vk.kid = b64(sum[:])
	return vk, nil
}

// jwk is one public key of the published JWKS.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

func buildJWKS(keys []*verificationKey) ([]byte, error) {
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	seen := map[string]bool{}
	for _, vk := range keys {
		if seen[vk.kid] {
			continue
		}
		seen[vk.kid] = true
		m := vk.members
		set.Keys = append(set.Keys, jwk{Kty: m.Kty, Kid: vk.kid, Use: "sig", Alg: vk.alg, Crv: m.Crv, N: m.N, E: m.E, X: m.X, Y: m.Y})
	}
	out, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: encode JWKS: %w", err)
	}
	return out, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
