// Package repro is the reproduction: deploy probes with short-lived tokens, watch them
// through the first token's expiry, restart the ones that stay broken, and turn what the
// probes and the apiserver recorded into a report.
package repro

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/fileutil"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/measure"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/probes"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/session"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
	"github.com/satoken-e2e/satoken-e2e/internal/waits"
)

// AutomountTTL is what the kubelet's default projection requests (3607 s); with
// --service-account-max-token-expiration=1h the apiserver caps it to 3600 s.
const AutomountTTL = 3607 * time.Second

// Input configures a reproduction.
type Input struct {
	Target target.Target
	Probes []probes.Built
	TTL    time.Duration // projected token TTL; ignored with Automount
	// MinTTL is the shortest TTL the cluster asked for accepts, before it is up (an
	// accelerated control plane's); 0: the Target's own (target.StockMinTTL when unknown).
	MinTTL      time.Duration
	Automount   bool          // use the default automounted token instead of a projection
	Interval    time.Duration // probe call interval
	Settle      time.Duration // keep watching a failing probe this long after its first 401
	OutDir      string        // artifacts go here
	FixturesDir string
	Log         *phase.Recorder
}

// Validate checks the settings before anything slow starts.
func (in Input) Validate() error {
	minTTL := cmp.Or(in.MinTTL, in.Target.MinTTL())
	if !in.Automount && in.TTL < minTTL {
		return field.Invalid(field.NewPath("TTL"), in.TTL.String(), fmt.Sprintf("a projected token's expirationSeconds must be at least %s", minTTL))
	}
	if in.Interval <= 0 || in.Interval > time.Minute {
		return field.Invalid(field.NewPath("Interval"), in.Interval.String(), "use a value in (0, 1m]")
	}
	if in.Settle < verdict.MinSettle {
		return field.Invalid(field.NewPath("Settle"), in.Settle.String(), fmt.Sprintf("a failure needs at least %s of refusals to be told from a slow reload", verdict.MinSettle))
	}
	return nil
}

// probeRun is one deployed probe and everything observed about it.
type probeRun struct {
	built      probes.Built
	namespace  string
	pod        string
	podIP      string
	podStart   time.Time
	restarts   int32  // of the probe container
	complete   bool   // the log holds the first process (restarted at most once)
	raw        []byte // the pod's log as written (artifact)
	lines      []probelog.Line
	obs        verdict.Observation
	restart    *corev1.Pod // the replacement pod, when restarted
	restartAt  time.Time
	afterRaw   []byte
	afterLines []probelog.Line
	// goneAt is when its first pod was found deleted, by someone else than satoken: its
	// log ends at the read before.
	goneAt time.Time
}

type runner struct {
	in       Input
	kc       *kube.Client
	deployer *Deployer
	params   verdict.Params
	runs     []*probeRun
	measured measure.Measured
}

// Run performs the reproduction and returns the report (phases and expectations are the
// caller's). Artifacts are written to in.OutDir even when an error is returned.
func Run(ctx context.Context, in Input) (*report.Report, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if !in.Automount {
		if err := in.Target.AcceptsTTL(in.TTL); err != nil {
			return nil, err
		}
	}
	return session.Run(ctx, "run", in.Target, in.Log, &runner{in: in, params: verdict.Steady(in.Interval)})
}

// Needs: a namespace of its own per probe, with the rights to run the probe there (and to
// copy the pull secrets into it).
func (r *runner) Needs(_ context.Context, s *session.Session) ([]target.Access, []string, error) {
	var need []target.Access
	var namespaces []string
	for _, ref := range r.in.Target.PullSecrets {
		ns, name, ok := strings.Cut(ref, "/")
		if !ok || ns == "" || name == "" {
			return nil, nil, fmt.Errorf("pull secret %q: want NAMESPACE/NAME", ref)
		}
		need = append(need, target.Access{Verb: "get", Resource: "secrets", Namespace: ns})
	}
	for _, b := range r.in.Probes {
		ns := NamespaceFor(b.Probe.Label)
		namespaces = append(namespaces, ns)
		need = append(need, target.NamespaceAccess(ns)...)
		if len(r.in.Target.PullSecrets) > 0 {
			need = append(need, target.Access{Verb: "create", Resource: "secrets", Namespace: ns})
		}
	}
	return need, namespaces, nil
}

