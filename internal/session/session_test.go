package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/satoken-e2e/satoken-e2e/internal/phase"
	"github.com/satoken-e2e/satoken-e2e/internal/report"
	"github.com/satoken-e2e/satoken-e2e/internal/target"
)

// answeringCluster is a cluster whose apiserver answers what a session asks of every cluster: its version and /readyz.
func answeringCluster(t *testing.T) target.Target {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/version":
			fmt.Fprint(w, `{"major":"1","minor":"34","gitVersion":"v1.34.4"}`)
		case "/readyz":
			fmt.Fprint(w, "ok")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: %q}}]
users: [{name: fake, user: {}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
`, srv.URL), 0o600))
	return target.Target{Name: "fake", Kubeconfig: kubeconfig}
}

// recordingJob runs steps and records what the session asked of it afterwards.
type recordingJob struct {
	steps             []Step
	ran               []string
	collected, closed bool
	collectCtxErr     error // Collect's context, when it ran
	cleanupCtxErr     error
}

func (j *recordingJob) Needs(context.Context, *Session) ([]target.Access, []string, error) {
	return nil, nil, nil
}
func (j *recordingJob) Header(*report.Report) {}
func (j *recordingJob) Steps(*Session) []Step { return j.steps }
func (j *recordingJob) Collect(ctx context.Context, _ *Session, rep *report.Report) error {
	j.collected, j.collectCtxErr = true, ctx.Err()
	rep.Results = append(rep.Results, report.Result{})
	return nil
}
func (j *recordingJob) Cleanup(ctx context.Context, _ *Session) error {
	j.closed, j.cleanupCtxErr = true, ctx.Err()
	return nil
}

func (j *recordingJob) step(name string, run func(context.Context) error) Step {
	return Step{Name: name, Run: func(ctx context.Context) error { j.ran = append(j.ran, name); return run(ctx) }}
}

// TestRunCollectsAndCleansUp: after a step's error and after a cancel, the steps after it
// do not run, and the evidence is still collected and the job's cleanup still runs, with
// contexts that are not cancelled (a cancelled one would end both at their first call).
func TestRunCollectsAndCleansUp(t *testing.T) {
	for name, tc := range map[string]struct {
		second  func(ctx context.Context, cancel context.CancelCauseFunc) error
		wantErr string
	}{
		"a step fails": {second: func(context.Context, context.CancelCauseFunc) error { return errors.New("deploy: boom") }, wantErr: "boom"},
		"Ctrl-C during a step": {second: func(ctx context.Context, cancel context.CancelCauseFunc) error {
			cancel(errors.New("interrupted"))
			<-ctx.Done()
			return ctx.Err()
		}, wantErr: "context canceled"},
		"every step runs": {second: func(context.Context, context.CancelCauseFunc) error { return nil }},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			j := &recordingJob{}
			j.steps = []Step{
				j.step("first", func(context.Context) error { return nil }),
				j.step("second", func(ctx context.Context) error { return tc.second(ctx, cancel) }),
				j.step("third", func(context.Context) error { return nil }),
			}
			rep, err := Run(ctx, "run", answeringCluster(t), &phase.Recorder{Out: &bytes.Buffer{}}, j)
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, []string{"first", "second", "third"}, j.ran)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
				assert.Equal(t, []string{"first", "second"}, j.ran, "no step after the one that ended the run")
			}
			require.NotNil(t, rep)
			assert.True(t, j.collected, "evidence collected")
			assert.True(t, j.closed, "cleanup ran")
			assert.NoError(t, j.collectCtxErr, "Collect got a live context")
			assert.NoError(t, j.cleanupCtxErr, "Cleanup got a live context")
			assert.Len(t, rep.Results, 1, "what Collect found is in the report")
			assert.Equal(t, "v1.34.4", rep.Clusters[0].K8sVersion)
			assert.False(t, rep.FinishedAt.Before(rep.StartedAt))
			assert.WithinDuration(t, time.Now(), rep.FinishedAt, time.Minute)
		})
	}
}
