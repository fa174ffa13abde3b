// Package report writes the results of a run: report.json (the schema in docs/report.md),
// report.md (a verdict table for a PR comment), junit.xml and timeline.svg.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/satoken-e2e/satoken-e2e/internal/measure"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// SchemaVersion is bumped on incompatible changes to report.json. 4: clusters[] (one per
// Kubernetes version) replace the report-level cluster fields; results carry k8sVersion.
const SchemaVersion = 4

// Report is one run of the harness.
type Report struct {
	SchemaVersion int       `json:"schemaVersion"`
	Command       string    `json:"command"` // run | check
	StartedAt     time.Time `json:"startedAt"`
	FinishedAt    time.Time `json:"finishedAt"`
	// Clusters are the clusters the results were measured on: one, or one per Kubernetes
	// version of a matrix run (run --k8s a,b), in the order they ran.
	Clusters               []Cluster      `json:"clusters"`
	TTLSeconds             int            `json:"ttlSeconds"`
	TokenMode              string         `json:"tokenMode"`            // projected (--ttl) | automount (apiserver default, capped by max)
	TokenTTLBy             string         `json:"tokenTtlBy,omitempty"` // satoken check: MutatingAdmissionPolicy (version) | manifest rewrite
	ValidatorLeewaySeconds int            `json:"validatorLeewaySeconds"`
	IntervalSeconds        float64        `json:"intervalSeconds"`
	SettleSeconds          float64        `json:"settleSeconds"`
	Phases                 []phase.Timing `json:"phases"`
	Results                []Result       `json:"results"`
	Expectations           []Expectation  `json:"expectations,omitempty"`
	// Notes are what the run saw but did not judge, and why (e.g. a Job's pod that finished
	// before its token expired).
	Notes []string `json:"notes,omitempty"`
	// Canaries are satoken check's proofs that the audit log shows the 401s of each
	// position the workload's pods call from.
	Canaries []Canary `json:"canaries,omitempty"`
	// CrossCheck compares, client by client, the verdicts of a stock and an accelerated
	// cluster of the same Kubernetes version (run --fast --cross-check).
	CrossCheck []CrossCheckRow `json:"crossCheck,omitempty"`
	// Outcome is the run's result (see Decide); it sets the command's exit code.
	Outcome Outcome `json:"outcome"`
	// Error is the harness error that ended the run early: the verdicts are incomplete.
	Error string `json:"error,omitempty"`
}

// Cluster is one cluster of a report and what its Kubernetes was seen to do.
type Cluster struct {
	K8sVersion         string `json:"k8sVersion"` // the apiserver's gitVersion
	Name               string `json:"name"`
	Kind               string `json:"kind,omitempty"`   // made by satoken, or an existing cluster (--kubeconfig)
	Images             string `json:"images,omitempty"` // how the probe images reached the nodes
	NodeImage          string `json:"nodeImage,omitempty"`
	MaxTokenExpiration string `json:"maxTokenExpiration"`
	// AcceleratedMinTokenSeconds is set when the cluster's apiserver was an accelerated one
	// (satoken image build --fast): the shortest token lifetime it accepts. 0: stock.
	AcceleratedMinTokenSeconds int `json:"acceleratedMinTokenSeconds,omitempty"`
	// TTLSeconds is the token TTL asked for on this cluster (a cross-check's stock and
	// accelerated clusters differ).
	TTLSeconds int `json:"ttlSeconds,omitempty"`
	// Measured is how this version issued, rotated and refused tokens, from this run's
	// data: a change across versions shows here rather than being assumed.
	Measured *measure.Measured `json:"measured,omitempty"`
	// ApiserverOutages are the spans in which the apiserver answered none of satoken's
	// polls while the job ran: no verdict is built on them.
	ApiserverOutages []verdict.Outage `json:"apiserverOutages,omitempty"`
	// Error is the harness error that ended this cluster's part early.
	Error string `json:"error,omitempty"`
}

