// Package measure records what a Kubernetes version does with ServiceAccount tokens: the
// claims its apiserver issues, when its kubelet replaces a projected token, and how long
// its apiserver accepts one past exp. Everything comes from a run's own data, so a change
// across versions shows in the reports instead of being assumed.
package measure

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/tokeninfo"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// Measured is one cluster's token behaviour; a part is absent when the run had no data
// for it (Notes say why).
type Measured struct {
	Claims   *Claims   `json:"tokenClaims,omitempty"`
	Rotation *Rotation `json:"kubeletRotation,omitempty"`
	Expiry   *Expiry   `json:"apiserverAtExp,omitempty"`
	Notes    []string  `json:"notes,omitempty"`
}

// Claims describes a token the apiserver issued for a TokenRequest bound to a probe pod:
// the request the kubelet makes for a projected token. The token itself is discarded.
type Claims struct {
	BoundTo          string   `json:"boundTo"`      // namespace/pod
	Names            []string `json:"names"`        // top-level claims
	KubernetesIO     []string `json:"kubernetesIo"` // keys of the kubernetes.io claim
	JTI              bool     `json:"jti"`
	NodeBound        bool     `json:"nodeBound"` // kubernetes.io.node names the pod's node
	Issuer           string   `json:"issuer"`
	Audiences        []string `json:"audiences"`
	RequestedSeconds int64    `json:"requestedSeconds"`
	LifetimeSeconds  int64    `json:"lifetimeSeconds"` // exp - iat as issued
}

// Rotation is when the kubelet replaced projected tokens: the next version's iat minus
// the previous one's, over every replacement a probe read.
type Rotation struct {
	Samples     int     `json:"samples"`
	MinSeconds  float64 `json:"minSeconds"`
	MaxSeconds  float64 `json:"maxSeconds"`
	MinFraction float64 `json:"minFractionOfLifetime"`
	MaxFraction float64 `json:"maxFractionOfLifetime"`
}

// Expiry is how the apiserver answered calls that carried a start-up token after its
// exp: the latest one it accepted and the earliest it refused, in seconds after exp.
// Between them lie the validator's leeway and the apiserver's token cache.
type Expiry struct {
	Clients             int      `json:"clients"` // clients that sent their start-up token past its exp
	LastAcceptedSeconds *float64 `json:"lastAcceptedAfterExpSeconds,omitempty"`
	FirstRefusedSeconds *float64 `json:"firstRefusedAfterExpSeconds,omitempty"`
}