func (r *runner) Header(rep *report.Report) {
	rep.IntervalSeconds, rep.SettleSeconds = r.in.Interval.Seconds(), r.in.Settle.Seconds()
	rep.TTLSeconds, rep.TokenMode = int(r.in.TTL.Seconds()), "projected"
	if r.in.Automount {
		rep.TTLSeconds, rep.TokenMode = int(AutomountTTL.Seconds()), "automount"
	}
}

func (r *runner) Steps(s *session.Session) []session.Step {
	r.kc = s.Kube
	return []session.Step{
		{Name: "ship probe images to " + r.in.Target.Images.String(), Run: r.shipImages},
		{Name: "deploy probes", Run: r.deploy},
		{Name: "measure the token claims this apiserver issues", Run: r.measureClaims},
		{Name: "wait for token expiry", Run: r.watch},
		{Name: "restart failing probes", Run: r.restartFailing},
	}
}

func (r *runner) Collect(ctx context.Context, s *session.Session, rep *report.Report) error {
	r.params.Outages = s.Outages
	return r.collect(ctx, rep)
}

// Cleanup leaves someone else's cluster as it was: the probe namespaces are deleted, after
// a failure or Ctrl-C too. satoken's own cluster is deleted whole by its caller.
func (r *runner) Cleanup(ctx context.Context, s *session.Session) error {
	if !r.in.Target.Existing || r.deployer == nil {
		return nil
	}
	ns := r.deployer.Namespaces()
	return s.Log.Run(fmt.Sprintf("delete the probe namespaces (%d)", len(ns)), func() error {
		return target.DeleteNamespaces(ctx, s.Kube, ns)
	})
}

// shipImages builds each probe's image in Go and gets it to the cluster's nodes (loaded
// into kind nodes, or pushed to a registry), then prepares the deployer with the
// references the pods must use.
func (r *runner) shipImages(ctx context.Context) error {
	images, err := Images(r.in.Probes)
	if err != nil {
		return err
	}
	r.in.Log.Printf("shipping %d probe images to %s", len(images), r.in.Target.Images)
	refs, err := r.in.Target.Images.Ship(ctx, images)
	if err != nil {
		return err
	}
	r.deployer, err = NewDeployer(ctx, r.kc, r.in.FixturesDir, PodSettings{TTL: r.in.TTL, Automount: r.in.Automount, Interval: r.in.Interval,
		Refs: refs, PullPolicy: r.in.Target.Images.PullPolicy(), PullSecrets: r.in.Target.PullSecrets})
	return err
}

// Images are the probes' images under their local names, as shipImages ships them (and
// a cluster made for the run may preload them).
func Images(built []probes.Built) (map[string]v1.Image, error) {
	images := map[string]v1.Image{}
	for _, b := range built {
		img, err := b.OCI()
		if err != nil {
			return nil, fmt.Errorf("image of %s: %w", b.Probe.Label, err)
		}
		images[b.Image] = img
	}
	return images, nil
}

// deploy creates every probe first and then waits for them, so their first tokens expire
// within seconds of each other.
func (r *runner) deploy(ctx context.Context) error {
	for _, b := range r.in.Probes {
		ns := NamespaceFor(b.Probe.Label)
		r.in.Log.Printf("deploying %s (%s) in namespace %s", b.Probe.Label, b.Probe.Module, ns)
		if err := r.deployer.Create(ctx, b, ns, "probe", false); err != nil {
			return err
		}
		r.runs = append(r.runs, &probeRun{built: b, namespace: ns, pod: "probe"})
	}
	for _, pr := range r.runs {
		pod, err := r.kc.WaitPodRunning(ctx, pr.namespace, pr.pod, podStartTimeout)
		if err != nil {
			return err
		}
		pr.podIP = pod.Status.PodIP
		if pod.Status.StartTime != nil {
			pr.podStart = pod.Status.StartTime.Time
		}
	}
	return nil
}

