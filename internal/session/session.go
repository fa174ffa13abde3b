// Package session is the one engine under `satoken run` and `satoken check`. On a target
// (a cluster satoken made, or an existing one) it refuses what it may not do before
// deploying anything, writes the report header, runs a job's steps in order, always
// collects the evidence (after a failure or Ctrl-C too: it is what explains them), lets the
// job clean up, and returns the report. Lifecycle wraps it for every entry point (the CLI,
// a matrix's parts, the e2e suite): the cluster brought up or taken as it is, torn down
// on success, failure and Ctrl-C, and the report finished (outcome, every format, the
// token scan of the artifacts) in one place.
package session

import (
	"context"
	"errors"
	"time"

	"github.com/satoken-e2e/satoken-e2e/internal/kube"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
	"github.com/satoken-e2e/satoken-e2e/internal/verdict"
)

// Session is what a job works with.
type Session struct {
	Target target.Target
	Kube   *kube.Client
	Log    *phase.Recorder
	// Outages are the spans, while the steps ran, in which the apiserver did not answer
	// satoken's polls; known when Collect runs.
	Outages []verdict.Outage
}

// Step is one step of a job, run in order; the first error ends the steps.
type Step struct {
	Name string
	Run  func(context.Context) error
}

// Job is what a session does: run's probe matrix, or check's workload.
type Job interface {
	// Needs lists, for an existing cluster, what the job will do there and the namespaces
	// of its own that must not exist yet.
	Needs(ctx context.Context, s *Session) (access []target.Access, fresh []string, err error)
	// Header fills the report fields that depend on the job.
	Header(rep *report.Report)
	Steps(s *Session) []Step
	// Collect turns the evidence into results and artifacts; its context is never
	// cancelled.
	Collect(ctx context.Context, s *Session, rep *report.Report) error
	// Cleanup removes what the job installed: on an existing cluster, everything it
	// created. Its context is never cancelled.
	Cleanup(ctx context.Context, s *Session) error
}

// Run runs job on t under the command's name. The report is returned with whatever was
// collected even when an error is.
func Run(ctx context.Context, command string, t target.Target, log *phase.Recorder, job Job) (*report.Report, error) {
	kc, err := t.Client()
	if err != nil {
		return nil, err
	}
	s := &Session{Target: t, Kube: kc, Log: log}
	if t.Existing {
		err := log.Run("check the cluster and this user's rights", func() error {
			if err := target.Reach(ctx, kc, t); err != nil {
				return err
			}
			need, fresh, err := job.Needs(ctx, s)
			if err != nil {
				return err
			}
			return target.Preflight(ctx, kc, t, need, fresh)
		})
		if err != nil {
			return nil, err
		}
	}
	cl := report.Cluster{Name: t.Name, Kind: t.Describe(), NodeImage: t.NodeImage, MaxTokenExpiration: t.MaxTokenExpirationString(),
		AcceleratedMinTokenSeconds: int(t.AcceleratedMinTTL.Seconds())}
	if t.Images != nil {
		cl.Images = t.Images.String()
	}
	if v, err := kc.Typed.Discovery().ServerVersion(); err == nil {
		cl.K8sVersion = v.GitVersion
	}
	rep := &report.Report{
		SchemaVersion: report.SchemaVersion, Command: command, StartedAt: time.Now().UTC(),
		Clusters: []report.Cluster{cl}, ValidatorLeewaySeconds: int(verdict.ValidatorLeeway.Seconds()),
	}
	job.Header(rep)
	rep.Clusters[0].TTLSeconds = rep.TTLSeconds
	var runErr error
	steps, gone := context.WithCancelCause(ctx)
	defer gone(nil)
	stopWatching := watchApiserver(ctx, watchInput{Ready: kc.Ready, Every: pollApiserverEvery, GiveUpAfter: GiveUpAfter, GiveUp: gone, Log: log})
	for _, step := range job.Steps(s) {
		if runErr = log.Run(step.Name, func() error { return step.Run(steps) }); runErr != nil {
			break
		}
	}
	if ctx.Err() == nil && steps.Err() != nil {
		runErr = context.Cause(steps) // the apiserver went away, not the user
	}
	s.Outages = stopWatching()
	rep.Clusters[0].ApiserverOutages = s.Outages
	quiet := context.WithoutCancel(ctx)
	collectErr := log.Run("collect evidence", func() error { return job.Collect(quiet, s, rep) })
	cleanErr := job.Cleanup(quiet, s)
	rep.FinishedAt = time.Now().UTC()
	for i := range rep.Results {
		rep.Results[i].K8sVersion, rep.Results[i].Accelerated = cl.K8sVersion, t.AcceleratedMinTTL > 0
	}
	if runErr != nil {
		return rep, runErr
	}
	return rep, errors.Join(collectErr, cleanErr)
}
