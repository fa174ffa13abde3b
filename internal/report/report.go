// Package report writes the results of a run: report.json (the schema in the README),
// report.md (a verdict table for a PR comment), junit.xml and timeline.svg.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// SchemaVersion is bumped on incompatible changes to report.json.
const SchemaVersion = 2

// Report is one run of the harness.
type Report struct {
	SchemaVersion          int            `json:"schemaVersion"`
	Command                string         `json:"command"` // run | check
	StartedAt              time.Time      `json:"startedAt"`
	FinishedAt             time.Time      `json:"finishedAt"`
	Cluster                string         `json:"cluster"`
	NodeImage              string         `json:"nodeImage"`
	K8sVersion             string         `json:"k8sVersion"`
	TTLSeconds             int            `json:"ttlSeconds"`
	TokenMode              string         `json:"tokenMode"`            // projected (--ttl) | automount (apiserver default, capped by max)
	TokenTTLBy             string         `json:"tokenTtlBy,omitempty"` // satoken check: MutatingAdmissionPolicy (version) | manifest rewrite
	MaxTokenExpiration     string         `json:"maxTokenExpiration"`
	ValidatorLeewaySeconds int            `json:"validatorLeewaySeconds"`
	IntervalSeconds        float64        `json:"intervalSeconds"`
	SettleSeconds          float64        `json:"settleSeconds"`
	Phases                 []phase.Timing `json:"phases"`
	Probes                 []Probe        `json:"probes"`
	Expectations           []Expectation  `json:"expectations,omitempty"`
	// Outcome is the run's result (see Decide); it sets the command's exit code.
	Outcome Outcome `json:"outcome"`
	// Error is the harness error that ended the run early: the verdicts are incomplete.
	Error string `json:"error,omitempty"`
}

// Probe is one client (a probe build, or a workload pod for `satoken check`).
type Probe struct {
	ClientGo              string          `json:"clientGo"`       // the probe's label, e.g. v12.0.0
	ClientGoModule        string          `json:"clientGoModule"` // exact pinned module version
	K8sRelease            string          `json:"k8sRelease"`     // the Kubernetes minor the client-go release belongs to
	Image                 string          `json:"image"`
	Namespace             string          `json:"namespace"`
	Pod                   string          `json:"pod"`
	Verdict               verdict.Verdict `json:"verdict"`
	Reason                string          `json:"reason"`
	Hint                  string          `json:"hint,omitempty"` // what to do when NOT_JUDGED
	TokenIat              *time.Time      `json:"tokenIat"`
	TokenExp              *time.Time      `json:"tokenExp"`
	RotationsSeen         int             `json:"rotationsSeen"`
	FirstUnauthorizedAt   *time.Time      `json:"firstUnauthorizedAt"`
	UnauthorizedCount     int             `json:"unauthorizedCount"`
	OKCount               int             `json:"okCount"`
	Restarted             bool            `json:"restarted"`
	RestartedAt           *time.Time      `json:"restartedAt,omitempty"`
	RecoveredAfterRestart *bool           `json:"recoveredAfterRestart"`
	SecondsToRecover      *float64        `json:"secondsToRecover"`
	// AuditUnauthorized counts 401 audit events whose source IP was this probe's pod:
	// the apiserver's own account, independent of the probe's log.
	AuditUnauthorized int                 `json:"auditUnauthorized"`
	Observation       verdict.Observation `json:"observation"`

	// satoken check: the workload's pod, judged from apiserver evidence.
	Workload             string `json:"workload,omitempty"`             // owner, e.g. Deployment/foo
	Restarts             int    `json:"restarts,omitempty"`             // container restarts at the end
	LogUnauthorizedLines int    `json:"logUnauthorizedLines,omitempty"` // log lines mentioning Unauthorized
	TokenEstimated       bool   `json:"tokenEstimated,omitempty"`       // iat/exp from the pod start + TTL: the kubelet's TokenRequest was not in the audit log

	// Calls feed the timeline; the full data is in the probe log artifacts.
	Calls []Call `json:"-"`
}

// Call is one call mark on the timeline.
type Call struct {
	At        time.Time
	Outcome   string
	Restarted bool // made by the pod created by the restart
}

// Expectation is one --expect entry and whether the run met it.
type Expectation struct {
	ClientGo string          `json:"clientGo"`
	Want     verdict.Verdict `json:"want"`
	Got      verdict.Verdict `json:"got"`
	Met      bool            `json:"met"`
}

// FromObservation fills the verdict fields of p from an observation of its first pod.
func (p *Probe) FromObservation(o verdict.Observation, r verdict.Result) {
	p.Observation = o
	p.Verdict, p.Reason, p.Hint = r.Verdict, r.Reason, r.Hint
	if first, ok := o.FirstToken(); ok {
		p.TokenIat, p.TokenExp = timePtr(first.Iat), timePtr(first.Exp)
	}
	p.RotationsSeen = o.RotationsSeen
	p.FirstUnauthorizedAt = o.FirstUnauthorizedAt
	p.UnauthorizedCount, p.OKCount = o.UnauthorizedCount, o.OKCount
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Name identifies the client: the probe label, or namespace/pod for a checked workload.
func (p Probe) Name() string {
	if p.ClientGo != "" {
		return p.ClientGo
	}
	return p.Namespace + "/" + p.Pod
}

// Broken reports whether a checked workload's evidence shows token-expiry damage: a
// FAILS_AFTER_EXPIRY or INTERMITTENT verdict, a container restart, or a log line that
// mentions Unauthorized. A 401 alone is not damage the verdict has not placed (a 401
// before expiry is NOT_JUDGED).
func (p Probe) Broken() bool {
	return p.Verdict == verdict.FailsAfterExpiry || p.Verdict == verdict.Intermittent || p.Restarts > 0 || p.LogUnauthorizedLines > 0
}

// Outcome is what a command concludes; each has its own exit code (cmd/satoken).
type Outcome string

const (
	// Passed: every client was judged and none broke (every --expect met for run).
	Passed Outcome = "passed"
	// Broken: the evidence shows damage (check), or a verdict missed --expect (run).
	Broken Outcome = "broken"
	// NotJudged: nothing broke, but some client could not be judged: not a pass.
	NotJudged Outcome = "not judged"
	// Failed: the harness stopped early (Error says why); the verdicts are incomplete.
	Failed Outcome = "error"
)

// Decide sets the report's outcome from its error, expectations and verdicts: broken
// wins over not judged, and a pass needs every client judged.
func (r *Report) Decide() Outcome {
	missed, unjudged := false, len(r.Probes) == 0
	for _, e := range r.Expectations {
		switch {
		case e.Got == "" || e.Got == verdict.NotJudged:
			unjudged = true
		case !e.Met:
			missed = true
		}
	}
	for _, p := range r.Probes {
		missed = missed || (r.Command == "check" && p.Broken())
		unjudged = unjudged || p.Verdict == verdict.NotJudged
	}
	switch {
	case r.Error != "":
		r.Outcome = Failed
	case missed:
		r.Outcome = Broken
	case unjudged:
		r.Outcome = NotJudged
	default:
		r.Outcome = Passed
	}
	return r.Outcome
}

// WriteAll writes every report format into dir.
func (r *Report) WriteAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	for name, content := range map[string][]byte{
		"report.json":  append(data, '\n'),
		"report.md":    []byte(r.Markdown()),
		"junit.xml":    r.JUnit(),
		"timeline.svg": []byte(r.TimelineSVG()),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// Load reads a report.json.
func Load(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%s: schema version %d, want %d", path, r.SchemaVersion, SchemaVersion)
	}
	return &r, nil
}
