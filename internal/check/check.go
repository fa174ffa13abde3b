package check

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/session"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// DefaultNamespace receives the manifests' namespaced objects that name none, unless
// Input.Namespace names another.
const DefaultNamespace = "satoken-check"

// timingTolerance is how far before exp + leeway a first 401 may fall and still be the
// expiry: the token's iat is estimated from the pod's start.
const timingTolerance = 10 * time.Second

// DefaultWaitForCall bounds the wait for a pod's first call after its token stopped being
// accepted. It covers client-go's longest watch timeout (a random 5–10 min): an informer
// that only watches makes its next call when the watch open at expiry times out.
const DefaultWaitForCall = 11 * time.Minute

// Input configures a check.
type Input struct {
	Target    target.Target
	Manifests []*unstructured.Unstructured
	// Namespace receives the namespaced objects that name none (DefaultNamespace when
	// empty), as `kubectl apply -n` and `helm install -n` place them.
	Namespace string
	// AllowSystemNamespaces lets a check on an existing cluster install into kube-system and
	// the other SystemNamespaces, as many add-ons' manifests do; satoken's own clusters
	// always allow it.
	AllowSystemNamespaces bool
	// Load are local docker images to ship to the cluster's nodes first (Target.Mirror where
	// the target has one, so that they run under their own names whatever the pods'
	// imagePullPolicy; else Target.Images).
	Load []string
	// Canary is the local canary image (probes.BuildCanary), shipped with Load; "" when it
	// cannot be shipped to the target: then no pod can pass on "no 401 seen".
	Canary string
	Mutate string // MutateAuto, MutatePolicy or MutateManifests ("" = auto)
	TTL    time.Duration
	Settle time.Duration // keep watching this long after the expected expiry and after a first 401
	// WaitForCall bounds the wait for each pod's first call after its token stopped being
	// accepted (DefaultWaitForCall when zero); a pod that makes none is not judged.
	WaitForCall time.Duration
	OutDir      string
	Log         *phase.Recorder
	// outages are the session's apiserver outages, for the verdicts (set at Collect).
	outages []verdict.Outage
}

// Run deploys the manifests, waits past expiry and judges every pod they created.
func Run(ctx context.Context, in Input) (*report.Report, error) {
	if err := Validate(in.Manifests); err != nil {
		return nil, err
	}
	if err := in.Target.AcceptsTTL(in.TTL); err != nil {
		return nil, err
	}
	if in.WaitForCall == 0 {
		in.WaitForCall = DefaultWaitForCall
	}
	if in.Namespace == "" {
		in.Namespace = DefaultNamespace
	}
	return session.Run(ctx, "check", in.Target, in.Log, &job{in: in, work: newWorkload(serviceAccountsOf(in.Manifests, in.Namespace))})
}

// job is a check on the session engine.
type job struct {
	in         Input
	work       *workload
	podLog     *podLog // every pod seen from before the deploy on
	pods       []*podRun
	byUID      map[types.UID]*podRun
	canaries   []*report.Canary
	shipped    map[string]string // local image → the reference pods use
	policyGV   string            // set when the token policy was installed
	policyName string
	tokenTTLBy string        // how the pods got short tokens
	created    []kube.Object // what to delete again from an existing cluster
}

func (j *job) Needs(_ context.Context, s *session.Session) ([]target.Access, []string, error) {
	used, defined := objectNamespaces(s.Kube, j.in.Manifests, j.in.Namespace)
	if !j.in.AllowSystemNamespaces {
		if err := refuseSystemNamespaces(used, defined); err != nil {
			return nil, nil, err
		}
	}
	need, err := needs(s.Kube, j.in)
	return need, nil, err
}

func (j *job) Header(rep *report.Report) {
	if m := j.in.Target.Mirror; m != nil && len(rep.Clusters) == 1 {
		rep.Clusters[0].Images = m.String() // the workload's images go through the mirror
	}
	rep.TTLSeconds, rep.TokenMode = int(j.in.TTL.Seconds()), "projected"
	rep.IntervalSeconds, rep.SettleSeconds = timingTolerance.Seconds(), j.in.Settle.Seconds()
}

func (j *job) Steps(s *session.Session) []session.Step {
	kc, in := s.Kube, j.in
	var steps []session.Step
	load := in.Load
	if in.Canary != "" {
		load = append(slices.Clone(load), in.Canary)
	}
	if len(load) > 0 {
		sink := in.Target.Images
		if in.Target.Mirror != nil {
			sink = in.Target.Mirror
		}
		steps = append(steps, session.Step{Name: fmt.Sprintf("load images %s into %s", strings.Join(load, ", "), sink), Run: func(ctx context.Context) error {
			images, cleanup, err := docker.Images(ctx, load...)
			if err != nil {
				return err
			}
			defer cleanup()
			j.shipped, err = sink.Ship(ctx, images)
			return err
		}})
	}
	return append(steps, []session.Step{
		{Name: "watch the cluster's pods", Run: func(ctx context.Context) (err error) {
			j.podLog, err = watchPods(ctx, kc)
			return err
		}},
		{Name: "deploy workload", Run: func(ctx context.Context) error { return j.deploy(ctx, kc) }},
		{Name: "wait for workload pods", Run: func(ctx context.Context) error { return j.waitPods(ctx, kc) }},
		{Name: "check the pods' token TTL", Run: func(context.Context) error { return checkTokenTTLs(j.pods, in.TTL) }},
		{Name: "prove the workload's 401s are seen (canaries)", Run: func(ctx context.Context) error {
			if in.Canary == "" {
				in.Log.Printf("no canary: its image cannot be shipped to this cluster; no pod can pass on \"no 401 seen\"")
				return nil
			}
			return j.runCanaries(ctx, kc)
		}},
		{Name: "wait for token expiry", Run: func(ctx context.Context) error { return j.watch(ctx, kc) }},
	}...)
}

func (j *job) Collect(ctx context.Context, s *session.Session, rep *report.Report) error {
	rep.TokenTTLBy = j.tokenTTLBy
	j.in.outages = s.Outages
	return j.collect(ctx, s.Kube, rep)
}

// Cleanup removes the token policy (a kept or reused cluster must not go on shortening
// everyone's tokens) and, from someone else's cluster, everything the check created.
func (j *job) Cleanup(ctx context.Context, s *session.Session) error {
	j.podLog.close()
	if j.policyGV != "" {
		if err := removePolicy(ctx, s.Kube, j.policyGV, j.policyName); err != nil {
			s.Log.Printf("warning: %v", err)
		}
	}
	if !j.in.Target.Existing {
		return nil
	}
	return s.Log.Run(fmt.Sprintf("delete what the check created (%d objects)", len(j.created)), func() error {
		return cleanup(ctx, s.Kube, j.created)
	})
}

// Broken lists the pods whose evidence shows token-expiry damage.
func Broken(rep *report.Report) []string {
	return pods(rep, report.Result.Broken)
}

// Unjudged lists the pods the evidence could not decide, with what to do.
func Unjudged(rep *report.Report) []string {
	return pods(rep, func(res report.Result) bool { return !res.Broken() && res.Verdict == verdict.NotJudged })
}

func pods(rep *report.Report, match func(report.Result) bool) []string {
	var out []string
	for _, res := range rep.Results {
		if match(res) {
			s := fmt.Sprintf("%s/%s (%s: %s", res.Namespace, res.Pod, res.Verdict, res.Reason)
			if res.Hint != "" {
				s += "; " + res.Hint
			}
			out = append(out, s+")")
		}
	}
	return out
}
