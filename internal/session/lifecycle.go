package session

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/satoken-e2e/satoken-e2e/internal/artifacts"
	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
)

// OwnCluster is a cluster satoken made for the session (internal/cluster's Cluster).
type OwnCluster interface {
	Target() target.Target
	ExportLogs(dir string) error
	Down() error
}

// Where says where a session runs: on an existing cluster, left as it was found (the job
// deletes what it created), or on one Up makes, deleted afterwards unless Keep.
type Where struct {
	Existing *target.Target
	Up       func() (OwnCluster, error)
	Keep     bool
}

// LifecycleInput is one session from start to report: where it runs, the job (run's
// reproduction or check's gate, which returns its report with whatever it collected even
// when it fails) and where the report goes.
type LifecycleInput struct {
	Where Where
	Job   func(target.Target) (*report.Report, error)
	Output
}

// Output says where a finished report goes.
type Output struct {
	Out    string          // every format, and the artifacts the token scan covers
	Log    *phase.Recorder // its phases head the report's
	Stdout io.Writer       // the verdict table
}

// Lifecycle brings the cluster up (or takes the existing one), runs the job, exports the
// cluster's logs when the job failed or ctx was cancelled, tears its own cluster down on
// success, failure and cancel alike, and finishes the report (Finish). The job's error
// wins over a report-writing one; a failed Up returns no report.
func Lifecycle(ctx context.Context, in LifecycleInput) (*report.Report, error) {
	var rep *report.Report
	var err error
	if in.Where.Existing != nil {
		rep, err = in.Job(*in.Where.Existing)
	} else {
		cl, upErr := in.Where.Up()
		if upErr != nil {
			return nil, upErr
		}
		rep, err = in.Job(cl.Target())
		if err != nil || ctx.Err() != nil {
			exportLogs(in.Log, cl, in.Out)
		}
		teardown(in.Log, cl, in.Where.Keep)
	}
	if rep == nil {
		return nil, err
	}
	if ferr := Finish(ctx, rep, err, in.Output); err == nil {
		err = ferr
	}
	return rep, err
}

// Finish records why the session stopped (ctx's cause, such as "interrupted" or
// "terminated", or the job's error), decides the outcome and writes the report (Write).
func Finish(ctx context.Context, rep *report.Report, err error, in Output) error {
	switch {
	case ctx.Err() != nil:
		rep.Error = context.Cause(ctx).Error()
	case err != nil:
		rep.Error = err.Error()
	}
	rep.Decide()
	return Write(rep, in)
}

// Write writes every report format, refuses to leave a bearer token in any artifact, and
// prints the verdict table. The log's phases come first: a matrix report already holds
// its clusters'.
func Write(rep *report.Report, in Output) error {
	rep.Phases = append(in.Log.Timings(), rep.Phases...)
	if err := rep.WriteAll(in.Out); err != nil {
		return err
	}
	leaks, err := artifacts.ScanForTokens(in.Out)
	if err != nil {
		return err
	}
	if len(leaks) > 0 {
		return fmt.Errorf("bearer-token-shaped strings in artifacts (%v): remove them before sharing %s", leaks, in.Out)
	}
	if in.Stdout != nil {
		fmt.Fprintln(in.Stdout, rep.Markdown())
	}
	in.Log.Printf("report: %s", filepath.Join(in.Out, "report.json"))
	return nil
}

func exportLogs(log *phase.Recorder, cl OwnCluster, out string) {
	dir := filepath.Join(out, "kind-logs")
	if err := cl.ExportLogs(dir); err != nil {
		log.Printf("warning: kind export logs: %v", err)
		return
	}
	log.Printf("cluster logs exported to %s", dir)
}

// teardown deletes the cluster unless asked to keep it.
func teardown(log *phase.Recorder, cl OwnCluster, keep bool) {
	t := cl.Target()
	if keep {
		log.Printf("keeping cluster %q (kubeconfig %s); delete it with: satoken cluster down --cluster %s", t.Name, t.Kubeconfig, t.Name)
		return
	}
	_ = log.Run("delete cluster "+t.Name, cl.Down)
}