// Result is one client's verdict: a probe build (`satoken run`) or a workload pod
// (`satoken check`). What only one command knows sits in Probe or Workload.
type Result struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Image     string `json:"image"`
	// K8sVersion is the apiserver's version (gitVersion) of the cluster the result was
	// measured on: a matrix run (run --k8s a,b) has results of several.
	K8sVersion string `json:"k8sVersion"`
	// Accelerated: measured on an accelerated control plane (see Cluster), never pooled
	// with stock measurements.
	Accelerated         bool            `json:"accelerated,omitempty"`
	Verdict             verdict.Verdict `json:"verdict"`
	Reason              string          `json:"reason"`
	Hint                string          `json:"hint,omitempty"` // what to do when NOT_JUDGED
	TokenIat            *time.Time      `json:"tokenIat"`
	TokenExp            *time.Time      `json:"tokenExp"`
	RotationsSeen       int             `json:"rotationsSeen"`
	FirstUnauthorizedAt *time.Time      `json:"firstUnauthorizedAt"`
	UnauthorizedCount   int             `json:"unauthorizedCount"`
	OKCount             int             `json:"okCount"`
	// Restarts counts container restarts: run, of the probe before the harness restarted
	// it; check, at the end.
	Restarts    int                 `json:"restarts"`
	Observation verdict.Observation `json:"observation"`
	// Evidence names what the verdict rests on (Evidence* constants).
	Evidence []string `json:"evidence,omitempty"`

	Probe    *ProbeResult    `json:"probe,omitempty"`    // satoken run
	Workload *WorkloadResult `json:"workload,omitempty"` // satoken check

	// Calls feed the timeline; the full data is in the probe log artifacts.
	Calls []Call `json:"-"`
}

// ProbeResult is what only `satoken run` records of a probe build: its client-go and how
// it fared when the harness restarted it.
type ProbeResult struct {
	ClientGo              string     `json:"clientGo"`       // the probe's label, e.g. v12.0.0
	ClientGoModule        string     `json:"clientGoModule"` // exact pinned module version
	K8sRelease            string     `json:"k8sRelease"`     // the Kubernetes minor the client-go release belongs to
	Restarted             bool       `json:"restarted"`
	RestartedAt           *time.Time `json:"restartedAt,omitempty"`
	RecoveredAfterRestart *bool      `json:"recoveredAfterRestart"`
	SecondsToRecover      *float64   `json:"secondsToRecover"`
	// AuditUnauthorized counts 401 audit events whose source IP was this probe's pod:
	// the apiserver's own account, independent of the probe's log.
	AuditUnauthorized int `json:"auditUnauthorized"`
	// Library is the client library the probe pins: k8s.io/client-go, or
	// @kubernetes/client-node (then ClientGo is its js-<version> label and ClientGoModule
	// @kubernetes/client-node@<version>).
	Library string `json:"library"`
}

// WorkloadResult is what only `satoken check` records of a workload's pod.
type WorkloadResult struct {
	Owner                string `json:"owner"`                // e.g. Deployment/foo
	LogUnauthorizedLines int    `json:"logUnauthorizedLines"` // log lines mentioning Unauthorized
	// TokenEstimated: iat/exp come from the pod start + TTL, the kubelet's TokenRequest
	// was not in the audit log.
	TokenEstimated bool `json:"tokenEstimated"`
	// Unattributed401 counts 401s from the pod's address (a hostNetwork pod's: its node's)
	// that cannot be told to be its own or any one other pod's.
	Unattributed401 int `json:"unattributed401,omitempty"`
}

// What a verdict can rest on.
const (
	EvidenceProbeLog  = "probe log (each call's outcome and the hash of the token it sent; token iat/exp from the JWT)"
	EvidenceRestarts  = "container restarts and previous logs"
	EvidenceAudit401  = "apiserver audit log (401s by the pod's IP)"
	EvidenceAudit     = "apiserver audit log (the pod's calls by the pod bound into its token, its token versions by credential ID, 401s by its IP)"
	EvidenceLogLines  = "container log lines mentioning Unauthorized"
	EvidenceNoAuditOn = "no audit log: the pod's API calls are not visible"
)

