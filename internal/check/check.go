package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/docker"
	"github.com/satoken-e2e/satoken-e2e/internal/fileutil"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/session"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// DefaultNamespace receives manifests that name none, unless Input.Namespace is set.
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
	// Namespace receives the namespaced objects that name none (DefaultNamespace when empty).
	Namespace string
	// Load are local docker images to ship to the cluster's nodes first (Target.Images).
	Load   []string
	Mutate string // MutateAuto, MutatePolicy or MutateManifests ("" = auto)
	TTL    time.Duration
	Settle time.Duration // keep watching this long after the expected expiry and after a first 401
	// WaitForCall bounds the wait for each pod's first call after its token stopped being
	// accepted (DefaultWaitForCall when zero); a pod that makes none is not judged.
	WaitForCall time.Duration
	OutDir      string
	Log         *phase.Recorder
}

type podRun struct {
	pod          corev1.Pod
	restarts     int32 // at the end of the wait
	unauthorized []string
	obs          verdict.Observation
	iat, exp     time.Time // of the first token (see anchorToken)
	estimated    bool      // iat/exp estimated, not from the kubelet's TokenRequest
	gone         bool      // deleted before the evidence was collected: its end is unknown
}

// Run deploys the manifests, waits past expiry and judges every pod they created.
func Run(ctx context.Context, in Input) (*report.Report, error) {
	if err := Validate(in.Manifests); err != nil {
		return nil, err
	}
	if in.WaitForCall == 0 {
		in.WaitForCall = DefaultWaitForCall
	}
	if in.Namespace == "" {
		in.Namespace = DefaultNamespace
	}
	return session.Run(ctx, "check", in.Target, in.Log, &job{in: in, namespaces: targetNamespaces(in.Manifests, in.Namespace)})
}

// job is a check on the session engine.
type job struct {
	in         Input
	namespaces []string
	pods       []*podRun
	policyGV   string        // set when the token policy was installed
	tokenTTLBy string        // how the pods got short tokens
	created    []kube.Object // what to delete again from an existing cluster
}

func (j *job) Needs(_ context.Context, s *session.Session) ([]target.Access, []string, error) {
	need, err := needs(s.Kube, j.in, j.namespaces)
	return need, nil, err
}

func (j *job) Header(rep *report.Report) {
	rep.TTLSeconds, rep.TokenMode = int(j.in.TTL.Seconds()), "projected"
	rep.IntervalSeconds, rep.SettleSeconds = timingTolerance.Seconds(), j.in.Settle.Seconds()
}

func (j *job) Steps(s *session.Session) []session.Step {
	kc, in := s.Kube, j.in
	var steps []session.Step
	if len(in.Load) > 0 {
		steps = append(steps, session.Step{Name: fmt.Sprintf("load images %s into %s", strings.Join(in.Load, ", "), in.Target.Images), Run: func(ctx context.Context) error {
			images, cleanup, err := docker.Images(ctx, in.Load...)
			if err != nil {
				return err
			}
			defer cleanup()
			_, err = in.Target.Images.Ship(ctx, images)
			return err
		}})
	}
	return append(steps, []session.Step{
		{Name: "deploy workload", Run: func(ctx context.Context) (err error) {
			j.policyGV, j.tokenTTLBy, j.created, err = deploy(ctx, kc, in, j.namespaces)
			return err
		}},
		{Name: "wait for workload pods", Run: func(ctx context.Context) (err error) {
			j.pods, err = waitPods(ctx, kc, j.namespaces)
			return err
		}},
		{Name: "check the pods' token TTL", Run: func(context.Context) error { return checkTokenTTLs(j.pods, in.TTL) }},
		{Name: "wait for token expiry", Run: func(ctx context.Context) error { return watch(ctx, in, j.pods) }},
	}...)
}

