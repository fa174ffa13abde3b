//go:build e2e

package probes

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	"github.com/satoken-e2e/satoken-e2e/apps/probe/tokeninfo"
)

// TestJSProbeImages runs every JavaScript probe image (built by `satoken apps build
// --versions js`) against a fake apiserver over TLS, as in a pod: the in-cluster
// environment, the token, CA and namespace files mounted at the standard path, user
// nobody. The apiserver accepts one token at a time; after the token file changes to a
// new one (accepted from then on), each probe must report the change and a 401 carrying
// the token it really sent: within client-node's 60 s re-read period every version still
// sends its start-up token. Needs docker; run with
//
//	go test -tags e2e -run TestJSProbeImages ./internal/probes
//
// SATOKEN_JS_VERSIONS=js-0.16.3,... (a --versions list) runs those images instead, such as
// versions built on demand.
func TestJSProbeImages(t *testing.T) {
	all, err := Load(repoRoot)
	require.NoError(t, err)
	spec := os.Getenv("SATOKEN_JS_VERSIONS")
	if spec == "" {
		spec = "js"
	}
	selected, err := Select(all, spec)
	require.NoError(t, err)
	for _, p := range OfLanguage(selected, LanguageJS) {
		t.Run(p.Label, func(t *testing.T) {
			if out, err := exec.Command("docker", "image", "inspect", ImageName(p.Label)).CombinedOutput(); err != nil {
				t.Fatalf("%s: build it first (satoken apps build --versions %s): %s", ImageName(p.Label), p.Label, out)
			}
			runJSProbe(t, p)
		})
	}
}

func fakeJWT(iat int64) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256"}) + "." + enc(map[string]int64{"iat": iat, "exp": iat + 600, "nbf": iat}) + ".c2lnbmF0dXJl"
}

func runJSProbe(t *testing.T, p Probe) {
	first, second := fakeJWT(1000), fakeJWT(1300)
	var mu sync.Mutex
	accepted := first
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := r.Header.Get("Authorization") == "Bearer "+accepted
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/api/v1/namespaces/satoken-x/pods" {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"not found","code":404}`)
			return
		}
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
			return
		}
		fmt.Fprint(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`)
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)

	sa := t.TempDir()
	require.NoError(t, os.Chmod(sa, 0o755))
	write := func(name, data string) {
		tmp := filepath.Join(sa, "."+name+".tmp")
		require.NoError(t, os.WriteFile(tmp, []byte(data), 0o644))
		require.NoError(t, os.Rename(tmp, filepath.Join(sa, name))) // atomic, as the kubelet's swap
	}
	write("ca.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	write("namespace", "satoken-x")
	write("token", first)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := "satoken-probe-test-" + strings.ReplaceAll(p.Label, ".", "-")
	_ = exec.Command("docker", "rm", "-f", name).Run()
	cmd := exec.CommandContext(ctx, "docker", "run", "--rm", "--name", name, "--network", "host", "--read-only",
		"--memory", "128m", "-e", "KUBERNETES_SERVICE_HOST="+u.Hostname(), "-e", "KUBERNETES_SERVICE_PORT="+u.Port(),
		"-v", sa+":/var/run/secrets/kubernetes.io/serviceaccount:ro", ImageName(p.Label), "--interval=300ms", "--label="+p.Label)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() {
		_ = exec.Command("docker", "rm", "-f", name).Run()
		_ = cmd.Wait()
		require.NotContains(t, stderr.String(), first)
		require.NotContains(t, stderr.String(), second)
	}()

	var lines []probelog.Line
	sc := bufio.NewScanner(stdout)
	swapped := false
	for sc.Scan() {
		raw := sc.Text()
		require.NotContains(t, raw, first, "a token in the probe's output")
		require.NotContains(t, raw, second, "a token in the probe's output")
		parsed, err := probelog.Parse(strings.NewReader(raw + "\n"))
		require.NoError(t, err)
		require.Len(t, parsed, 1, "not a probe line: %s", raw)
		l := parsed[0]
		lines = append(lines, l)
		if l.Kind == probelog.KindCall && !swapped && l.Seq >= 3 {
			mu.Lock()
			accepted = second
			mu.Unlock()
			write("token", second)
			swapped = true
		}
		if swapped && l.Kind == probelog.KindCall && l.Outcome == probelog.OutcomeUnauthorized {
			break
		}
		if len(lines) > 40 {
			break
		}
	}
	require.NotEmpty(t, lines, "stderr: %s", stderr.String())

	start := lines[0]
	require.Equal(t, probelog.KindStart, start.Kind)
	require.Equal(t, p.Label, start.Label)
	require.Equal(t, "satoken-x", start.Namespace)
	require.Equal(t, "300ms", start.Interval)
	var tokens []probelog.Line
	var oks, unauthorized []probelog.Line
	for _, l := range lines {
		switch {
		case l.Kind == probelog.KindToken:
			tokens = append(tokens, l)
		case l.Kind == probelog.KindCall && l.Outcome == probelog.OutcomeOK:
			oks = append(oks, l)
		case l.Kind == probelog.KindCall && l.Outcome == probelog.OutcomeUnauthorized:
			unauthorized = append(unauthorized, l)
		case l.Kind == probelog.KindCall:
			t.Errorf("unexpected call: %+v", l)
		}
	}
	require.Len(t, tokens, 2, "the start-up token and the swap")
	require.Equal(t, tokeninfo.Hash(first), tokens[0].TokenHash)
	require.Equal(t, int64(1000), tokens[0].Iat)
	require.Equal(t, int64(1600), tokens[0].Exp)
	require.Equal(t, tokeninfo.Hash(second), tokens[1].TokenHash)
	require.GreaterOrEqual(t, len(oks), 3)
	for _, l := range oks {
		require.Equal(t, tokeninfo.Hash(first), l.AuthHash, "%+v", l)
		require.Equal(t, 200, l.Status)
		require.Equal(t, 1, l.Requests)
	}
	require.NotEmpty(t, unauthorized, "a 401 after the swap; stderr: %s", stderr.String())
	l := unauthorized[0]
	t.Logf("first 401: %+v", l)
	require.Equal(t, 401, l.Status)
	require.Equal(t, tokeninfo.Hash(first), l.AuthHash, "the start-up token, still sent within the 60 s re-read period")
	require.Contains(t, l.Error, "401")
}
