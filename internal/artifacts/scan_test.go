package artifacts

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeJWT builds an unsigned token-shaped string; no real token is ever committed.
func fakeJWT() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","kid":"test"}`)) + "." +
		enc([]byte(`{"aud":["https://kubernetes.default.svc"],"exp":1,"iat":0,"sub":"system:serviceaccount:x:y"}`)) + "." +
		enc([]byte(strings.Repeat("s", 64)))
}

func TestScanFindsTokens(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "probes"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "report.json"), []byte(`{"tokenHash":"0123456789ab"}`+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "probes", "leak.log"), []byte("line one\nAuthorization: Bearer "+fakeJWT()+"\n"), 0o644))

	found, err := ScanForTokens(dir)
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Equal(t, filepath.Join(dir, "probes", "leak.log"), found[0].File)
	require.Equal(t, 2, found[0].Line)
	require.NotContains(t, found[0].String(), "eyJ", "a finding never repeats the token")
}

func TestScanIgnoresHashesAndRedactions(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.log"), []byte("authHash 0123456789ab <redacted> eyJhbGciOi\n"), 0o644))
	found, err := ScanForTokens(dir)
	require.NoError(t, err)
	require.Empty(t, found)
}
