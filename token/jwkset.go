package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// MaxJWKSBytes is the largest JSON Web Key Set ParseJWKS reads.
const MaxJWKSBytes = 256 << 10

// maxJWKSKeys bounds how many keys of one set are kept: every unknown kid costs a map lookup, every
// kept key some memory, and a published set holds a handful.
const maxJWKSKeys = 64

// ErrNoUsableKey is returned by ParseJWKS for a well-formed set that holds no key it can use: empty,
// or only symmetric, encryption, unknown or refused keys.
var ErrNoUsableKey = errors.New("token: the key set holds no usable public signing key")

// remoteJWK is one member of a fetched JWKS, as far as ParseJWKS reads it.
type remoteJWK struct {
	Kty    string   `json:"kty"`
	Kid    *string  `json:"kid"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Alg    string   `json:"alg"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	D      string   `json:"d"`
}

// ParseJWKS returns a KeySet that verifies, and never signs, with the public keys of a JSON Web Key
// Set (RFC 7517) such as tokengate's /.well-known/jwks.json. It is for services that trust tokens
// another process signs.
//
// A key is kept when it is an RSA key (RS256, 2048 to 16384 bits), an EC P-256 key (ES256) or an OKP
// Ed25519 key (EdDSA); its algorithm is its "alg" member, which must then match its type, else the
// one its type allows; and that algorithm is in algs (nil or empty: RS256, ES256 and EdDSA). Every
// other member is skipped, as RFC 7517 §5 asks of keys a reader does not understand: symmetric
// ("oct") keys above all, since a verifier must never take a published value as an HMAC secret;
// keys with "use" other than "sig" or "key_ops" without "verify"; keys carrying private members;
// keys that are malformed. A key's kid is its "kid" member, else its RFC 7638 thumbprint; of two
// keys with one kid only the first is kept. Tokens are verified as by LoadKeys' key sets: the kid
// picks the key and the algorithm is pinned to that key's; a token without a kid is checked
// against the first key kept. A token of an algorithm in algs whose kid names no kept key fails
// with ErrUnknownKey (time to fetch the set again), even when no kept key has that algorithm.
//
// It fails when data is larger than MaxJWKSBytes, is not a JSON object with a "keys" array, or
// when no key is kept (ErrNoUsableKey). JWKS then returns the kept keys in tokengate's own form.
func ParseJWKS(data []byte, algs []string) (*KeySet, error) {
	if len(data) > MaxJWKSBytes {
		return nil, fmt.Errorf("token: key set is larger than %d bytes", MaxJWKSBytes)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, errors.New("token: key set is not a JSON Web Key Set")
	}
	if set.Keys == nil {
		return nil, errors.New(`token: key set has no "keys" array`)
	}
	if len(algs) == 0 {
		algs = []string{RS256, ES256, EdDSA}
	}
	var keys []*verificationKey
	seen := map[string]bool{}
	for _, raw := range set.Keys {
		if len(keys) == maxJWKSKeys {
			break
		}
		var j remoteJWK
		if json.Unmarshal(raw, &j) != nil {
			continue
		}
		vk, err := j.verificationKey()
		if err != nil || !slices.Contains(algs, vk.alg) || seen[vk.kid] {
			continue
		}
		seen[vk.kid] = true
		keys = append(keys, vk)
	}
	if len(keys) == 0 {
		return nil, ErrNoUsableKey
	}
	jwks, err := buildJWKS(keys)
	if err != nil {
		return nil, err
	}
	ks, err := newKeySet(keys[0].method, nil, keys[0], keys[1:], jwks)
	if err != nil {
		return nil, err
	}
	// A verifier admits every algorithm of algs before it looks for the kid, not only those of the
	// keys kept: a token signed by a key of another type that is not published yet must fail with
	// ErrUnknownKey, which tells the caller to fetch the set again, not with ErrAlgorithm.
	for _, alg := range algs {
		if !contains(ks.algs, alg) {
			ks.algs = append(ks.algs, alg)
		}
	}
	return ks, nil
}

// KeyIDs returns the kid of every verification key in published order, the signing (or first)
// key first.
func (k *KeySet) KeyIDs() []string {
	ids := make([]string, len(k.keys))
	for i, vk := range k.keys {
		ids[i] = vk.kid
	}
	return ids
}

// verificationKey checks j and returns it as a key that verifies; see ParseJWKS for the rules.
func (j *remoteJWK) verificationKey() (*verificationKey, error) {
	if j.Use != "" && j.Use != "sig" {
		return nil, errors.New("not a signing key")
	}
	if j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify") {
		return nil, errors.New("not a verification key")
	}
	if j.D != "" {
		return nil, errors.New("private key members in a published key")
	}
	var pub any
	switch j.Kty {
	case "RSA":
		n, errN := b64Decode(j.N)
		e, errE := b64Decode(j.E)
		if errN != nil || errE != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 || n[0] == 0 || e[0] == 0 {
			return nil, errors.New("malformed RSA key")
		}
		exp := new(big.Int).SetBytes(e)
		if exp.Cmp(big.NewInt(3)) < 0 || exp.Bit(0) == 0 || !exp.IsInt64() || exp.Int64() > 1<<31-1 {
			return nil, errors.New("malformed RSA exponent")
		}
		pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}
	case "EC":
		if j.Crv != "P-256" {
			return nil, errors.New("unsupported curve")
		}
		x, errX := b64Decode(j.X)
		y, errY := b64Decode(j.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("malformed P-256 key")
		}
		// ParseUncompressedPublicKey refuses a point that is not on the curve.
		key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, errors.New("malformed P-256 key")
		}
		pub = key
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, errors.New("unsupported curve")
		}
		x, err := b64Decode(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("malformed Ed25519 key")
		}
		pub = ed25519.PublicKey(x)
	default:
		return nil, errors.New("unsupported key type")
	}
	vk, err := newPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if j.Alg != "" && j.Alg != vk.alg {
		return nil, errors.New("alg does not match the key type")
	}
	if j.Kid != nil {
		if *j.Kid == "" {
			return nil, errors.New("empty kid")
		}
		vk.kid = *j.Kid
	}
	return vk, nil
}

// b64Decode decodes unpadded base64url strictly, as RFC 7518 §6 writes key members.
func b64Decode(s string) ([]byte, error) { return base64.RawURLEncoding.Strict().DecodeString(s) }
