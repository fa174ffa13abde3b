// Package repro is the reproduction: deploy probes with short-lived tokens, watch them
// through the first token's expiry, restart the ones that stay broken, and turn what the
// probes and the apiserver recorded into a report.
package repro

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/satoken-e2e/satoken-e2e/apps/probe/probelog"
	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/cluster"
	"github.com/satoken-e2e/satoken-e2e/internal/fileutil"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/probes"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// MinTTL is the apiserver's floor for a projected token's expirationSeconds.
const MinTTL = 600 * time.Second

// AutomountTTL is what the kubelet's default projection requests (3607 s); with
// --service-account-max-token-expiration=1h the apiserver caps it to 3600 s.
const AutomountTTL = 3607 * time.Second

// Input configures a reproduction.
type Input struct {
	Cluster     *cluster.Cluster
	Probes      []probes.Built
	TTL         time.Duration // projected token TTL; ignored with Automount
	Automount   bool          // use the default automounted token instead of a projection
	Interval    time.Duration // probe call interval
	Settle      time.Duration // keep watching a failing probe this long after its first 401
	OutDir      string        // artifacts go here
	FixturesDir string
	Log         *phase.Recorder
}

// Validate checks the settings before anything slow starts.
func (in Input) Validate() error {
	if !in.Automount && in.TTL < MinTTL {
		return fmt.Errorf("--ttl %s: a projected token's expirationSeconds must be at least %s", in.TTL, MinTTL)
	}
	if in.Interval <= 0 || in.Interval > time.Minute {
		return fmt.Errorf("--interval %s: use a value in (0, 1m]", in.Interval)
	}
	if in.Settle < verdict.MinSettle {
		return fmt.Errorf("--settle %s: a failure needs at least %s of refusals to be told from a slow reload", in.Settle, verdict.MinSettle)
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
}

type runner struct {
	in       Input
	kc       *kube.Client
	deployer *Deployer
	params   verdict.Params
	runs     []*probeRun
}

// Run performs the reproduction and returns the report (phases and expectations are the
// caller's). Artifacts are written to in.OutDir even when an error is returned.
func Run(ctx context.Context, in Input) (*report.Report, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	kc, err := kube.New(in.Cluster.Kubeconfig())
	if err != nil {
		return nil, err
	}
	deployer, err := NewDeployer(kc, in.FixturesDir, PodSettings{TTL: in.TTL, Automount: in.Automount, Interval: in.Interval})
	if err != nil {
		return nil, err
	}
	r := &runner{in: in, kc: kc, deployer: deployer, params: verdict.Steady(in.Interval)}
	rep := &report.Report{
		SchemaVersion: report.SchemaVersion, Command: "run", StartedAt: time.Now().UTC(),
		Cluster: in.Cluster.Name, NodeImage: in.Cluster.NodeImage,
		MaxTokenExpiration:     in.Cluster.MaxTokenExpiration.String(),
		ValidatorLeewaySeconds: int(verdict.ValidatorLeeway.Seconds()),
		IntervalSeconds:        in.Interval.Seconds(), SettleSeconds: in.Settle.Seconds(),
	}
	rep.TTLSeconds, rep.TokenMode = int(in.TTL.Seconds()), "projected"
	if in.Automount {
		rep.TTLSeconds, rep.TokenMode = int(AutomountTTL.Seconds()), "automount"
	}
	if v, err := kc.Typed.Discovery().ServerVersion(); err == nil {
		rep.K8sVersion = v.GitVersion
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"load probe images", r.loadImages},
		{"deploy probes", r.deploy},
		{"wait for token expiry", r.watch},
		{"restart failing probes", r.restartFailing},
	}
	var runErr error
	for _, s := range steps {
		if runErr = in.Log.Run(s.name, func() error { return s.fn(ctx) }); runErr != nil {
			break
		}
	}
	// Evidence is collected even after a failure or Ctrl-C: it is what explains it.
	collectErr := in.Log.Run("collect artifacts", func() error { return r.collect(context.WithoutCancel(ctx), rep) })
	rep.FinishedAt = time.Now().UTC()
	if runErr != nil {
		return rep, runErr
	}
	return rep, collectErr
}