// DecodeClaims reads a JWT's payload (not its signature: the apiserver just issued it).
func DecodeClaims(jwt string) (*Claims, error) {
	times, err := tokeninfo.Decode(jwt)
	if err != nil {
		return nil, err
	}
	payload, err := tokeninfo.Payload(jwt)
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	var std struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		K8s map[string]any  `json:"kubernetes.io"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, fmt.Errorf("JWT payload: %w", err)
	}
	if err := json.Unmarshal(payload, &std); err != nil {
		return nil, fmt.Errorf("JWT claims: %w", err)
	}
	c := &Claims{Issuer: std.Iss, LifetimeSeconds: times.Exp - times.Iat, Names: []string{}, KubernetesIO: []string{}}
	for name := range raw {
		c.Names = append(c.Names, name)
	}
	for key := range std.K8s {
		c.KubernetesIO = append(c.KubernetesIO, key)
	}
	slices.Sort(c.Names)
	slices.Sort(c.KubernetesIO)
	_, c.JTI = raw["jti"]
	_, c.NodeBound = std.K8s["node"]
	// aud is a string or a list of strings (RFC 7519 4.1.3).
	if err := json.Unmarshal(std.Aud, &c.Audiences); err != nil {
		var one string
		if json.Unmarshal(std.Aud, &one) == nil {
			c.Audiences = []string{one}
		}
	}
	return c, nil
}

// RotationOf measures the kubelet's replacements from what the clients read. A token
// without iat (not decodable) does not count.
func RotationOf(observations []verdict.Observation) *Rotation {
	var r *Rotation
	for _, o := range observations {
		for i := 1; i < len(o.Tokens); i++ {
			prev, next := o.Tokens[i-1], o.Tokens[i]
			life := prev.Exp.Sub(prev.Iat)
			if prev.Iat.IsZero() || next.Iat.IsZero() || life <= 0 {
				continue
			}
			secs := next.Iat.Sub(prev.Iat).Seconds()
			frac := secs / life.Seconds()
			if r == nil {
				r = &Rotation{MinSeconds: secs, MaxSeconds: secs, MinFraction: frac, MaxFraction: frac}
			}
			r.Samples++
			r.MinSeconds, r.MaxSeconds = min(r.MinSeconds, secs), max(r.MaxSeconds, secs)
			r.MinFraction, r.MaxFraction = min(r.MinFraction, frac), max(r.MaxFraction, frac)
		}
	}
	return r
}

// ExpiryOf measures the apiserver's answers to calls that carried a start-up token past
// its exp; a call whose credential was not observable says nothing about which token
// was refused and does not count.
func ExpiryOf(evidence []verdict.Evidence) *Expiry {
	var x *Expiry
	for _, e := range evidence {
		if len(e.Tokens) == 0 || e.Tokens[0].Exp.IsZero() {
			continue
		}
		first := e.Tokens[0]
		sent := false
		for _, c := range e.Calls {
			if c.Token != first.Hash || !c.At.After(first.Exp) {
				continue
			}
			if x == nil {
				x = &Expiry{}
			}
			sent = true
			after := c.At.Sub(first.Exp).Round(100 * time.Millisecond).Seconds()
			switch c.Outcome {
			case verdict.OutcomeOK:
				if x.LastAcceptedSeconds == nil || after > *x.LastAcceptedSeconds {
					x.LastAcceptedSeconds = &after
				}
			case verdict.OutcomeUnauthorized:
				if x.FirstRefusedSeconds == nil || after < *x.FirstRefusedSeconds {
					x.FirstRefusedSeconds = &after
				}
			}
		}
		if sent {
			x.Clients++
		}
	}
	return x
}

// Summary is the measurement in one line, for report.md.
func (m *Measured) Summary() string {
	if m == nil {
		return "not measured"
	}
	var parts []string
	if c := m.Claims; c != nil {
		parts = append(parts, fmt.Sprintf("token claims %s, kubernetes.io{%s} (jti %s, node-bound %s), lifetime %ds for %ds asked",
			strings.Join(c.Names, ","), strings.Join(c.KubernetesIO, ","), yesNo(c.JTI), yesNo(c.NodeBound), c.LifetimeSeconds, c.RequestedSeconds))
	}
	if r := m.Rotation; r != nil {
		parts = append(parts, fmt.Sprintf("kubelet rotated at iat+%s (%s of the lifetime, %s)",
			span(r.MinSeconds, r.MaxSeconds, "%.0fs"), span(100*r.MinFraction, 100*r.MaxFraction, "%.0f%%"), Count(r.Samples, "rotation")))
	}
	if x := m.Expiry; x != nil {
		accepted, refused := "accepted no start-up token after its exp", "refused none"
		if x.LastAcceptedSeconds != nil {
			accepted = fmt.Sprintf("accepted a start-up token until exp+%.0fs", *x.LastAcceptedSeconds)
		}
		if x.FirstRefusedSeconds != nil {
			refused = fmt.Sprintf("refused it from exp+%.0fs", *x.FirstRefusedSeconds)
		}
		parts = append(parts, fmt.Sprintf("apiserver %s and %s (%s)", accepted, refused, Count(x.Clients, "client")))
	}
	parts = append(parts, m.Notes...)
	return strings.Join(parts, "; ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func span(lo, hi float64, format string) string {
	a, b := fmt.Sprintf(format, lo), fmt.Sprintf(format, hi)
	if a == b {
		return a
	}
	return a + "–" + b
}

// Count says how many of noun, in the singular for one.
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
