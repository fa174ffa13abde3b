package probelog

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	ts := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)
	lines := []Line{
		{Time: ts, Kind: KindStart, Label: "v12.0.0", ClientGo: "v0.0.0-20190620085101-78d2af792bab", GoVersion: "go1.26.8", Interval: "5s", Namespace: "probes"},
		{Time: ts, Kind: KindToken, Label: "v12.0.0", TokenHash: "0123456789ab", Iat: 100, Exp: 700, Nbf: 100},
		{Time: ts, Kind: KindCall, Label: "v12.0.0", Seq: 7, Outcome: OutcomeUnauthorized, Status: 401, Error: "Unauthorized", LatencyMs: 1.5, AuthHash: "0123456789ab", Requests: 1},
		{Time: ts, Kind: KindCall, Label: "v12.0.0", Seq: 8, Outcome: OutcomeError, AuthHashNote: "no HTTP request reached the transport"},
		{Time: ts, Kind: KindStart, Label: "v8.0.0", Mode: "watch", Interval: "5s", Namespace: "addon-watch"},
		{Time: ts, Kind: KindCall, Label: "v8.0.0", Seq: 3, Method: "GET", Path: "/api/v1/namespaces/addon-watch/pods?watch=true", Outcome: OutcomeOK, Status: 200, Requests: 1},
		{Time: ts, Kind: KindEvent, Label: "v8.0.0", Event: "add", Object: "addon-watch/addon-1"},
		{Time: ts, Kind: KindLeader, Label: "v11.0.0", Event: "started", Object: "addon-lease/probe", Identity: "addon-1"},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(buf.String(), `"time":"2025-01-02T03:04:05.123456789Z"`) {
		t.Fatalf("time is not RFC 3339 with nanoseconds:\n%s", buf.String())
	}
	for _, key := range []string{`"kind":"call"`, `"seq":7`, `"outcome":"unauthorized"`, `"status":401`, `"latencyMs":1.5`, `"authHash":"0123456789ab"`, `"tokenHash":"0123456789ab"`, `"iat":100`, `"exp":700`, `"clientGo":"v0.0.0-20190620085101-78d2af792bab"`, `"authHashNote":"no HTTP request`, `"mode":"watch"`, `"method":"GET"`, `"path":"/api/v1/namespaces/addon-watch/pods?watch=true"`, `"kind":"event"`, `"event":"add"`, `"object":"addon-watch/addon-1"`, `"kind":"leader"`, `"identity":"addon-1"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("output lacks %s", key)
		}
	}
	got, err := Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, lines) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, lines)
	}
}

func TestParseSkipsNoise(t *testing.T) {
	in := strings.Join([]string{
		`I0102 03:04:05.000000       1 round_trippers.go:123] GET https://10.96.0.1:443/api/v1/namespaces/x/pods 401`,
		``,
		`{"time":"2025-01-02T03:04:05Z","kind":"call","seq":1,"outcome":"ok","status":200}`,
		`{"not":"a probe line"}`,
		`{"time":"2025-01-02T03:04:05Z","kind":"call","seq":2,`, // cut short
		`[1,2,3]`,
		`{"time":"2025-01-02T03:04:10Z","kind":"call","seq":3,"outcome":"http-403","status":403}`, // no trailing newline
	}, "\n")
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 3 || got[1].Outcome != "http-403" {
		t.Fatalf("got %+v", got)
	}
}

func TestHTTPOutcome(t *testing.T) {
	for code, want := range map[int]string{200: OutcomeOK, 401: OutcomeUnauthorized, 403: "http-403", 500: "http-500"} {
		if got := HTTPOutcome(code); got != want {
			t.Errorf("HTTPOutcome(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestCleanError(t *testing.T) {
	tok := "eyJhbGciOiJub25lIn0.eyJleHAiOjF9.c2lnbmF0dXJl"
	got := CleanError(`Get "https://10.96.0.1:443/api": bad token ` + tok + ` here`)
	if strings.Contains(got, tok) || strings.Contains(got, "eyJleHAiOjF9") || !strings.Contains(got, "<redacted>") {
		t.Fatalf("token not redacted: %q", got)
	}
	if !strings.Contains(got, "https://10.96.0.1:443/api") {
		t.Fatalf("non-token text lost: %q", got)
	}
	long := CleanError(strings.Repeat("x", 1000))
	if n := len([]rune(long)); n != maxError+1 {
		t.Fatalf("truncated to %d runes", n)
	}
}