// Canary is one run of satoken check's canary: from a workload pod's position (namespace,
// and node when hostNetwork) it sent Sent requests with a bad token and a user agent of its
// own; Found of them are in the audit log as 401s from its address IP. Problem says why it
// proves nothing ("" when it proved that position's 401s are seen and attributed).
type Canary struct {
	Namespace   string    `json:"namespace"`
	HostNetwork bool      `json:"hostNetwork"`
	Node        string    `json:"node,omitempty"`
	ID          string    `json:"id"`
	IP          string    `json:"ip"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Sent        int       `json:"sent"`
	Found       int       `json:"found"`
	SourceIPs   []string  `json:"sourceIPs,omitempty"`
	Problem     string    `json:"problem,omitempty"`
}

// Call is one call mark on the timeline.
type Call struct {
	At        time.Time
	Outcome   string
	Restarted bool // made by the pod created by the restart
}

// Expectation is one --expect entry and whether the run met it.
type Expectation struct {
	ClientGo   string          `json:"clientGo"`
	K8sVersion string          `json:"k8sVersion,omitempty"` // the cluster it was measured on
	Want       verdict.Verdict `json:"want"`
	Got        verdict.Verdict `json:"got"`
	Met        bool            `json:"met"`
}

// FromObservation fills the verdict fields of res from an observation of its first pod.
func (res *Result) FromObservation(o verdict.Observation, v verdict.Result) {
	res.Observation = o
	res.Verdict, res.Reason, res.Hint = v.Verdict, v.Reason, v.Hint
	if first, ok := o.FirstToken(); ok {
		res.TokenIat, res.TokenExp = timePtr(first.Iat), timePtr(first.Exp)
	}
	res.RotationsSeen = o.RotationsSeen
	res.FirstUnauthorizedAt = o.FirstUnauthorizedAt
	res.UnauthorizedCount, res.OKCount = o.UnauthorizedCount, o.OKCount
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Name identifies the client: the probe label, or namespace/pod for a checked workload.
func (res Result) Name() string {
	if res.Probe != nil {
		return res.Probe.ClientGo
	}
	return res.Namespace + "/" + res.Pod
}

// Broken reports whether a checked workload's evidence shows token-expiry damage: a
// FAILS_AFTER_EXPIRY or INTERMITTENT verdict, a container restart, or a log line that
// mentions Unauthorized. A 401 alone is not damage the verdict has not placed (a 401
// before expiry is NOT_JUDGED).
func (res Result) Broken() bool {
	return res.Verdict == verdict.FailsAfterExpiry || res.Verdict == verdict.Intermittent || res.Restarts > 0 ||
		(res.Workload != nil && res.Workload.LogUnauthorizedLines > 0)
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
	missed, unjudged := false, len(r.Results) == 0
	for _, e := range r.Expectations {
		switch {
		case e.Got == "" || e.Got == verdict.NotJudged:
			unjudged = true
		case !e.Met:
			missed = true
		}
	}
	for _, res := range r.Results {
		missed = missed || (r.Command == "check" && res.Broken())
		unjudged = unjudged || res.Verdict == verdict.NotJudged
	}
	// A pass needs verdicts from every cluster: one of a matrix that measured nothing
	// (and reported no error) is not judged, whatever the others showed.
	for _, c := range r.Clusters {
		unjudged = unjudged || len(r.resultsOn(c.On())) == 0
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

// Load reads a report.json. Another schema is refused, not half-read: the fields it
// spells differently would come out empty.
func Load(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case r.SchemaVersion < SchemaVersion:
		return nil, fmt.Errorf("%s: schema version %d, want %d: written by an older satoken: re-run with this one", path, r.SchemaVersion, SchemaVersion)
	case r.SchemaVersion > SchemaVersion:
		return nil, fmt.Errorf("%s: schema version %d, want %d: written by a newer satoken, update this one", path, r.SchemaVersion, SchemaVersion)
	}
	return &r, nil
}

// Why explains the outcome Decide reached, a line per client: what broke (a missed
// expectation; for check, a pod with damage), or what could not be judged and what to do,
// or the error. A command's exit code comes from Outcome; these lines only say why.
func (r *Report) Why() []string {
	var broken, open []string
	matrix := r.matrix()
	name := func(n, k8s string) string {
		if matrix {
			return n + " on " + k8s
		}
		return n
	}
	for _, e := range r.Expectations {
		switch {
		case e.Got == "":
			open = append(open, fmt.Sprintf("%s: expected %s, measured nothing (probe not in this run)", name(e.ClientGo, e.K8sVersion), e.Want))
		case e.Got == verdict.NotJudged:
			open = append(open, fmt.Sprintf("%s: expected %s, not judged", name(e.ClientGo, e.K8sVersion), e.Want))
		case !e.Met:
			broken = append(broken, fmt.Sprintf("%s: expected %s, measured %s", name(e.ClientGo, e.K8sVersion), e.Want, e.Got))
		}
	}
	for _, res := range r.Results {
		line := fmt.Sprintf("%s (%s: %s", name(res.Name(), res.On()), res.Verdict, res.Reason)
		if res.Hint != "" {
			line += "; " + res.Hint
		}
		line += ")"
		switch {
		case r.Command == "check" && res.Broken():
			broken = append(broken, line)
		case res.Verdict == verdict.NotJudged:
			open = append(open, line)
		}
	}
	for _, c := range r.Clusters {
		if len(r.resultsOn(c.On())) == 0 {
			open = append(open, "Kubernetes "+c.On()+": no result")
		}
	}
	if len(r.Results) == 0 && len(r.Clusters) == 0 {
		open = append(open, "no result")
	}
	switch r.Outcome {
	case Failed:
		return []string{r.Error}
	case Broken:
		return broken
	case NotJudged:
		return open
	}
	return nil
}