func (j *job) Collect(ctx context.Context, s *session.Session, rep *report.Report) error {
	rep.TokenTTLBy = j.tokenTTLBy
	return collect(ctx, s.Kube, j.in, j.pods, rep)
}

// Cleanup removes the token policy (a kept or reused cluster must not go on shortening
// everyone's tokens) and, from someone else's cluster, everything the check created.
func (j *job) Cleanup(ctx context.Context, s *session.Session) error {
	if j.policyGV != "" {
		if err := removePolicy(ctx, s.Kube, j.policyGV); err != nil {
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

func targetNamespaces(objs []*unstructured.Unstructured, defaultNS string) []string {
	seen := map[string]bool{}
	for _, o := range objs {
		if _, ok := podSpecPaths[o.GetKind()]; !ok {
			continue
		}
		ns := o.GetNamespace()
		if ns == "" {
			ns = defaultNS
		}
		seen[ns] = true
	}
	out := make([]string, 0, len(seen))
	for ns := range seen {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// needs is what the check does on an existing cluster: create the manifests' objects (and
// delete them again), watch and read the pods.
func needs(kc *kube.Client, in Input, namespaces []string) ([]target.Access, error) {
	need := []target.Access{{Verb: "create", Resource: "namespaces"}, {Verb: "delete", Resource: "namespaces"}}
	for _, ns := range namespaces {
		need = append(need,
			target.Access{Verb: "list", Resource: "pods", Namespace: ns},
			target.Access{Verb: "get", Resource: "pods", Subresource: "log", Namespace: ns})
	}
	for _, o := range in.Manifests {
		a, err := kc.CreateAccess(o, in.Namespace)
		if meta.IsNoMatchError(err) {
			continue // a kind whose CRD the manifests create: the apply will tell
		}
		if err != nil {
			return nil, err
		}
		need = append(need, target.Access{Verb: "create", Group: a.Resource.Group, Resource: a.Resource.Resource, Namespace: a.Namespace},
			target.Access{Verb: "delete", Group: a.Resource.Group, Resource: a.Resource.Resource, Namespace: a.Namespace})
	}
	return need, nil
}

// deploy creates the namespaces, gives the pods short tokens (server-side where possible)
// and creates the manifests' objects; created lists what did not exist before.
func deploy(ctx context.Context, kc *kube.Client, in Input, namespaces []string) (policyGV, tokenTTLBy string, created []kube.Object, err error) {
	for _, ns := range namespaces {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{kube.PartOfKey: kube.PartOfValue}}}
		_, err := kc.Typed.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{})
		switch {
		case err == nil:
			created = append(created, kube.Object{Resource: corev1.SchemeGroupVersion.WithResource("namespaces"), Name: ns})
		case !apierrors.IsAlreadyExists(err):
			return "", "", created, err
		}
	}
	ttl := int64(in.TTL.Seconds())
	var gv string
	// Someone else's cluster gets the admission policy only when asked for, and only for
	// the check's own namespaces.
	if in.Mutate == MutatePolicy || (in.Mutate != MutateManifests && !in.Target.Existing) {
		if gv, err = PolicyAPI(kc); err != nil {
			return "", "", created, err
		}
		if gv == "" && in.Mutate == MutatePolicy {
			return "", "", created, field.Invalid(field.NewPath("Mutate"), MutatePolicy, "the cluster does not serve MutatingAdmissionPolicy (Kubernetes 1.32+ with the feature gate)")
		}
	}
	by := describeMutation(gv)
	if gv != "" {
		var only []string
		if in.Target.Existing {
			only = namespaces
		}
		if err := installPolicy(ctx, kc, gv, ttl, namespaces[0], only); err != nil {
			return gv, by, created, err
		}
		in.Log.Printf("token TTL: every new pod outside the system namespaces gets %ds tokens from %s", ttl, by)
	} else {
		changes, err := ShortenTokens(in.Manifests, ttl)
		if err != nil {
			return "", "", created, err
		}
		for _, c := range changes {
			in.Log.Printf("token TTL (manifest rewrite): %s", c)
		}
	}
	objs, err := kc.Create(ctx, in.Manifests, in.Namespace)
	return gv, by, append(created, objs...), err
}

// cleanup deletes what the check created, namespaces last, and waits for the namespaces.
func cleanup(ctx context.Context, kc *kube.Client, created []kube.Object) error {
	var namespaces []string
	var objs []kube.Object
	for _, o := range created {
		if o.Resource.Resource == "namespaces" && o.Resource.Group == "" {
			namespaces = append(namespaces, o.Name)
			continue
		}
		objs = append(objs, o)
	}
	return errors.Join(kc.Delete(ctx, objs), target.DeleteNamespaces(ctx, kc, namespaces))
}

// checkTokenTTLs refuses to judge pods whose tokens would outlive the check, such as pods
// a controller created from a template the manifest rewrite could not see.
func checkTokenTTLs(pods []*podRun, ttl time.Duration) error {
	var bad []string
	for _, p := range pods {
		if ttls := TokenTTLs(p.pod.Spec); !allEqual(ttls, int64(ttl.Seconds())) {
			bad = append(bad, fmt.Sprintf("%s/%s %v", p.pod.Namespace, p.pod.Name, ttls))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("token TTL %s not applied to %s (their token expirationSeconds): their tokens would not expire during the check "+
			"(pods left from before the check, or created by a controller from a template the manifest rewrite cannot reach: use a cluster that serves MutatingAdmissionPolicy)",
			ttl, strings.Join(bad, ", "))
	}
	return nil
}

// waitPods waits until the workload has pods and all of them run.
func waitPods(ctx context.Context, kc *kube.Client, namespaces []string) ([]*podRun, error) {
	var runs []*podRun
	pending := ""
	// The lists use ctx, not the poll's context: a list in flight when the wait times out
	// completes, and the timeout is reported with what it saw.
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, 3*time.Minute, true, func(context.Context) (bool, error) {
		runs, pending = nil, ""
		for _, ns := range namespaces {
			list, err := kc.Typed.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			for _, p := range list.Items {
				if p.Status.Phase == corev1.PodSucceeded {
					continue // finished jobs have nothing more to say
				}
				if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
					pending = fmt.Sprintf("%s/%s: %s", ns, p.Name, kube.PodProblem(&p))
				}
				runs = append(runs, &podRun{pod: p})
			}
		}
		return len(runs) > 0 && pending == "", nil
	})
	switch {
	case err == nil:
		return runs, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case wait.Interrupted(err):
		if pending == "" {
			pending = "no pods were created"
		}
		return nil, fmt.Errorf("workload not running after 3m: %s", pending)
	}
	return nil, err
}

// anchorToken sets the first token's iat/exp from the kubelet's first TokenRequest for
// the pod in the audit log (iat to the second, as in the JWT; the lifetime it asked for,
// capped by the apiserver's maximum), or — while that is not in the log — estimates them
// from the pod's start and the TTL.
func (p *podRun) anchorToken(issues []audit.TokenIssue, ttl, maxTTL time.Duration) {
	for _, is := range issues {
		if is.PodUID != string(p.pod.UID) {
			continue
		}
		life := time.Duration(is.ExpirationSeconds) * time.Second
		if maxTTL > 0 && life > maxTTL {
			life = maxTTL
		}
		p.iat = is.At.Truncate(time.Second).UTC()
		p.exp, p.estimated = p.iat.Add(life), false
		return
	}
	start := p.pod.CreationTimestamp.Time
	if p.pod.Status.StartTime != nil {
		start = p.pod.Status.StartTime.Time
	}
	p.iat = start.UTC()
	p.exp, p.estimated = p.iat.Add(ttl), true
}

func (p *podRun) observe(events []audit.Event) verdict.Observation {
	life := lifetime(p.pod)
	if p.gone {
		life = audit.Lifetime{} // its IP may since belong to another pod
	}
	return observe(events, p.pod.UID, life, p.iat, p.exp)
}

// params are the verdict settings for workloads, whose call cadence is their own.
func (in Input) params() verdict.Params {
	return verdict.Params{Interval: timingTolerance, Leeway: verdict.ValidatorLeeway, Late: in.WaitForCall, MinSettle: verdict.MinSettle}
}

// until is when the pod has been watched long enough: --settle past the refusal of its
// start-up token, and past its first call after that refusal (waiting at most
// WaitForCall for one), and --settle past its first 401.
func (p *podRun) until(o verdict.Observation, in Input) time.Time {
	refused := p.refused()
	done := p.exp.Add(verdict.ValidatorLeeway + in.Settle)
	if o.LastCallAt.Before(refused) {
		done = later(done, refused.Add(in.WaitForCall))
	}
	if at := o.FirstUnauthorizedAt; at != nil {
		done = later(done, at.Add(max(in.Settle, verdict.MinSettle)))
	}
	return done
}

// refused is when the start-up token stops working: exp + leeway + the auth cache.
func (p *podRun) refused() time.Time {
	return p.exp.Add(verdict.ValidatorLeeway + verdict.AuthCacheTTL)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func watch(ctx context.Context, in Input, pods []*podRun) error {
	for {
		events, _ := in.events()
		issues := audit.TokenIssues(events)
		now := time.Now()
		var until time.Time
		var b strings.Builder
		for _, p := range pods {
			p.anchorToken(issues, in.TTL, in.Target.MaxTokenExpiration)
			o := p.observe(events)
			u := p.until(o, in)
			until = later(until, u)
			state := "waiting for its token to expire"
			switch refused := p.refused(); {
			case now.Before(refused):
			case o.LastCallAt.Before(refused):
				state = fmt.Sprintf("token refused since %s; waiting for its next API call (up to %s)", refused.Local().Format("15:04:05"), refused.Add(in.WaitForCall).Local().Format("15:04:05"))
			case !now.Before(u):
				state = "done"
			default:
				state = "called after its token expired; settling"
			}
			fmt.Fprintf(&b, "\n           %-40s %4d ok %4d 401  %s", p.pod.Namespace+"/"+p.pod.Name, o.OKCount, o.UnauthorizedCount, state)
		}
		if !now.Before(until) {
			return nil
		}
		in.Log.Printf("waiting for the workload's tokens to expire, its next calls and %s more: %s left at most (until %s)%s",
			in.Settle, until.Sub(now).Round(time.Second), until.Local().Format("15:04:05"), b.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(time.Minute, until.Sub(now))):
		}
	}
}

func collect(ctx context.Context, kc *kube.Client, in Input, pods []*podRun, rep *report.Report) error {
	events, err := in.events()
	if err != nil {
		return err
	}
	issues := audit.TokenIssues(events)
	logDir := filepath.Join(in.OutDir, "pods")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	var errs []string
	for _, p := range pods {
		cur, err := kc.Typed.CoreV1().Pods(p.pod.Namespace).Get(ctx, p.pod.Name, metav1.GetOptions{})
		switch {
		case err == nil:
			p.pod = *cur
		case apierrors.IsNotFound(err):
			p.gone = true
		}
		for _, cs := range p.pod.Status.ContainerStatuses {
			p.restarts += cs.RestartCount
			// The previous container's log too: a client that died of its 401s said so there.
			raw, _, err := kc.ProcessLogs(ctx, p.pod.Namespace, p.pod.Name, cs.Name, cs.RestartCount)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			name := fmt.Sprintf("%s_%s_%s.log", p.pod.Namespace, p.pod.Name, cs.Name)
			if err := os.WriteFile(filepath.Join(logDir, name), raw, 0o644); err != nil {
				errs = append(errs, err.Error())
			}
			for _, line := range strings.Split(string(raw), "\n") {
				if strings.Contains(line, "Unauthorized") {
					p.unauthorized = append(p.unauthorized, line)
				}
			}
		}
		p.anchorToken(issues, in.TTL, in.Target.MaxTokenExpiration)
		p.obs = p.observe(events)
		rep.Results = append(rep.Results, judge(p, owner(ctx, kc, p.pod), in.params(), in.Target.AuditLog != ""))
	}
	if in.Target.AuditLog != "" && !in.Target.Existing {
		if err := fileutil.Copy(in.Target.AuditLog, filepath.Join(in.OutDir, "audit.log"), 0o644); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("collecting evidence: %s", strings.Join(errs, "; "))
	}
	return nil
}

// judge draws the pod's verdict from the audit observation and adds the secondary
// signals (restarts and log lines make a pod broken; see report.Result.Broken).
func judge(p *podRun, workload string, params verdict.Params, audited bool) report.Result {
	out := report.Result{Namespace: p.pod.Namespace, Pod: p.pod.Name, Image: images(p.pod), Restarts: int(p.restarts),
		Evidence: []string{report.EvidenceAudit, report.EvidenceRestarts, report.EvidenceLogLines},
		Workload: &report.WorkloadResult{Owner: workload, LogUnauthorizedLines: len(p.unauthorized), TokenEstimated: p.estimated},
	}
	r := verdict.Judge(p.obs, params)
	switch {
	case !audited:
		out.Evidence = []string{report.EvidenceNoAuditOn, report.EvidenceRestarts, report.EvidenceLogLines}
		r = verdict.Result{Verdict: verdict.NotJudged,
			Reason: "no audit log was given: the pod's API calls and their tokens cannot be seen, only its restarts and logs",
			Hint:   "give the apiserver's audit log (Metadata level or above) with --audit-log FILE|DIR"}
	case p.obs.Calls == 0:
		r.Reason = "no API call of the pod is in the audit log"
	}
	out.FromObservation(p.obs, r)
	var notes []string
	switch {
	case p.pod.Spec.HostNetwork:
		notes = append(notes, "hostNetwork pod: 401s cannot be attributed to it by IP (the node's), only calls authenticated as the pod count")
	case p.gone:
		notes = append(notes, "the pod was deleted before the end: its IP may have passed to another pod, so no 401 was attributed by IP")
	}
	if p.restarts > 0 {
		notes = append(notes, fmt.Sprintf("%d container restart(s)", p.restarts))
	}
	if len(p.unauthorized) > 0 {
		notes = append(notes, fmt.Sprintf("%d log line(s) mention Unauthorized", len(p.unauthorized)))
	}
	if len(notes) > 0 {
		out.Reason += "; also " + strings.Join(notes, ", ")
	}
	return out
}

// events reads the audit log, when there is one.
func (in Input) events() ([]audit.Event, error) {
	if in.Target.AuditLog == "" {
		return nil, nil
	}
	return audit.ReadFile(in.Target.AuditLog)
}

// owner names the workload a pod belongs to, following a ReplicaSet up to its Deployment.
func owner(ctx context.Context, kc *kube.Client, p corev1.Pod) string {
	ref := metav1.GetControllerOf(&p)
	if ref == nil {
		return "Pod/" + p.Name
	}
	if ref.Kind == "ReplicaSet" {
		if rs, err := kc.Typed.AppsV1().ReplicaSets(p.Namespace).Get(ctx, ref.Name, metav1.GetOptions{}); err == nil {
			if up := metav1.GetControllerOf(rs); up != nil {
				return up.Kind + "/" + up.Name
			}
		}
	}
	return ref.Kind + "/" + ref.Name
}

func images(p corev1.Pod) string {
	var out []string
	for _, c := range p.Spec.Containers {
		out = append(out, c.Image)
	}
	return strings.Join(out, ",")
}