// measureClaims records the claims of a token bound to the first probe pod, issued the
// way the kubelet asks for one. Not being allowed to ask (an existing cluster) is noted,
// not fatal: the verdicts do not need it.
func (r *runner) measureClaims(ctx context.Context) error {
	if len(r.runs) == 0 {
		return nil
	}
	pr := r.runs[0]
	pod, err := r.kc.Typed.CoreV1().Pods(pr.namespace).Get(ctx, pr.pod, metav1.GetOptions{})
	if err == nil {
		r.measured.Claims, err = issueClaims(ctx, r.kc, pod, r.ttl())
	}
	if err != nil {
		r.measured.Notes = append(r.measured.Notes, "token claims not measured: "+err.Error())
		r.in.Log.Printf("warning: token claims not measured: %v", err)
	}
	return nil
}

// issueClaims asks the apiserver for a token bound to the pod, as the kubelet does, and
// keeps only its claims.
func issueClaims(ctx context.Context, kc *kube.Client, pod *corev1.Pod, ttl time.Duration) (*measure.Claims, error) {
	secs := int64(ttl.Seconds())
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &secs,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	resp, err := kc.Typed.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, pod.Spec.ServiceAccountName, req, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("TokenRequest for %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c, err := measure.DecodeClaims(resp.Status.Token)
	if err != nil {
		return nil, err
	}
	c.BoundTo, c.RequestedSeconds = pod.Namespace+"/"+pod.Name, secs
	return c, nil
}

// refresh re-reads the log and observation of every probe whose first pod still runs
// (a restarted probe's first pod is gone; its log was read just before the restart). A
// pod deleted by someone else keeps what was read of it; one probe's failure does not
// stop the others' reads.
func (r *runner) refresh(ctx context.Context) error {
	var errs []error
	for _, pr := range r.runs {
		if pr.restart != nil || !pr.goneAt.IsZero() {
			continue
		}
		if err := r.read(ctx, pr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", pr.built.Probe.Label, err))
		}
	}
	return errors.Join(errs...)
}

// read re-reads one probe's log and observation.
func (r *runner) read(ctx context.Context, pr *probeRun) error {
	pod, err := r.kc.Typed.CoreV1().Pods(pr.namespace).Get(ctx, pr.pod, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		pr.goneAt = time.Now().UTC()
		r.in.Log.Printf("the pod of %s was deleted (not by satoken): its log ends at the last read", pr.built.Probe.Label)
		return nil
	}
	if err != nil {
		return fmt.Errorf("pod: %w", err)
	}
	// A restarted container's earlier process is part of the record: its log holds the
	// calls made with the start-up token.
	pr.restarts = kube.Restarts(pod, "probe")
	raw, complete, err := r.kc.ProcessLogs(ctx, pr.namespace, pr.pod, "probe", pr.restarts)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	pr.raw, pr.complete = raw, complete
	if pr.lines, err = probelog.Parse(bytes.NewReader(raw)); err != nil {
		return err
	}
	pr.obs = verdict.Observe(verdict.FromProbeLog(pr.lines))
	return nil
}

// doneAt is when this probe has been watched long enough: past the latest moment its
// first 401 may come (exp + leeway + auth cache + Late), and — if it failed — Settle past
// its first 401, so a slow re-reader is told apart from one that never re-reads; if it
// switched tokens once, until it switches again or that token is refused too.
func (r *runner) doneAt(pr *probeRun) (time.Time, bool) {
	first, ok := pr.obs.FirstToken()
	if !ok {
		return time.Time{}, false
	}
	done := first.Exp.Add(r.params.Leeway + verdict.AuthCacheTTL + r.params.Late)
	if at := pr.obs.FirstUnauthorizedAt; at != nil && at.Add(r.in.Settle).After(done) {
		done = at.Add(r.in.Settle)
	}
	// One switch to a newer token is not yet a reload: until the token it switched to is
	// refused too, or a second switch is seen.
	if more, ok := verdict.ReloadProofUntil(pr.obs, r.params); ok && more.After(done) {
		done = more
	}
	return done, true
}

const pollEvery = 15 * time.Second

// ttl is what the probes' tokens were requested for.
func (r *runner) ttl() time.Duration {
	if r.in.Automount {
		return AutomountTTL
	}
	return r.in.TTL
}

// watch waits until every probe has been watched long enough (see doneAt), by the host's
// clock.
func (r *runner) watch(ctx context.Context) error {
	ttl := r.ttl()
	// A probe that never logs a token must not make us wait forever; a reloading one is
	// watched into its second token's lifetime (see doneAt).
	hardDeadline := time.Now().Add(2*ttl + r.params.Leeway + r.in.Settle + 5*time.Minute)
	in := waits.WatchInput{What: "token expiry", Every: pollEvery, ProgressEvery: time.Minute, Log: r.in.Log}
	return waits.Watch(ctx, in, func(ctx context.Context) (waits.Look, error) { return r.look(ctx, ttl, hardDeadline) })
}

// look reads the probes again and says until when they must be watched.
func (r *runner) look(ctx context.Context, ttl time.Duration, hardDeadline time.Time) (waits.Look, error) {
	if err := r.refresh(ctx); err != nil {
		r.in.Log.Printf("warning: %v (retrying)", err)
	}
	if err := r.checkLifetimes(ttl); err != nil {
		return waits.Look{}, err
	}
	l := waits.Look{Now: time.Now()}
	waiting := 0
	for _, pr := range r.runs {
		done, known := r.doneAt(pr)
		if !known {
			done = hardDeadline
		}
		if done.After(l.Until) {
			l.Until = done
		}
		if l.Now.Before(done) {
			waiting++
		}
	}
	if l.Now.After(hardDeadline) {
		l.End = fmt.Sprintf("giving up waiting at the hard deadline; %d probe(s) incomplete", waiting)
	}
	l.Progress = r.progress(l.Now, l.Until)
	return l, nil
}

// lifetimeSlack allows for the second-granular iat/exp claims.
const lifetimeSlack = 5 * time.Second

// checkLifetimes stops the run when the cluster gave a probe a token longer-lived than
// asked for (it extends or ignores expirationSeconds): nothing would expire during the
// wait. A shorter one (a lower maximum) is fine: the verdicts use each token's own exp.
func (r *runner) checkLifetimes(ttl time.Duration) error {
	for _, pr := range r.runs {
		first, ok := pr.obs.FirstToken()
		if !ok {
			continue
		}
		if life := first.Exp.Sub(first.Iat); life > ttl+lifetimeSlack {
			return fmt.Errorf("%s's token lives %s (iat %s, exp %s in its JWT), not the %s asked for: this cluster extends or ignores expirationSeconds, so no token would expire during the run",
				pr.built.Probe.Label, life, first.Iat.Format(time.RFC3339), first.Exp.Format(time.RFC3339), ttl)
		}
	}
	return nil
}

// progress says what we wait for, how long remains and the live ok/401 counts.
func (r *runner) progress(now, until time.Time) string {
	var b strings.Builder
	what := "first tokens to expire (+60s leeway)"
	for _, pr := range r.runs {
		if pr.obs.FirstUnauthorizedAt != nil {
			what = fmt.Sprintf("first tokens to expire, then %s settle after each first 401", r.in.Settle)
			break
		}
	}
	fmt.Fprintf(&b, "waiting for %s: %s left (until %s)\n", what, until.Sub(now).Round(time.Second), until.Format("15:04:05"))
	for _, pr := range r.runs {
		o := pr.obs
		exp := "no token yet"
		if first, ok := o.FirstToken(); ok {
			exp = "exp " + first.Exp.Local().Format("15:04:05")
		}
		fmt.Fprintf(&b, "           %-10s %4d ok %4d 401 %3d err  rotations %d  %s\n", pr.built.Probe.Label, o.OKCount, o.UnauthorizedCount, o.ErrorCount, o.RotationsSeen, exp)
	}
	return strings.TrimRight(b.String(), "\n")
}

const recoverTimeout = 2 * time.Minute

// restartFailing replaces every probe pod whose latest call was refused, then watches the
// new pod until its first successful call.
func (r *runner) restartFailing(ctx context.Context) error {
	if err := r.refresh(ctx); err != nil {
		return err
	}
	var failing []*probeRun
	for _, pr := range r.runs {
		if !pr.goneAt.IsZero() {
			continue // nothing of ours to restart
		}
		if last := lastCall(pr.lines); last != nil && last.Outcome == probelog.OutcomeUnauthorized {
			failing = append(failing, pr)
		}
	}
	if len(failing) == 0 {
		r.in.Log.Printf("no probe is failing: nothing to restart")
		return nil
	}
	// Every replacement is created before any is waited for: they start side by side.
	for _, pr := range failing {
		r.in.Log.Printf("restarting %s (delete pod, create a new one)", pr.built.Probe.Label)
		pr.restartAt = time.Now().UTC()
		grace := int64(0)
		if err := r.kc.Typed.CoreV1().Pods(pr.namespace).Delete(ctx, pr.pod, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
			return err
		}
		if err := r.deployer.Create(ctx, pr.built, pr.namespace, restartedPod, true); err != nil {
			return err
		}
	}
	for _, pr := range failing {
		pod, err := r.kc.WaitPodRunning(ctx, pr.namespace, restartedPod, podStartTimeout)
		if err != nil {
			return err
		}
		pr.restart = pod
	}
	deadline := time.Now().Add(recoverTimeout)
	// The log reads use ctx, not the poll's context, so one in flight at the deadline completes.
	err := wait.PollUntilContextTimeout(ctx, r.in.Interval, recoverTimeout, true, func(context.Context) (bool, error) {
		pending := 0
		for _, pr := range failing {
			raw, err := r.kc.Logs(ctx, pr.namespace, pr.restart.Name, "probe")
			if err == nil {
				pr.afterRaw = raw
				pr.afterLines, _ = probelog.Parse(bytes.NewReader(raw))
			}
			if firstOK(pr.afterLines) == nil {
				pending++
			}
		}
		if pending == 0 {
			return true, nil
		}
		r.in.Log.Printf("waiting for %d restarted probe(s) to succeed (%s left)", pending, time.Until(deadline).Round(time.Second))
		return false, nil
	})
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return nil // probes still failing after recoverTimeout are reported as not recovered
}

// restartedPod names a failing probe's replacement.
const restartedPod = "probe-restarted"

func lastCall(lines []probelog.Line) *probelog.Line {
	for i := len(lines) - 1; i >= 0; i-- {
		if lines[i].Kind == probelog.KindCall {
			return &lines[i]
		}
	}
	return nil
}

func firstOK(lines []probelog.Line) *probelog.Line {
	for i := range lines {
		if lines[i].Kind == probelog.KindCall && lines[i].Outcome == probelog.OutcomeOK {
			return &lines[i]
		}
	}
	return nil
}

// collect writes the artifacts and fills rep.Results.
func (r *runner) collect(ctx context.Context, rep *report.Report) error {
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	note(r.refresh(ctx))
	dir := filepath.Join(r.in.OutDir, "probes")
	note(os.MkdirAll(dir, 0o755))
	var events []audit.Event
	if r.in.Target.AuditLog != "" {
		var err error
		events, err = audit.ReadFile(r.in.Target.AuditLog)
		note(err)
	}
	for _, pr := range r.runs {
		note(os.WriteFile(filepath.Join(dir, pr.built.Probe.Label+".log"), pr.raw, 0o644))
		p := &report.ProbeResult{
			ClientGo: pr.built.Probe.Label, ClientGoModule: pr.built.Probe.Module, K8sRelease: pr.built.Probe.K8sRelease,
			Library:           pr.built.Probe.Library(),
			AuditUnauthorized: audit.UnauthorizedFrom(events, audit.Lifetime{IP: pr.podIP, Start: pr.podStart, End: pr.restartAt}),
		}
		res := report.Result{
			Image: r.deployer.Image(pr.built), Namespace: pr.namespace, Pod: pr.pod, Restarts: int(pr.restarts),
			Evidence: r.evidence(), Probe: p,
		}
		res.FromObservation(pr.obs, r.judge(pr))
		res.Calls = calls(pr.lines, false)
		if pr.restart != nil {
			note(os.WriteFile(filepath.Join(dir, pr.built.Probe.Label+"-restarted.log"), pr.afterRaw, 0o644))
			p.Restarted = true
			at := pr.restartAt
			p.RestartedAt = &at
			recovered := false
			if ok := firstOK(pr.afterLines); ok != nil {
				recovered = true
				secs := ok.Time.Sub(pr.restartAt).Round(100 * time.Millisecond).Seconds()
				p.SecondsToRecover = &secs
			}
			p.RecoveredAfterRestart = &recovered
			res.Calls = append(res.Calls, calls(pr.afterLines, true)...)
		}
		rep.Results = append(rep.Results, res)
	}
	r.measure(rep)
	if r.in.Target.AuditLog != "" && !r.in.Target.Existing {
		note(fileutil.Copy(r.in.Target.AuditLog, filepath.Join(r.in.OutDir, "audit.log"), 0o644))
	}
	if !r.in.Target.Existing { // a managed cluster's apiserver pods are not ours to read
		note(r.apiserverAuthFailures(ctx, filepath.Join(r.in.OutDir, "apiserver-unauthorized.log")))
	}
	if len(errs) > 0 {
		return fmt.Errorf("collecting artifacts: %s", strings.Join(errs, "; "))
	}
	return nil
}

// measure records how this cluster rotated and refused the probes' tokens, from the
// first processes' logs (a restarted pod's fresh token says nothing about either).
func (r *runner) measure(rep *report.Report) {
	var obs []verdict.Observation
	var ev []verdict.Evidence
	for _, pr := range r.runs {
		if pr.complete {
			obs, ev = append(obs, pr.obs), append(ev, verdict.FromProbeLog(pr.lines))
		}
	}
	m := r.measured
	m.Rotation, m.Expiry = measure.RotationOf(obs), measure.ExpiryOf(ev)
	if m.Rotation == nil {
		m.Notes = append(m.Notes, "no probe read a rotated token with an iat: kubelet rotation not measured")
	}
	if m.Expiry == nil {
		m.Notes = append(m.Notes, "no probe sent its start-up token after exp: the apiserver's answer at exp not measured")
	}
	rep.Clusters[0].Measured = &m
}

// evidence names what each verdict rests on.
func (r *runner) evidence() []string {
	out := []string{report.EvidenceProbeLog, report.EvidenceRestarts}
	if r.in.Target.AuditLog != "" {
		out = append(out, report.EvidenceAudit401)
	}
	return out
}

// judge draws the probe's verdict; a log that lost the first process cannot be judged,
// and one whose pod was deleted is judged on what was read before, saying so.
func (r *runner) judge(pr *probeRun) verdict.Result {
	if !pr.complete {
		return verdict.Result{Verdict: verdict.NotJudged,
			Reason: fmt.Sprintf("the probe container restarted %d times: the log of its first process, the one that started with the first token, is gone", pr.restarts),
			Hint:   "read the restarts' reason (kubectl describe pod) and run again"}
	}
	res := verdict.Judge(pr.obs, r.params)
	if pr.goneAt.IsZero() {
		return res
	}
	gone := pr.goneAt.Format(time.TimeOnly)
	if first, ok := pr.obs.FirstToken(); ok && !first.Exp.IsZero() {
		gone += ", exp" + verdict.Offset(pr.goneAt, first.Exp)
	}
	if res.Verdict == verdict.NotJudged {
		res.Reason = fmt.Sprintf("its pod was deleted, not by satoken (found gone at %s), and what was read of its log before does not decide: %s", gone, res.Reason)
		res.Hint = "find what deleted the pod (events, the audit log) and run again"
		return res
	}
	res.Reason += fmt.Sprintf("; its pod was deleted afterwards, not by satoken (found gone at %s)", gone)
	return res
}

func calls(lines []probelog.Line, restarted bool) []report.Call {
	var out []report.Call
	for _, l := range lines {
		if l.Kind == probelog.KindCall {
			out = append(out, report.Call{At: l.Time, Outcome: l.Outcome, Restarted: restarted})
		}
	}
	return out
}

// apiserverAuthFailures keeps the apiserver's "Unable to authenticate the request" lines.
func (r *runner) apiserverAuthFailures(ctx context.Context, path string) error {
	pods, err := r.kc.Typed.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "component=kube-apiserver"})
	if err != nil {
		return err
	}
	var out bytes.Buffer
	for _, p := range pods.Items {
		raw, err := r.kc.Logs(ctx, p.Namespace, p.Name, "kube-apiserver")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.Contains(line, "Unable to authenticate the request") {
				out.WriteString(line + "\n")
			}
		}
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}
