// Package tokeninfo reads the timing claims of a ServiceAccount JWT and names a token by a
// short hash, so probes and the harness can talk about token versions without ever
// printing a token.
package tokeninfo

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Claims are the JWT payload claims the harness reasons about. Times are Unix seconds;
// zero means the claim is absent.
type Claims struct {
	Iat int64
	Exp int64
	Nbf int64
	Sub string
}

// Decode returns the payload claims of a compact JWT. The signature is not verified:
// the probe only needs to know which token it holds and when it expires.
func Decode(token string) (Claims, error) {
	payload, err := Payload(token)
	if err != nil {
		return Claims{}, err
	}
	var raw struct {
		Iat, Exp, Nbf json.Number
		Sub           string
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Claims{}, fmt.Errorf("JWT payload is not a JSON object: %w", err)
	}
	c := Claims{Sub: raw.Sub}
	for _, f := range []struct {
		name string
		n    json.Number
		dst  *int64
	}{{"iat", raw.Iat, &c.Iat}, {"exp", raw.Exp, &c.Exp}, {"nbf", raw.Nbf, &c.Nbf}} {
		if f.n == "" {
			continue
		}
		v, err := numericDate(f.n)
		if err != nil {
			return Claims{}, fmt.Errorf("JWT claim %q: %w", f.name, err)
		}
		*f.dst = v
	}
	return c, nil
}

// Payload returns the JSON payload of a compact JWT, unverified.
func Payload(token string) ([]byte, error) {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a compact JWT: %d dot-separated parts, want 3", len(parts))
	}
	// Base64url without padding per RFC 7515; tolerate padding from sloppy issuers.
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("JWT payload is not base64url: %w", err)
	}
	return payload, nil
}

// numericDate accepts the integer form Kubernetes issues and the fractional form
// RFC 7519 also allows.
func numericDate(n json.Number) (int64, error) {
	if i, err := n.Int64(); err == nil {
		return i, nil
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxInt64/2 {
		return 0, fmt.Errorf("not a NumericDate: %s", n)
	}
	return int64(f), nil
}

// Hash names a token: the first 12 hex characters of the SHA-256 of the raw token string.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])[:12]
}

// ErrNoBearer means an Authorization header did not carry a bearer token.
var ErrNoBearer = errors.New("no bearer token in Authorization header")

// HashAuthorization hashes the token of an "Authorization: Bearer <token>" header value
// with Hash, so it matches the Hash of the token file the client read it from.
func HashAuthorization(header string) (string, error) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", ErrNoBearer
	}
	return Hash(token), nil
}