func (r *runner) loadImages(ctx context.Context) error {
	var images []string
	for _, b := range r.in.Probes {
		images = append(images, b.Image)
	}
	r.in.Log.Printf("loading %d probe images into the node", len(images))
	return r.in.Cluster.LoadImages(ctx, images...)
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

// refresh re-reads the log and observation of every probe whose first pod still runs
// (a restarted probe's first pod is gone; its log was read just before the restart).
func (r *runner) refresh(ctx context.Context) error {
	for _, pr := range r.runs {
		if pr.restart != nil {
			continue
		}
		pod, err := r.kc.Typed.CoreV1().Pods(pr.namespace).Get(ctx, pr.pod, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("pod of %s: %w", pr.built.Probe.Label, err)
		}
		// A restarted container's earlier process is part of the record: its log
		// holds the calls made with the start-up token.
		pr.restarts = kube.Restarts(pod, "probe")
		raw, complete, err := r.kc.ProcessLogs(ctx, pr.namespace, pr.pod, "probe", pr.restarts)
		if err != nil {
			return fmt.Errorf("logs of %s: %w", pr.built.Probe.Label, err)
		}
		pr.raw, pr.complete = raw, complete
		if pr.lines, err = probelog.Parse(bytes.NewReader(raw)); err != nil {
			return err
		}
		pr.obs = verdict.Observe(pr.lines)
	}
	return nil
}

// doneAt is when this probe has been watched long enough: past the latest moment its
// first 401 may come (exp + leeway + auth cache + Late), and — if it failed — Settle past
// its first 401, so a slow re-reader is told apart from one that never re-reads.
func (r *runner) doneAt(pr *probeRun) (time.Time, bool) {
	first, ok := pr.obs.FirstToken()
	if !ok {
		return time.Time{}, false
	}
	done := first.Exp.Add(r.params.Leeway + verdict.AuthCacheTTL + r.params.Late)
	if at := pr.obs.FirstUnauthorizedAt; at != nil && at.Add(r.in.Settle).After(done) {
		done = at.Add(r.in.Settle)
	}
	return done, true
}

const pollEvery = 15 * time.Second

func (r *runner) watch(ctx context.Context) error {
	ttl := r.in.TTL
	if r.in.Automount {
		ttl = AutomountTTL
	}
	// A probe that never logs a token must not make us wait forever.
	hardDeadline := time.Now().Add(ttl + r.params.Leeway + r.in.Settle + 5*time.Minute)
	lastPrint := time.Time{}
	for {
		if err := r.refresh(ctx); err != nil {
			r.in.Log.Printf("warning: %v (retrying)", err)
		}
		now := time.Now()
		var latest time.Time
		waiting := 0
		for _, pr := range r.runs {
			done, known := r.doneAt(pr)
			if !known {
				done = hardDeadline
			}
			if done.After(latest) {
				latest = done
			}
			if now.Before(done) {
				waiting++
			}
		}
		if waiting == 0 {
			return nil
		}
		if now.After(hardDeadline) {
			r.in.Log.Printf("giving up waiting at the hard deadline; %d probe(s) incomplete", waiting)
			return nil
		}
		if now.Sub(lastPrint) >= time.Minute {
			lastPrint = now
			r.in.Log.Printf("%s", r.progress(now, latest))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(pollEvery, max(time.Until(latest), time.Second))):
		}
	}
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
		if last := lastCall(pr.lines); last != nil && last.Outcome == probelog.OutcomeUnauthorized {
			failing = append(failing, pr)
		}
	}
	if len(failing) == 0 {
		r.in.Log.Printf("no probe is failing: nothing to restart")
		return nil
	}
	for _, pr := range failing {
		r.in.Log.Printf("restarting %s (delete pod, create a new one)", pr.built.Probe.Label)
		pr.restartAt = time.Now().UTC()
		grace := int64(0)
		if err := r.kc.Typed.CoreV1().Pods(pr.namespace).Delete(ctx, pr.pod, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
			return err
		}
		pod, err := r.deployer.Deploy(ctx, pr.built, pr.namespace, "probe-restarted", true)
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

// collect writes the artifacts and fills rep.Probes.
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
	events, err := audit.ReadFile(r.in.Cluster.AuditLog())
	note(err)
	for _, pr := range r.runs {
		note(os.WriteFile(filepath.Join(dir, pr.built.Probe.Label+".log"), pr.raw, 0o644))
		p := report.Probe{
			ClientGo: pr.built.Probe.Label, ClientGoModule: pr.built.Probe.Module, K8sRelease: pr.built.Probe.K8sRelease,
			Image: pr.built.Image, Namespace: pr.namespace, Pod: pr.pod, Restarts: int(pr.restarts),
			AuditUnauthorized: audit.UnauthorizedFrom(events, audit.Lifetime{IP: pr.podIP, Start: pr.podStart, End: pr.restartAt}),
		}
		p.FromObservation(pr.obs, r.judge(pr))
		p.Calls = calls(pr.lines, false)
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
			p.Calls = append(p.Calls, calls(pr.afterLines, true)...)
		}
		rep.Probes = append(rep.Probes, p)
	}
	note(fileutil.Copy(r.in.Cluster.AuditLog(), filepath.Join(r.in.OutDir, "audit.log"), 0o644))
	note(r.apiserverAuthFailures(ctx, filepath.Join(r.in.OutDir, "apiserver-unauthorized.log")))
	if len(errs) > 0 {
		return fmt.Errorf("collecting artifacts: %s", strings.Join(errs, "; "))
	}
	return nil
}

// judge draws the probe's verdict; a log that lost the first process cannot be judged.
func (r *runner) judge(pr *probeRun) verdict.Result {
	if !pr.complete {
		return verdict.Result{Verdict: verdict.NotJudged,
			Reason: fmt.Sprintf("the probe container restarted %d times: the log of its first process, the one that started with the first token, is gone", pr.restarts),
			Hint:   "read the restarts' reason (kubectl describe pod) and run again"}
	}
	return verdict.Judge(pr.obs, r.params)
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
