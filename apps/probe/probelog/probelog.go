// Package probelog is the schema of the JSON lines a probe writes to stdout, shared by
// the probe (writer) and the harness (reader).
package probelog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strconv"
	"time"
)

// Line kinds.
const (
	KindStart  = "start"  // once, describes the binary
	KindToken  = "token"  // the token file was first read or changed
	KindCall   = "call"   // one API call (--mode list), or one HTTP request (watch, lease)
	KindEvent  = "event"  // --mode watch: the informer delivered an add, update or delete; --operand-image: the operand pod was created
	KindLeader = "leader" // --mode lease: leader election started/stopped leading, or saw a new leader
)

// Call outcomes; any other HTTP failure is "http-<code>" (see HTTPOutcome).
const (
	OutcomeOK           = "ok"
	OutcomeUnauthorized = "unauthorized"
	OutcomeError        = "error" // no HTTP status known (e.g. connection refused, timeout)
)

// Line is one JSON line. Which fields are set depends on Kind.
type Line struct {
	Time  time.Time `json:"time"` // RFC 3339 with nanoseconds
	Kind  string    `json:"kind"`
	Label string    `json:"label,omitempty"`

	// start
	ClientGo        string `json:"clientGo,omitempty"`        // k8s.io/client-go module version
	ClientGoReplace string `json:"clientGoReplace,omitempty"` // replacement path@version, if any
	GoVersion       string `json:"goVersion,omitempty"`
	Interval        string `json:"interval,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Mode            string `json:"mode,omitempty"` // watch or lease; absent for list

	// token: the token file as read at Time. TokenError is set when it could not be
	// read or decoded.
	TokenHash  string `json:"tokenHash,omitempty"`
	Iat        int64  `json:"iat,omitempty"`
	Exp        int64  `json:"exp,omitempty"`
	Nbf        int64  `json:"nbf,omitempty"`
	TokenError string `json:"tokenError,omitempty"`

	// call
	Seq       int64   `json:"seq,omitempty"`
	Outcome   string  `json:"outcome,omitempty"`
	Status    int     `json:"status,omitempty"` // HTTP status when known
	Error     string  `json:"error,omitempty"`  // see CleanError
	LatencyMs float64 `json:"latencyMs,omitempty"`
	// AuthHash is tokeninfo.Hash of the bearer token the request actually carried;
	// AuthHashNote says why it is empty.
	AuthHash     string `json:"authHash,omitempty"`
	AuthHashNote string `json:"authHashNote,omitempty"`
	Requests     int    `json:"requests,omitempty"` // HTTP requests the call made (retries)
	// Method and Path (with query) of the HTTP request, in modes watch and lease, where
	// client-go makes the requests and each call line describes one of them.
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`

	// event: Event is add, update or delete and Object the pod's namespace/name.
	// leader: Event is started, stopped or new-leader, Object the Lease's
	// namespace/name and Identity the holder (ours for started and stopped).
	Event    string `json:"event,omitempty"`
	Object   string `json:"object,omitempty"`
	Identity string `json:"identity,omitempty"`
}

// HTTPOutcome is the outcome for a call answered with HTTP status code.
func HTTPOutcome(code int) string {
	switch {
	case code >= 200 && code < 300:
		return OutcomeOK
	case code == 401:
		return OutcomeUnauthorized
	}
	return "http-" + strconv.Itoa(code)
}

// maxError bounds error text: a repeating failure must not flood the log.
const maxError = 300

// jwtLike matches a compact JWT (its header always starts with base64 of `{"`), so a
// token quoted in an error message never reaches the log.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// CleanError redacts JWT-shaped strings from an error text and truncates it.
func CleanError(s string) string {
	s = jwtLike.ReplaceAllString(s, "<redacted>")
	if r := []rune(s); len(r) > maxError {
		s = string(r[:maxError]) + "…"
	}
	return s
}

// Parse reads probe output. Lines that are not JSON objects with a kind (client-go's
// own log lines, partial writes) are skipped.
func Parse(r io.Reader) ([]Line, error) {
	var out []Line
	br := bufio.NewReader(r)
	for {
		raw, err := br.ReadBytes('\n')
		if b := bytes.TrimSpace(raw); len(b) > 0 && b[0] == '{' {
			var l Line
			if json.Unmarshal(b, &l) == nil && l.Kind != "" {
				out = append(out, l)
			}
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}
