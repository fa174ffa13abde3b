package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/satoken-e2e/satoken-e2e/internal/audit"
	"github.com/satoken-e2e/satoken-e2e/internal/fileutil"
	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// collect judges every workload pod the check saw, and writes the pods' logs.
func (j *job) collect(ctx context.Context, kc *kube.Client, rep *report.Report) error {
	in := j.in
	if j.podLog != nil {
		j.track(ctx, kc)
	}
	events, err := in.events()
	if err != nil {
		return err
	}
	issues := audit.TokenIssues(events)
	var seen []seenPod
	if j.podLog != nil {
		seen = j.podLog.snapshot()
	}
	attr := newAttribution(events, seen, j.canaries)
	for _, c := range j.canaries {
		verifyCanary(c, events)
		rep.Canaries = append(rep.Canaries, *c)
	}
	logDir := filepath.Join(in.OutDir, "pods")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	var errs []string
	for _, p := range j.pods {
		p.anchorToken(issues, in.TTL, in.Target.MaxTokenExpiration)
		if end := p.ended(); p.pod.Status.Phase == corev1.PodSucceeded && end.Before(p.refused()) {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s/%s finished (Succeeded) at exp%s, before its token stopped being accepted: it never held an expired token",
				p.pod.Namespace, p.pod.Name, verdict.Offset(end, p.exp)))
			continue
		}
		if p.deleted.IsZero() {
			errs = append(errs, p.readLogs(ctx, kc, logDir)...)
		} else {
			p.restarts = restarts(p.pod) // as the pod watch last saw it; its logs went with it
		}
		p.obs = p.observe(events, issues, attr, in.Target.MaxTokenExpiration)
		res := judge(p, owner(ctx, kc, p.pod), in, audit.Oldest(events))
		if res.Verdict == verdict.Reloads {
			if _, problem := j.proof(p.pod); problem != "" {
				res.Verdict, res.Hint = verdict.NotJudged, "make the canary's requests reach the audit log given (all apiservers' logs, no SNAT or proxy between the pod and the apiserver), or give --load/--registry so the canary can run"
				res.Reason = "no 401 was seen, but that its 401s would be seen is not proven: " + problem + "; " + res.Reason
			}
		}
		rep.Results = append(rep.Results, res)
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

// readLogs reads every container's log — init containers and native sidecars (init
// containers that restart always) included — with the previous container's where one
// restarted (a client that died of its 401s said so there), counts the restarts and the
// lines that mention Unauthorized, and writes the logs into dir.
func (p *podRun) readLogs(ctx context.Context, kc *kube.Client, dir string) []string {
	var errs []string
	p.restarts, p.unauthorized = restarts(p.pod), nil
	for _, cs := range kube.AllContainerStatuses(p.pod) {
		if cs.State.Waiting != nil && cs.LastTerminationState.Terminated == nil && cs.RestartCount == 0 {
			continue // never started: no log
		}
		raw, _, err := kc.ProcessLogs(ctx, p.pod.Namespace, p.pod.Name, cs.Name, cs.RestartCount)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		name := fmt.Sprintf("%s_%s_%s.log", p.pod.Namespace, p.pod.Name, cs.Name)
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			errs = append(errs, err.Error())
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.Contains(line, "Unauthorized") {
				p.unauthorized = append(p.unauthorized, cs.Name+": "+line)
			}
		}
	}
	return errs
}

// judge draws the pod's verdict from the audit observation and adds the secondary
// signals (restarts and log lines make a pod broken; see report.Result.Broken). What the
// evidence cannot cover — a pod that never ran, or ended before its token expired, or
// started before the audit log begins — is not judged, whatever the calls say.
func judge(p *podRun, workload string, in Input, logStart time.Time) report.Result {
	out := report.Result{Namespace: p.pod.Namespace, Pod: p.pod.Name, Image: images(p.pod), Restarts: int(p.restarts),
		Evidence: []string{report.EvidenceAudit, report.EvidenceRestarts, report.EvidenceLogLines},
		Workload: &report.WorkloadResult{Owner: workload, LogUnauthorizedLines: len(p.unauthorized), TokenEstimated: p.estimated},
	}
	r := verdict.Judge(p.obs, in.params())
	end := p.ended()
	switch {
	case in.Target.AuditLog == "":
		out.Evidence = []string{report.EvidenceNoAuditOn, report.EvidenceRestarts, report.EvidenceLogLines}
		r = verdict.Result{Verdict: verdict.NotJudged,
			Reason: "no audit log was given: the pod's API calls and their tokens cannot be seen, only its restarts and logs",
			Hint:   "give the apiserver's audit log (Metadata level or above) with --audit-log FILE|DIR"}
	case !p.ran():
		r = verdict.Result{Verdict: verdict.NotJudged, Reason: "the pod never ran: " + kube.PodProblem(&p.pod),
			Hint: "make the pod run (image, scheduling, configuration), then check again"}
	case !end.IsZero() && end.Before(p.refused()):
		r = verdict.Result{Verdict: verdict.NotJudged,
			Reason: fmt.Sprintf("the pod ended (%s) at exp%s, before its start-up token stopped being accepted at exp+%s: it never had to reload", endedHow(p), verdict.Offset(end, p.exp), p.refused().Sub(p.exp)),
			Hint:   "a workload that replaces its pods is judged on the pods that outlive their tokens; find out why this one ended"}
	case !logStart.IsZero() && logStart.After(p.pod.Status.StartTime.Time):
		r = verdict.Result{Verdict: verdict.NotJudged,
			Reason: fmt.Sprintf("the audit log begins at %s, after the pod started at %s: its start-up token and first calls are not in it",
				logStart.UTC().Format(time.RFC3339), p.pod.Status.StartTime.UTC().Format(time.RFC3339)),
			Hint: "give the audit log from before the workload started, rotated backups included (--audit-log DIR)"}
	case p.obs.Calls == 0:
		r.Reason = "no API call of the pod is in the audit log"
	case r.Verdict == verdict.Reloads && p.unattributed > 0:
		r = verdict.Result{Verdict: verdict.NotJudged,
			Reason: fmt.Sprintf("%s; but %d 401s came from its address (its node's: a hostNetwork pod) with a user agent it did not use alone, so \"no 401\" cannot be claimed", r.Reason, p.unattributed),
			Hint:   "run the workload on the pod network, or give each hostNetwork client a user agent of its own"}
	}
	out.FromObservation(p.obs, r)
	out.Workload.Unattributed401 = p.unattributed
	var notes []string
	switch {
	case p.pod.Spec.HostNetwork:
		notes = append(notes, "hostNetwork pod: its 401s are told from other host processes' by their user agent")
	case !p.deleted.IsZero():
		notes = append(notes, "the pod was deleted before the end: no 401 after its deletion was attributed to it")
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

func endedHow(p *podRun) string {
	if !p.deleted.IsZero() {
		return "deleted"
	}
	return string(p.pod.Status.Phase)
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

// images lists the pod's images, init containers' first.
func images(p corev1.Pod) string {
	var out []string
	for _, c := range append(append([]corev1.Container(nil), p.Spec.InitContainers...), p.Spec.Containers...) {
		out = append(out, c.Image)
	}
	return strings.Join(out, ",")
}

// restarts is how often the pod's containers restarted.
func restarts(pod corev1.Pod) int32 {
	var n int32
	for _, cs := range kube.AllContainerStatuses(pod) {
		n += cs.RestartCount
	}
	return n
}
