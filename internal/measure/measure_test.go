package measure

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + ".c2ln"
}

func TestDecodeClaims(t *testing.T) {
	c, err := DecodeClaims(jwt(`{"aud":["https://kubernetes.default.svc.cluster.local"],"exp":1700000600,"iat":1700000000,"iss":"https://kubernetes.default.svc.cluster.local","jti":"x",
		"kubernetes.io":{"namespace":"ns","node":{"name":"n","uid":"u"},"pod":{"name":"p","uid":"v"},"serviceaccount":{"name":"probe","uid":"w"}},"nbf":1700000000,"sub":"system:serviceaccount:ns:probe"}`))
	require.NoError(t, err)
	require.Equal(t, []string{"aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"}, c.Names)
	require.Equal(t, []string{"namespace", "node", "pod", "serviceaccount"}, c.KubernetesIO)
	require.True(t, c.JTI)
	require.True(t, c.NodeBound)
	require.Equal(t, int64(600), c.LifetimeSeconds)
	require.Equal(t, []string{"https://kubernetes.default.svc.cluster.local"}, c.Audiences)

	// An older apiserver: no jti, no node, aud as a string.
	c, err = DecodeClaims(jwt(`{"aud":"api","exp":20,"iat":10,"iss":"i","kubernetes.io":{"namespace":"ns","pod":{"name":"p"}},"sub":"s"}`))
	require.NoError(t, err)
	require.False(t, c.JTI)
	require.False(t, c.NodeBound, "a node name elsewhere than kubernetes.io.node does not count")
	require.Equal(t, []string{"api"}, c.Audiences)

	for _, bad := range []string{"", "a.b", "a.!!!.c", jwt("not json")} {
		_, err := DecodeClaims(bad)
		require.Error(t, err, bad)
	}
}

var iat = time.Date(2026, 11, 28, 6, 0, 0, 0, time.UTC)

func tok(hash string, iatOff, life time.Duration) verdict.Token {
	return verdict.Token{Hash: hash, Iat: iat.Add(iatOff), Exp: iat.Add(iatOff + life)}
}

func TestRotationOf(t *testing.T) {
	require.Nil(t, RotationOf(nil))
	require.Nil(t, RotationOf([]verdict.Observation{{Tokens: []verdict.Token{tok("a", 0, 10*time.Minute)}}}), "one token: no rotation seen")
	// A token read without claims (iat unknown) is not a measurement.
	require.Nil(t, RotationOf([]verdict.Observation{{Tokens: []verdict.Token{tok("a", 0, 10*time.Minute), {Hash: "b"}}}}))
	r := RotationOf([]verdict.Observation{
		{Tokens: []verdict.Token{tok("a", 0, 10*time.Minute), tok("b", 480*time.Second, 10*time.Minute)}},
		{Tokens: []verdict.Token{tok("c", 2*time.Second, 10*time.Minute), tok("d", 484*time.Second, 10*time.Minute), tok("e", 966*time.Second, 10*time.Minute)}},
	})
	require.Equal(t, 3, r.Samples)
	require.Equal(t, 480.0, r.MinSeconds)
	require.Equal(t, 482.0, r.MaxSeconds)
	require.InDelta(t, 0.8, r.MinFraction, 1e-9)
	require.Contains(t, (&Measured{Rotation: r}).Summary(), "kubelet rotated at iat+480s–482s (80% of the lifetime, 3 rotations)")
}

func TestExpiryOf(t *testing.T) {
	first := tok("a", 0, 10*time.Minute)
	at := func(d time.Duration) time.Time { return first.Exp.Add(d) }
	ev := []verdict.Evidence{
		{Tokens: []verdict.Token{first}, Calls: []verdict.Call{
			{At: at(-time.Second), Outcome: verdict.OutcomeOK, Token: "a"}, // before exp: says nothing
			{At: at(55 * time.Second), Outcome: verdict.OutcomeOK, Token: "a"},
			{At: at(61 * time.Second), Outcome: verdict.OutcomeUnauthorized, Token: "a"},
			{At: at(66 * time.Second), Outcome: verdict.OutcomeUnauthorized, Token: "a"},
		}},
		// A reloading client sent its rotated token after exp: not about the start-up one.
		{Tokens: []verdict.Token{first, tok("b", 480*time.Second, 10*time.Minute)}, Calls: []verdict.Call{
			{At: at(70 * time.Second), Outcome: verdict.OutcomeOK, Token: "b"},
		}},
		// A refusal whose credential was not observable cannot be placed.
		{Tokens: []verdict.Token{first}, Calls: []verdict.Call{{At: at(30 * time.Second), Outcome: verdict.OutcomeUnauthorized, TokenNote: "not observable"}}},
	}
	x := ExpiryOf(ev)
	require.Equal(t, 1, x.Clients)
	require.Equal(t, 55.0, *x.LastAcceptedSeconds)
	require.Equal(t, 61.0, *x.FirstRefusedSeconds)
	require.Nil(t, ExpiryOf(ev[1:]), "nothing sent the start-up token past exp")
	require.Contains(t, (&Measured{Expiry: x}).Summary(), "accepted a start-up token until exp+55s and refused it from exp+61s (1 client)")
}
