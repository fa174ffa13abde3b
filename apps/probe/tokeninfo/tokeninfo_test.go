package tokeninfo

import (
	"encoding/base64"
	"strings"
	"testing"
)

// jwt builds a synthetic unsigned token around a JSON payload.
func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(payload)) + ".c2ln"
}

func TestDecode(t *testing.T) {
	c, err := Decode(jwt(`{"iat":1700000000,"exp":1700003600,"nbf":1699999990,"sub":"system:serviceaccount:ns:sa"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Claims{Iat: 1700000000, Exp: 1700003600, Nbf: 1699999990, Sub: "system:serviceaccount:ns:sa"}
	if c != want {
		t.Fatalf("got %+v, want %+v", c, want)
	}
}

func TestDecodeOptionalAndFractional(t *testing.T) {
	c, err := Decode(jwt(`{"iat":1700000000.75,"exp":1700003600}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Iat != 1700000000 || c.Exp != 1700003600 || c.Nbf != 0 {
		t.Fatalf("got %+v", c)
	}
}

func TestDecodeMalformed(t *testing.T) {
	for name, tok := range map[string]string{
		"empty":          "",
		"one part":       "abc",
		"two parts":      "a.b",
		"four parts":     "a.b.c.d",
		"bad base64":     "e30.!!!.c2ln",
		"not json":       "e30." + base64.RawURLEncoding.EncodeToString([]byte("hello")) + ".x",
		"json array":     jwt(`[1,2]`),
		"string exp":     jwt(`{"exp":"soon"}`),
		"huge exp":       jwt(`{"exp":1e300}`),
		"truncated json": jwt(`{"exp":17`),
	} {
		if _, err := Decode(tok); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestHash(t *testing.T) {
	// sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
	if got := Hash("abc"); got != "ba7816bf8f01" {
		t.Fatalf("Hash(abc) = %q", got)
	}
}

func TestHashAuthorization(t *testing.T) {
	tok := jwt(`{"exp":1}`)
	for _, h := range []string{"Bearer " + tok, "bearer " + tok, "  Bearer   " + tok + " "} {
		got, err := HashAuthorization(h)
		if err != nil || got != Hash(tok) {
			t.Errorf("HashAuthorization(%q) = %q, %v; want %q", h, got, err, Hash(tok))
		}
	}
	for _, h := range []string{"", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", tok} {
		if got, err := HashAuthorization(h); err != ErrNoBearer || got != "" {
			t.Errorf("HashAuthorization(%q) = %q, %v; want ErrNoBearer", h, got, err)
		}
	}
	if strings.Contains(Hash(tok), tok) || len(Hash(tok)) != 12 {
		t.Fatal("hash must be 12 hex chars and not contain the token")
	}
}
