package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	"github.com/satoken-e2e/satoken-e2e/apps/probe/tokeninfo"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestClassify(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	for name, c := range map[string]struct {
		err        error
		wire       int
		outcome    string
		wantStatus int
	}{
		"ok":                     {nil, 200, probelog.OutcomeOK, 200},
		"status 401":             {apierrors.NewUnauthorized("Unauthorized"), 401, probelog.OutcomeUnauthorized, 401},
		"generic 401 body":       {apierrors.NewGenericServerResponse(401, "GET", pods, "", "", 0, true), 401, probelog.OutcomeUnauthorized, 401},
		"wrapped 401":            {fmt.Errorf("list: %w", apierrors.NewUnauthorized("x")), 401, probelog.OutcomeUnauthorized, 401},
		"401 only on the wire":   {errors.New("unexpected EOF"), 401, probelog.OutcomeUnauthorized, 401},
		"forbidden":              {apierrors.NewForbidden(pods, "", errors.New("no")), 403, "http-403", 403},
		"server error":           {apierrors.NewInternalError(errors.New("boom")), 500, "http-500", 500},
		"connection refused":     {errors.New("dial tcp: connection refused"), 0, probelog.OutcomeError, 0},
		"200 that did not parse": {errors.New("json: cannot unmarshal"), 200, probelog.OutcomeError, 200},
	} {
		outcome, status := classify(c.err, c.wire)
		if outcome != c.outcome || status != c.wantStatus {
			t.Errorf("%s: got %s %d, want %s %d", name, outcome, status, c.outcome, c.wantStatus)
		}
	}
}

type fakeTransport struct{ status int }

func (f fakeTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: f.status, Body: http.NoBody}, nil
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func TestObserverSeesSentToken(t *testing.T) {
	tok := jwt(`{"exp":2000000000}`)
	o := &observer{}
	if got := o.snapshot(); got.note == "" {
		t.Fatal("no note before WrapTransport was called")
	}
	// client-go's token round tripper wraps what WrapTransport returns.
	rt := bearer{tok, o.wrap(fakeTransport{401})}
	o.reset()
	if got := o.snapshot(); got.note != "no HTTP request reached the transport" {
		t.Fatalf("note before any request: %q", got.note)
	}
	req, _ := http.NewRequest("GET", "https://example.invalid/api/v1/pods", nil)
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	got := o.snapshot()
	if got.authHash != tokeninfo.Hash(tok) || got.status != 401 || got.requests != 1 || got.note != "" {
		t.Fatalf("got %+v, want hash %s", got, tokeninfo.Hash(tok))
	}

	o.reset()
	if _, err := o.wrap(fakeTransport{200}).RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if got := o.snapshot(); got.authHash != "" || got.note == "" {
		t.Fatalf("request without a token: %+v", got)
	}
}

func TestTokenWatcher(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	w := &tokenWatcher{path: path}
	l, changed := w.check()
	if !changed || l.TokenError == "" {
		t.Fatalf("missing file: %+v %v", l, changed)
	}
	if _, changed := w.check(); changed {
		t.Fatal("same error reported twice")
	}
	tok := jwt(`{"iat":100,"exp":700}`)
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	l, changed = w.check()
	if !changed || l.TokenHash != tokeninfo.Hash(tok) || l.Iat != 100 || l.Exp != 700 || l.TokenError != "" {
		t.Fatalf("first token: %+v %v", l, changed)
	}
	if _, changed := w.check(); changed {
		t.Fatal("unchanged token reported again")
	}
	if err := os.WriteFile(path, []byte("not-a-jwt"), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, changed = w.check(); !changed || l.TokenHash != tokeninfo.Hash("not-a-jwt") || l.TokenError == "" {
		t.Fatalf("malformed token: %+v %v", l, changed)
	}
}

func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(payload)) + ".c2ln"
}

func TestCheckMode(t *testing.T) {
	for _, c := range []struct {
		mode    string
		leaseOK bool
		ok      bool
	}{
		{modeList, false, true},
		{modeWatch, false, true},
		{modeLease, true, true},
		{modeLease, false, false}, // a nolease build refuses it
		{"", true, false},
		{"List", true, false},
		{"informer", true, false},
	} {
		err := checkMode(c.mode, c.leaseOK)
		if (err == nil) != c.ok {
			t.Errorf("checkMode(%q, lease %v) = %v, want ok %v", c.mode, c.leaseOK, err, c.ok)
		}
		if c.mode == modeLease && !c.leaseOK && !errors.Is(err, errNoLeaseLock) {
			t.Errorf("lease without a Lease lock: %v", err)
		}
	}
	// The flag's default is the reproduction's mode, whatever the build.
	if err := checkMode(modeList, leaseLockAvailable); err != nil {
		t.Fatal(err)
	}
}

func TestPerRequestLines(t *testing.T) {
	tok := jwt(`{"exp":2000000000}`)
	var got []probelog.Line
	o := &observer{perRequest: func(l probelog.Line) { got = append(got, l) }}
	rt := bearer{tok, o.wrap(fakeTransport{401})}
	for _, u := range []string{
		"https://example.invalid/api/v1/namespaces/x/pods?limit=500&resourceVersion=0",
		"https://example.invalid/api/v1/namespaces/x/pods?watch=true&timeoutSeconds=412",
	} {
		req, _ := http.NewRequest("GET", u, nil)
		if _, err := rt.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 {
		t.Fatalf("got %d lines, want 2: %+v", len(got), got)
	}
	l := got[1]
	if l.Kind != probelog.KindCall || l.Seq != 2 || l.Method != "GET" || l.Path != "/api/v1/namespaces/x/pods?watch=true&timeoutSeconds=412" ||
		l.Outcome != probelog.OutcomeUnauthorized || l.Status != 401 || l.AuthHash != tokeninfo.Hash(tok) || l.Requests != 1 {
		t.Fatalf("watch request line: %+v", l)
	}

	// A transport failure is an error outcome with its (cleaned) text.
	got = nil
	_, _ = o.wrap(failingTransport{}).RoundTrip(mustRequest(t, "PUT", "https://example.invalid/apis/coordination.k8s.io/v1/namespaces/x/leases/probe"))
	if len(got) != 1 || got[0].Outcome != probelog.OutcomeError || got[0].Error == "" || got[0].Method != "PUT" || got[0].AuthHashNote == "" {
		t.Fatalf("failed request: %+v", got)
	}

	// Without perRequest (list mode) the transport writes nothing itself.
	quiet := &observer{}
	if _, err := quiet.wrap(fakeTransport{200}).RoundTrip(mustRequest(t, "GET", "https://example.invalid/api")); err != nil {
		t.Fatal(err)
	}
	if quiet.snapshot().requests != 1 {
		t.Fatal("list mode lost its observation")
	}
}

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp: connection refused")
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestIdentity(t *testing.T) {
	t.Setenv("POD_NAME", "addon-7d9f-abcde")
	if got := identity(); got != "addon-7d9f-abcde" {
		t.Fatalf("identity with POD_NAME: %q", got)
	}
	t.Setenv("POD_NAME", "")
	if h, _ := os.Hostname(); h != "" && identity() != h {
		t.Fatalf("identity without POD_NAME: %q, hostname %q", identity(), h)
	}
}
